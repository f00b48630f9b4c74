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
# Exact blocked AP on device.
#
# AP over M pairs with P positives is (1/P) sum_k pos_le(t_k) / all_le(t_k)
# over the positive distances t_k, where pos_le/all_le count positive/all
# pairs at distance <= t_k (this is sklearn's tie-grouped AP).  pos_le comes
# from the sorted positives alone.  The negatives only enter through
# neg_le(t_k): each negative distance d is mapped to idx = #{t < d} and
# histogrammed, and neg_le = cumsum(histogram).  idx is computed exactly
# without a sort or binary search over the P thresholds: a uniform grid of
# G bins over [t_0, t_P-1] gives lut[g] = #{t in bins < g}, and only the at
# most C thresholds inside d's own bin are compared one by one.  The M
# distances are never stored: row blocks are computed, histogrammed and
# dropped.  No library computes this (sklearn needs all M scores in memory
# and sorts them), hence the hand-written kernel.
# ---------------------------------------------------------------------------


# Distances closer than this count as tied.  Positive and negative pairs'
# distances come from different routes (an elementwise sum, a blocked
# matmul) that round differently, so mathematically tied pairs (copies of
# one embedding, a collapsed model) would otherwise be ordered by rounding
# noise: a collapsed model scored AP 1.0.  float32 noise of ``1 - cos`` is
# ~1e-7 at these widths; sklearn's AP on exact distances is matched to 1e-6.
TIE_TOL = 2e-6


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


def _normalize(x):
  x = jnp.asarray(x, jnp.float32)
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@jax.jit
def _grid(t_sorted):
  """Grid over the sorted positive distances ``t [P]`` (G = 8P bins)."""
  p = t_sorted.shape[0]
  g_n = 8 * p
  lo, hi = t_sorted[0], t_sorted[-1]
  scale = jnp.where(hi > lo, g_n / jnp.maximum(hi - lo, 1e-30), 0.0)
  gt = jnp.clip(jnp.floor((t_sorted - lo) * scale), 0, g_n - 1).astype(jnp.int32)
  counts = jnp.bincount(gt, length=g_n)
  lut = (jnp.cumsum(counts) - counts).astype(jnp.int32)
  return lo, scale, lut, counts.max()


def _rank_index(d, t_pad, lo, scale, lut, c: int):
  """``#{t < d}`` for every entry of ``d`` (exact; see the section comment)."""
  g_n = lut.shape[0]
  g = jnp.clip(jnp.floor((d - lo) * scale), 0, g_n - 1).astype(jnp.int32)
  base = lut[g]
  corr = (t_pad[base[..., None] + jnp.arange(c)] < d[..., None]).sum(-1)
  return base + corr.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("c", "rows", "triangular"))
def _negative_histogram(a, la, b, lb, t_pad, lo, scale, lut, *, c: int,
                        rows: int, triangular: bool):
  """Histogram ``[P + 2]`` of ``#{t < d}`` over all negative pairs.

  Args:
    a: ``[NA, E]`` normalised rows, NA a multiple of ``rows``; padding rows
      have label -1.
    la: ``[NA]`` int labels (-1 = padding).
    b, lb: columns and labels (-1 = padding).  With ``triangular``, ``b`` is
      ``a`` and the number of row blocks is odd: row block ``r`` meets the
      column blocks ``r, r+1, ..., r+(nb-1)/2`` (mod nb), so every unordered
      pair is visited once.
  """
  p = t_pad.shape[0] - c
  n_blocks = a.shape[0] // rows
  if triangular:
    width = (n_blocks + 1) // 2 * rows
    b2, lb2 = jnp.concatenate([b, b]), jnp.concatenate([lb, lb])
  else:
    width = b.shape[0]

  def body(r, hist):
    start = r * rows
    xa = jax.lax.dynamic_slice_in_dim(a, start, rows)
    ya = jax.lax.dynamic_slice_in_dim(la, start, rows)
    if triangular:
      xb = jax.lax.dynamic_slice_in_dim(b2, start, width)
      yb = jax.lax.dynamic_slice_in_dim(lb2, start, width)
      col = jnp.arange(width)[None, :]
      row = jnp.arange(rows)[:, None]
      keep = (col >= rows) | (col > row)   # the diagonal block: j > i only
    else:
      xb, yb, keep = b, lb, True
    d = 1.0 - xa @ xb.T
    neg = keep & (ya[:, None] != yb[None, :]) & (ya[:, None] >= 0) & (yb[None, :] >= 0)
    idx = _rank_index(d - TIE_TOL, t_pad, lo, scale, lut, c)  # d <= t + tol
    idx = jnp.where(neg, idx, p + 1)
    return hist + jnp.bincount(idx.ravel(), length=p + 2)

  return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros(p + 2, jnp.int32))


@jax.jit
def _ap_from_counts(t_sorted, hist):
  pos_le = jnp.searchsorted(t_sorted, t_sorted + TIE_TOL,
                            side="right").astype(jnp.float32)
  neg_le = jnp.cumsum(hist[:-2])[:t_sorted.shape[0]].astype(jnp.float32)
  return jnp.mean(pos_le / (pos_le + neg_le))


def _blocked_ap(a, la, b, lb, t, *, triangular: bool, rows: int) -> float:
  if t.size == 0:
    return 0.0
  t_sorted = jnp.sort(t)
  lo, scale, lut, c = _grid(t_sorted)
  c = max(int(c), 1)
  t_pad = jnp.concatenate([t_sorted, jnp.full((c,), jnp.inf, jnp.float32)])
  n_blocks = -(-a.shape[0] // rows)
  if triangular and n_blocks % 2 == 0:
    n_blocks += 1
  pad = n_blocks * rows - a.shape[0]
  a = jnp.pad(a, ((0, pad), (0, 0)))
  la = jnp.pad(la, (0, pad), constant_values=-1)
  if triangular:
    b, lb = a, la
  hist = _negative_histogram(a, la, b, lb, t_pad, lo, scale, lut, c=c,
                             rows=rows, triangular=triangular)
  return float(_ap_from_counts(t_sorted, hist))


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

  Exact, blocked on device (memory ``O(rows * n)``); equals
  ``sklearn.metrics.average_precision_score`` on the pairs.

  Args:
    embs: ``[n, E]`` embeddings.
    labels: ``[n]`` word labels (ints or strings).
    rows: rows per block.
  """
  (lab,) = _dense_labels(labels)
  a = _normalize(embs)
  i, j = _positive_pairs(lab)
  t = 1.0 - jnp.sum(a[i] * a[j], axis=-1)
  return _blocked_ap(a, jnp.asarray(lab), None, None, t, triangular=True,
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
  a, b = _normalize(embs), _normalize(word_embs)
  pos = {int(w): k for k, w in enumerate(wlab)}
  seg = np.asarray([k for k, w in enumerate(lab) if int(w) in pos])
  col = np.asarray([pos[int(lab[k])] for k in seg], np.int64)
  t = (1.0 - jnp.sum(a[seg] * b[col], axis=-1)) if seg.size else jnp.zeros(0)
  return _blocked_ap(a, jnp.asarray(lab), b, jnp.asarray(wlab), t,
                     triangular=False, rows=rows)


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
