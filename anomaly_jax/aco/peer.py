"""The PCEN band-energy peer detector: the standard the ACO detector is
measured against (issue 17).

The energy baseline's 50-4,000 Hz band cannot see clicks; this peer is the
usual bioacoustic detector without learning: per-channel energy
normalisation (``librosa.pcen``, its default gain 0.98, bias 2, power 0.5
and 0.4 s time constant, at the features' rate and hop) of the scan's 64
mel band powers, each band z-scored against its median over the file
(``(P - median) / std``, the median over every ``MEDIAN_STEP``-th frame
as the features take it), the maximum over bands per frame, averaged over
the frames of each window (the detector's ``context``-frame windows at its
``stride``, as the energy baseline).  The scan stores it beside the
detector's scores (column ``pcen``), so every table shows it; it costs one
``librosa.pcen`` per file on the mel powers the features already computed.

It is plain numpy around librosa's ``pcen`` on purpose: the peer is the
library's PCEN, not ours (a JAX PCEN front end for the detector itself is
tested against it).
"""
import chex
import librosa
import numpy as np

from anomaly_jax.aco.features import MEDIAN_STEP, MelConfig


def frame_scores(mel_power: np.ndarray, cfg: MelConfig) -> np.ndarray:
  """Per frame, the largest band z-score of PCEN against the file median.

  Args:
    mel_power: float ``[F, n_mels]`` mel band powers of one file (centred
      frames, as ``features.analyse`` returns them).
    cfg: the features' rate and hop (the PCEN time constant is in s).

  Returns:
    float32 ``[F]``.
  """
  chex.assert_rank(mel_power, 2)
  # float32: librosa's float64 path costs 30x more (1.1 s a file, loaded).
  p = librosa.pcen(np.asarray(mel_power, np.float32), sr=cfg.rate,
                   hop_length=cfg.hop, axis=0)
  med = np.median(p[::MEDIAN_STEP], axis=0)
  std = np.maximum(p.std(axis=0), np.finfo(np.float32).tiny)
  return ((p - med) / std).max(axis=1).astype(np.float32)


def window_scores(mel_power: np.ndarray, cfg: MelConfig,
                  n_windows: int) -> np.ndarray:
  """The peer's score of each of the scan's windows of one file.

  Args:
    mel_power: float ``[F, n_mels]`` (see ``frame_scores``).
    cfg: the features (``context``, ``stride``, ``first_frame``).
    n_windows: windows of the file (``cfg.n_windows(n_samples)``).

  Returns:
    float32 ``[n_windows]``: the mean of ``frame_scores`` over each
    window's frames (window i starts at frame ``first_frame + i * stride``,
    as ``features.file_features``).
  """
  f = frame_scores(mel_power, cfg)
  idx = (cfg.first_frame + np.arange(n_windows)[:, None] * cfg.stride +
         np.arange(cfg.context))
  return f[idx].mean(axis=1) if n_windows else np.zeros(0, np.float32)
