"""Word-discrimination average precision (reference implementation).

AP here is the same-different measure of the AWE literature: rank all pairs
by distance (smallest first); AP is the mean, over the positive pairs, of the
precision at each positive's rank.  On tie-free data it equals
``sklearn.metrics.average_precision_score(positives, -distances)``.

This module holds the plain NumPy reference that every faster path
(blocked on-device AP, DTW baselines) is tested against.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np


def average_precision(distances: np.ndarray, positives: np.ndarray) -> float:
  """AP of a ranking by ascending distance.

  Args:
    distances: ``[M]`` distances of M pairs.
    positives: ``[M]`` bools, True where the pair is a same-word pair.

  Returns:
    The AP; 0.0 when there is no positive pair.
  """
  distances = np.asarray(distances, np.float64).ravel()
  positives = np.asarray(positives, bool).ravel()
  if distances.shape != positives.shape:
    raise ValueError(f"distances {distances.shape} and positives "
                     f"{positives.shape} differ in shape")
  n_pos = int(positives.sum())
  if n_pos == 0:
    return 0.0
  pos = positives[np.argsort(distances, kind="stable")]
  precision = np.cumsum(pos) / np.arange(1, pos.size + 1)
  return float(precision[pos].sum() / n_pos)


def same_word_pairs(labels: np.ndarray) -> np.ndarray:
  """``[n(n-1)/2]`` bools, in ``scipy.spatial.distance.pdist`` order: pair
  ``(i, j)``, ``i < j``, is positive when ``labels[i] == labels[j]``."""
  labels = np.asarray(labels)
  i, j = np.triu_indices(len(labels), k=1)
  return labels[i] == labels[j]


# ---------------------------------------------------------------------------
# Blocked AP on device.
#
# AP over M pairs with P positives is (1/P) sum_k pos_le(t_k) / all_le(t_k)
# over the positive distances t_k, where pos_le/all_le count positive/all
# pairs at distance <= t_k (this is sklearn's tie-grouped AP).  Distances are
# clipped at 0 and put on a uniform grid of _GRID = 2^-21 (4.8e-7; [0, 2] is
# 2^22 cells): cell(d) = floor(d / _GRID).  The positives are histogrammed on
# the host, the negatives on device (one scatter-add per pair into the cells
# from the smallest positive's to the largest threshold's; those below in the
# first, those above dropped), and pos_le / neg_le are cumulative sums read at
# cell(t_k + TIE_TOL): a pair within TIE_TOL of t_k (to one cell) counts as
# tied with it.  Positive and negative distances come from different routes
# (an elementwise sum, a blocked matmul) that round differently, so without
# the tolerance mathematically tied pairs (copies of one embedding, a
# collapsed model) would be ordered by rounding noise: a collapsed model
# scored AP 1.0.  The M distances are never stored: row blocks are computed,
# histogrammed and dropped.  Identical (embedding, label) rows are collapsed
# first and pairs are counted with weights m_i * m_j, so a set with many
# duplicates costs its distinct rows only.  Counts are int64 (M passes 2^31
# at n ~ 65,536).  No library computes this (sklearn needs all M scores in
# memory and sorts them), hence the hand-written kernel.
# ---------------------------------------------------------------------------

_GRID = 2.0 ** -21    # cell width of the distance grid (see above)
# Distances closer than this count as tied (see above).  float32 noise of
# ``1 - cos`` is ~1e-7 at these widths; sklearn's AP on exact distances is
# matched to 1e-6.
TIE_TOL = 2e-6
# Histogram size: every cell of [0, 2 + TIE_TOL] (32 MB of int64).
_N_BINS = (1 << 22) + (1 << 10)
_PAIR_CHUNK = 1 << 13  # positive pairs per call computing t (8 MB of gathered rows)


def _positive_pairs(labels: np.ndarray):
  """``(i, j)`` index arrays of all same-label pairs ``i < j``."""
  labels = np.asarray(labels)
  order = np.argsort(labels, kind="stable")
  sorted_labels = labels[order]
  starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
  ends = np.r_[starts[1:], len(labels)]
  ii, jj = [], []
  for s, e in zip(starts, ends):
    if e - s > 1:
      a, b = np.triu_indices(e - s, k=1)
      ga = order[s + a]
      gb = order[s + b]
      ii.append(np.minimum(ga, gb))
      jj.append(np.maximum(ga, gb))
  if not ii:
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  return np.concatenate(ii), np.concatenate(jj)


def _unique_rows(x: np.ndarray, labels: np.ndarray):
  """Collapses identical ``(row, label)`` pairs.

  Returns:
    ``(rows [u, E] float32, labels [u] int32, counts [u] int64)``.
  """
  x = np.ascontiguousarray(np.asarray(x, np.float32))
  key = np.ascontiguousarray(np.concatenate(
      [x.view(np.int32), np.asarray(labels, np.int32)[:, None]], axis=1))
  flat = key.view(np.dtype((np.void, key.shape[1] * 4))).ravel()
  _, first, counts = np.unique(flat, return_index=True, return_counts=True)
  return x[first], np.asarray(labels, np.int32)[first], counts.astype(np.int64)


def _normalize(x):
  x = jnp.asarray(x, jnp.float32)
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@jax.jit
def _pair_distance(a, b, i, j):
  return 1.0 - jnp.sum(a[i] * b[j], axis=-1)


def _pair_distances(a, b, i, j) -> np.ndarray:
  """``[len(i)]`` cosine distances ``1 - a[i] . b[j]``, clipped at 0; computed
  in fixed-size chunks so that the gathered rows stay small."""
  out = np.zeros(len(i), np.float32)
  for s in range(0, len(i), _PAIR_CHUNK):
    ci, cj = i[s:s + _PAIR_CHUNK], j[s:s + _PAIR_CHUNK]
    pad = _PAIR_CHUNK - len(ci)
    d = _pair_distance(a, b, np.pad(ci, (0, pad)), np.pad(cj, (0, pad)))
    out[s:s + len(ci)] = np.asarray(d)[:len(ci)]
  return np.where(out > 0, out, np.float32(0))


def _cell(d):
  """Grid cell of distances ``d >= 0`` (NumPy or JAX), int32."""
  return (d * np.float32(1 / _GRID)).astype(np.int32)


def _bin_of(d, key_lo):
  """Bin of every ``d >= 0``: ``cell(d) - key_lo``, 0 below the first bin
  and the last of the :data:`_N_BINS` from there up (see above)."""
  return jnp.clip(_cell(d) - key_lo, 0, _N_BINS - 1)


@functools.partial(jax.jit, static_argnames=("rows", "triangular"))
def _negative_histogram(a, la, ma, b, lb, mb, key_lo, *,
                        rows: int, triangular: bool):
  """int64 histogram ``[_N_BINS]`` of the bins of all negative pairs (one
  size for every call, so other distances reuse the compiled code).

  Run under ``jax.enable_x64``.

  Args:
    a: ``[NA, E]`` normalised rows, NA a multiple of ``rows``.
    la: ``[NA]`` int labels.
    ma: ``[NA]`` int64 multiplicities (0 for padding rows).
    b, lb, mb: columns, labels and multiplicities.  With ``triangular``,
      they are ``a``'s and the number of row blocks is odd: row block ``r``
      meets the column blocks ``r, r+1, ..., r+(nb-1)/2`` (mod nb), so every
      unordered pair is visited once.
    key_lo: int32 cell of the smallest positive distance.
  """
  n_blocks = a.shape[0] // rows
  if triangular:
    width = (n_blocks + 1) // 2 * rows
    b2, lb2, mb2 = (jnp.concatenate([v, v]) for v in (b, lb, mb))
  else:
    width = b.shape[0]

  def body(r, hist):
    start = r * rows
    xa = jax.lax.dynamic_slice_in_dim(a, start, rows)
    ya = jax.lax.dynamic_slice_in_dim(la, start, rows)
    wa = jax.lax.dynamic_slice_in_dim(ma, start, rows)
    if triangular:
      xb = jax.lax.dynamic_slice_in_dim(b2, start, width)
      yb = jax.lax.dynamic_slice_in_dim(lb2, start, width)
      wb = jax.lax.dynamic_slice_in_dim(mb2, start, width)
      col = jnp.arange(width)[None, :]
      row = jnp.arange(rows)[:, None]
      keep = (col >= rows) | (col > row)   # the diagonal block: j > i only
    else:
      xb, yb, wb, keep = b, lb, mb, True
    d = 1.0 - xa @ xb.T
    d = jnp.where(d > 0, d, jnp.float32(0))
    w = jnp.where(keep & (ya[:, None] != yb[None, :]),
                  wa[:, None] * wb[None, :], 0)
    g = _bin_of(d, key_lo)
    return hist.at[g.ravel()].add(w.ravel(), mode="promise_in_bounds")

  return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros(_N_BINS, jnp.int64))


def _blocked_ap(a, la, ma, b, lb, mb, t, tw, *, triangular: bool,
                rows: int) -> float:
  """AP from the positive distances ``t`` with weights ``tw`` and the
  negatives among the rows ``a`` (and columns ``b``); int64 counts."""
  if t.size == 0:
    return 0.0
  key_lo = int(_cell(t.min()))
  hi = _cell(t + np.float32(TIE_TOL)).astype(np.int64) - key_lo  # [P]
  n_bins = int(hi.max()) + 1
  pos = np.bincount(_cell(t).astype(np.int64) - key_lo, weights=tw,
                    minlength=n_bins).astype(np.int64)
  n_blocks = -(-a.shape[0] // rows)
  if triangular and n_blocks % 2 == 0:
    n_blocks += 1
  pad = n_blocks * rows - a.shape[0]
  with jax.enable_x64(True):
    a = jnp.pad(a, ((0, pad), (0, 0)))
    la = jnp.pad(jnp.asarray(la, jnp.int32), (0, pad))
    ma = jnp.pad(jnp.asarray(ma, jnp.int64), (0, pad))
    if triangular:
      b, lb, mb = a, la, ma
    else:
      lb, mb = jnp.asarray(lb, jnp.int32), jnp.asarray(mb, jnp.int64)
    neg = np.asarray(_negative_histogram(
        a, la, ma, b, lb, mb, jnp.int32(key_lo), rows=rows,
        triangular=triangular))[:n_bins]
  pos_le, neg_le = np.cumsum(pos)[hi], np.cumsum(neg)[hi]
  return float(np.sum(tw * (pos_le / (pos_le + neg_le))) / np.sum(tw))


def _dense_labels(*label_arrays):
  """Maps labels of any type to ints >= 0, consistently across arrays."""
  _, inv = np.unique(np.concatenate([np.asarray(x) for x in label_arrays]),
                     return_inverse=True)
  out, s = [], 0
  for x in label_arrays:
    out.append(inv[s:s + len(x)].astype(np.int32))
    s += len(x)
  return out


def acoustic_ap(embs, labels, *, rows: int = 256) -> float:
  """Same-word AP over all ``n(n-1)/2`` pairs, ranked by cosine distance.

  Blocked on device (memory ``O(rows * n)``); equals
  ``sklearn.metrics.average_precision_score`` on the pairs up to ties of
  distances within a few float32 ulps (see the section comment; distances
  below 0, from rounding, count as 0).  Identical rows are counted once
  with their multiplicity, so duplicates cost nothing.

  Args:
    embs: ``[n, E]`` embeddings.
    labels: ``[n]`` word labels (ints or strings).
    rows: rows per block.
  """
  (lab,) = _dense_labels(labels)
  x, lab, m = _unique_rows(embs, lab)
  a = _normalize(x)
  i, j = _positive_pairs(lab)
  self_pairs = np.flatnonzero(m > 1)
  i, j = np.r_[i, self_pairs], np.r_[j, self_pairs]
  tw = np.r_[m[i[:i.size - self_pairs.size]] * m[j[:j.size - self_pairs.size]],
             m[self_pairs] * (m[self_pairs] - 1) // 2]
  t = _pair_distances(a, a, i, j)
  return _blocked_ap(a, lab, m, None, None, None, t, tw, triangular=True,
                     rows=rows)


def crossview_ap(embs, labels, word_embs, word_labels, *, rows: int = 256) -> float:
  """Cross-view AP: every segment against every written word, one ranking.

  Args:
    embs: ``[n, E]`` acoustic embeddings.
    labels: ``[n]`` their words.
    word_embs: ``[m, E]`` phone-view embeddings of distinct words.
    word_labels: ``[m]`` the words (distinct; each segment's word must be
      among them for its positive pair to exist).
  """
  if len(set(np.asarray(word_labels).tolist())) != len(word_labels):
    raise ValueError("word_labels must be distinct")
  lab, wlab = _dense_labels(labels, word_labels)
  x, lab, m = _unique_rows(embs, lab)
  a, b = _normalize(x), _normalize(word_embs)
  col_of = np.full(len(wlab) + len(lab) + 1, -1, np.int64)
  col_of[wlab] = np.arange(len(wlab))
  cols = col_of[lab]
  seg = np.flatnonzero(cols >= 0)
  t = _pair_distances(a, b, seg, cols[seg])
  return _blocked_ap(a, lab, m, b, wlab, np.ones(len(wlab), np.int64), t,
                     m[seg], triangular=False, rows=rows)

# ---------------------------------------------------------------------------
# Cross-view retrieval: each segment ranks the written words.
# ---------------------------------------------------------------------------


def crossview_ranks(distances: np.ndarray, targets) -> np.ndarray:
  """Rank of each segment's own word among all words.

  Args:
    distances: ``[n, m]`` distance of each segment to each written word.
    targets: ``[n]`` int, the column holding each segment's own word.

  Returns:
    ``[n]`` int64 ranks, 1 = the own word is the nearest: 1 + the number of
    words strictly nearer than the own word (ties count in the segment's
    favour).
  """
  distances = np.asarray(distances)
  targets = np.asarray(targets)
  if distances.ndim != 2 or targets.shape != distances.shape[:1]:
    raise ValueError(f"expected [n, m] distances and [n] targets, got "
                     f"{distances.shape} and {targets.shape}")
  own = np.take_along_axis(distances, targets[:, None], axis=1)
  return 1 + np.sum(distances < own, axis=1)


def crossview_topk(embs, labels, word_embs, word_labels, ks=(1, 5)) -> dict:
  """Share of segments whose own word is among the ``k`` nearest words
  (cosine distance).

  Args:
    embs: ``[n, E]`` acoustic embeddings.
    labels: ``[n]`` their words; each must be among ``word_labels``.
    word_embs: ``[m, E]`` phone-view embeddings.
    word_labels: ``[m]`` distinct words.
    ks: the cut-offs.

  Returns:
    ``{k: accuracy}``; equals ``sklearn.metrics.top_k_accuracy_score`` with
    scores ``-distance`` when there are no ties.
  """
  word_labels = np.asarray(word_labels)
  index = {w: i for i, w in enumerate(word_labels.tolist())}
  if len(index) != len(word_labels):
    raise ValueError("word_labels must be distinct")
  missing = sorted({w for w in np.asarray(labels).tolist() if w not in index})
  if missing:
    raise ValueError(f"{len(missing)} segment word(s) are not among the "
                     f"candidate words, e.g. {missing[:5]}")
  targets = np.asarray([index[w] for w in np.asarray(labels).tolist()])
  unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True),
                                  1e-12)
  d = 1.0 - unit(np.asarray(embs, np.float64)) @ unit(
      np.asarray(word_embs, np.float64)).T
  ranks = crossview_ranks(d, targets)
  return {k: float(np.mean(ranks <= k)) for k in ks}
