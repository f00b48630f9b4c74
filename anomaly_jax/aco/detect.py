"""Detections from window scores: windows above a threshold, merged.

The production half of the report (it never reads ground truth): the
threshold is a quantile of the score on the typical hours the detector was
trained on; windows above it less than ``gap`` seconds apart form one
detection, ranked by its peak score.
"""
import dataclasses

import numpy as np

from anomaly_jax.aco import fmt

BASE_QUANTILE = 0.99  # of typical-hour window scores: the detection threshold


@dataclasses.dataclass
class Detection:
  start: float   # Unix seconds
  end: float
  peak_t: float
  score: float   # peak window score
  path: str      # file of the peak


def merge(t: np.ndarray, score: np.ndarray, paths: np.ndarray,
          threshold: float, half_window: float, gap: float = 1.0
          ) -> list[Detection]:
  """Windows above ``threshold`` merged when less than ``gap`` s apart.

  Args:
    t: float64 ``[W]`` window centres (sorted).
    score: ``[W]``.
    paths: ``[W]`` file of each window.
    threshold: windows with ``score > threshold`` count.
    half_window: half a window's duration (s), added on both sides.
    gap: largest silence (s) inside one detection.

  Returns:
    Detections ranked by ``score``, highest first.
  """
  hit = np.flatnonzero(score > threshold)
  if not hit.size:
    return []
  cut = np.flatnonzero(np.diff(t[hit]) > gap) + 1
  out = []
  for seg in np.split(hit, cut):
    k = seg[np.argmax(score[seg])]
    out.append(Detection(t[seg[0]] - half_window, t[seg[-1]] + half_window,
                         float(t[k]), float(score[k]), str(paths[k])))
  return sorted(out, key=lambda d: -d.score)


def typical_mask(t: np.ndarray, hours) -> np.ndarray:
  """bool ``[W]``: window time ``t`` (Unix s) falls in a UTC hour of
  ``hours``."""
  return np.array([fmt.utc(x).hour in hours for x in t], bool)


def typical_threshold(score: np.ndarray, typical: np.ndarray) -> float:
  """``BASE_QUANTILE`` of ``score`` on typical windows (all if none).
  NaN scores count as -inf."""
  s = np.nan_to_num(score, nan=-np.inf)
  return float(np.quantile(s[typical] if typical.any() else s,
                           BASE_QUANTILE))


def find(w: dict, key: str, typical: np.ndarray, half_window: float
         ) -> tuple[list[Detection], float]:
  """Detections of score ``w[key]`` (``Store.windows()``) and the threshold.
  """
  s = np.nan_to_num(w[key], nan=-np.inf)
  base = typical_threshold(s, typical)
  return merge(w["t"], s, w["path"], base, half_window), base
