"""Waveform augmentation: each function's length contract and a measured
effect checked against a reference (librosa's spectral centroid, a pitch
from the autocorrelation, Schroeder's backward integration for RT60, SciPy's
Welch PSD)."""
import librosa
import numpy as np
import pytest
import scipy.signal

from awe_jax.corpus import degrade
from awe_jax.corpus import perturb

SR = degrade.SAMPLE_RATE


def _vowel(seconds=0.5, f0=120.0, sr=SR):
  """A buzz at ``f0`` through two formant resonators (700, 1200 Hz)."""
  n = int(seconds * sr)
  x = np.zeros(n)
  x[::int(sr / f0)] = 1.0
  for fc in (700.0, 1200.0):
    b, a = scipy.signal.iirpeak(fc, 8.0, fs=sr)
    x = scipy.signal.lfilter(b, a, x)
  return x / np.abs(x).max() * 0.5


def _f0(x):
  """The autocorrelation peak between 60 and 400 Hz, in Hz."""
  ac = np.correlate(x, x, mode="full")[x.size - 1:]
  lo, hi = SR // 400, SR // 60
  return SR / (lo + np.argmax(ac[lo:hi]))


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.1, 1.25])
def test_speed_changes_length_by_the_factor_and_pitch_with_it(factor):
  x = _vowel()
  y = perturb.speed(x, factor)
  assert y.ndim == 1 and abs(y.size - x.size / factor) <= 1
  assert _f0(y) == pytest.approx(120.0 * factor, rel=0.05)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_vtlp_keeps_length_and_moves_the_spectral_centroid(alpha):
  x = _vowel()
  y = perturb.vtlp(x, alpha)
  same = perturb.vtlp(x, 1.0)
  assert y.shape == x.shape and same.shape == x.shape
  np.testing.assert_allclose(same[256:-256], x[256:-256], atol=1e-6)

  def centroid(a):
    return np.median(librosa.feature.spectral_centroid(y=a, sr=SR, n_fft=256))
  assert centroid(y) / centroid(x) == pytest.approx(alpha, rel=0.05)


def test_room_impulse_response_decays_60_db_in_rt60():
  rir = perturb.room_impulse_response(0.5, SR, np.random.default_rng(0))
  assert rir.shape == (int(0.5 * SR) + 1,) and rir[0] == 1.0
  # Schroeder backward integration of the tail: -5 to -25 dB slope -> T60.
  edc = np.cumsum(rir[1:][::-1] ** 2)[::-1]
  edc_db = 10 * np.log10(edc / edc[0])
  t = np.arange(edc_db.size) / SR
  sel = (edc_db < -5) & (edc_db > -25)
  slope = np.polyfit(t[sel], edc_db[sel], 1)[0]
  assert -60 / slope == pytest.approx(0.5, rel=0.1)


def test_reverberate_has_full_convolution_length_and_input_rms():
  x = _vowel()
  rir = perturb.room_impulse_response(0.3, SR, np.random.default_rng(1))
  y = perturb.reverberate(x, rir)
  assert y.size == x.size + rir.size - 1
  assert np.sqrt(np.mean(y ** 2)) == pytest.approx(
      np.sqrt(np.mean(x ** 2)), rel=1e-6)


@pytest.mark.parametrize("kind", list(perturb.Channel))
def test_channel_keeps_length_and_the_signal(kind):
  x = _vowel()
  y = perturb.channel(x, kind)
  assert y.shape == x.shape and y.dtype == np.float32
  assert np.all(np.abs(y) <= 1.0)
  # After the codec's delay is undone, most of the signal survives.
  ref = perturb.channel(x, perturb.Channel.WIDEBAND)
  if kind in perturb.BAND_LIMITED:
    ref = scipy.signal.sosfilt(degrade.BANDPASS, x)
  corr = np.corrcoef(y, ref)[0, 1]
  assert corr > 0.6, corr


def test_wideband_keeps_what_the_telephone_band_removes():
  rng = np.random.default_rng(0)
  x = 0.1 * rng.standard_normal(SR)
  f, p_wide = scipy.signal.welch(
      perturb.channel(x, perturb.Channel.WIDEBAND), fs=SR)
  _, p_tel = scipy.signal.welch(
      perturb.channel(x, perturb.Channel.TELEPHONE), fs=SR)
  low = f < 150
  assert p_wide[low].mean() > 30 * p_tel[low].mean()


def test_telephone_degrade_with_a_codec_keeps_its_length():
  rng = np.random.default_rng(0)
  p = degrade.DegradeParams(snr_db=20, gain_db=0, pad_start_s=0.05,
                            pad_end_s=0.05, colour=1.0, babble=0.5,
                            noise_seed=3)
  x = _vowel(sr=16000) + 0.001 * rng.standard_normal(8000)
  default = degrade.telephone(x, 16000, p)
  gsm = degrade.telephone(
      x, 16000, p, codec=lambda y: perturb.codec(y, perturb.Channel.GSM))
  assert gsm.shape == default.shape and gsm.dtype == np.float32
