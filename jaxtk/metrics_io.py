"""Metrics to a JSON-lines file as well as to the log (as big_vision does)."""
import json
import math
import os
import time

from absl import logging
import numpy as np


def _plain(v):
  if isinstance(v, (np.generic, np.ndarray)) or hasattr(v, "__array__"):
    v = np.asarray(v)
    return v.item() if v.ndim == 0 else v.tolist()
  return v


class MetricWriter:
  """Appends one JSON object per call to ``path``; safe across restarts."""

  def __init__(self, path: str):
    self.path = path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

  def write(self, step: int, **metrics):
    row = {"step": int(step), "time": time.time()}
    row.update({k: _plain(v) for k, v in metrics.items()})
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}"
        for k, v in row.items() if k not in ("step", "time"))
    logging.info("step %d: %s", step, shown)

  def read(self) -> list[dict]:
    """All rows written so far (an empty list if none)."""
    if not os.path.exists(self.path):
      return []
    with open(self.path) as f:
      return [json.loads(line) for line in f if line.strip()]

  def truncate_after(self, step: int):
    """Drops rows past ``step`` (used when a run resumes from a checkpoint)."""
    rows = [r for r in self.read() if r["step"] <= step]
    with open(self.path, "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in rows)
