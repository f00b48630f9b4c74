"""Waveform augmentation at corpus build: speed, vocal-tract length, room
reverberation and the transmission channel (noise at a random SNR and the
level are in :mod:`awe_jax.corpus.degrade`; pitch is the voices' own
``pitch`` draw).

Each function is pure numpy (a seeded ``numpy.random.Generator`` where
random) with a stated length contract, tested in ``tests/test_perturb.py``.
The statistical room impulse response and the STFT frequency warp are
written by hand: librosa and SciPy have neither; the codecs are libsndfile's
(through ``soundfile``).
"""
import enum
import fractions
import io

import librosa
import numpy as np
import scipy.signal
import soundfile as sf

from awe_jax.corpus import degrade


class Channel(enum.Enum):
  """Transmission channels of the stored 8 kHz audio."""
  TELEPHONE = "telephone"   # 300-3400 Hz, G.711 mu-law (the default corpus)
  WIDEBAND = "wideband"     # the whole 0-4 kHz band, 16-bit PCM
  GSM = "gsm"               # 300-3400 Hz, GSM 06.10 full-rate codec
  ADPCM = "adpcm"           # 300-3400 Hz, G.721 32 kbit/s ADPCM
  MP3 = "mp3"               # the whole band, MPEG-1 Layer III
  OPUS = "opus"             # the whole band, Opus in Ogg


_CODEC = {Channel.GSM: ("WAV", "GSM610"), Channel.ADPCM: ("WAV", "G721_32"),
          Channel.MP3: ("MP3", "MPEG_LAYER_III"), Channel.OPUS: ("OGG", "OPUS")}
BAND_LIMITED = (Channel.TELEPHONE, Channel.GSM, Channel.ADPCM)
_MAX_DELAY = 4000  # samples of codec delay searched (0.5 s)


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
  """Speed perturbation (Ko et al., 2015): tempo, pitch and formants all
  scale by ``factor``, by resampling.

  Args:
    audio: ``[S]`` waveform.
    factor: > 1 is faster; rounded to a ratio of integers below 100.

  Returns:
    ``[ceil(S * q / p)]`` where ``p / q`` is ``factor`` as a fraction
    (``~ S / factor`` samples).
  """
  frac = fractions.Fraction(factor).limit_denominator(100)
  return scipy.signal.resample_poly(np.asarray(audio, np.float64),
                                    frac.denominator, frac.numerator)


def vtlp(audio: np.ndarray, alpha: float, n_fft: int = 256) -> np.ndarray:
  """Vocal-tract length perturbation (Jaitly & Hinton, 2013) on the
  waveform: each STFT frame's magnitude is read at ``f / alpha`` (so
  formants move to ``alpha`` times their frequency) and resynthesised with
  the original phase.

  Args:
    audio: ``[S]`` waveform.
    alpha: warp factor (0.9-1.1 is typical; 1 leaves the audio unchanged up
      to the STFT round trip).
    n_fft: STFT size (hop ``n_fft // 4``).

  Returns:
    ``[S]`` waveform (same length).
  """
  x = np.asarray(audio, np.float64)
  spec = librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4)
  bins = np.arange(spec.shape[0], dtype=np.float64)
  src = np.clip(bins / alpha, 0, bins[-1])
  mag = np.abs(spec)
  warped = np.stack([np.interp(src, bins, m) for m in mag.T], axis=1)
  y = librosa.istft(warped * np.exp(1j * np.angle(spec)),
                    hop_length=n_fft // 4, n_fft=n_fft, length=x.size)
  return y


def room_impulse_response(rt60: float, sr: int, rng,
                          direct_to_reverb_db: float = 0.0) -> np.ndarray:
  """A statistical room impulse response: a unit direct path followed by
  exponentially decaying Gaussian noise (Polack's model), the energy falling
  60 dB in ``rt60`` seconds.

  Args:
    rt60: reverberation time in seconds (> 0).
    sr: sample rate.
    rng: ``numpy.random.Generator``.
    direct_to_reverb_db: direct-path energy over the tail's.

  Returns:
    ``[int(rt60 * sr) + 1]`` impulse response, ``h[0] = 1``.
  """
  n = int(rt60 * sr) + 1
  t = np.arange(n) / sr
  tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60)  # amplitude: -60 dB
  tail[0] = 0.0
  tail *= np.sqrt(10 ** (-direct_to_reverb_db / 10) / (np.sum(tail ** 2)
                                                        + 1e-12))
  tail[0] = 1.0
  return tail


def reverberate(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
  """``[S]`` -> ``[S + len(rir) - 1]``: the full convolution, rescaled to the
  input's RMS (so the later SNR and level draws keep their meaning)."""
  x = np.asarray(audio, np.float64)
  y = scipy.signal.fftconvolve(x, rir)
  return y * np.sqrt(np.mean(x ** 2) / (np.mean(y ** 2) + 1e-20))


def codec(audio: np.ndarray, kind: Channel) -> np.ndarray:
  """The codec of ``kind`` alone on 8 kHz audio in [-1, 1] (mu-law for
  :attr:`Channel.TELEPHONE`, 16-bit PCM for :attr:`Channel.WIDEBAND`).

  Returns:
    ``[S]`` float32: the decoded audio realigned (by cross-correlation) to
    undo the codec's delay, cut or zero-filled to the input length.
  """
  x = np.asarray(audio, np.float64)
  if kind is Channel.TELEPHONE:
    return librosa.mu_expand(librosa.mu_compress(x, mu=255, quantize=True),
                             mu=255, quantize=True).astype(np.float32)
  if kind is Channel.WIDEBAND:
    return (np.round(x * 32767) / 32767).astype(np.float32)
  fmt, subtype = _CODEC[kind]
  buf = io.BytesIO()
  pad = np.zeros(_MAX_DELAY)
  sf.write(buf, np.concatenate([x, pad]), degrade.SAMPLE_RATE, format=fmt,
           subtype=subtype)
  buf.seek(0)
  y, _ = sf.read(buf, dtype="float64")
  y = np.pad(y, (0, max(0, x.size + _MAX_DELAY - y.size)))
  xc = scipy.signal.correlate(y[:x.size + _MAX_DELAY], x, mode="valid")
  lag = int(np.argmax(xc)) if np.any(x) else 0
  return y[lag:lag + x.size].astype(np.float32)


def channel(audio: np.ndarray, kind: Channel) -> np.ndarray:
  """Band limit (telephone band for the narrowband channels) and codec of
  ``kind`` on 8 kHz audio.

  Args:
    audio: ``[S]`` at :data:`degrade.SAMPLE_RATE`.
    kind: the channel.

  Returns:
    ``[S]`` float32 in [-1, 1].
  """
  x = np.asarray(audio, np.float64)
  if kind in BAND_LIMITED:
    x = scipy.signal.sosfilt(degrade.BANDPASS, x)
  return codec(np.clip(x, -1.0, 1.0), kind)
