"""39-dim MFCC features of 8 kHz telephone speech, as librosa computes them.

:func:`mfcc39` is what the corpus (and so every trained model) uses: MFCC +
deltas of one word's recording, normalised over that recording.  Search
computes :func:`mfcc_deltas` once over a long recording and normalises each
window over its own frames (:func:`normalise`), the same per-segment
normalisation as training.

:func:`mfcc_deltas` is librosa's ``feature.mfcc`` and ``feature.delta``
(Hann STFT, Slaney mel filters, ``power_to_db`` with ``top_db=80``, DCT-II,
Savitzky-Golay deltas) with their constants built once: librosa builds the
filters and checks its arguments on every call, most of a one-second query's
0.8 ms.  A test checks it against librosa.
"""
import functools

import librosa
import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

SAMPLE_RATE = 8000
N_FFT = 200     # 25 ms at 8 kHz
HOP = 80        # 10 ms
N_MELS = 40
N_MFCC = 13
DIM = 3 * N_MFCC
SETTINGS = dict(kind="mfcc39", sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop=HOP,
                n_mels=N_MELS, n_mfcc=N_MFCC, fmin=20.0, dim=DIM,
                normalise="mean/std per segment")


def mfcc_deltas(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
  """MFCC + delta + delta-delta, not normalised.

  Args:
    audio: ``[S]`` waveform.
    sr: sample rate (8000 for the corpus).

  Returns:
    ``[T, 39]`` float32, ``T = 1 + S // 80`` (centred frames).
  """
  window, mel, dct, deltas = _constants(sr)
  # Centred frames over zero padding (librosa's center=True, "constant").
  y = np.pad(np.asarray(audio, np.float32), N_FFT // 2)
  frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
  power = np.abs(scipy.fft.rfft(frames * window, axis=1)) ** 2  # [T, F]
  db = 10.0 * np.log10(np.maximum(power @ mel, 1e-10))          # [T, M]
  db = np.maximum(db, db.max() - 80.0)                          # top_db
  m = db @ dct                                                  # [T, 13]
  # mode="nearest" also works for words shorter than the 9-frame window.
  d1, d2 = (scipy.ndimage.convolve1d(m, c, axis=0, mode="nearest")
            for c in deltas)
  return np.concatenate([m, d1, d2], axis=1).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _constants(sr: int):
  """Hann window ``[N_FFT]``, mel filters ``[F, M]``, DCT-II ``[M, 13]`` and
  the two 9-tap delta filters, as librosa's mfcc/delta use them."""
  window = scipy.signal.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
  mel = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmin=20.0,
                            fmax=sr / 2).T.copy()
  dct = scipy.fft.dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)
  dct = dct[:N_MFCC].T.astype(np.float32)
  deltas = tuple(scipy.signal.savgol_coeffs(9, order, deriv=order)
                 for order in (1, 2))
  return window, mel, dct, deltas


def normalise(x: np.ndarray) -> np.ndarray:
  """``[T, D]`` with every column at mean 0, std 1 (constant columns: 0)."""
  x = x - x.mean(axis=0)
  std = x.std(axis=0)
  return (x / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def mfcc39(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
  """MFCC + delta + delta-delta, mean/variance normalised per utterance.

  Args:
    audio: ``[S]`` waveform.
    sr: sample rate (8000 for the corpus).

  Returns:
    ``[T, 39]`` float32, ``T = 1 + S // 80`` (centred frames); every column
    has mean 0 and standard deviation 1 over the utterance (columns that are
    constant stay 0).
  """
  return normalise(mfcc_deltas(audio, sr))
