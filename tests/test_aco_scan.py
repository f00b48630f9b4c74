"""Scan: evaluation maths, resume, damaged files, the detector vs the energy
baseline on a tiny synthetic archive, the config's checks up front."""
import dataclasses
import os

import numpy as np
import pytest

from anomaly_jax import train as train_lib
from anomaly_jax.aco import config, detect, evaluate, features, pipeline
from anomaly_jax.aco import scan, synth
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.store import Store
from jaxtk import configs
from jaxtk.errors import DataError

TINY = synth.SynthConfig(rate=8000, file_seconds=60, n_days=1,
                         blocks=((5, 4), (20, 4)), events_per_hour=(20, 300),
                         ships_per_block=0.3)
MEL = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=32, stride=2,
                         band=(50.0, 3000.0))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return synth.build(str(tmp_path_factory.mktemp("aco") / "arch"), TINY)


def test_window_auc_is_nan_for_one_class_only():
  assert np.isnan(evaluate.auc(np.zeros(5, bool), np.arange(5.0)))
  assert evaluate.auc(np.arange(4) > 1, np.array([-np.inf, 0, 1, 2])) == 1.0


def test_merge_and_recall_at_one_false_alarm():
  t = np.arange(0, 100, 0.5)
  s = np.zeros_like(t)
  s[(t >= 10) & (t < 12)] = 5.0    # event A, found
  s[(t >= 50) & (t < 51)] = 3.0    # false alarm
  s[(t >= 70) & (t < 71)] = 2.0    # event B, below the false alarm
  s[(t >= 90) & (t < 91)] = 1.5    # second false alarm
  dets = detect.merge(t, s, np.array(["f"] * t.size), 0.5, 0.25)
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


def _fake_scorer(calls):
  def score(w):
    calls.append(len(w))
    return {"vae": (w ** 2).mean(1)}
  return score


def _scorer(calls):
  ones = np.ones(MEL.dim, np.float32)
  return scan.FileScorer(MEL, _fake_scorer(calls), "vae", 0 * ones, ones)


class _StopAt(scan.FileScorer):
  """Raises KeyboardInterrupt when asked to score file ``stop``."""

  def __init__(self, stop):
    ones = np.ones(MEL.dim, np.float32)
    super().__init__(MEL, _fake_scorer([]), "vae", 0 * ones, ones)
    self.stop = stop

  def __call__(self, f, rel):
    if rel == self.stop:
      raise KeyboardInterrupt("stopped")
    return super().__call__(f, rel)


@pytest.mark.parametrize("threads", [1, 2])
def test_resume_skips_scored_files_and_damage_never_stops(tiny, tmp_path,
                                                          threads):
  paths = scan.select_files(Archive(tiny).all_files(), None, None)
  store = Store(str(tmp_path / "s.sqlite"))
  with pytest.raises(KeyboardInterrupt):  # while scoring the 4th file
    scan.scan(paths, tiny, _StopAt(os.path.relpath(paths[3], tiny)), store,
              threads=threads)
  # Stored in the files' order, whichever thread finished first: the 3
  # files before the 4th, not the ones scored beside it.
  first = len(store.done())
  assert store.done() == {os.path.relpath(p, tiny) for p in paths[:3]}
  calls2 = []
  res = scan.scan(paths, tiny, _scorer(calls2), store, threads=threads)
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
  again = scan.scan(paths, tiny, _scorer([]), store)
  assert again.scanned == 0 and again.skipped == 8
  with pytest.raises(ValueError, match="threads=0"):
    scan.scan(paths, tiny, _scorer([]), store, threads=0)
  # Storing a file again replaces its rows: (path, idx) is the key.
  ok = next(f["path"] for f in files if f["status"] == "ok")
  store.add(_scorer([])(scan.load(os.path.join(tiny, ok), MEL.rate), ok))
  assert store.db.execute("SELECT COUNT(*) FROM windows").fetchone()[0] == (
      n_rows)


class _FailingStore(Store):
  """Fails its second write, as a full disk would."""

  def __init__(self, path):
    super().__init__(path)
    self.order = []

  def add(self, r):
    if len(self.order) == 1:
      raise OSError(f"disk full writing {r.path}")
    super().add(r)
    self.order.append(r.path)


def test_a_failed_write_stops_the_scan_and_keeps_what_was_stored(tiny,
                                                                 tmp_path):
  """The store writes in a thread behind the scoring: its error is the
  scan's, and the files written before it are in the store, in order."""
  paths = scan.select_files(Archive(tiny).all_files(), None, None)
  store = _FailingStore(str(tmp_path / "s.sqlite"))
  with pytest.raises(OSError, match="disk full writing"):
    scan.scan(paths, tiny, _scorer([]), store)
  assert store.order == [os.path.relpath(paths[0], tiny)]
  assert store.done() == set(store.order)
  res = scan.scan(paths, tiny, _scorer([]), Store(store.path))  # resumes
  assert res.skipped == 1 and res.scanned + res.errors == len(paths) - 1


def test_detector_beats_energy_baseline_on_tiny_archive(tiny, tmp_path):
  cfg = configs.override(
      config.AcoConfig(archive=tiny, workdir=str(tmp_path / "run"), mel=MEL,
                       score="vae"),
      train_per_file=600, steps_vae=150, steps_np=50, eras=1, top_n=1)
  m = pipeline.run(cfg)
  ours, base = m["methods"]["vae"], m["methods"]["energy"]
  assert m["events"] > 10 and len(m["damaged"]) == 1
  assert ours["recall_at_fa"] > base["recall_at_fa"]
  assert ours["auc"] > base["auc"]
  for f in ("events.csv", "scores.png", "metrics.json", "scores.sqlite"):
    assert os.path.exists(os.path.join(cfg.workdir, f))
  assert len(os.listdir(os.path.join(cfg.workdir, "top"))) == 1
  # The detections are in the store, ranked, with the score they rank.
  dets = Store(os.path.join(cfg.workdir, "scores.sqlite")).detections()
  assert dets and [d["rank"] for d in dets] == list(range(1, len(dets) + 1))
  assert dets[0]["score_key"] == "vae" and dets[0]["score"] >= dets[-1][
      "score"] > dets[0]["threshold"]
  # Scanning with other features than the detector was trained on is
  # refused with the difference named, and the scores are kept.
  other = dataclasses.replace(
      cfg, mode="scan", mel=dataclasses.replace(MEL, n_mels=16))
  with pytest.raises(DataError, match=r"n_mels=32 \(asked: 16\)"):
    pipeline.run(other)
  assert os.path.exists(os.path.join(cfg.workdir, "scores.sqlite"))


def test_string_choices_are_checked_up_front_with_the_allowed_values():
  c = config.AcoConfig()
  for name, bad, allowed in (
      ("score", "ae2", "np, vae, gmm_nll, ae"), ("mode", "scna", "train"),
      ("engine", "spark", "single, beam"), ("proposal", "agg", "prior"),
      ("direct_running_mode", "threads", "in_memory")):
    with pytest.raises(ValueError, match=f"{name}='{bad}' is not one of: "
                       f".*{allowed}"):
      configs.override(c, **{name: bad})
  with pytest.raises(ValueError, match="steps_ae > 0"):
    configs.override(c, score="ae")  # the AE baseline is not trained
  assert configs.override(c, score="ae", steps_ae=10).score == "ae"
  with pytest.raises(ValueError, match="proposal='x'"):
    train_lib.TrainConfig(proposal="x")
  with pytest.raises(ValueError, match="start='2016-13-01'"):
    config.AcoConfig(start="2016-13-01")
  with pytest.raises(ValueError, match="fuse_low_nms_s=-1"):
    config.AcoConfig(fuse_low_nms_s=-1.0)
  with pytest.raises(ValueError, match="scan_threads=0"):
    config.AcoConfig(scan_threads=0)
  # 13 s in windows of 4 hops of 1,024 samples at 24 kHz (0.17 s).
  assert c.low_nms_windows() == round(13.0 * 24000 / 4096) == 76
  # An output the detector does not have is an error, never zeros.
  ones = np.ones(MEL.dim, np.float32)
  f = scan.FileScorer(MEL, lambda w: {"vae": w[:, 0]}, "np", ones, ones)
  x = np.zeros(8000 * 3, np.float32)
  loaded = scan.Loaded("f", None, decoded=None, samples=x)
  with pytest.raises(ValueError, match="score='np' is not an output"):
    f(loaded, "f")


def test_library_defaults_are_the_scripts_defaults():
  c = config.AcoConfig()
  assert c.mel.stride == 4 and c.mel.low_bands == (12.0, 18.0, 24.0, 30.0)
  t = c.detector.train
  assert (t.tau, t.quantile, t.proposal, t.steps_np) == (0.1, 0.9, "prior",
                                                        200)
  assert c.trained_detector().input_dim == c.mel.dim == 335


def test_store_keeps_values_and_writes_absent_or_nan_scores_as_null(tmp_path):
  from anomaly_jax.aco.store import FileResult  # pylint: disable=g-import-not-at-top
  t = np.arange(4) * 0.5 + 100.0
  score = np.array([0.1, np.nan, 2.5, -1.0])
  db = Store(str(tmp_path / "s.sqlite"))
  db.add(FileResult("a/b.HYD", 100.0, 2.0, t,
                    {"score": score, "energy": np.arange(4.0)}))
  got = db.windows()
  np.testing.assert_array_equal(got["t"], t)
  np.testing.assert_array_equal(got["score"], score)  # NaN stays NaN
  np.testing.assert_array_equal(got["energy"], np.arange(4.0))
  assert np.isnan(got["np"]).all()  # a key the result does not have
  nulls = db.db.execute(
      "SELECT COUNT(*) FROM windows WHERE score IS NULL").fetchone()[0]
  assert nulls == 1
  assert db.db.execute("SELECT COUNT(*) FROM windows WHERE np IS NULL"
                       ).fetchone()[0] == 4
