"""The low-frequency branch: a score for series of ~1 s, 15-30 Hz pulses.

Fin- and blue-whale calls are ~1 s pulses near 20 Hz, repeated every
~10 s for tens of seconds.  The log-mel front end cannot see them: its
lowest band is ~100 Hz wide, its 2,048-point frames (11.7 Hz bins) leak the
hydrophone's DC offset and swell into 10-25 Hz, and its 5-frame (0.2 s)
windows are far shorter than one pulse, let alone the series.  This branch
works on the signal averaged over ``pulse_decim`` samples (24 kHz / 64 =
375 Hz), one frame centred on each scan window, of ``pulse_n_fft`` points
(512: 0.73 Hz bins, 1.37 s frames, linear trend removed):

1. ``c[t]``: the signal band's mean power in dB minus the mean of the
   reference bands' (each band minus its median over the file), so that
   broadband rises (ship passages, weather) cancel and a narrow-band pulse
   stands out;
2. a ``pulse_s`` box mean (one pulse), then a running max over
   ``period_s`` (a pulse in every period), averaged over ``pulse_count``
   consecutive periods centred on the frame (a series, not a lone thump).

The series step is the branch's longer temporal context: ``pulse_count`` x
``period_s`` (36 s by default) instead of the windows' 0.2 s.
"""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax.aco import features

AMIN = 1e-20  # power floor before the log (the decimated signal's powers)
MEDIAN_STEP = 4  # windows between those the file's median uses


@dataclasses.dataclass(frozen=True)
class PulseConfig:
  """Low-frequency branch parameters (hashable: a static jit argument).

  Attributes:
    pulse_decim: samples averaged into one (``mel.hop`` must be a multiple).
    pulse_n_fft: FFT points of the decimated signal's frames.
    pulse_band: (lo, hi) Hz of the pulses.
    pulse_ref: ((lo, hi), ...) Hz of the reference bands (below and above).
    pulse_s: seconds of the box mean (one pulse).
    period_s: seconds of the running max (one pulse per period).
    pulse_count: periods averaged (odd; 1: single pulses).
  """
  pulse_decim: int = 64
  pulse_n_fft: int = 512
  pulse_band: tuple = (17.0, 24.0)
  pulse_ref: tuple = ((9.0, 14.0), (27.0, 31.0))
  pulse_s: float = 1.0
  period_s: float = 12.0
  pulse_count: int = 3

  def check(self, mel: features.MelConfig):
    """Raises ``ValueError`` naming the field unless the settings fit."""
    rate = mel.rate / self.pulse_decim
    edges = [self.pulse_band] + [tuple(r) for r in self.pulse_ref]
    if mel.hop % self.pulse_decim:
      raise ValueError(f"pulse decim={self.pulse_decim} must divide the mel hop "
                       f"({mel.hop})")
    for lo, hi in edges:
      if not 0 <= lo < hi <= rate / 2:
        raise ValueError(f"pulse band ({lo}, {hi}) Hz must be increasing "
                         f"within 0..{rate / 2:g} Hz (rate / decim / 2)")
    if self.pulse_count < 1 or self.pulse_count % 2 == 0:
      raise ValueError(f"pulse count={self.pulse_count} must be odd and >= 1")
    if self.pulse_s <= 0 or self.period_s <= 0:
      raise ValueError(f"pulse_s={self.pulse_s} and period_s="
                       f"{self.period_s} must be > 0")


@functools.lru_cache(maxsize=8)
def _filters(mel: features.MelConfig, cfg: PulseConfig) -> np.ndarray:
  """float32 ``[n_fft // 2 + 1, 1 + len(ref)]``: mean over each band's bins
  (the signal band first)."""
  cfg.check(mel)
  freqs = np.fft.rfftfreq(cfg.pulse_n_fft, cfg.pulse_decim / mel.rate)
  cols = []
  for lo, hi in [cfg.pulse_band] + [tuple(r) for r in cfg.pulse_ref]:
    m = (freqs >= lo) & (freqs < hi)
    if not m.any():
      raise ValueError(f"pulse band ({lo}, {hi}) Hz holds no FFT bin of "
                       f"{freqs[1]:.2f} Hz: widen it or raise n_fft")
    cols.append(m / m.sum())
  return np.stack(cols, 1).astype(np.float32)


def band_db(y: jnp.ndarray, mel: features.MelConfig, cfg: PulseConfig
            ) -> jnp.ndarray:
  """Band powers in dB of the decimated signal, one frame per scan window.

  Args:
    y: float32 ``[n / cfg.pulse_decim]``: a signal of ``n`` samples at
      ``mel.rate``, averaged over each ``cfg.pulse_decim`` (``decimate``).
    mel, cfg: the scan's features and this branch's parameters.

  Returns:
    float32 ``[W, 1 + len(cfg.pulse_ref)]``: frame i is centred on window
    i's centre (``mel.window_times``), ``W`` the windows of a signal of
    ``n`` samples counting its zero padding (``mel.stride`` mel frames
    apart: 4x fewer FFTs than one per mel frame, for 1 s pulses).
  """
  fb = jnp.asarray(_filters(mel, cfg))
  n_frames = mel.n_frames(y.shape[0] * cfg.pulse_decim)
  n_win = (n_frames - mel.first_frame - mel.context) // mel.stride + 1
  # Window centres in decimated samples (rounded down for even contexts).
  centre = (mel.first_frame + np.arange(n_win) * mel.stride +
            (mel.context - 1) // 2) * (mel.hop // cfg.pulse_decim)
  pad = cfg.pulse_n_fft // 2
  y = jnp.pad(y, (pad, pad))
  frames = features._detrend(  # pylint: disable=protected-access
      y[centre[:, None] + np.arange(cfg.pulse_n_fft)])
  win = jnp.asarray(np.hanning(cfg.pulse_n_fft + 1)[:-1], jnp.float32)
  spec = jnp.fft.rfft(frames * win, axis=-1)
  power = (spec.real ** 2 + spec.imag ** 2) @ fb
  return 10.0 * jnp.log10(jnp.maximum(power, AMIN))


def _box_mean(c, n: int):
  """``[F]`` -> ``[F]``: mean over ``n`` frames centred on each (edges
  padded with the edge value)."""
  p = jnp.pad(c, (n // 2, n - 1 - n // 2), mode="edge")
  s = jnp.concatenate([jnp.zeros(1, c.dtype), jnp.cumsum(p)])
  return (s[n:] - s[:-n]) / n


def _running_max(c, n: int):
  p = jnp.pad(c, (n // 2, n - 1 - n // 2), mode="edge")
  return jax.lax.reduce_window(p, -jnp.inf, jax.lax.max, (n,), (1,), "VALID")


def series(c: jnp.ndarray, fps: float, cfg: PulseConfig) -> jnp.ndarray:
  """Step 2 of the module docstring: ``[F]`` contrast (``fps`` frames a
  second) -> ``[F]`` score."""
  c = _box_mean(c, max(1, int(round(cfg.pulse_s * fps))))
  if cfg.pulse_count == 1:
    return c
  period = max(1, int(round(cfg.period_s * fps)))
  m = _running_max(c, period)
  h = cfg.pulse_count // 2
  m = jnp.pad(m, (h * period, h * period), mode="edge")
  return sum(m[k * period:k * period + c.shape[0]]
             for k in range(cfg.pulse_count)) / cfg.pulse_count


@functools.partial(jax.jit, static_argnums=(2, 3))
def _scores(y, n_valid, mel, cfg):
  db = band_db(y, mel, cfg)
  # Windows wholly inside the signal (``mel.n_windows(n_valid)``).
  inner = (n_valid - mel.half_span) // mel.hop - mel.first_frame + 1
  valid = jnp.arange(db.shape[0]) < (inner - mel.context) // mel.stride + 1
  sub = jnp.where(valid[:, None], db, jnp.nan)[::MEDIAN_STEP]
  db = db - jnp.nanmedian(sub, axis=0)
  c = jnp.where(valid, db[:, 0] - db[:, 1:].mean(axis=1), 0.0)
  return series(c, mel.rate / (mel.hop * mel.stride), cfg)


def file_scores(x: np.ndarray, mel: features.MelConfig,
                cfg: PulseConfig) -> np.ndarray:
  """The branch's score of each scan window of one file.

  Args:
    x: float32 ``[n]`` samples in full scale at ``mel.rate``.
    mel: the scan's features (window grid).
    cfg: this branch's parameters.

  Returns:
    float32 ``[mel.n_windows(n)]``, dB: higher = a stronger pulse series.
  """
  n = x.size
  cfg.check(mel)
  s = _scores(jnp.asarray(decimate(x, cfg.pulse_decim)), n, mel, cfg)
  return np.asarray(s[:mel.n_windows(n)])


def decimate(x: np.ndarray, decim: int) -> np.ndarray:
  """float32 ``[n] -> [m / decim]``: means of ``decim`` samples of ``x``
  zero padded to ``m``, the next multiple of ``features.BUCKET`` (a few
  compiled shapes for every file length, as ``features.file_features``).
  On the host: 64x less to copy to the device than the signal."""
  n = x.size
  m = -(-max(n, 1) // features.BUCKET) * features.BUCKET
  y = np.zeros(m // decim, np.float32)
  y[:n // decim] = x[:n // decim * decim].reshape(-1, decim).mean(axis=1)
  return y
