"""Subsequence DTW over MFCCs: the classic query-by-example baseline.

The query ``[n, D]`` may match any stretch of a recording ``[m, D]``: the
path starts free at any frame of the recording (Mueller, "Fundamentals of
Music Processing", sec. 7.2) and each cell keeps the predecessor of lowest
length-normalised cost (as segmental DTW for QbE, Zhang & Glass 2009).
Frame distance is ``1 - cos``.  Written by hand with numba: no installed
library does subsequence DTW with start tracking and normalised costs.
"""
import numba
import numpy as np

from awe_jax.search.index import Hit, nms


@numba.njit(cache=True)
def _sdtw(cost):
  """``cost [n, m]`` -> per end frame: normalised cost ``[m]``, start ``[m]``."""
  n, m = cost.shape
  acc = cost[0].copy()
  length = np.ones(m)
  start = np.arange(m)
  for i in range(1, n):
    new_acc = np.empty(m)
    new_len = np.empty(m)
    new_start = np.empty(m, np.int64)
    for j in range(m):
      # Predecessors: (i-1, j) always; (i-1, j-1) and (i, j-1) when j > 0.
      best_a, best_l, best_s = acc[j], length[j], start[j]
      if j > 0:
        if (acc[j - 1] + cost[i, j]) / (length[j - 1] + 1) < (
            best_a + cost[i, j]) / (best_l + 1):
          best_a, best_l, best_s = acc[j - 1], length[j - 1], start[j - 1]
        if (new_acc[j - 1] + cost[i, j]) / (new_len[j - 1] + 1) < (
            best_a + cost[i, j]) / (best_l + 1):
          best_a, best_l, best_s = new_acc[j - 1], new_len[j - 1], new_start[j - 1]
      new_acc[j] = best_a + cost[i, j]
      new_len[j] = best_l + 1
      new_start[j] = best_s
    acc, length, start = new_acc, new_len, new_start
  return acc / length, start


def unit_rows(x):
  x = np.asarray(x, np.float32)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def sdtw_costs(query: np.ndarray, doc: np.ndarray):
  """Normalised subsequence-DTW cost and start frame of each end frame.

  Args:
    query: ``[n, D]`` features.
    doc: ``[m, D]`` features.

  Returns:
    ``(cost [m], start [m])``: the best path ending at frame ``j`` of
    ``doc`` starts at ``start[j]`` and costs ``cost[j]`` per cell.
  """
  cost = 1.0 - unit_rows(query) @ unit_rows(doc).T
  return _sdtw(cost.astype(np.float64))


def sdtw_search(query: np.ndarray, docs: dict, *, frame_s: float = 0.01,
                top: int = 100, max_overlap: float = 0.2) -> list:
  """Ranked hits of ``query [n, D]`` over ``docs`` (name -> ``[m, D]``)."""
  names, starts, ends, costs = [], [], [], []
  for k, (name, x) in enumerate(docs.items()):
    c, s = sdtw_costs(query, x)
    # Local minima of the cost over end frames are the candidate matches.
    pick = np.flatnonzero((c <= np.roll(c, 1)) & (c <= np.roll(c, -1)))
    names.append(np.full(len(pick), k))
    starts.append(s[pick] * frame_s)
    ends.append((pick + 1) * frame_s)
    costs.append(c[pick])
  names, starts, ends, costs = map(np.concatenate, (names, starts, ends, costs))
  order = np.argsort(costs, kind="stable")[:50 * top]
  keep = nms(starts.tolist(), ends.tolist(), names.tolist(), order,
             max_overlap=max_overlap, limit=top)
  files = list(docs)
  return [Hit(files[names[i]], float(starts[i]), float(ends[i]), float(costs[i]))
          for i in keep]
