"""Detections against ground truth: plain numpy, separately tested.

Against the planted events we report event recall at a false-alarm budget
(1 per hour of audio) and the ROC AUC of 5-s segments and of windows
(``anomaly_jax.metrics.auc``).
"""
import numpy as np

from anomaly_jax import metrics
from anomaly_jax.aco.detect import Detection


def overlaps(dets: list[Detection], events: np.ndarray, tol: float = 0.5):
  """bool ``[D, E]``: detection d overlaps event e (``events`` ``[E, 2]``
  start/end Unix s), with ``tol`` s of slack."""
  if not dets or not len(events):
    return np.zeros((len(dets), len(events)), bool)
  s = np.array([d.start for d in dets])[:, None]
  e = np.array([d.end for d in dets])[:, None]
  return (s < events[None, :, 1] + tol) & (e > events[None, :, 0] - tol)


def drop_ignored(dets: list[Detection], events: np.ndarray,
                 ignore: np.ndarray) -> list[Detection]:
  """Detections on an ``ignore`` span (``[I, 2]``, e.g. ship passages) and on
  no event: neither hits nor false alarms, so left out."""
  if not len(ignore) or not dets:
    return dets
  hit = overlaps(dets, events).any(axis=1)
  ign = overlaps(dets, ignore).any(axis=1)
  return [d for d, h, i in zip(dets, hit, ign) if h or not i]


def recall_at_fa(dets: list[Detection], events: np.ndarray, hours: float,
                 fa_per_hour: float = 1.0) -> dict:
  """Event recall when the threshold allows ``fa_per_hour`` false alarms.

  Detections are taken best first while the false alarms (detections on no
  event) stay within ``fa_per_hour * hours``.

  Returns:
    {"recall", "threshold", "false_alarms", "detections"}.
  """
  budget = int(np.floor(fa_per_hour * hours))
  ov = overlaps(dets, events)
  fa = np.cumsum(~ov.any(axis=1)) if len(dets) else np.zeros(0, int)
  n = int(np.searchsorted(fa, budget, side="right"))  # dets [0, n) allowed
  found = ov[:n].any(axis=0) if len(events) else np.zeros(0, bool)
  return {"recall": float(found.mean()) if len(events) else float("nan"),
          "threshold": dets[n - 1].score if n else float("inf"),
          "false_alarms": int(fa[n - 1]) if n else 0, "detections": n,
          "found": found}


def window_labels(t: np.ndarray, events: np.ndarray, half_window: float):
  """bool ``[W]``: the window overlaps an event."""
  if not len(events):
    return np.zeros(t.size, bool)
  order = np.argsort(events[:, 0])
  ev = events[order]
  i = np.searchsorted(ev[:, 0], t + half_window, side="left") - 1
  # Events may nest (a ship and a whale): check the running max of ends.
  run_end = np.maximum.accumulate(ev[:, 1])
  ok = i >= 0
  lab = np.zeros(t.size, bool)
  lab[ok] = run_end[i[ok]] > t[ok] - half_window
  return lab


def auc(labels: np.ndarray, score: np.ndarray) -> float:
  """``metrics.auc``, NaN when ``labels`` hold one class only (a time range
  without events): the report shows "nan" instead of stopping."""
  labels = np.asarray(labels, bool)
  if labels.all() or not labels.any():
    return float("nan")
  return metrics.auc(labels, score)


def segment_auc(t: np.ndarray, score: np.ndarray, events: np.ndarray,
                ignore: np.ndarray, seconds: float = 5.0) -> float:
  """ROC AUC over ``seconds``-long segments (max score inside; positive when
  the segment overlaps an event; segments on ``ignore`` spans and on no
  event left out).  Window-level labels would count the silences inside an
  event (between fin pulses, between clicks) as positives."""
  if not t.size:
    return float("nan")
  seg = np.floor(t / seconds)
  edges = np.r_[0, np.flatnonzero(np.diff(seg)) + 1]
  pooled = np.maximum.reduceat(score, edges)
  a = seg[edges] * seconds
  mid, half = a + seconds / 2, seconds / 2
  lab = window_labels(mid, events, half)
  keep = lab | ~window_labels(mid, ignore, half)
  return auc(lab[keep], pooled[keep])
