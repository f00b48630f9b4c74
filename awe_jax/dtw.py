"""MFCC + DTW word discrimination baseline (Kamper et al.).

The distance between two feature sequences is the dynamic-time-warping cost
with cosine frame distance, divided by the length (number of cells) of the
best path.  Written by hand with numba because no installed library offers
DTW over many pairs in parallel; :func:`dtw_distance` is the plain
reference the parallel kernel is tested against.
"""
import numba
import numpy as np

from awe_jax.metrics import average_precision, same_word_pairs


@numba.njit(cache=True, fastmath=False)
def _dtw_unit(a, b):
  """DTW cost / path length; rows of ``a`` ``[n, D]`` and ``b`` ``[m, D]``
  have unit norm so the cosine distance is ``1 - a_i . b_j``."""
  n, m = a.shape[0], b.shape[0]
  cost = np.empty((n, m))
  length = np.empty((n, m))
  for i in range(n):
    for j in range(m):
      d = 1.0 - np.dot(a[i], b[j])
      if i == 0 and j == 0:
        cost[i, j], length[i, j] = d, 1.0
        continue
      # Predecessors: diagonal first, so ties prefer the diagonal step.
      best, blen = np.inf, 0.0
      if i > 0 and j > 0:
        best, blen = cost[i - 1, j - 1], length[i - 1, j - 1]
      if i > 0 and cost[i - 1, j] < best:
        best, blen = cost[i - 1, j], length[i - 1, j]
      if j > 0 and cost[i, j - 1] < best:
        best, blen = cost[i, j - 1], length[i, j - 1]
      cost[i, j], length[i, j] = best + d, blen + 1.0
  return cost[n - 1, m - 1] / length[n - 1, m - 1]


def _unit_rows(x):
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
  """Path-length-normalised DTW distance with cosine frame distance.

  Args:
    a: ``[n, D]`` features.
    b: ``[m, D]`` features.

  Returns:
    The accumulated cosine distance along the cheapest monotone path (steps
    (1,0), (0,1), (1,1)) divided by the number of cells on that path.
  """
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not (
      len(a) and len(b)):
    raise ValueError(f"expected non-empty [n, D] and [m, D] arrays, got "
                     f"{a.shape} and {b.shape}")
  return float(_dtw_unit(_unit_rows(a), _unit_rows(b)))


@numba.njit(parallel=True, cache=True)
def _pdist(flat, offsets):
  n = offsets.size - 1
  i_idx, j_idx = np.triu_indices(n, 1)
  out = np.empty(i_idx.size)
  for k in numba.prange(i_idx.size):
    i, j = i_idx[k], j_idx[k]
    out[k] = _dtw_unit(flat[offsets[i]:offsets[i + 1]],
                       flat[offsets[j]:offsets[j + 1]])
  return out


def dtw_pdist(feats) -> np.ndarray:
  """DTW distances of all pairs, in ``scipy.spatial.distance.pdist`` order.

  Args:
    feats: N arrays ``[T_i, D]``.

  Returns:
    ``[N(N-1)/2]`` float64 distances; pairs run in parallel over numba
    threads (``NUMBA_NUM_THREADS``).
  """
  if len(feats) < 2:
    raise ValueError("need at least two sequences")
  lens = np.asarray([len(x) for x in feats])
  if lens.min() < 1:
    raise ValueError("every sequence needs at least one frame")
  offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
  flat = np.ascontiguousarray(_unit_rows(np.concatenate(feats)))
  return _pdist(flat, offsets)


def dtw_acoustic_ap(feats, words) -> float:
  """Same-different AP of MFCC+DTW over all pairs of ``feats``.

  Args:
    feats: N arrays ``[T_i, D]``.
    words: ``[N]`` labels.

  Returns:
    :func:`awe_jax.metrics.average_precision` of the DTW distances against
    :func:`awe_jax.metrics.same_word_pairs`.
  """
  if len(feats) != len(words):
    raise ValueError(f"{len(feats)} feature arrays but {len(words)} words")
  return average_precision(dtw_pdist(feats), same_word_pairs(words))
