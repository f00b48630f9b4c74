"""The low-frequency branch: a score for series of ~1 s, 15-30 Hz pulses.

Fin- and blue-whale calls are ~1 s pulses near 20 Hz, repeated every
~10 s for tens of seconds.  The log-mel front end cannot see them: its
lowest band is ~100 Hz wide, its 2,048-point frames (11.7 Hz bins) leak the
hydrophone's DC offset and swell into 10-25 Hz, and its 5-frame (0.2 s)
windows are far shorter than one pulse, let alone the series.  This branch
works on the signal averaged over ``pulse_decim`` samples (24 kHz / 64 =
375 Hz); "band" takes one frame centred on each scan window, of
``pulse_n_fft`` points (512: 0.73 Hz bins, 1.37 s frames, linear trend
removed):

1. ``c[t]``, one of two per-window contrasts (``pulse_detector``):

   * "matched" (the default): a matched filter, the correlation of the
     decimated signal with the analytic fin pulse (``pulse_s`` long,
     sweeping ``pulse_sweep`` Hz, sin^2 envelope; 23 -> 18 Hz in 1 s, the
     textbook 20 Hz pulse), its power's max over each window's hop, in dB
     against its median over the file.  It integrates one pulse coherently
     (time-bandwidth gain) where a band power integrates energy only;
   * "band": the signal band's mean power in dB minus the mean of the
     reference bands' (each band minus its median over the file), so that
     broadband rises (ship passages, weather) cancel, then a ``pulse_s``
     box mean (one pulse);
2. with ``pulse_count`` > 1, a series step (``pulse_series``), so that a
   series counts, not a lone thump:

   * "max": a running max over ``period_s`` (a pulse in every period),
     averaged over ``pulse_count`` consecutive periods centred on the
     frame;
   * "comb": ``c`` at ``pulse_count`` times ``t + (j - pulse_count // 2)
     P`` averaged (each the largest within ``pulse_tol_s``), for the period
     ``P`` in ``period_range`` that gives the largest mean: the pulses of
     one series come at one interval, so the comb does not take the max
     of a whole period's noise as "max" does.

   ``PulseConfig``'s default is 1 (single matched pulses); the scan's
   (``AcoConfig.pulse``, since the fourth round of issue 17) is a comb of
   3.  docs/aco.md has each one's measured effect.

The matched filter is the branch's longer temporal context: one pulse
(``pulse_s``, 1 s) instead of the windows' 0.2 s; the series step
(``pulse_count`` x ``period_s``) can add more.
"""
import dataclasses
import enum
import functools

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax.aco import features
from jaxtk import configs, order

AMIN = 1e-20  # power floor before the log (the decimated signal's powers)
MEDIAN_STEP = 4  # windows between those the file's median uses


class Series(str, enum.Enum):
  """Step 2 of the module docstring: how ``pulse_count`` pulses combine."""
  MAX = "max"    # running max over period_s, averaged over the periods
  COMB = "comb"  # the mean at one interval, the best in period_range


class Detector(str, enum.Enum):
  """Step 1 of the module docstring: the per-window contrast."""
  MATCHED = "matched"  # matched filter on the swept pulse
  BAND = "band"        # band power against reference bands


@dataclasses.dataclass(frozen=True)
class PulseConfig:
  """Low-frequency branch parameters (hashable: a static jit argument).

  Attributes:
    pulse_decim: samples averaged into one (``mel.hop`` must be a multiple).
    pulse_n_fft: FFT points of the decimated signal's frames.
    pulse_band: (lo, hi) Hz of the pulses.
    pulse_ref: ((lo, hi), ...) Hz of the reference bands (below and above).
    pulse_s: seconds of one pulse (the template's length; "band": the box
      mean).
    period_s: seconds of the running max (one pulse per period).
    pulse_count: pulses ("comb") or periods ("max") averaged (odd; 1:
      single pulses, no series step).
    pulse_detector: the per-window contrast, ``Detector``.
    pulse_sweep: (start, end) Hz of the matched filter's pulse.
    pulse_series: the series step (``pulse_count`` > 1), ``Series``.
    period_range: (shortest, longest) s between pulses ("comb").
    pulse_tol_s: seconds either side of each comb tooth searched for its
      pulse ("comb").
  """
  pulse_decim: int = 64
  pulse_n_fft: int = 512
  pulse_band: tuple = (17.0, 24.0)
  pulse_ref: tuple = ((9.0, 14.0), (27.0, 31.0))
  pulse_s: float = 1.0
  period_s: float = 12.0
  pulse_count: int = 1
  pulse_detector: Detector = Detector.MATCHED
  pulse_sweep: tuple = (23.0, 18.0)
  pulse_series: Series = Series.MAX
  period_range: tuple = (9.0, 13.0)
  pulse_tol_s: float = 0.0

  def __post_init__(self):
    object.__setattr__(self, "pulse_detector", configs.choice(
        "pulse_detector", self.pulse_detector, Detector))
    object.__setattr__(self, "pulse_series", configs.choice(
        "pulse_series", self.pulse_series, Series))

  def check(self, mel: features.MelConfig):
    """Raises ``ValueError`` naming the field unless the settings fit."""
    rate = mel.rate / self.pulse_decim
    if mel.hop % self.pulse_decim:
      raise ValueError(f"pulse decim={self.pulse_decim} must divide the mel hop "
                       f"({mel.hop})")
    if self.pulse_detector == Detector.MATCHED:
      if len(self.pulse_sweep) != 2 or not all(
          0 < f < rate / 2 for f in self.pulse_sweep):
        raise ValueError(f"pulse sweep {self.pulse_sweep} must be (start, "
                         f"end) Hz within 0..{rate / 2:g} Hz (rate / decim "
                         "/ 2)")
    else:
      for lo, hi in [self.pulse_band] + [tuple(r) for r in self.pulse_ref]:
        if not 0 <= lo < hi <= rate / 2:
          raise ValueError(f"pulse band ({lo}, {hi}) Hz must be increasing "
                           f"within 0..{rate / 2:g} Hz (rate / decim / 2)")
    if self.pulse_count < 1 or self.pulse_count % 2 == 0:
      raise ValueError(f"pulse count={self.pulse_count} must be odd and >= 1")
    if self.pulse_s <= 0 or self.period_s <= 0:
      raise ValueError(f"pulse_s={self.pulse_s} and period_s="
                       f"{self.period_s} must be > 0")
    if (len(self.period_range) != 2 or not
        0 < self.period_range[0] <= self.period_range[1]):
      raise ValueError(f"period range {self.period_range} must be "
                       "(shortest, longest) s, 0 < shortest <= longest")
    if self.pulse_tol_s < 0:
      raise ValueError(f"pulse_tol_s={self.pulse_tol_s} must be >= 0")


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
  centre = _centres(y.shape[0], mel, cfg)
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
  if cfg.pulse_count == 1:
    return c
  if cfg.pulse_series == Series.COMB:
    return comb(c, fps, cfg)
  period = max(1, int(round(cfg.period_s * fps)))
  m = _running_max(c, period)
  h = cfg.pulse_count // 2
  m = jnp.pad(m, (h * period, h * period), mode="edge")
  return sum(m[k * period:k * period + c.shape[0]]
             for k in range(cfg.pulse_count)) / cfg.pulse_count


def comb(c: jnp.ndarray, fps: float, cfg: PulseConfig) -> jnp.ndarray:
  """The "comb" series step: ``[F]`` contrast -> ``[F]``, the largest over
  the periods ``P`` of ``cfg.period_range`` (in whole frames) of the mean of
  ``m[t + (j - h) P]``, ``j < cfg.pulse_count``, ``h = cfg.pulse_count //
  2``, ``m`` the running max of ``c`` over ``cfg.pulse_tol_s`` either side.
  Teeth beyond the file read 0 (``c`` is in dB over the file's median)."""
  tol = int(round(cfg.pulse_tol_s * fps))
  m = _running_max(c, 2 * tol + 1) if tol else c
  n, h = c.shape[0], cfg.pulse_count // 2
  lo = max(1, int(np.floor(cfg.period_range[0] * fps)))
  hi = max(lo, int(np.ceil(cfg.period_range[1] * fps)))
  best = jnp.full(n, -jnp.inf, c.dtype)
  for p in range(lo, hi + 1):
    padded = jnp.pad(m, (h * p, h * p))
    best = jnp.maximum(best, sum(
        padded[j * p:j * p + n] for j in range(cfg.pulse_count))
                       / cfg.pulse_count)
  return best


@functools.lru_cache(maxsize=8)
def template(mel: features.MelConfig, cfg: PulseConfig) -> np.ndarray:
  """complex64 ``[L]``: the analytic pulse of the matched filter at the
  decimated rate, unit energy: ``sin^2(pi v / d) exp(2 pi i (f0 v + (f1 -
  f0) v^2 / (2 d)))`` for ``v`` in ``[0, d)``, ``d = cfg.pulse_s``,
  ``(f0, f1) = cfg.pulse_sweep``."""
  cfg.check(mel)
  rate = mel.rate / cfg.pulse_decim
  d = cfg.pulse_s
  v = np.arange(max(2, int(round(d * rate)))) / rate
  f0, f1 = cfg.pulse_sweep
  t = np.sin(np.pi * v / d) ** 2 * np.exp(
      2j * np.pi * (f0 * v + (f1 - f0) * v ** 2 / (2 * d)))
  return (t / np.linalg.norm(t)).astype(np.complex64)


def matched_power(y: jnp.ndarray, mel: features.MelConfig, cfg: PulseConfig
                  ) -> jnp.ndarray:
  """The matched filter's output power, one value per scan window.

  Args:
    y: float32 ``[n / cfg.pulse_decim]``, as ``band_db``.
    mel, cfg: the scan's features and this branch's parameters.

  Returns:
    float32 ``[W]`` (``W`` as ``band_db``): the largest ``|sum_i y[j + i]
    conj(template[i])|^2`` over the pulse centres ``j + L / 2`` within
    window i's hop (``mel.stride`` mel hops) around its centre.
  """
  tm = template(mel, cfg)
  centre = _centres(y.shape[0], mel, cfg)
  size = 1 << int(np.ceil(np.log2(y.shape[0] + tm.size)))
  corr = jnp.fft.ifft(jnp.fft.fft(y, size) * jnp.conj(jnp.fft.fft(
      jnp.asarray(tm), size)))
  power = corr.real ** 2 + corr.imag ** 2
  step = mel.hop * mel.stride // cfg.pulse_decim
  # Start j of a pulse centred on sample c is c - L // 2; the hop's starts.
  # A start j < 0 (a pulse reaching before the signal) is at size + j of
  # the circular correlation: the partial overlap, as ``size >= n + L``.
  start = centre - tm.size // 2 - step // 2
  return power[(start[:, None] + np.arange(step)) % size].max(axis=1)


def _centres(n_decim: int, mel: features.MelConfig, cfg: PulseConfig):
  """int ``[W]``: the centres, in decimated samples, of the windows of a
  signal of ``n_decim * cfg.pulse_decim`` samples (zero padding included).
  """
  n_frames = mel.n_frames(n_decim * cfg.pulse_decim)
  n_win = (n_frames - mel.first_frame - mel.context) // mel.stride + 1
  # Window centres in decimated samples (rounded down for even contexts).
  centre = (mel.first_frame + np.arange(n_win) * mel.stride +
            (mel.context - 1) // 2) * (mel.hop // cfg.pulse_decim)
  return centre


def scores_xla(y: jnp.ndarray, n_valid, mel: features.MelConfig,
               cfg: PulseConfig) -> jnp.ndarray:
  """``file_scores`` in XLA, for a jitted caller.

  Args:
    y: float32 ``[m / cfg.pulse_decim]``: a signal of ``n_valid`` samples
      zero padded to ``m``, averaged over each ``cfg.pulse_decim``.
    n_valid: int scalar (traced).
    mel, cfg: static.

  Returns:
    float32 ``[W]``, the windows of ``m`` samples; the first
    ``mel.n_windows(n_valid)`` are the file's.
  """
  if cfg.pulse_detector == Detector.MATCHED:
    db = 10.0 * jnp.log10(jnp.maximum(matched_power(y, mel, cfg), AMIN)
                          )[:, None]
  else:
    db = band_db(y, mel, cfg)
  # Windows wholly inside the signal (``mel.n_windows(n_valid)``).
  inner = (n_valid - mel.half_span) // mel.hop - mel.first_frame + 1
  valid = jnp.arange(db.shape[0]) < (inner - mel.context) // mel.stride + 1
  db = db - order.median(db[::MEDIAN_STEP], valid[::MEDIAN_STEP])
  fps = mel.rate / (mel.hop * mel.stride)
  if cfg.pulse_detector == Detector.MATCHED:
    c = jnp.where(valid, db[:, 0], 0.0)
  else:
    c = jnp.where(valid, db[:, 0] - db[:, 1:].mean(axis=1), 0.0)
    c = _box_mean(c, max(1, int(round(cfg.pulse_s * fps))))
  return series(c, fps, cfg)


_scores = jax.jit(scores_xla, static_argnums=(2, 3))


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
