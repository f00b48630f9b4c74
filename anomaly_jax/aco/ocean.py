"""The synthetic archive's ambient sound: ocean noise of a colour, its
"weather" drift, the DC offset and pressure swell (``synth`` adds ships
and planted events on top).

Levels are in full scale; a noise's spectral level ``level(f)`` is the
variance of a white noise with that spectrum, so the power in a band of
``bw`` Hz is ``2 bw / rate * (level(f) + FLOOR_STD**2)``
(``band_noise_power``, against which events' SNRs are set).
"""
import enum

import numpy as np
import scipy.fft
import scipy.signal


class Noise(str, enum.Enum):
  """Colour of the ambient noise (its spectral level, before the white
  floor; all three equal at ``NOISE_CORNER``)."""
  RED = "red"      # flat below NOISE_CORNER, -6 dB/octave above (1st order)
  PINK = "pink"    # -3 dB/octave (1/f) from PINK_LOW Hz up
  WHITE = "white"  # flat


NOISE_CORNER = 150.0   # Hz, corner of the red (1st-order low-pass) part
NOISE_STD = 0.006      # full scale, the red part at 0 dB "weather"
FLOOR_STD = 0.0008     # full scale, the white floor
PINK_LOW = 5.0         # Hz: pink noise is flat below (no infinite DC)


def weather_db(t_abs: np.ndarray) -> np.ndarray:
  """Ambient level (dB) at absolute time (s): slow, smooth, deterministic."""
  h = t_abs / 3600.0
  return 3.0 * np.sin(2 * np.pi * h / 29.0) + 2.0 * np.sin(
      2 * np.pi * h / 7.3 + 1.0)


def level(f, rate, noise: Noise = Noise.RED):
  """Spectral level of the coloured part at ``f`` Hz: the variance of a
  white noise with that spectrum (full scale^2, 0 dB weather)."""
  a = np.exp(-2 * np.pi * NOISE_CORNER / rate)

  def red(f):
    h2 = (1 - a) ** 2 / (1 - 2 * a * np.cos(2 * np.pi * f / rate) + a * a)
    return NOISE_STD ** 2 * (1 + a) / (1 - a) * h2

  if noise == Noise.RED:
    return red(f)
  if noise == Noise.PINK:
    return red(NOISE_CORNER) * NOISE_CORNER / np.maximum(f, PINK_LOW)
  return red(NOISE_CORNER) * np.ones_like(np.asarray(f, float))


def band_noise_power(f, bw, rate, noise: Noise = Noise.RED):
  """Noise power (full scale^2, 0 dB weather) in [f - bw/2, f + bw/2]."""
  return 2.0 * bw / rate * (level(f, rate, noise) + FLOOR_STD ** 2)


def ambient(rng, n, t_abs0, rate, noise: Noise = Noise.RED):
  white = rng.standard_normal(n, np.float32)
  if noise == Noise.RED:  # a 1st-order low-pass (the embedded archive's)
    a = np.float32(np.exp(-2 * np.pi * NOISE_CORNER / rate))
    red = scipy.signal.lfilter(np.array([1 - a], np.float32),
                               np.array([1, -a], np.float32), white)
    red *= np.float32(NOISE_STD / np.sqrt((1 - a) / (1 + a)))
  else:  # white noise shaped in frequency to the spectral level (float32,
    # a fast FFT length: 7.2 M samples have a factor 293)
    m = scipy.fft.next_fast_len(n, real=True)
    shape = np.sqrt(level(np.fft.rfftfreq(m, 1.0 / rate), rate, noise))
    red = scipy.fft.irfft(scipy.fft.rfft(white, m) * shape.astype(
        np.float32), m)[:n]
  red += FLOOR_STD * rng.standard_normal(n, np.float32)
  gain = slow(n, rate, lambda t: 10 ** (weather_db(t_abs0 + t) / 20))
  return red * gain


def slow(n, rate, fn, step=4096):
  """float32 ``[n]``: ``fn(seconds)`` held constant over ``step`` samples
  (for things that change over minutes; far cheaper than per sample)."""
  coarse = fn((np.arange(0, n, step) + step / 2) / rate).astype(np.float32)
  return np.repeat(coarse, step)[:n]


def swell(n, t_abs0, rate, day):
  period = 10.0 + 2.0 * np.sin(day)  # s
  dc = slow(n, rate, lambda t: 0.02 + 0.01 * np.sin(
      2 * np.pi * (t_abs0 + t) / 5400.0))
  amp = slow(n, rate, lambda t: 0.04 * (1 + 0.3 * np.sin(
      2 * np.pi * (t_abs0 + t) / 1800.0)))
  phase0 = 2 * np.pi * ((t_abs0 / period) % 1.0)
  w = np.float32(2 * np.pi / (period * rate))
  return dc + amp * np.sin(np.arange(n, dtype=np.float32) * w + phase0)
