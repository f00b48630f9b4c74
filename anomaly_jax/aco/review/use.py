"""Labels put to use: precision by rank and a threshold for a target
precision, from the detections reviewed so far.

Plain numpy on the ranked detections and their latest labels; "unsure"
answers and unreviewed detections count neither way.
"""
import numpy as np

from anomaly_jax.aco.review.detections import Det


def outcomes(dets: list[Det], latest: dict) -> np.ndarray:
  """int8 ``[D]`` in rank order: 1 true, 0 false, -1 unsure or unreviewed."""
  code = {"true": 1, "false": 0}
  return np.array([code.get(latest.get(d.key, {}).get("label"), -1)
                   for d in dets], np.int8).reshape(-1)


def precision_by_rank(dets: list[Det], latest: dict) -> dict:
  """Cumulative precision of the reviewed detections down the ranking.

  Returns:
    {"rank": [D] 1..D, "true": [D] true labels in ranks 1..r, "reviewed":
    [D] true + false labels in ranks 1..r, "precision": [D] their ratio (NaN
    before the first review)}, numpy arrays.
  """
  o = outcomes(dets, latest)
  tp = np.cumsum(o == 1)
  n = np.cumsum(o >= 0)
  with np.errstate(invalid="ignore", divide="ignore"):
    prec = np.where(n > 0, tp / np.maximum(n, 1), np.nan)
  return {"rank": np.arange(1, o.size + 1), "true": tp, "reviewed": n,
          "precision": prec}


def threshold_for_precision(dets: list[Det], latest: dict,
                            target: float) -> dict:
  """The lowest score whose reviewed detections at or above it have at
  least ``target`` precision.

  Only ranks at a reviewed detection are candidates: past the last review
  nothing is known.  With no rank reaching ``target`` the threshold is
  ``inf`` (keep nothing).

  Returns:
    {"threshold", "rank", "precision", "true", "reviewed", "target"}.

  Raises:
    ValueError: ``target`` outside (0, 1].
  """
  if not 0.0 < target <= 1.0:
    raise ValueError(f"target precision {target!r} is not in (0, 1]")
  p = precision_by_rank(dets, latest)
  o = outcomes(dets, latest)
  ok = np.flatnonzero((o >= 0) & (p["precision"] >= target - 1e-12))
  out = {"target": target, "threshold": float("inf"), "rank": 0,
         "precision": float("nan"), "true": 0,
         "reviewed": int(p["reviewed"][-1]) if o.size else 0}
  if ok.size:
    k = int(ok[-1])
    out.update(threshold=float(dets[k].score), rank=k + 1,
               precision=float(p["precision"][k]), true=int(p["true"][k]),
               reviewed=int(p["reviewed"][k]))
  return out
