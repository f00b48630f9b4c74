"""Scan: evaluation maths, resume, damaged files, the detector vs the energy
baseline on a tiny synthetic archive, two JAX processes."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anomaly_jax.aco import evaluate, features, pipeline, scan, synth
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = synth.SynthConfig(rate=8000, file_seconds=60, n_days=1,
                         blocks=((5, 4), (20, 4)), events_per_hour=(20, 300),
                         ships_per_block=0.3)
MEL = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=32, stride=2,
                         band=(50.0, 3000.0))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return synth.build(str(tmp_path_factory.mktemp("aco") / "arch"), TINY)


def test_auc_equals_sklearn():
  rng = np.random.default_rng(0)
  y = rng.random(500) < 0.2
  s = rng.standard_normal(500) + y + np.round(rng.random(500), 1)
  assert evaluate.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_merge_and_recall_at_one_false_alarm():
  t = np.arange(0, 100, 0.5)
  s = np.zeros_like(t)
  s[(t >= 10) & (t < 12)] = 5.0    # event A, found
  s[(t >= 50) & (t < 51)] = 3.0    # false alarm
  s[(t >= 70) & (t < 71)] = 2.0    # event B, below the false alarm
  s[(t >= 90) & (t < 91)] = 1.5    # second false alarm
  dets = evaluate.merge(t, s, np.array(["f"] * t.size), 0.5, 0.25)
  assert [d.score for d in dets] == [5.0, 3.0, 2.0, 1.5]
  assert dets[0].start == 9.75 and dets[0].end == 11.75
  events = np.array([[10.0, 12.0], [70.0, 71.0]])
  r = evaluate.recall_at_fa(dets, events, hours=1.0)
  assert r["recall"] == 1.0 and r["false_alarms"] == 1 and r["detections"] == 3
  r = evaluate.recall_at_fa(dets, events, hours=0.5)  # no false alarm
  assert r["recall"] == 0.5 and r["threshold"] == 5.0
  ships = np.array([[49.0, 52.0]])
  kept = evaluate.drop_ignored(dets, events, ships)
  assert [d.score for d in kept] == [5.0, 2.0, 1.5]
  lab = evaluate.window_labels(t, np.array([[0.0, 100.0], [10.0, 11.0]]), 0.1)
  assert lab.all()
  # 5-s segments: [10, 15) and [70, 75) hold the events and their peaks;
  # [50, 55) is a ship (left out); [90, 95) scores 1.5 on no event.
  auc = evaluate.segment_auc(t, s, events, ships)
  assert auc == pytest.approx(1.0)
  assert evaluate.segment_auc(t, 0 * s, events, ships) == 0.5  # all tied


def _fake_scorer(calls, stop_after=None):
  def score(w):
    calls.append(len(w))
    if stop_after is not None and len(calls) > stop_after:
      raise KeyboardInterrupt("stopped")
    return {"vae": (w ** 2).mean(1)}
  return score


def test_resume_skips_scored_files_and_damage_never_stops(tiny, tmp_path):
  paths = scan.select_files(pipeline.Archive(tiny).all_files(), None, None)
  store = Store(str(tmp_path / "s.sqlite"))
  ones = np.ones(MEL.dim, np.float32)
  calls = []
  with pytest.raises(KeyboardInterrupt):
    scan.scan(paths, tiny, MEL, _fake_scorer(calls, 3), "vae", store,
              0 * ones, ones)
  first = len(store.done())
  assert first >= 3  # 3 scored (+ the damaged file if it came first)
  calls2 = []
  res = scan.scan(paths, tiny, MEL, _fake_scorer(calls2), "vae", store,
                  0 * ones, ones)
  assert res.skipped == first and res.scanned + res.errors + first == 8
  assert len(calls2) == res.scanned
  files = store.files()
  assert len(files) == 8
  bad = [f for f in files if f["status"] == "error"]
  assert len(bad) == 1 and "outside 1..32" in bad[0]["reason"]
  n_rows = store.db.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
  assert n_rows == sum(f["n_windows"] for f in files)
  trunc = [f for f in files if "truncated" in f["issues"]]
  assert len(trunc) == 1
  again = scan.scan(paths, tiny, MEL, _fake_scorer([]), "vae", store,
                    0 * ones, ones)
  assert again.scanned == 0 and again.skipped == 8


def test_detector_beats_energy_baseline_on_tiny_archive(tiny, tmp_path):
  opts = pipeline.Options(
      archive=tiny, workdir=str(tmp_path / "run"), mel=MEL,
      train_per_file=600, steps_vae=150, steps_np=50, eras=1, top_n=1,
      score_key="vae")
  m = pipeline.run(opts)
  ours, base = m["methods"]["vae"], m["methods"]["energy"]
  assert m["events"] > 10 and len(m["damaged"]) == 1
  assert ours["recall_at_fa"] > base["recall_at_fa"]
  assert ours["auc"] > base["auc"]
  for f in ("events.csv", "scores.png", "metrics.json", "scores.sqlite"):
    assert os.path.exists(os.path.join(opts.workdir, f))
  assert len(os.listdir(os.path.join(opts.workdir, "top"))) == 1
  # Scanning with other features than the detector was trained on is
  # refused with the difference named, and the scores are kept.
  other = dataclasses.replace(
      opts, mode="scan", mel=dataclasses.replace(MEL, n_mels=16))
  with pytest.raises(DataError, match=r"n_mels=32 \(asked: 16\)"):
    pipeline.run(other)
  assert os.path.exists(os.path.join(opts.workdir, "scores.sqlite"))


_TWO = r"""
import sys, jax, numpy as np
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2,
                           process_id=int(sys.argv[2]))
from anomaly_jax.aco import features, pipeline, scan
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError
mel = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=32)
paths = pipeline.Archive(sys.argv[3]).all_files()
ones = np.ones(mel.dim, np.float32)
res = scan.scan(paths, sys.argv[3], mel, lambda w: {"vae": w.mean(1)}, "vae",
                Store(sys.argv[4]), 0 * ones, ones, jax.process_index(),
                jax.process_count())
print("RESULT", jax.process_index(), jax.process_count(), res.scanned,
      res.errors)
"""


def test_two_jax_processes_split_the_files(tiny, tmp_path):
  port = 20000 + os.getpid() % 20000
  db = str(tmp_path / "two.sqlite")
  env = dict(os.environ, PYTHONPATH=REPO, XLA_FLAGS="", JAX_PLATFORMS="cpu")
  procs = [subprocess.Popen(
      [sys.executable, "-c", _TWO, f"localhost:{port}", str(i), tiny, db],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
           for i in (0, 1)]
  outs = [p.communicate(timeout=240) for p in procs]
  lines = [next(l for l in o.splitlines() if l.startswith("RESULT"))
           for o, _ in outs]
  got = sorted(tuple(map(int, l.split()[1:])) for l in lines)
  assert [g[:2] for g in got] == [(0, 2), (1, 2)]
  assert sum(g[2] + g[3] for g in got) == 8  # every file exactly once
  files = Store(db).files()
  assert len(files) == 8 and {f["process"] for f in files} == {0, 1}
