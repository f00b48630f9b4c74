"""Log-mel features in JAX, equal to librosa's, and context windows.

``logmel`` equals ``librosa.power_to_db(librosa.feature.melspectrogram(y=x,
sr=rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmin=fmin, fmax=fmax),
ref=1.0, amin=amin, top_db=top_db)`` (centred frames, zero padding, periodic
Hann window, Slaney mel filters): the STFT is framing plus
``jnp.fft.rfft``, ``CHUNK`` frames at a time; the filter bank is
``librosa.filters.mel``, built once in numpy.

``file_features`` is what the scan runs per file, in one jitted call on a
signal padded to a multiple of ``BUCKET`` samples (so 5-minute files, short
files and truncated files share a handful of compiled shapes): log-mel,
minus the file's median per band (over every 16th frame: the file's
stationary background, so weather and gain changes between files cancel),
cut into windows of
``context`` frames, standardised with the training mean/std; beside it the
band-limited energy of each window, the baseline detector's score.
"""
import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import scipy.signal

from anomaly_jax.aco import pcen
from jaxtk import order

BUCKET = 1 << 20  # samples; signals are zero-padded to a multiple of this
MEDIAN_STEP = 16  # frames between those the background median uses (0.68 s)
CHUNK = 128  # frames per step of the STFT loop (a step's arrays stay in cache)
FRONTENDS = ("db", "pcen")  # MelConfig.frontend


@dataclasses.dataclass(frozen=True)
class MelConfig:
  """Feature parameters (hashable: a static argument of the jitted code).

  Attributes:
    rate: sample rate (Hz).
    n_fft: FFT size (= window length).
    hop: frame hop in samples.
    n_mels: mel bands.
    fmin, fmax: mel band edges in Hz (fmax None: rate / 2).
    amin: power floor before the log (as ``librosa.power_to_db``).
    top_db: clip below max - top_db (None: no clipping).
    context: frames per window (DCASE baseline: 5).
    stride: frames between windows.
    band: (lo, hi) Hz of the band-limited energy baseline.
    detrend: remove each frame's linear trend before the window (as
      ``scipy.signal.spectrogram(detrend=...)``): the hydrophone's DC offset
      and pressure swell would otherwise leak through the Hann window's
      main lobe into the 10-25 Hz bands.  librosa has no such step: False
      gives librosa's numbers.
    low_bands: Hz edges of extra bands before the mel bands in the scan's
      windows (e.g. (12, 18, 24, 30): three bands), from a long-window STFT
      of the signal averaged over ``low_decim`` samples with ``low_n_fft``
      points (24 kHz / 64 = 375 Hz and 512 points: 0.73 Hz bins, 1.37 s
      frames).  The lowest mel band is ~100 Hz wide and the 2,048-point
      STFT's bins are 11.7 Hz wide with a main lobe reaching DC: both drown
      a fin whale's 1 s, 20 Hz pulse in red noise.  ``logmel`` (the
      librosa-equal spectrogram) never has them.
    low_decim, low_n_fft: see ``low_bands``; ``hop`` must be a multiple of
      ``low_decim``.
    frontend: what the scan's windows hold per mel band: "db" (the log-mel
      above) or "pcen" (``pcen.pcen`` of the mel powers, librosa's
      defaults but ``pcen_time_constant``); the low bands stay in dB.
    pcen_time_constant: seconds of PCEN's smoother.
  """
  rate: int = 24000
  n_fft: int = 2048
  hop: int = 1024
  n_mels: int = 64
  fmin: float = 10.0
  fmax: float | None = None
  amin: float = 1e-10
  top_db: float | None = None
  context: int = 5
  stride: int = 2
  band: tuple = (50.0, 4000.0)
  detrend: bool = True
  low_bands: tuple = ()
  low_decim: int = 64
  low_n_fft: int = 512
  frontend: str = "db"
  pcen_time_constant: float = 0.4

  def __post_init__(self):
    if self.frontend not in FRONTENDS:
      raise ValueError(f"frontend={self.frontend!r} is not one of: "
                       f"{', '.join(FRONTENDS)}")

  @property
  def bands(self) -> int:
    """Bands per frame in the scan's windows: low bands, then mels."""
    return max(len(self.low_bands) - 1, 0) + self.n_mels

  @property
  def dim(self) -> int:
    return self.context * self.bands

  def n_frames(self, n_samples: int) -> int:
    """Frames of a centred STFT of ``n_samples`` (as librosa)."""
    return 1 + n_samples // self.hop

  @property
  def half_span(self) -> int:
    """Samples a frame reaches on either side of its centre: half the
    longest frame, the low bands' (``low_decim * low_n_fft``, 1.37 s by
    default) when there are any."""
    low = self.low_decim * self.low_n_fft if len(self.low_bands) > 1 else 0
    return max(self.n_fft, low) // 2

  @property
  def first_frame(self) -> int:
    """First frame that lies wholly inside the signal (no centre padding,
    for the low bands' long frames too)."""
    return -(-self.half_span // self.hop)

  def last_frame(self, n_samples: int) -> int:
    """Last frame that lies wholly inside a signal of ``n_samples``."""
    return (n_samples - self.half_span) // self.hop

  def n_windows(self, n_samples: int) -> int:
    """Windows of ``context`` frames that lie wholly inside the signal: the
    edge frames see the zero padding (a step from the hydrophone's DC
    offset to 0), which would look anomalous at every file boundary (the
    low bands' 1.37 s frames did: 3 of the NP score's 5 false alarms at
    1 FA/h on the embedded archive were a file's first or last window)."""
    inner = self.last_frame(n_samples) - self.first_frame + 1
    return max(0, (inner - self.context) // self.stride + 1)

  def window_times(self, n_windows: int) -> np.ndarray:
    """float64 ``[n_windows]`` seconds of each window's centre."""
    centre = (self.first_frame + np.arange(n_windows) * self.stride +
              (self.context - 1) / 2)
    return centre * self.hop / self.rate


@functools.lru_cache(maxsize=8)
def _constants(cfg: MelConfig):
  mel = librosa.filters.mel(sr=cfg.rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                            fmin=cfg.fmin, fmax=cfg.fmax).astype(np.float32)
  win = scipy.signal.get_window("hann", cfg.n_fft, fftbins=True)
  freqs = np.fft.rfftfreq(cfg.n_fft, 1.0 / cfg.rate)
  band = ((freqs >= cfg.band[0]) & (freqs < cfg.band[1])).astype(np.float32)
  return mel.T.copy(), win.astype(np.float32), band


# rfft bins where the mel projection is split (``_project``): 4x fewer
# multiply-adds than the whole [1,025 x 64] matrix at 2,048 points.
BIN_CUTS = (86, 256, 512)


@functools.lru_cache(maxsize=8)
def _mel_blocks(cfg: MelConfig):
  """The mel matrix in column blocks: ``[(lo, hi, b0, b1, W)]``, bins
  ``[lo, hi)`` reach only bands ``[b0, b1)``, with weights ``W``."""
  mel_t = _constants(cfg)[0]
  n_bins = mel_t.shape[0]
  cuts = [0] + [c for c in BIN_CUTS if c < n_bins] + [n_bins]
  out = []
  for lo, hi in zip(cuts[:-1], cuts[1:]):
    used = np.flatnonzero(mel_t[lo:hi].any(axis=0))
    if used.size:
      b0, b1 = int(used[0]), int(used[-1]) + 1
      out.append((lo, hi, b0, b1, mel_t[lo:hi, b0:b1]))
  return out


def _project(pw, cfg: MelConfig):
  """``[F, n_fft // 2 + 1]`` powers -> ``[F, n_mels + 1]``: the mel bands
  (``pw @ mel_t`` over the matrix's nonzero blocks: 8 ms less CPU per
  5-minute file than the dense product, one core) and the energy
  baseline's band."""
  n_mels = cfg.n_mels
  out = sum(jnp.pad(pw[:, lo:hi] @ w, ((0, 0), (b0, n_mels - b1)))
            for lo, hi, b0, b1, w in _mel_blocks(cfg))
  on = np.flatnonzero(_constants(cfg)[2])  # a range of bins, or none
  energy = (pw[:, on[0]:on[-1] + 1].sum(axis=1, keepdims=True) if on.size
            else jnp.zeros((pw.shape[0], 1), pw.dtype))
  return jnp.concatenate([out, energy], axis=1)


def _detrend(frames):
  """Each row minus its least-squares line (``scipy.signal.detrend``).

  The line's mean and slope from one product with a ``[n, 2]`` matrix (one
  pass over the frames, not two reductions: 10 ms less CPU per 5-minute
  file)."""
  n = frames.shape[-1]
  t = np.arange(n) - (n - 1) / 2
  fit = (frames @ np.stack([np.full(n, 1 / n), t / (t @ t)], 1).astype(
      np.float32))
  return frames - fit[:, :1] - fit[:, 1:] * t.astype(np.float32)


def _power(x, cfg, tonal_bins=None):
  """Band powers of every centred frame: ``[F, cfg.bands]`` (low bands, then
  mels), ``[F]`` (the energy baseline's band) and, with ``tonal_bins``
  (first, last rfft bin), the power of each of those bins ``[F, bins]``
  (the tonal branch's input, ``tonal.py``: the same FFT, not a second one),
  else None.

  ``CHUNK`` frames at a time (``lax.map``), so that a step's frames,
  complex spectra and powers stay in cache: whole-file intermediates
  (~100 MB for a 5-minute 24 kHz file) cost more in memory traffic and page
  faults than the FFTs themselves (2x the CPU time, measured on 2 cores).
  """
  win = _constants(cfg)[1]
  n_frames = cfg.n_frames(x.shape[0])
  steps = -(-n_frames // CHUNK)
  low = len(cfg.low_bands) > 1
  if low:  # the signal averaged over low_decim samples, framed the same way
    hop_y = cfg.hop // cfg.low_decim
    low_win, low_fb = _low_constants(cfg)
    y = x[:x.shape[0] // cfg.low_decim * cfg.low_decim]
    y = _pad_centred(y.reshape(-1, cfg.low_decim).mean(axis=1),
                     cfg.low_n_fft, steps * CHUNK * hop_y)
  x = _pad_centred(x, cfg.n_fft, steps * CHUNK * cfg.hop)

  def frames(sig, start, n_fft, hop):
    seg = jax.lax.dynamic_slice(sig, (start,), (CHUNK * hop + n_fft,))
    return seg[np.arange(CHUNK)[:, None] * hop + np.arange(n_fft)]

  def step(i):
    f = frames(x, i * CHUNK * cfg.hop, cfg.n_fft, cfg.hop)
    if cfg.detrend:
      f = _detrend(f)
    spec = jnp.fft.rfft(f * win, axis=-1)
    pw = spec.real ** 2 + spec.imag ** 2
    out = _project(pw, cfg)
    if low:
      f = frames(y, i * CHUNK * hop_y, cfg.low_n_fft, hop_y)
      spec = jnp.fft.rfft((f - f.mean(axis=1, keepdims=True)) * low_win,
                          axis=-1)
      out = jnp.concatenate([(spec.real ** 2 + spec.imag ** 2) @ low_fb,
                             out], axis=1)
    if tonal_bins is None:
      return out, None
    return out, pw[:, tonal_bins[0]:tonal_bins[1] + 1]

  out, tone = jax.lax.map(step, jnp.arange(steps))
  out = out.reshape(steps * CHUNK, -1)
  if tone is not None:
    tone = tone.reshape(steps * CHUNK, -1)[:n_frames]
  return out[:n_frames, :-1], out[:n_frames, -1], tone


def _pad_centred(x, n_fft: int, span: int):
  """``x`` zero padded by ``n_fft // 2`` in front (frame i is centred on
  sample ``i * hop``) and behind to ``span + n_fft`` samples."""
  pad = n_fft // 2
  return jnp.pad(x, (pad, span + n_fft - x.shape[0] - pad))


def _to_db(s, cfg):
  db = 10.0 * jnp.log10(jnp.maximum(s, cfg.amin))
  if cfg.top_db is not None:
    db = jnp.maximum(db, db.max() - cfg.top_db)
  return db


@functools.partial(jax.jit, static_argnums=1)
def logmel(x: jnp.ndarray, cfg: MelConfig) -> jnp.ndarray:
  """Log-mel spectrogram in dB.

  Args:
    x: float32 ``[n]``.
    cfg: parameters.

  Returns:
    float32 ``[1 + n // hop, n_mels]`` (librosa's ``.T``).
  """
  return _to_db(_power(x, dataclasses.replace(cfg, low_bands=()))[0], cfg)


def _windows(f: jnp.ndarray, cfg: MelConfig, n: int) -> jnp.ndarray:
  """``[frames, d] -> [n, context * d]`` (frame-major inside a window),
  window i starting at frame ``first_frame + i * stride``."""
  idx = (cfg.first_frame + np.arange(n)[:, None] * cfg.stride +
         np.arange(cfg.context))
  return f[idx].reshape(n, -1)


def low_band_scale(cfg: MelConfig, weight: float) -> np.ndarray:
  """float32 ``[cfg.dim]``: ``weight`` at the low bands of every frame of a
  window (frame-major: ``frame * cfg.bands + band``), 1 elsewhere.
  Multiplying standardised windows by it makes the low bands count
  ``weight**2`` times more in a squared reconstruction error."""
  n_low = max(len(cfg.low_bands) - 1, 0)
  low = np.arange(cfg.dim) % cfg.bands < n_low
  return np.where(low, np.float32(weight), np.float32(1.0))


@functools.lru_cache(maxsize=8)
def _low_constants(cfg: MelConfig):
  rate = cfg.rate / cfg.low_decim
  edges = np.asarray(cfg.low_bands, float)
  if cfg.hop % cfg.low_decim or np.any(np.diff(edges) <= 0) or (
      edges[0] < 0 or edges[-1] > rate / 2):
    raise ValueError(
        f"low_bands {cfg.low_bands} need increasing edges within 0..{rate / 2:g}"
        f" Hz (rate / low_decim / 2) and a hop ({cfg.hop}) that is a multiple"
        f" of low_decim ({cfg.low_decim})")
  win = scipy.signal.get_window("hann", cfg.low_n_fft, fftbins=True)
  freqs = np.fft.rfftfreq(cfg.low_n_fft, 1.0 / rate)
  fb = np.stack([(freqs >= lo) & (freqs < hi)
                 for lo, hi in zip(edges[:-1], edges[1:])], 1)
  return win.astype(np.float32), fb.astype(np.float32)


@functools.partial(jax.jit, static_argnums=(1, 5))
def _file_features(x, cfg, n_valid, mean, std, tonal_bins):
  mel_power, band_power, tone = _power(x, cfg, tonal_bins)
  db = _to_db(mel_power, cfg)
  if cfg.frontend == "pcen":
    n_low = cfg.bands - cfg.n_mels
    db = db.at[:, n_low:].set(pcen.pcen(
        mel_power[:, n_low:], sr=cfg.rate, hop_length=cfg.hop,
        time_constant=cfg.pcen_time_constant))
  e_db = 10.0 * jnp.log10(jnp.maximum(band_power, cfg.amin))
  # Background: median over every MEDIAN_STEP-th valid frame (the
  # subsample's median is as good as all frames'), by bisection
  # (jaxtk.order: XLA's CPU sort costs more than the STFT).
  valid = (jnp.arange(db.shape[0]) < 1 + n_valid // cfg.hop)[::MEDIAN_STEP]
  db = db - order.median(db[::MEDIAN_STEP], valid)
  e_db = e_db - order.median(e_db[::MEDIAN_STEP, None], valid)[0]
  n_win = (db.shape[0] - cfg.first_frame - cfg.context) // cfg.stride + 1
  win = (_windows(db, cfg, n_win) - mean) / std
  energy = _windows(e_db[:, None], cfg, n_win).mean(axis=1)
  return win, energy, mel_power[:, -cfg.n_mels:], tone


class FileFeatures(NamedTuple):
  """What one pass over a file's STFT gives (``analyse``).

  Attributes:
    windows: float32 ``[W, cfg.dim]`` standardised context windows.
    energy: float32 ``[W]`` the energy baseline, dB above the file's median.
    mels: float32 ``[cfg.n_frames(n), cfg.n_mels]`` mel band powers (the
      PCEN peer's input, ``peer.py``).
    tonal: float32 ``[cfg.n_frames(n), bins]`` the power of each rfft bin
      of ``tonal_bins`` per frame (``tonal.py``), or None.
  """
  windows: np.ndarray
  energy: np.ndarray
  mels: np.ndarray
  tonal: np.ndarray | None


def analyse(x: np.ndarray, cfg: MelConfig, mean=None, std=None,
            tonal_bins: tuple[int, int] | None = None) -> FileFeatures:
  """One file's features from one STFT: ``FileFeatures``.

  Args:
    x: float32 ``[n]`` samples in full scale.
    cfg: parameters (``cfg.rate`` must be the file's rate).
    mean, std: float32 ``[cfg.dim]`` from the training windows (default 0, 1).
    tonal_bins: first and last (inclusive) rfft bin whose powers to return
      as well (``tonal.bins``), or None.

  The signal is zero padded to a multiple of ``BUCKET`` (a few compiled
  shapes); window times are ``cfg.window_times(W)``.
  """
  n = x.size
  padded = np.zeros(-(-max(n, 1) // BUCKET) * BUCKET, np.float32)
  padded[:n] = x
  mean = np.zeros(cfg.dim, np.float32) if mean is None else mean
  std = np.ones(cfg.dim, np.float32) if std is None else std
  win, energy, mels, tone = _file_features(
      jnp.asarray(padded), cfg, n, jnp.asarray(mean, jnp.float32),
      jnp.asarray(std, jnp.float32),
      None if tonal_bins is None else tuple(int(b) for b in tonal_bins))
  w, f = cfg.n_windows(n), cfg.n_frames(n)
  return FileFeatures(np.asarray(win[:w]), np.asarray(energy[:w]),
                      np.asarray(mels[:f]),
                      None if tone is None else np.asarray(tone[:f]))


def file_features(x: np.ndarray, cfg: MelConfig, mean=None, std=None):
  """Standardised context windows and energy-baseline scores of one file.

  Args:
    x: float32 ``[n]`` samples in full scale.
    cfg: parameters (``cfg.rate`` must be the file's rate).
    mean, std: float32 ``[cfg.dim]`` from the training windows (default 0, 1).

  Returns:
    (windows float32 ``[W, cfg.dim]``, energy float32 ``[W]`` in dB above the
    file's median), ``W = cfg.n_windows(n)``; window times from
    ``cfg.window_times(W)``.
  """
  return analyse(x, cfg, mean, std)[:2]
