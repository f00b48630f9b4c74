"""Telephone-channel degradation of clean synthetic speech.

The chain, for one token: resample to 8 kHz; trim the synthesiser's
leading/trailing silence and pad a random amount back; add noise at a
random SNR (coloured noise with a random spectral slope, mixed with
babble-like noise: several speech-shaped streams with syllable-rate
amplitude envelopes); band-limit to the telephone band (300-3400 Hz); set a
random level; pass through a G.711-style 8-bit mu-law codec.
"""
import dataclasses
import fractions

import librosa
import numpy as np
import scipy.signal

SAMPLE_RATE = 8000
BAND_HZ = (300.0, 3400.0)
BANDPASS = scipy.signal.butter(6, BAND_HZ, btype="bandpass", fs=SAMPLE_RATE,
                                output="sos")


@dataclasses.dataclass(frozen=True)
class DegradeParams:
  """Random draws for one token (all recorded in the manifest)."""
  snr_db: float      # speech-to-noise power ratio, before band-limiting
  gain_db: float     # level relative to -20 dBFS RMS
  pad_start_s: float
  pad_end_s: float
  colour: float      # noise power spectrum ~ 1 / f**colour (0 white, 2 brown)
  babble: float      # share of babble-like noise in the noise mix, 0..1
  noise_seed: int


def resample(audio: np.ndarray, sr: int, target: int = SAMPLE_RATE):
  """``[S]`` -> ``[S * target / sr]`` with a polyphase filter."""
  if sr == target:
    return audio
  frac = fractions.Fraction(target, sr)
  return scipy.signal.resample_poly(audio, frac.numerator, frac.denominator)


def coloured_noise(n: int, colour: float, rng) -> np.ndarray:
  """``[n]`` unit-power noise with power spectrum ``~ 1 / f**colour``."""
  spec = np.fft.rfft(rng.standard_normal(n))
  f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
  spec *= np.maximum(f, 50.0) ** (-colour / 2)
  x = np.fft.irfft(spec, n)
  return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def babble_noise(n: int, rng, streams: int = 6) -> np.ndarray:
  """``[n]`` unit-power babble-like noise: speech-shaped (pink, 100-3500 Hz)
  streams, each switched on and off by a random ~4 Hz envelope."""
  t = np.arange(n) / SAMPLE_RATE
  total = np.zeros(n)
  for _ in range(streams):
    knots = np.arange(0.0, t[-1] + 0.25, 0.125) if n > 1 else np.zeros(1)
    env = np.interp(t, knots, rng.uniform(0.0, 1.0, knots.size) ** 2)
    total += env * coloured_noise(n, 1.0, rng)
  sos = scipy.signal.butter(4, (100.0, 3500.0), btype="bandpass",
                            fs=SAMPLE_RATE, output="sos")
  total = scipy.signal.sosfilt(sos, total)
  return total / (np.sqrt(np.mean(total ** 2)) + 1e-12)


def telephone(audio: np.ndarray, sr: int, p: DegradeParams,
              band_limit: bool = True, codec=None) -> np.ndarray:
  """Degrades one clean token.

  Args:
    audio: ``[S]`` float waveform at ``sr`` Hz.
    sr: its sample rate.
    p: the token's random draws.
    band_limit: apply the telephone band-pass (False: the whole 0-4 kHz).
    codec: ``[S'] -> [S']`` function applied last instead of G.711 mu-law
      (e.g. ``functools.partial(perturb.codec, kind=...)``).

  Returns:
    ``[S']`` float32 waveform at 8 kHz in [-1, 1].
  """
  rng = np.random.default_rng(p.noise_seed)
  x = resample(np.asarray(audio, np.float64), sr)
  x, _ = librosa.effects.trim(x, top_db=40, frame_length=256, hop_length=64)
  speech_power = np.mean(x ** 2) + 1e-12
  x = np.concatenate([np.zeros(int(p.pad_start_s * SAMPLE_RATE)), x,
                      np.zeros(int(p.pad_end_s * SAMPLE_RATE))])
  noise = ((1.0 - p.babble) * coloured_noise(x.size, p.colour, rng)
           + p.babble * babble_noise(x.size, rng))
  noise *= np.sqrt(speech_power / 10 ** (p.snr_db / 10)
                   / (np.mean(noise ** 2) + 1e-12))
  y = x + noise
  if band_limit:
    y = scipy.signal.sosfilt(BANDPASS, y)
  y *= 10 ** ((p.gain_db - 20.0) / 20) / (np.sqrt(np.mean(y ** 2)) + 1e-12)
  y = np.clip(y, -1.0, 1.0)
  if codec is not None:
    return np.asarray(codec(y), np.float32)
  y = librosa.mu_expand(librosa.mu_compress(y, mu=255, quantize=True),
                        mu=255, quantize=True)
  return y.astype(np.float32)
