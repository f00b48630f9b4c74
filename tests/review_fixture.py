"""A tiny archive and scan workdir for the review tests (no detector: the
store's files, windows and detections, and events.csv, are written as the
scan writes them)."""
import os

import numpy as np

from anomaly_jax.aco import fmt, report, synth
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.detect import Detection
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.store import FileResult, Store

TINY = synth.SynthConfig(rate=8000, file_seconds=30, n_days=1,
                         blocks=((5, 2), (20, 2)), events_per_hour=(600, 3000),
                         ships_per_block=0.0, damage=False)
PLANTED_SCORES = (9.0, 8.0, 7.0)
FALSE_SCORES = (8.5, 7.5, 6.5)


def make(root: str) -> tuple[str, str]:
  """(archive, workdir) under ``root``: 4 files of 30 s at 8 kHz; detections
  on 3 planted events (scores 9, 8, 7) and 3 false alarms of 1 s in the
  first file, clear of every event (scores 8.5, 7.5, 6.5)."""
  archive = synth.build(os.path.join(root, "arch"), TINY)
  paths = Archive(archive).all_files()
  workdir = os.path.join(root, "run")
  os.makedirs(workdir)
  store = Store(os.path.join(workdir, det_lib.STORE))
  for path in paths:
    t0 = det_lib.unix(fmt.parse_name(path)[0])
    t = t0 + np.arange(0.5, 30.0, 0.5)
    store.add(FileResult(os.path.relpath(path, archive), t0, 30.0, t,
                         {"score": np.sin(t) ** 2, "energy": np.cos(t)},
                         wall=0.1))
  events = [r for r in synth.read_events(archive) if r["recorded"]]
  spans = [(det_lib.unix(r["start"]), det_lib.unix(r["end"])) for r in events]
  ends = {p: det_lib.unix(fmt.parse_name(p)[0]) + 30.0 for p in paths}
  inside = [(r, s) for r, s in zip(events, spans) if r["file"] and
            s[1] < ends[os.path.join(archive, r["file"])] - 1.0]
  dets, matched = [], []
  for (r, (a, b)), score in zip(inside, PLANTED_SCORES):
    dets.append(Detection(a, b, (a + b) / 2, score, r["file"]))
    matched.append(r["kind"])
  t0 = det_lib.unix(fmt.parse_name(paths[0])[0])
  free = [t0 + k for k in np.arange(2.0, 27.0, 0.5) if not any(
      a < t0 + k + 1.5 and b > t0 + k - 0.5 for a, b in spans)]
  picked = []
  for a in free:
    if all(abs(a - p) > 2.0 for p in picked):
      picked.append(a)
  rel = os.path.relpath(paths[0], archive)
  for a, score in zip(picked, FALSE_SCORES):
    dets.append(Detection(a, a + 1.0, a + 0.5, score, rel))
    matched.append("")
  assert len(dets) == 6, "the tiny archive should leave room for 6"
  order = np.argsort([-d.score for d in dets])
  store.set_detections([dets[i] for i in order], "np", 6.0)
  store.close()
  report.write_events(os.path.join(workdir, "events.csv"),
                      [dets[i] for i in order], [matched[i] for i in order])
  return archive, workdir
