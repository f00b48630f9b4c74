"""The tonal branch: a score for narrowband calls (humpback FM units, minke
"boings") that last longer than one scan window.

The NP score sees 5 frames (0.2 s) of 64 mel bands; its false alarms at
1 per hour are lone windows of noise, and a faint 1 s FM unit scores no
higher.  This branch looks for a tone instead: each 2,048-point frame of
the scan's STFT grid (hop ``mel.hop``, centred, periodic Hann, the frame's
mean removed), its power per FFT bin in ``tonal_band`` (11.7 Hz bins at
24 kHz) divided by that bin's median over every 4th frame of the file (whitening:
the red/pink noise, the weather's level and a ship's steady blade lines
cancel), the log of the largest ratio per frame, averaged over
``tonal_frames`` frames (12: 0.5 s) centred on each scan window.  A tone
20 dB above its bin's noise lifts the max ratio for as long as it lasts;
noise lifts single frames.

Measured offline on the development archives (docs/aco.md, third round):
as a third fused score (quantile ``fuse_quantile``) recall at 1 FA/h
0.835 -> 0.929 (mean of seed 0, seed 10, mix-seed12).  The planted
humpback units are linear FM tones with 3 harmonics in 150-4,000 Hz and
the minke call a 1.35 kHz carrier, both what this branch looks for.
"""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.ndimage

from anomaly_jax.aco import features

MEDIAN_STEP = 4  # frames between those a bin's median uses (4x less sorting)


@dataclasses.dataclass(frozen=True)
class TonalConfig:
  """Tonal branch parameters (hashable: a static jit argument).

  Attributes:
    tonal_band: lo, hi Hz of the FFT bins searched for a tone.
    tonal_frames: STFT frames averaged per window (12: 0.5 s at 24 kHz).
  """
  tonal_band: tuple = (100.0, 4000.0)
  tonal_frames: int = 12

  def check(self, mel: features.MelConfig):
    lo, hi = self.tonal_band
    if not 0 < lo < min(hi, mel.rate / 2):
      raise ValueError(f"tonal_band={self.tonal_band} must be 0 < lo < hi, "
                       f"lo below {mel.rate / 2:g} Hz (Nyquist)")
    if self.tonal_frames < 1:
      raise ValueError(f"tonal_frames={self.tonal_frames} must be >= 1")


def bins(mel: features.MelConfig, cfg: TonalConfig) -> tuple[int, int]:
  """First and last (inclusive) rfft bin of ``cfg.tonal_band`` (up to
  Nyquist)."""
  step = mel.rate / mel.n_fft
  return (int(np.ceil(cfg.tonal_band[0] / step)),
          min(int(np.floor(cfg.tonal_band[1] / step)), mel.n_fft // 2))


CHUNK = 128  # frames per lax.map step (as features.CHUNK: stays in cache)


@functools.partial(jax.jit, static_argnums=(1, 2))
def band_power(x: jnp.ndarray, mel: features.MelConfig,
               cfg: TonalConfig) -> jnp.ndarray:
  """float32 ``[m / hop + 1, bins]``: the power in ``cfg.tonal_band``'s
  rfft bins of each centred, periodic-Hann frame of ``x`` (``[m]``, a
  multiple of ``mel.hop``; frame i centred on sample ``i * hop``, its mean
  removed), ``CHUNK`` frames per ``lax.map`` step."""
  if mel.n_fft != 2 * mel.hop:
    raise ValueError(f"the tonal branch frames by half-overlapping blocks: "
                     f"n_fft={mel.n_fft} must be 2 x hop={mel.hop}")
  lo, hi = bins(mel, cfg)
  blocks = jnp.pad(x, (mel.n_fft // 2, mel.n_fft // 2)).reshape(-1, mel.hop)
  n = blocks.shape[0] - 1
  steps = -(-n // CHUNK)
  blocks = jnp.pad(blocks, ((0, steps * CHUNK + 1 - blocks.shape[0]), (0, 0)))
  window = jnp.asarray(np.hanning(mel.n_fft + 1)[:-1], jnp.float32)

  def step(i):
    b = jax.lax.dynamic_slice_in_dim(blocks, i * CHUNK, CHUNK + 1)
    frames = jnp.concatenate([b[:-1], b[1:]], axis=1)
    frames = frames - frames.mean(axis=1, keepdims=True)
    return jnp.abs(jnp.fft.rfft(frames * window, axis=1)[:, lo:hi + 1]) ** 2

  return jax.lax.map(step, jnp.arange(steps)).reshape(-1, hi - lo + 1)[:n]


def frame_log_max(x: np.ndarray, n_valid: int, mel: features.MelConfig,
                  cfg: TonalConfig) -> np.ndarray:
  """float32 ``[n_valid // hop + 1]``: per centred frame of ``x`` (``[m]``,
  zero past ``n_valid``), the log of the largest band power over its bin's
  median (over every ``MEDIAN_STEP``-th frame; on the host: XLA's sort on
  CPU took 6x longer than the whole ``band_power``)."""
  power = np.asarray(band_power(jnp.asarray(x), mel, cfg))[
      :n_valid // mel.hop + 1]
  med = np.median(power[::MEDIAN_STEP], axis=0)
  return np.log((power / np.maximum(med, 1e-30)).max(axis=1))


def file_scores(x: np.ndarray, mel: features.MelConfig,
                cfg: TonalConfig) -> np.ndarray:
  """float32 ``[mel.n_windows(n)]``: per scan window of one file's
  samples ``x`` (float32 ``[n]``, full scale, at ``mel.rate``), the mean
  over ``cfg.tonal_frames`` frames centred on it of ``frame_log_max``.
  The signal is zero padded to a multiple of ``features.BUCKET`` (a few
  compiled shapes, as ``features.file_features``)."""
  n = x.size
  cfg.check(mel)
  m = -(-max(n, 1) // features.BUCKET) * features.BUCKET
  padded = np.zeros(m, np.float32)
  padded[:n] = x
  per_frame = frame_log_max(padded, n, mel, cfg).astype(np.float64)
  n_win = mel.n_windows(n)
  centre = (mel.first_frame + np.arange(n_win) * mel.stride +
            (mel.context - 1) // 2)
  # Window [i - T // 2, i + T - 1 - T // 2] (edges repeated), as
  # ``fusion.smoothed``.
  return scipy.ndimage.uniform_filter1d(
      per_frame, cfg.tonal_frames, mode="nearest")[centre].astype(np.float32)
