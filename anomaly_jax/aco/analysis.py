"""One file's features and branch scores in one XLA program.

What the scan computes per file, from its samples: the detector's
standardised windows and the energy baseline (``features``), the mel band
powers (the PCEN peer's input, ``peer``), and, if the run fuses them, the
low-frequency branch's and the tonal branch's window scores (``pulse``,
``tonal``).  One jitted call: the branches take their inputs (the
decimated signal, the tonal bins of the features' own STFT) inside the
program, with no round trip to the host between them, and the per-file
medians are found by bisection (``jaxtk.order``), not sorted.  Measured on
a 5-minute 24 kHz file, 2 cores: docs/benchmarks.md.
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax.aco import features, pulse, tonal


class FileAnalysis(NamedTuple):
  """``analyse``'s outputs for a file of ``n`` samples, ``W =
  mel.n_windows(n)`` windows, ``F = mel.n_frames(n)`` frames.

  Attributes:
    windows: float32 ``[W, mel.dim]`` standardised context windows.
    energy: float32 ``[W]`` the energy baseline, dB above the file's median.
    mels: float32 ``[F, mel.n_mels]`` mel band powers.
    low: float32 ``[W]`` the low branch's scores, or None.
    tonal: float32 ``[W]`` the tonal branch's scores, or None.
  """
  windows: np.ndarray
  energy: np.ndarray
  mels: np.ndarray
  low: np.ndarray | None
  tonal: np.ndarray | None


@functools.partial(jax.jit, static_argnums=(1, 5, 6))
def _analyse(x, mel, n, mean, std, low, tone):
  win, energy, mels, power = features._file_features(  # pylint: disable=protected-access
      x, mel, n, mean, std, None if tone is None else tonal.bins(mel, tone))
  low_s = tonal_s = None
  if low is not None:
    low_s = pulse.scores_xla(x.reshape(-1, low.pulse_decim).mean(axis=1), n,
                             mel, low)
  if tone is not None:
    tonal_s = tonal.window_scores_xla(power, n, mel, tone)
  return win, energy, mels, low_s, tonal_s


def analyse(x: np.ndarray, mel: features.MelConfig, mean=None, std=None,
            low: pulse.PulseConfig | None = None,
            tone: tonal.TonalConfig | None = None) -> FileAnalysis:
  """Features and branch scores of one file: ``FileAnalysis``.

  Args:
    x: float32 ``[n]`` samples in full scale at ``mel.rate``.
    mel: the features.
    mean, std: float32 ``[mel.dim]`` from the training windows (default
      0, 1).
    low: the low branch's settings, or None (no low scores).
    tone: the tonal branch's settings, or None.

  Equal to ``features.analyse`` (windows, energy, mels),
  ``pulse.file_scores`` and ``tonal.file_scores`` on the same samples;
  the signal is zero padded to a multiple of ``features.BUCKET``.
  """
  for cfg in (low, tone):
    if cfg is not None:
      cfg.check(mel)
  n = x.size
  padded = np.zeros(-(-max(n, 1) // features.BUCKET) * features.BUCKET,
                    np.float32)
  padded[:n] = x
  mean = np.zeros(mel.dim, np.float32) if mean is None else mean
  std = np.ones(mel.dim, np.float32) if std is None else std
  out = _analyse(jax.device_put(padded), mel, n,
                 jnp.asarray(mean, jnp.float32),
                 jnp.asarray(std, jnp.float32), low, tone)
  w, f = mel.n_windows(n), mel.n_frames(n)
  win, energy, mels, low_s, tonal_s = (
      None if a is None else np.asarray(a) for a in out)
  return FileAnalysis(win[:w], energy[:w], mels[:f],
                      None if low_s is None else low_s[:w],
                      None if tonal_s is None else tonal_s[:w])
