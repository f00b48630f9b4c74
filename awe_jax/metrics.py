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
# clipped at 0, so their float32 bit patterns, read as int32, are in the same
# order as the values.  Bin g holds the bit patterns
# key_lo + [g * 2^s, (g+1) * 2^s), key_lo the smallest positive's and s the
# smallest shift that leaves at most _MAX_BINS bins over the positives; the
# positives are histogrammed on the host, the negatives on device (one
# scatter-add per pair; those below the first bin in bin 0, those above the
# last in an extra bin), and pos_le / neg_le are the cumulative sums.  So
# distances in one bin are tied: exact (the ranking of the float32
# distances) when s = 0, else ties within 2^s ulps (positives spanning
# [0.3, 1.7] give s = 3: 1e-6 at distance 1, near the float32 rounding of a
# 256-term dot product).  The M distances are never stored: row blocks are
# computed, histogrammed and dropped.  Identical (embedding, label) rows are collapsed
# first and pairs are counted with weights m_i * m_j, so a set with many
# duplicates costs its distinct rows only.  Counts are int64 (M passes 2^31
# at n ~ 65,536).  No library computes this (sklearn needs all M scores in
# memory and sorts them), hence the hand-written kernel.
# ---------------------------------------------------------------------------

_MAX_BINS = 1 << 22  # int64 histogram: 32 MB
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


def _bin_of(d, key_lo, shift, n_bins: int):
  """Bin of every ``d >= 0``: ``(bits(d) - key_lo) >> shift``, 0 below the
  first bin and ``n_bins - 1`` from there up (see above)."""
  key = jax.lax.bitcast_convert_type(d, jnp.int32) - key_lo
  return jnp.clip(key >> shift, 0, n_bins - 1)


@functools.partial(jax.jit, static_argnames=("n_bins", "rows", "triangular"))
def _negative_histogram(a, la, ma, b, lb, mb, key_lo, shift, *, n_bins: int,
                        rows: int, triangular: bool):
  """int64 histogram ``[n_bins]`` of the bins of all negative pairs.

  Run under ``jax.enable_x64``.

  Args:
    a: ``[NA, E]`` normalised rows, NA a multiple of ``rows``.
    la: ``[NA]`` int labels.
    ma: ``[NA]`` int64 multiplicities (0 for padding rows).
    b, lb, mb: columns, labels and multiplicities.  With ``triangular``,
      they are ``a``'s and the number of row blocks is odd: row block ``r``
      meets the column blocks ``r, r+1, ..., r+(nb-1)/2`` (mod nb), so every
      unordered pair is visited once.
    key_lo: int32 bit pattern of the smallest positive distance.
    shift: int32 s.
    n_bins: a power of two above the positives' last bin, so that calls
      with other distances reuse the compiled code.
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
    g = _bin_of(d, key_lo, shift, n_bins)
    return hist.at[g.ravel()].add(w.ravel(), mode="promise_in_bounds")

  return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros(n_bins, jnp.int64))


def _blocked_ap(a, la, ma, b, lb, mb, t, tw, *, triangular: bool,
                rows: int) -> float:
  """AP from the positive distances ``t`` with weights ``tw`` and the
  negatives among the rows ``a`` (and columns ``b``); int64 counts."""
  if t.size == 0:
    return 0.0
  keys = t.view(np.int32).astype(np.int64)
  key_lo = int(keys.min())
  span = int(keys.max()) - key_lo
  shift = 0
  while (span >> shift) + 1 > _MAX_BINS:
    shift += 1
  n_bins = (span >> shift) + 1
  pos = np.bincount((keys - key_lo) >> shift, weights=tw,
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
    padded_bins = 1 << max(10, n_bins.bit_length())  # > n_bins
    neg = np.asarray(_negative_histogram(
        a, la, ma, b, lb, mb, jnp.int32(key_lo), jnp.int32(shift),
        n_bins=padded_bins, rows=rows, triangular=triangular))[:n_bins]
  has = pos > 0
  pos_le, neg_le = np.cumsum(pos)[has], np.cumsum(neg)[has]
  return float(np.sum(pos[has] * (pos_le / (pos_le + neg_le))) / pos_le[-1])


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
