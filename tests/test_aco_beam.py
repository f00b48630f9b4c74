"""The Beam scan (DirectRunner) against the single-process scan: same index,
reruns skip committed files, kill -9 then rerun, damaged and unreadable
files in the dead-letter output."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from anomaly_jax import detector as det_lib
from anomaly_jax import train as train_lib
from anomaly_jax.aco import config, detect, features, reader, scan, shards
from anomaly_jax.aco import synth

pytest.importorskip("apache_beam", reason="the [beam] extra is not installed"
                    " (scripts/setup.sh installs it: EXTRAS=test,beam)")
from anomaly_jax.aco import beam_scan  # pylint: disable=g-import-not-at-top,wrong-import-position
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.store import Store

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = synth.SynthConfig(rate=8000, file_seconds=20, n_days=1,
                         blocks=((5, 3), (20, 3)), events_per_hour=(20, 300),
                         ships_per_block=0.0)
MEL = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16, stride=2,
                         band=(50.0, 3000.0))
ONE = config.BeamConfig(direct_num_workers=1,
                        direct_running_mode="in_memory")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  """(archive, its files, a workdir with an untrained detector)."""
  root = tmp_path_factory.mktemp("beam")
  arch = synth.build(str(root / "arch"), TINY)
  work = str(root / "work")
  cfg = det_lib.DetectorConfig(input_dim=MEL.dim, h_dim=8, hidden=(16,),
                               train=train_lib.TrainConfig(z_dim=2))
  det_lib.Detector(cfg, det_lib._untrained(cfg)).save(  # pylint: disable=protected-access
      os.path.join(work, "detector"))
  np.savez(os.path.join(work, "standardize.npz"),
           mean=np.zeros(MEL.dim, np.float32), std=np.ones(MEL.dim) * 10)
  return arch, Archive(arch).all_files(), work


@pytest.fixture(scope="module")
def single(setup, tmp_path_factory):
  """The single-process scan's index."""
  arch, paths, work = setup
  store = Store(str(tmp_path_factory.mktemp("one") / "s.sqlite"))
  scan.scan(paths, arch, scan.FileScorer.from_workdir(work, MEL, "np"),
            store, bar=False)
  return store


def _same_index(a: Store, b: Store):
  wa, wb = a.windows(), b.windows()
  assert list(wa["path"]) == list(wb["path"]) and len(wa["t"]) > 100
  np.testing.assert_array_equal(wa["t"], wb["t"])
  for k in ("score", "energy", "vae", "np", "gmm_nll"):
    np.testing.assert_allclose(wa[k], wb[k], rtol=1e-5, atol=1e-5)
  drop = ("wall", "done_at")
  strip = lambda fs: [{k: v for k, v in f.items() if k not in drop}
                      for f in fs]
  assert strip(a.files()) == strip(b.files())


def _rows(store: Store) -> int:
  return store.db.execute("SELECT COUNT(*) FROM windows").fetchone()[0]


def test_beam_equals_single_process_and_rerun_skips(setup, single,
                                                    tmp_path):
  arch, paths, work = setup
  store = Store(str(tmp_path / "b.sqlite"))
  sd = str(tmp_path / "shards")
  cfg = config.BeamConfig(direct_num_workers=2,
                          direct_running_mode="multi_threading")
  res = beam_scan.scan_archive(paths, arch, work, MEL, "np", store, cfg, sd)
  assert res.scanned + res.errors == len(paths) and res.errors == 1
  _same_index(single, store)
  assert len(shards.committed(sd)) == len(paths)
  bad = [f for f in store.files() if f["status"] == "error"]
  assert "outside 1..32" in bad[0]["reason"]
  # Detections from the two indexes are the same.
  typ = lambda w: detect.typical_mask(w["t"], (5,))
  wa, wb = single.windows(), store.windows()
  assert detect.find(wa, "np", typ(wa), 0.1) == detect.find(
      wb, "np", typ(wb), 0.1)
  # A rerun skips every committed file and duplicates no row.
  n = _rows(store)
  again = beam_scan.scan_archive(paths, arch, work, MEL, "np", store, ONE, sd)
  assert again.skipped == len(paths) and again.scanned == 0
  assert _rows(store) == n == sum(f["n_windows"] for f in store.files())


_KILLED = r"""
import sys, time
from anomaly_jax.aco import beam_scan, config, features, scan
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.store import Store
arch, work, sd, db = sys.argv[1:5]
slow = scan.FileScorer.score_path
def score_path(self, path, rel):
  time.sleep(0.4)  # a slow scan, so the kill lands in the middle of it
  return slow(self, path, rel)
scan.FileScorer.score_path = score_path
mel = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16, stride=2,
                         band=(50.0, 3000.0))
beam_scan.scan_archive(Archive(arch).all_files(), arch, work, mel, "np",
                       Store(db), config.BeamConfig(
                           direct_num_workers=1,
                           direct_running_mode="in_memory"), sd)
"""


def test_kill_9_mid_scan_then_rerun_equals_uninterrupted(setup, single,
                                                        tmp_path):
  arch, paths, work = setup
  sd, db = str(tmp_path / "shards"), str(tmp_path / "k.sqlite")
  env = dict(os.environ, PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
  p = subprocess.Popen([sys.executable, "-c", _KILLED, arch, work, sd, db],
                       env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
  t0 = time.time()
  while not shards.committed(sd) and time.time() - t0 < 120:
    assert p.poll() is None, "the scan ended before it was killed"
    time.sleep(0.01)
  p.send_signal(signal.SIGKILL)
  p.wait()
  first = shards.committed(sd)
  assert 1 <= len(first) < len(paths)
  # What a worker killed mid-write leaves: a temporary file, never read.
  open(os.path.join(sd, "ok", "x.parquet.tmp-dead"), "wb").close()
  store = Store(db)
  res = beam_scan.scan_archive(paths, arch, work, MEL, "np", store, ONE, sd)
  assert res.skipped == len(first)
  assert res.scanned + res.errors == len(paths) - len(first)
  _same_index(single, store)
  assert not [n for n in os.listdir(os.path.join(sd, "ok")) if ".tmp-" in n]


def test_unreadable_vanished_and_denied_files_are_dead_letters(
    setup, tmp_path, monkeypatch):
  arch, paths, work = setup
  gone = os.path.join(arch, "2016", "11", "30", "2016-11-30--05.59.HYD8BBpk")
  folder = os.path.join(arch, "2016", "11", "30", "2016-11-30--20.59.HYD8BBpk")
  os.makedirs(folder, exist_ok=True)  # a directory where a file should be
  denied = paths[0]
  real = reader.read_file

  def read_file(path, *a, **k):
    if path == denied:  # chmod 000 does not stop root: raise as open would
      raise PermissionError(13, "Permission denied", path)
    return real(path, *a, **k)

  monkeypatch.setattr(reader, "read_file", read_file)
  more = paths + [gone, folder]
  store = Store(str(tmp_path / "d.sqlite"))
  sd = str(tmp_path / "shards")
  res = beam_scan.scan_archive(more, arch, work, MEL, "np", store, ONE, sd)
  assert res.errors == 4 and res.scanned == len(paths) - 2
  reasons = {f["path"]: f["reason"] for f in store.files()
             if f["status"] == "error"}
  rel = lambda p: os.path.relpath(p, arch)
  assert "FileNotFoundError" in reasons[rel(gone)]
  assert "IsADirectoryError" in reasons[rel(folder)]
  assert "PermissionError: Permission denied" in reasons[rel(denied)]
  assert len(os.listdir(os.path.join(sd, "damaged"))) == 4
  # The single-process scan records the same reasons and goes on.
  one = Store(str(tmp_path / "one.sqlite"))
  r1 = scan.scan(more, arch, scan.FileScorer.from_workdir(work, MEL, "np"),
                 one, bar=False)
  os.rmdir(folder)
  assert r1.errors == 4 and {f["path"]: f["reason"] for f in one.files()
                             if f["status"] == "error"} == reasons
