"""Fusion of the detector's scores into one: each smoothed, calibrated on
typical windows, then the largest.

Each score ``s_k`` (the NP tail's error, the GMM NLL, the low-frequency
branch, the tonal branch, ...) has its own units and spread.  The
detector's scores (all but the branches "low" and "tonal", which integrate
over a pulse or a tone themselves) are first averaged
over ``smooth`` consecutive windows of a file (3: 0.51 s, a longer context
than one 0.21 s window; a lone window's spike is noise more often than an
event, which lasts seconds).  On the training run's typical files each is
then mapped to ``(s_k - median_k) / (q_k - median_k)`` (``q_k`` its
``quantile``: 1.0 is as unusual as the typical hours' top 1 %; the low
branch has a quantile of its own, ``low_quantile``, as its false alarms
are rarer than the detector's at the same quantile; so has the tonal
branch, ``tonal_quantile``), and the
fused score is the max over k: a window is as anomalous as its most
anomalous view.  With ``low_nms`` > 0 only the low branch's largest
calibrated window within ``low_nms`` windows either side keeps its score
(the others at most 0, the typical median): a fin series, or one thump
with the comb's echoes a period before and after it, makes one
detection, not one per pulse or echo.  The calibration is fitted once at
training and kept in the workdir (``fusion.json``, with the branches'
settings), so a scan uses the training run's numbers.
"""
import dataclasses
import json
import os

import numpy as np

from anomaly_jax.aco import pulse
from anomaly_jax.aco import tonal as tonal_lib
from jaxtk.errors import DataError

FILE = "fusion.json"
# Branches that integrate their own context: not averaged over windows.
UNSMOOTHED = ("low", "tonal")


@dataclasses.dataclass(frozen=True)
class Fusion:
  """A fitted fusion: per score key, (median, scale) on typical windows."""
  keys: tuple                 # score keys fused
  median: tuple               # [len(keys)]
  scale: tuple                # [len(keys)], > 0
  pulse: pulse.PulseConfig    # the low branch's settings at training
  smooth: int = 1             # windows averaged (keys not UNSMOOTHED)
  tonal: tonal_lib.TonalConfig = tonal_lib.TonalConfig()  # the tonal branch's
  low_nms: int = 0            # windows either side of the low branch's peaks

  def __call__(self, scores: dict) -> np.ndarray:
    """float32 ``[W]``: max over ``keys`` of the calibrated ``scores[k]``
    (each ``[W]``, the windows of one file in order)."""
    missing = [k for k in self.keys if k not in scores]
    if missing:
      raise ValueError(f"fusion of {self.keys}: no score {missing} among "
                       f"{sorted(scores)}")
    cal = []
    for k, m, s in zip(self.keys, self.median, self.scale):
      c = (smoothed(scores[k], _smooth(k, self.smooth)) - m) / s
      cal.append(peaks(c, self.low_nms) if k == "low" else c)
    return np.max(cal, axis=0).astype(np.float32)

  def save(self, workdir: str):
    with open(os.path.join(workdir, FILE), "w") as f:
      json.dump({"keys": list(self.keys), "median": list(self.median),
                 "scale": list(self.scale), "smooth": self.smooth,
                 "pulse": dataclasses.asdict(self.pulse),
                 "tonal": dataclasses.asdict(self.tonal),
                 "low_nms": self.low_nms}, f, indent=1)


def _smooth(key: str, smooth: int) -> int:
  """Windows averaged for ``key``: 1 for the branches in ``UNSMOOTHED``."""
  return 1 if key in UNSMOOTHED else smooth


def peaks(c: np.ndarray, k: int) -> np.ndarray:
  """``[W]``: ``c`` where it is the largest within ``k`` windows either
  side (the first of equal values; NaN and windows beyond the ends do not
  count), elsewhere ``min(c, 0)``; ``c`` itself if ``k`` < 1."""
  if k < 1 or not c.size:
    return c
  n = c.size
  p = np.pad(np.nan_to_num(c, nan=-np.inf), k, constant_values=-np.inf)
  r = np.lib.stride_tricks.sliding_window_view(p, k).max(axis=1)
  keep = (c > r[:n]) & (c >= r[k + 1:k + 1 + n])
  return np.where(keep | np.isnan(c), c, np.minimum(c, 0.0))


def smoothed(s: np.ndarray, n: int) -> np.ndarray:
  """float64 ``[W]``: the mean of ``s`` (``[W]``) over ``n`` windows
  centred on each (the edges repeated)."""
  s = np.asarray(s, np.float64)
  if n <= 1 or not s.size:
    return s
  c = np.concatenate([[0.0], np.cumsum(
      np.pad(s, (n // 2, n - 1 - n // 2), mode="edge"))])
  return (c[n:] - c[:-n]) / n


def fit(files: list[dict], keys: tuple, quantile: float,
        pulse_cfg: pulse.PulseConfig, smooth: int = 1,
        low_quantile: float | None = None,
        tonal_cfg: tonal_lib.TonalConfig = tonal_lib.TonalConfig(),
        tonal_quantile: float | None = None, low_nms: int = 0) -> Fusion:
  """The calibration of ``keys`` on typical files' ``scores``.

  Args:
    files: per typical file, ``{key: [W]}`` its windows' scores in order.
    keys: the scores fused.
    quantile: the typical quantile that maps to 1.0.
    low_quantile: the same for key "low" (None: ``quantile``).
    tonal_quantile: the same for key "tonal" (None: ``quantile``).
    pulse_cfg: the low branch's settings (kept with the calibration).
    smooth: windows averaged (``Fusion.smooth``).
    tonal_cfg: the tonal branch's settings (kept with the calibration).
    low_nms: ``Fusion.low_nms`` (applied after the calibration, which it
      does not change).
  """
  med, scale = [], []
  for k in keys:
    s = np.concatenate([smoothed(f[k], _smooth(k, smooth)) for f in files])
    s = s[np.isfinite(s)]
    m = float(np.median(s))
    med.append(m)
    q = {"low": low_quantile, "tonal": tonal_quantile}.get(k)
    q = quantile if q is None else q
    scale.append(max(float(np.quantile(s, q)) - m, 1e-6))
  return Fusion(tuple(keys), tuple(med), tuple(scale), pulse_cfg, smooth,
                tonal_cfg, low_nms)


def _tuples(v):
  """JSON lists back into the configs' (nested) tuples."""
  if isinstance(v, dict):
    return {k: _tuples(x) for k, x in v.items()}
  if isinstance(v, list):
    return tuple(_tuples(x) for x in v)
  return v


def load(workdir: str) -> Fusion | None:
  """The workdir's fusion (None if the detector was trained without)."""
  path = os.path.join(workdir, FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      d = json.load(f)
    # Calibrations written before the matched filter are of the band one;
    # fields a calibration predates take their defaults (every one has the
    # band's: KeyError, so DataError, without them).
    p = {"pulse_detector": pulse.Detector.BAND.value} | d["pulse"]
    _ = p["pulse_band"], p["pulse_ref"]
    cfg = pulse.PulseConfig(**_tuples(p))
    ton = tonal_lib.TonalConfig(**_tuples(d.get("tonal", {})))
    return Fusion(tuple(d["keys"]), tuple(d["median"]), tuple(d["scale"]),
                  cfg, int(d["smooth"]), ton, int(d.get("low_nms", 0)))
  except (KeyError, TypeError, ValueError) as e:
    raise DataError(path, f"not a fusion calibration: {e}") from e
