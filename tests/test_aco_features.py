"""JAX log-mel against librosa; context windows."""
import librosa
import numpy as np
import pytest
import scipy.signal

from anomaly_jax.aco import features


def _signal(rate, seconds, seed=0):
  rng = np.random.default_rng(seed)
  t = np.arange(int(rate * seconds)) / rate
  x = 0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(
      2 * np.pi * (300 + 400 * t) * t)
  return x.astype(np.float32)


@pytest.mark.parametrize("cfg", [
    features.MelConfig(detrend=False),
    features.MelConfig(rate=16000, n_fft=1024, hop=512, n_mels=64, fmin=0.0,
                       top_db=80.0, detrend=False),
    features.MelConfig(rate=8000, n_fft=400, hop=160, n_mels=40, fmin=20.0,
                       fmax=3000.0, detrend=False),
])
def test_logmel_equals_librosa(cfg):
  x = _signal(cfg.rate, 1.3)
  want = librosa.power_to_db(
      librosa.feature.melspectrogram(
          y=x, sr=cfg.rate, n_fft=cfg.n_fft, hop_length=cfg.hop,
          n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax),
      ref=1.0, amin=cfg.amin, top_db=cfg.top_db).T
  got = np.asarray(features.logmel(x, cfg))
  assert got.shape == want.shape == (cfg.n_frames(x.size), cfg.n_mels)
  np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_file_features_windows_and_padding():
  cfg = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16,
                           context=5, stride=2, band=(100.0, 2000.0),
                           detrend=False)
  x = _signal(cfg.rate, 3.0)
  win, energy = features.file_features(x, cfg)
  w = cfg.n_windows(x.size)
  assert win.shape == (w, 5 * 16) and energy.shape == (w,)
  db = librosa.power_to_db(librosa.feature.melspectrogram(
      y=x, sr=cfg.rate, n_fft=512, hop_length=256, n_mels=16, fmin=10.0),
      amin=1e-10, top_db=None).T
  db -= np.median(db[::features.MEDIAN_STEP], axis=0)
  np.testing.assert_allclose(win[3], db[7:12].ravel(), atol=2e-4)  # frame 1+
  np.testing.assert_allclose(cfg.window_times(2), [3 * 256 / 8000,
                                                   5 * 256 / 8000])
  assert w == ((x.size - 256) // 256 - 5) // 2 + 1


def test_detrend_removes_swell_leakage():
  cfg = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16, fmin=10.0)
  t = np.arange(8000 * 4) / 8000
  noise = 1e-3 * np.random.default_rng(1).standard_normal(t.size)
  swell = 0.3 + 0.5 * np.sin(2 * np.pi * 0.08 * t)
  x = (noise + swell).astype(np.float32)
  raw = features.MelConfig(**{**cfg.__dict__, "detrend": False})
  clean = np.asarray(features.logmel(noise.astype(np.float32), cfg))
  assert np.abs(np.asarray(features.logmel(x, cfg)) - clean)[2:-2].max() < 1.0
  assert (np.asarray(features.logmel(x, raw)) - clean)[2:-2, 0].min() > 20.0


@pytest.mark.parametrize("hop", [256, 160])  # phase reshape; gather
def test_detrend_equals_scipy_detrend(hop):
  cfg = features.MelConfig(rate=8000, n_fft=512, hop=hop, n_mels=16)
  t = np.arange(8000 * 2) / 8000
  x = (0.3 + 0.5 * np.sin(2 * np.pi * 0.3 * t) + _signal(8000, 2.0)
       ).astype(np.float32)
  pad = np.pad(x.astype(np.float64), (256, 256))
  frames = np.stack([pad[i * hop:i * hop + 512]
                     for i in range(cfg.n_frames(x.size))])
  mel_t, win, _ = features._constants(cfg)
  spec = np.fft.rfft(scipy.signal.detrend(frames, axis=-1) * win, axis=-1)
  want = 10 * np.log10(np.maximum((np.abs(spec) ** 2) @ mel_t, 1e-10))
  got = np.asarray(features.logmel(x, cfg))
  assert got.shape == want.shape
  np.testing.assert_allclose(got[1:-1], want[1:-1], atol=2e-3)


def test_low_bands_against_numpy_and_a_20_hz_pulse():
  cfg = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16,
                           context=1, stride=1, low_bands=(12.0, 18.0, 24.0),
                           low_decim=32, low_n_fft=256)
  rng = np.random.default_rng(0)
  t = np.arange(8000 * 20) / 8000
  noise = 0.05 * rng.standard_normal(t.size)
  pulse = np.where((t > 9) & (t < 11), 0.3 * np.sin(2 * np.pi * 20 * t), 0)
  x = (noise + pulse).astype(np.float32)
  n_frames = cfg.n_frames(x.size)
  got = np.asarray(features._power(x, cfg)[0][:, :2])  # low bands first
  # numpy: average 32 samples, centred 256-point Hann frames every 8.
  y = np.pad(x.reshape(-1, 32).mean(1).astype(np.float64), (128, 128 + 256))
  frames = np.stack([y[f * 8:f * 8 + 256] for f in range(n_frames)])
  frames -= frames.mean(1, keepdims=True)
  power = np.abs(np.fft.rfft(frames * np.hanning(257)[:-1], axis=1)) ** 2
  freqs = np.fft.rfftfreq(256, 32 / 8000)
  want = np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1)
                   for lo, hi in ((12, 18), (18, 24))], 1)
  np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-6)
  # The pulse (18-24 Hz band) stands > 10 dB above the band's median.
  db = 10 * np.log10(got[:, 1])
  frame_t = np.arange(n_frames) * cfg.hop / cfg.rate
  assert db[np.abs(frame_t - 10) < 0.5].min() > np.median(db) + 10
  win, _ = features.file_features(x, cfg)
  assert win.shape[1] == cfg.dim == 2 + 16
  assert features.logmel(x, cfg).shape[1] == 16
  with pytest.raises(ValueError, match="low_bands"):
    features.file_features(x, features.MelConfig(
        rate=8000, n_fft=512, hop=256, n_mels=16, low_bands=(30.0, 20.0)))


def test_low_band_scale_marks_the_low_bands_of_every_frame():
  cfg = features.MelConfig(rate=8000, n_fft=512, hop=256, n_mels=16,
                           context=3, low_bands=(12.0, 18.0, 24.0),
                           low_decim=32, low_n_fft=256)
  scale = features.low_band_scale(cfg, 10.0)
  assert scale.shape == (cfg.dim,) == (3 * 18,) and scale.dtype == np.float32
  np.testing.assert_array_equal(np.flatnonzero(scale == 10.0),
                                [0, 1, 18, 19, 36, 37])
  assert (scale[scale != 10.0] == 1.0).all()
  assert (features.low_band_scale(features.MelConfig(), 10.0) == 1.0).all()


@pytest.mark.parametrize("cfg", [
    features.MelConfig(),
    features.MelConfig(rate=8000, n_fft=400, hop=160, n_mels=40, fmin=20.0,
                       band=(5000.0, 6000.0)),  # above Nyquist: no bin
])
def test_block_sparse_projection_equals_the_dense_matrices(cfg):
  mel_t, _, band = features._constants(cfg)
  pw = np.random.default_rng(0).exponential(
      size=(9, cfg.n_fft // 2 + 1)).astype(np.float32)
  got = np.asarray(features._project(pw, cfg))
  np.testing.assert_allclose(got, pw @ np.c_[mel_t, band], rtol=1e-5,
                             atol=1e-9)
  # The blocks cover every nonzero weight once.
  covered = np.zeros_like(mel_t)
  for lo, hi, b0, b1, w in features._mel_blocks(cfg):
    covered[lo:hi, b0:b1] += w
  np.testing.assert_array_equal(covered, mel_t)
