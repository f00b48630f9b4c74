"""End to end on a small MNIST subset: training helps, resume, save/load."""
import dataclasses
import json

import jax
import numpy as np
import pytest

from anomaly_jax import detector
from anomaly_jax import metrics
from anomaly_jax import mnist
from anomaly_jax import train as train_lib
from anomaly_jax import vae

TINY = dict(z_dim=4, n_components=3, eras=1, steps_ae=0, steps_vae=150,
            steps_np=50, batch_size=64)


def _cfg(**train):
  """A small dense detector for 784-pixel digits; ``train``: TrainConfig
  fields over ``TINY``."""
  return detector.DetectorConfig(
      input_dim=784, h_dim=32, hidden=(64,),
      train=train_lib.TrainConfig(**dict(TINY, **train)))


@pytest.fixture(scope="module")
def data():
  x, y = mnist.load_mnist()
  cfg = mnist.MnistConfig(contamination=0.1, eval_fraction=0.3)
  s = mnist.split(x[:1500], y[:1500], cfg, seed=0)
  return s


def _rows(workdir):
  with open(f"{workdir}/metrics.jsonl") as f:
    return [json.loads(l) for l in f]


def test_split_respects_flags(data):
  assert set(np.unique(data.digit_eval[data.label_eval == 1])) <= {1, 4, 7}
  n_typ = len(data.x_typ)
  frac = (len(data.x_all) - n_typ) / len(data.x_all)
  assert frac == pytest.approx(0.1, abs=0.01)
  with pytest.raises(ValueError, match="disjoint"):
    mnist.split(data.x_all, np.zeros(len(data.x_all), int),
                mnist.MnistConfig(typical=(1, 2), anomalous=(1,)), 0)


def test_three_phases_beat_untrained(data):
  cfg = _cfg()
  det = detector.train_detector(data.x_all, cfg, x_typical=data.x_typ)
  untrained = detector.Detector(cfg, detector._untrained(cfg))  # pylint: disable=protected-access
  before = metrics.auc(data.label_eval, untrained.score(data.x_eval)["np"])
  after = det.score(data.x_eval)
  assert set(after) == {"vae", "np", "gmm_nll"}
  for v in after.values():
    assert v.shape == (len(data.x_eval),) and np.all(np.isfinite(v))
  assert metrics.auc(data.label_eval, after["np"]) > before + 0.05


def test_resume_after_interruption(data, tmp_path, monkeypatch):
  cfg = _cfg(steps_vae=50, steps_np=20)
  real = train_lib._run_phase  # pylint: disable=protected-access

  def stop_in_np(name, *a, **k):
    if name.startswith("np"):
      raise KeyboardInterrupt
    return real(name, *a, **k)

  monkeypatch.setattr(train_lib, "_run_phase", stop_in_np)
  with pytest.raises(KeyboardInterrupt):
    detector.train_detector(data.x_all, cfg, str(tmp_path))
  monkeypatch.setattr(train_lib, "_run_phase", real)
  det = detector.train_detector(data.x_all, cfg, str(tmp_path))
  phases = [r["phase"] for r in _rows(tmp_path)]
  assert phases.count("vae[era 0]") == 1  # phase 1 was not redone
  assert "np[era 0]" in phases and phases[-1] == "gmm[era 0]"
  # the same parameters as a run never stopped
  whole = detector.train_detector(data.x_all, cfg, str(tmp_path / "whole"))
  leaves = jax.tree.leaves(whole.trained.params)
  assert len(leaves) > 10
  for a, b in zip(leaves, jax.tree.leaves(det.trained.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  for a, b in zip(whole.trained.gmm, det.trained.gmm):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # a finished run resumes to the end at once and gives the same detector
  again = detector.train_detector(data.x_all, cfg, str(tmp_path))
  for k, v in det.score(data.x_eval[:50]).items():
    np.testing.assert_allclose(again.score(data.x_eval[:50])[k], v,
                               rtol=1e-5)


def test_detector_save_load_round_trip(data, tmp_path):
  cfg = _cfg(steps_ae=20, steps_vae=20, steps_np=10)
  det = detector.train_detector(data.x_typ, cfg)
  path = str(tmp_path / "det")
  det.save(path)
  det.save(path)  # overwriting is allowed
  back = detector.Detector.load(path)
  assert back.cfg == cfg
  a, b = det.score(data.x_eval[:70], batch_size=32), back.score(
      data.x_eval[:70], batch_size=32)
  assert set(a) == {"ae", "vae", "np", "gmm_nll"}
  for k in a:
    np.testing.assert_allclose(a[k], b[k], rtol=1e-6)
  with pytest.raises(ValueError, match=r"\[N, 784\]"):
    back.score(np.zeros((3, 5), np.float32))


def test_per_digit_auc_matches_sklearn_and_table():
  from sklearn.metrics import roc_auc_score  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  digits = rng.integers(0, 10, 400)
  labels = np.isin(digits, (1, 4, 7)).astype(int)
  scores = {"np": rng.normal(size=400) + labels * (digits == 4),
            "gmm_nll": rng.normal(size=400)}
  per = mnist.per_digit_auc(scores, labels, digits)
  assert set(per) == {"gmm_nll", "np"} and set(per["np"]) == {1, 4, 7}
  for k, by_digit in per.items():
    for d, a in by_digit.items():
      keep = (labels == 0) | (digits == d)
      assert a == pytest.approx(roc_auc_score(labels[keep], scores[k][keep]))
  assert per["np"][4] > 0.7 > per["np"][1]
  table = mnist.format_table(mnist.evaluate(scores, labels, 0.05), 0.05, per)
  worst = min(per["np"], key=per["np"].get)
  assert "AUC 4 |" in table and f"{per['np'][worst]:.3f} ({worst})" in table
