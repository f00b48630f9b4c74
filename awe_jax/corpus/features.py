"""39-dim MFCC features of 8 kHz telephone speech, computed with librosa.

:func:`mfcc39` is what the corpus (and so every trained model) uses: MFCC +
deltas of one word's recording, normalised over that recording.  Search
computes :func:`mfcc_deltas` once over a long recording and normalises each
window over its own frames (:func:`normalise`), the same per-segment
normalisation as training.
"""
import librosa
import numpy as np

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
  m = librosa.feature.mfcc(y=np.asarray(audio, np.float32), sr=sr,
                           n_mfcc=N_MFCC, n_fft=N_FFT, win_length=N_FFT,
                           hop_length=HOP, n_mels=N_MELS, fmin=20.0,
                           fmax=sr / 2)
  # mode="nearest" also works for words shorter than the 9-frame window.
  d1 = librosa.feature.delta(m, order=1, mode="nearest")
  d2 = librosa.feature.delta(m, order=2, mode="nearest")
  return np.concatenate([m, d1, d2], axis=0).T.astype(np.float32)


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
