"""The tonal branch: a score for narrowband calls (humpback FM units, minke
"boings") that last longer than one scan window.

The NP score sees 5 frames (0.2 s) of 64 mel bands; its false alarms at
1 per hour are lone windows of noise, and a faint 1 s FM unit scores no
higher.  This branch looks for a tone instead: each frame of the scan's own
STFT (``features.analyse``: 2,048 points, hop ``mel.hop``, centred,
periodic Hann, the frame's linear trend removed; one FFT serves the mel
bands and this branch), its power per FFT bin in ``tonal_band`` (11.7 Hz bins at
24 kHz) divided by that bin's median over every 4th frame of the file (whitening:
the red/pink noise, the weather's level and a ship's steady blade lines
cancel), the log of the largest ratio per frame, averaged over
``tonal_frames`` frames (12: 0.5 s) centred on each scan window.  A tone
20 dB above its bin's noise lifts the max ratio for as long as it lasts;
noise lifts single frames.  With tracking (``track_frames``,
``track_bins``; the scan's default since the sixth round of issue 17: 5
frames, 2 bins) each bin's ratio is first the largest within
``track_bins`` bins, then averaged over ``track_frames`` frames before a
frame's largest is taken: a swept tone (most planted humpback units move
under 2 bins a frame) is integrated along its track, while the largest
of ~330 noise bins no longer sets the floor of every frame.

Measured offline on the development archives (docs/aco.md, third round):
as a third fused score (quantile ``fuse_quantile``) recall at 1 FA/h
0.835 -> 0.929 (mean of seed 0, seed 10, mix-seed12).  The planted
humpback units are linear FM tones with 3 harmonics in 150-4,000 Hz and
the minke call a 1.35 kHz carrier, both what this branch looks for.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax.aco import features
from jaxtk import order

MEDIAN_STEP = 4  # frames between those a bin's median uses (4x less work)
FRAME_BUCKET = 1024  # tracked frames are padded to a multiple of this


@dataclasses.dataclass(frozen=True)
class TonalConfig:
  """Tonal branch parameters (hashable: a static jit argument).

  Attributes:
    tonal_band: lo, hi Hz of the FFT bins searched for a tone.
    tonal_frames: STFT frames averaged per window (12: 0.5 s at 24 kHz).
    track_frames: frames over which each bin's ratio, as its largest within
      ``track_bins`` bins either side, is averaged before a frame's
      largest is taken (1: no tracking): a tone that moves at most
      ``track_bins`` bins a frame is integrated over the frames, noise
      peaks are not.
    track_bins: bins either side a tracked tone may move per frame.
  """
  tonal_band: tuple = (100.0, 4000.0)
  tonal_frames: int = 12
  track_frames: int = 1
  track_bins: int = 0

  def check(self, mel: features.MelConfig):
    lo, hi = self.tonal_band
    if not 0 < lo < min(hi, mel.rate / 2):
      raise ValueError(f"tonal_band={self.tonal_band} must be 0 < lo < hi, "
                       f"lo below {mel.rate / 2:g} Hz (Nyquist)")
    if self.tonal_frames < 1:
      raise ValueError(f"tonal_frames={self.tonal_frames} must be >= 1")
    if self.track_frames < 1 or self.track_bins < 0:
      raise ValueError(f"track_frames={self.track_frames} must be >= 1 and "
                       f"track_bins={self.track_bins} >= 0")


def bins(mel: features.MelConfig, cfg: TonalConfig) -> tuple[int, int]:
  """First and last (inclusive) rfft bin of ``cfg.tonal_band`` (up to
  Nyquist)."""
  step = mel.rate / mel.n_fft
  return (int(np.ceil(cfg.tonal_band[0] / step)),
          min(int(np.floor(cfg.tonal_band[1] / step)), mel.n_fft // 2))


def frame_log_max(power: np.ndarray, track_frames: int = 1,
                  track_bins: int = 0) -> np.ndarray:
  """float32 ``[F]``: per frame of ``power`` (``[F, bins]``, the valid frames
  of ``features.analyse(..., tonal_bins=bins(mel, cfg)).tonal``), the log of
  the largest bin power over that bin's median (over every
  ``MEDIAN_STEP``-th frame).  With tracking (``TonalConfig.track_frames``,
  ``track_bins``) each ratio is first the largest within ``track_bins``
  bins, then the mean over ``track_frames`` frames centred on it (edges
  repeated).  The host entry to ``frame_log_max_xla``."""
  f = power.shape[0]
  return np.asarray(_frame_log_max(_bucket(power), f, track_frames,
                                   track_bins))[:f]


def _bucket(power: np.ndarray) -> np.ndarray:
  """Frames zero padded to a multiple of ``FRAME_BUCKET``, so a few compiled
  shapes serve every file length, as the features' ``BUCKET`` does."""
  f = power.shape[0]
  rows = -(-max(f, 1) // FRAME_BUCKET) * FRAME_BUCKET
  return np.pad(np.asarray(power, np.float32), ((0, rows - f), (0, 0)))


def frame_log_max_xla(power: jnp.ndarray, n_frames, track_frames: int,
                      track_bins: int) -> jnp.ndarray:
  """``frame_log_max`` in XLA, for a jitted caller.

  Args:
    power: float32 ``[F, bins]``, the first ``n_frames`` rows valid (the
      rest padding: ignored, the last valid row repeated in their place).
    n_frames: int scalar (traced), ``1 <= n_frames <= F``.
    track_frames, track_bins: ``TonalConfig``'s (static).

  Returns:
    float32 ``[F]``, valid in the first ``n_frames``.
  """
  rows = jnp.arange(power.shape[0])
  # Whitening: each bin's median over every MEDIAN_STEP-th valid frame (by
  # bisection, jaxtk.order: XLA's sort on CPU took 6x longer than the STFT).
  med = jnp.maximum(order.median(
      power[::MEDIAN_STEP], rows[::MEDIAN_STEP] < n_frames), 1e-30)
  last = jax.lax.dynamic_slice_in_dim(power, n_frames - 1, 1, axis=0)
  r = jnp.where((rows < n_frames)[:, None], power, last) / med
  if track_frames == 1 and not track_bins:
    return jnp.log(r.max(axis=1))
  r = jnp.pad(r, ((0, 0), (track_bins, track_bins)), mode="edge")
  r = jax.lax.reduce_window(r, -jnp.inf, jax.lax.max, (1, 2 * track_bins + 1),
                            (1, 1), "VALID")
  h = track_frames // 2
  r = jnp.pad(r, ((h, track_frames - 1 - h), (0, 0)), mode="edge")
  r = jax.lax.reduce_window(r, 0.0, jax.lax.add, (track_frames, 1), (1, 1),
                            "VALID")
  return jnp.log(r.max(axis=1) / track_frames)


_frame_log_max = jax.jit(frame_log_max_xla, static_argnums=(2, 3))


def window_scores_xla(power: jnp.ndarray, n, mel: features.MelConfig,
                      cfg: TonalConfig) -> jnp.ndarray:
  """``window_scores`` in XLA, for a jitted caller.

  Args:
    power: float32 ``[F, bins]`` tonal powers of a signal of ``n`` samples
      zero padded to more (``F >= mel.n_frames(n)``; the padding's frames
      are ignored).
    n: int scalar (traced): the signal's samples.
    mel, cfg: static.

  Returns:
    float32 ``[W]``, ``W`` the windows of ``F`` frames; the first
    ``mel.n_windows(n)`` are the file's.
  """
  n_frames = 1 + n // mel.hop
  per_frame = frame_log_max_xla(power, n_frames, cfg.track_frames,
                                cfg.track_bins)
  n_win = (power.shape[0] - mel.first_frame - mel.context) // mel.stride + 1
  centre = (mel.first_frame + np.arange(n_win) * mel.stride +
            (mel.context - 1) // 2)
  # Window [i - T // 2, i + T - 1 - T // 2] (edges repeated), as
  # ``fusion.smoothed`` and scipy's ``uniform_filter1d(mode="nearest")``.
  t = cfg.tonal_frames
  idx = jnp.clip(centre[:, None] + np.arange(t) - t // 2, 0, n_frames - 1)
  return per_frame[idx].mean(axis=1)


_window_scores = jax.jit(window_scores_xla, static_argnums=(2, 3))


def window_scores(power: np.ndarray, n: int, mel: features.MelConfig,
                  cfg: TonalConfig) -> np.ndarray:
  """float32 ``[mel.n_windows(n)]``: per scan window of a file of ``n``
  samples, the mean over ``cfg.tonal_frames`` frames centred on it of
  ``frame_log_max(power)`` (``power``: ``features.FileFeatures.tonal`` of
  that file, computed with ``tonal_bins=bins(mel, cfg)``)."""
  lo, hi = bins(mel, cfg)
  if power.shape != (mel.n_frames(n), hi - lo + 1):
    raise ValueError(f"tonal power of shape {power.shape}: expected "
                     f"{(mel.n_frames(n), hi - lo + 1)} (the file's frames x "
                     f"the bins of tonal_band={cfg.tonal_band})")
  return np.asarray(_window_scores(_bucket(power), n, mel, cfg)
                    )[:mel.n_windows(n)]


def file_scores(x: np.ndarray, mel: features.MelConfig,
                cfg: TonalConfig) -> np.ndarray:
  """``window_scores`` of one file's samples ``x`` (float32 ``[n]``, full
  scale, at ``mel.rate``), from its own ``features.analyse`` pass (the scan
  takes the powers from the pass that makes its windows instead)."""
  cfg.check(mel)
  power = features.analyse(x, mel, tonal_bins=bins(mel, cfg)).tonal
  return window_scores(power, x.size, mel, cfg)
