"""ROC metrics in plain numpy (scikit-learn is only a test/bench extra).

The one AUC of the project (the MNIST table and the ACO report use it).
Definitions follow ``sklearn.metrics``: ``auc`` is ``roc_auc_score``;
``partial_auc`` is ``roc_auc_score(max_fpr=...)`` with the McClish
standardisation (0.5 = chance, 1 = perfect); the tests compare them.
Deliberate differences: scores may be ``-inf`` / ``inf`` (ranked below /
above every finite score; the ACO report ranks unscored windows at
``-inf``); labels of one class raise ``ValueError``, as in scikit-learn
(an AUC is undefined then; callers that want NaN say so).
"""
import numpy as np


def _check(labels, scores):
  labels = np.asarray(labels).astype(bool).ravel()
  scores = np.asarray(scores, np.float64).ravel()
  if labels.shape != scores.shape:
    raise ValueError(f"labels {labels.shape} and scores {scores.shape} differ")
  if labels.all() or not labels.any():
    raise ValueError("ROC needs both positive and negative labels")
  if np.isnan(scores).any():
    raise ValueError("scores contain NaN")
  return labels, scores


def roc_curve(labels, scores):
  """``(fpr, tpr)`` at every distinct threshold, from (0, 0) to (1, 1).

  Args:
    labels: ``[N]`` 1 = anomalous (positive).
    scores: ``[N]`` higher = more anomalous.
  """
  labels, scores = _check(labels, scores)
  order = np.argsort(-scores, kind="mergesort")
  s, y = scores[order], labels[order]
  # End of each run of tied scores (``!=``, not ``diff``: inf - inf is NaN).
  last = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]
  tps = np.cumsum(y)[last]
  fps = (last + 1) - tps
  tpr = np.r_[0.0, tps / tps[-1]]
  fpr = np.r_[0.0, fps / fps[-1]]
  return fpr, tpr


def auc(labels, scores) -> float:
  """Area under the ROC curve (trapezoidal, ties counted half)."""
  fpr, tpr = roc_curve(labels, scores)
  return float(np.trapezoid(tpr, fpr))


def partial_auc(labels, scores, max_fpr: float = 0.1) -> float:
  """McClish-standardised area under the ROC for ``FPR <= max_fpr``."""
  if not 0 < max_fpr <= 1:
    raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr}")
  fpr, tpr = roc_curve(labels, scores)
  if max_fpr == 1:
    return float(np.trapezoid(tpr, fpr))
  stop = np.searchsorted(fpr, max_fpr, "right")
  x = [fpr[stop - 1], fpr[stop]]
  y = [tpr[stop - 1], tpr[stop]]
  tpr = np.append(tpr[:stop], np.interp(max_fpr, x, y))
  fpr = np.append(fpr[:stop], max_fpr)
  area = np.trapezoid(tpr, fpr)
  min_area, max_area = 0.5 * max_fpr ** 2, max_fpr
  return float(0.5 * (1 + (area - min_area) / (max_area - min_area)))


def tpr_at_fpr(labels, scores, fpr_target: float = 0.05) -> float:
  """Largest TPR over the ROC points with ``FPR <= fpr_target``."""
  fpr, tpr = roc_curve(labels, scores)
  return float(tpr[fpr <= fpr_target + 1e-12].max())


def summary(labels, scores, *, max_fpr: float = 0.1, rho: float = 0.05
            ) -> dict[str, float]:
  """``{"auc", "pauc", "tpr_at_rho"}`` for one score."""
  return {"auc": auc(labels, scores),
          "pauc": partial_auc(labels, scores, max_fpr),
          "tpr_at_rho": tpr_at_fpr(labels, scores, rho)}
