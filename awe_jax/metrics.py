"""Word-discrimination average precision (reference implementation).

AP here is the same-different measure of the AWE literature: rank all pairs
by distance (smallest first); AP is the mean, over the positive pairs, of the
precision at each positive's rank.  On tie-free data it equals
``sklearn.metrics.average_precision_score(positives, -distances)``.

This module holds the plain NumPy reference that every faster path
(blocked on-device AP, DTW baselines) is tested against.
"""
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
