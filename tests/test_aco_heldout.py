"""The PCEN peer against librosa (and its column in an older index), the
synth's mix options, and the held-out evaluation end to end on tiny
archives."""
import dataclasses
import json
import os
import sqlite3

import librosa
import numpy as np
import pytest
import scipy.signal

from anomaly_jax import detector as det_lib
from anomaly_jax.aco import config, features, heldout, ocean, peer, synth
from anomaly_jax.aco import variants
from anomaly_jax.aco.store import FileResult, Store
from jaxtk import configs
from jaxtk.errors import DataError

TINY = synth.SynthConfig(rate=8000, file_seconds=60, n_days=1,
                         blocks=((5, 2), (20, 1)), events_per_hour=(60, 400),
                         ships_per_block=0.5, damage=False)
MEL = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=32, stride=2,
                         band=(50.0, 3000.0), detrend=False)


def test_peer_equals_a_direct_librosa_computation():
  rng = np.random.default_rng(0)
  rate, n = MEL.rate, 8000 * 6
  x = 0.01 * rng.standard_normal(n).astype(np.float32)
  t = np.arange(n) / rate
  burst = (t > 3.0) & (t < 3.4)
  x[burst] += 0.2 * np.sin(2 * np.pi * 1500 * t[burst]).astype(np.float32)
  mels = features.analyse(x, MEL).mels
  w = MEL.n_windows(n)
  got = peer.window_scores(mels, MEL, w)
  # The reference: librosa's mel spectrogram (detrend=False: librosa's
  # numbers), librosa.pcen, z-scores against the median of every 16th frame.
  s = librosa.feature.melspectrogram(y=x, sr=rate, n_fft=MEL.n_fft,
                                     hop_length=MEL.hop, n_mels=MEL.n_mels,
                                     fmin=MEL.fmin)
  p = librosa.pcen(s, sr=rate, hop_length=MEL.hop)
  z = (p - np.median(p[:, ::features.MEDIAN_STEP], axis=1, keepdims=True)
       ) / p.std(axis=1, keepdims=True)
  frame = z.max(axis=0)
  idx = (MEL.first_frame + np.arange(w)[:, None] * MEL.stride +
         np.arange(MEL.context))
  want = frame[idx].mean(axis=1)
  assert mels.shape == (MEL.n_frames(n), MEL.n_mels)
  assert got.shape == (w,) and got.dtype == np.float32
  np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)
  centre = MEL.window_times(w)
  assert 3.0 < centre[np.argmax(got)] < 3.5  # the burst ranks first


@pytest.mark.parametrize("noise,slope", [("red", -2.0), ("pink", -1.0),
                                         ("white", 0.0)])
def test_noise_colour_slope_and_level(noise, slope):
  rate, n = 24000, 1 << 18
  x = ocean.ambient(np.random.default_rng(1), n, 0.0, rate,
                     ocean.Noise(noise))
  f, psd = scipy.signal.welch(x, rate, nperseg=4096)
  gain2 = 10 ** (ocean.weather_db(np.array([5.0]))[0] / 10)
  band = (f > 400) & (f < 1500)
  fit = np.polyfit(np.log10(f[band]), np.log10(psd[band]), 1)[0]
  assert abs(fit - slope) < 0.2, fit
  # The events' SNR is set against the level the noise really has.
  for fc in (100.0, 1000.0):
    sel = (f >= fc - 50) & (f < fc + 50)
    measured = psd[sel].sum() * (f[1] - f[0])
    want = ocean.band_noise_power(fc, 100.0, rate, ocean.Noise(noise))
    assert abs(np.log10(measured / (want * gain2))) < 0.06  # 0.6 dB


def test_mix_options_are_validated_and_respected(tmp_path):
  with pytest.raises(ValueError, match="noise='blue' is not one of: red, "
                     "pink, white"):
    synth.mix(1, noise="blue")
  with pytest.raises(ValueError, match="low <= high"):
    synth.mix(1, snr_db=(5, 1))
  with pytest.raises(ValueError, match="ships_per_block=-1"):
    synth.mix(1, ships_per_block=-1)
  cfg = synth.mix(1, snr_db=(-3, 2), ships_per_block=4.0, noise="pink")
  rng = np.random.default_rng(0)
  plans = [synth._plan(cfg, rng, 0.0, 3600.0, 20) for _ in range(200)]
  ships = [sum(e["kind"] == "ship" for e in p) for p in plans]
  assert 3.6 < np.mean(ships) < 4.4
  snr = [e["snr"] for p in plans for e in p if e["kind"] != "ship"]
  assert min(snr) >= -3 and max(snr) <= 2 and np.ptp(snr) > 4
  # Red (the embedded archive's) keeps the old manifests valid.
  assert "noise" not in synth.config_json(synth.SynthConfig())
  assert synth.config_json(cfg)["noise"] == "pink"


def test_heldout_table_end_to_end_on_tiny_archives(tmp_path, monkeypatch):
  # An untrained detector: training is tested elsewhere, and its compile
  # would cost most of this test.
  trained = []
  monkeypatch.setattr(det_lib, "train_detector", lambda x, cfg, **_: (
      trained.append(len(x)) or det_lib.Detector(cfg, det_lib._untrained(
          cfg))))  # pylint: disable=protected-access
  seed0 = synth.build(str(tmp_path / "seed0"), TINY)
  cfg = configs.override(
      config.AcoConfig(archive=seed0, workdir=str(tmp_path / "run"), mel=MEL),
      train_per_file=200, steps_vae=20, steps_np=10, eras=1, top_n=0)
  arch = heldout.archives((1,), 2, base=TINY)
  out = heldout.run(cfg, str(tmp_path / "root"), arch)
  assert list(out["archives"]) == [heldout.DEFAULT, "seed1", "mix-seed2"]
  for row in out["archives"].values():
    assert list(row) == ["fused", "np", "vae", "gmm_nll", "pcen", "energy"]
  held = [out["archives"][n]["pcen"]["recall"] for n in arch]
  assert out["mean"]["pcen"]["recall"] == pytest.approx(np.mean(held))
  assert out["worst"]["pcen"]["recall"] == min(held)
  with open(tmp_path / "root" / "mix-seed2" / "manifest.json") as f:
    man = json.load(f)["config"]
  assert man["noise"] == "pink" and man["ships_per_block"] == 2.0
  with open(os.path.join(cfg.workdir, "heldout.json")) as f:
    assert json.load(f)["worst"] == out["worst"]
  md = open(os.path.join(cfg.workdir, "heldout.md")).read()
  assert "| mix-seed2 | pcen (peer) |" in md and "| worst (held-out) |" in md
  assert f"mix-seed2: {out['counts']['mix-seed2']['events']} planted" in md
  # A second run resumes: nothing is built or scanned again.
  again = heldout.run(cfg, str(tmp_path / "root"), arch)
  assert len(trained) == 1  # trained once, on seed 0's typical hour
  assert json.dumps(again["archives"]) == json.dumps(out["archives"])
  assert again["scans"]["mix-seed2"]["scanned"] == 0
  assert again["scans"]["mix-seed2"]["skipped"] == 3
  # Fusion variants on the stored scans: the run's own quantiles give its
  # fused recall back; another tonal quantile refits the tonal scale only.
  own = (cfg.fuse_quantile, cfg.fuse_low_quantile, cfg.fuse_tonal_quantile)
  archs = {"seed0": seed0, "mix-seed2": str(tmp_path / "root" / "mix-seed2")}
  rows = variants.compare(cfg, archs, [own, own[:2] + (0.6,)])
  assert len(trained) == 1  # nothing trained again
  for name, key in (("seed0", heldout.DEFAULT), ("mix-seed2", "mix-seed2")):
    assert rows[0]["recall"][name] == pytest.approx(
        out["archives"][key]["fused"]["recall"])
  assert rows[1]["quantiles"] == own[:2] + (0.6,)
  md = variants.table(rows)
  assert md.count("\n") == 3
  assert f"| {own[0]:g} / {own[1]:g} / 0.6 |" in md
  with pytest.raises(DataError, match="no fusion.json"):
    variants.compare(dataclasses.replace(cfg, workdir=str(tmp_path / "x")),
                     archs, [own])


def test_an_index_from_before_the_peer_gets_its_column(tmp_path):
  path = str(tmp_path / "scores.sqlite")
  old = sqlite3.connect(path)
  old.execute("CREATE TABLE windows (path TEXT, idx INTEGER, t REAL, score "
              "REAL, energy REAL, vae REAL, np REAL, gmm_nll REAL, ae REAL, "
              "PRIMARY KEY (path, idx))")
  old.execute("INSERT INTO windows VALUES ('a', 0, 1.0, 2, 3, 4, 5, 6, NULL)")
  old.commit()
  old.close()
  store = Store(path)
  store.add(FileResult("b", 0.0, 1.0, np.array([2.0]),
                       {"score": np.ones(1), "pcen": np.array([7.0])}))
  w = store.windows()
  np.testing.assert_array_equal(w["pcen"], [np.nan, 7.0])
  assert w["np"][0] == 5 and np.isnan(w["np"][1])
  store.close()
