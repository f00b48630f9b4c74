"""Log-mel features in JAX, equal to librosa's, and context windows.

``logmel`` equals ``librosa.power_to_db(librosa.feature.melspectrogram(y=x,
sr=rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmin=fmin, fmax=fmax),
ref=1.0, amin=amin, top_db=top_db)`` (centred frames, zero padding, periodic
Hann window, Slaney mel filters): the STFT is framing plus
``jnp.fft.rfft``; the filter bank is ``librosa.filters.mel``, built once in
numpy.

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

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import scipy.signal

BUCKET = 1 << 20  # samples; signals are zero-padded to a multiple of this
MEDIAN_STEP = 16  # frames between those the background median uses (0.68 s)


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
  def first_frame(self) -> int:
    """First frame that lies wholly inside the signal (no centre padding)."""
    return -(-(self.n_fft // 2) // self.hop)

  def last_frame(self, n_samples: int) -> int:
    """Last frame that lies wholly inside a signal of ``n_samples``."""
    return (n_samples - self.n_fft // 2) // self.hop

  def n_windows(self, n_samples: int) -> int:
    """Windows of ``context`` frames that lie wholly inside the signal: the
    edge frames see the zero padding (a step from the hydrophone's DC
    offset to 0), which would look anomalous at every file boundary."""
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


def _frames(x: jnp.ndarray, cfg: MelConfig) -> jnp.ndarray:
  """``[n] -> [1 + n // hop, n_fft]`` centred frames, zero padded (as
  librosa); a gather, used where hop does not divide n_fft and by tests."""
  return _centred(x, cfg.n_fft, cfg.hop, cfg.n_frames(x.shape[0]))


def _centred(x, n_fft: int, hop: int, n_frames: int):
  """``[n_frames, n_fft]`` frames of ``x`` centred on multiples of ``hop``."""
  x = jnp.pad(x, (n_fft // 2, n_fft // 2 + n_fft))
  return x[np.arange(n_frames)[:, None] * hop + np.arange(n_fft)]


def _detrend(frames):
  t = jnp.arange(frames.shape[-1], dtype=frames.dtype)
  t = t - t.mean()
  mean = frames.mean(axis=-1, keepdims=True)
  slope = (frames @ t)[:, None] / (t @ t)
  return frames - mean - slope * t


def _trend(blocks, n_frames, cfg):
  """Mean and slope of every frame from per-block sums (one pass over the
  signal instead of over the twice-as-large frames).  Returns ``[F]`` x2."""
  h, r = cfg.hop, cfg.n_fft // cfg.hop
  j = np.arange(h, dtype=np.float32) - (h - 1) / 2
  sq = blocks @ jnp.asarray(np.stack([np.ones(h, np.float32), j], 1))
  c = (cfg.n_fft - 1) / 2
  s_sum = sum(sq[m:m + n_frames, 0] for m in range(r))
  t_dot = sum(sq[m:m + n_frames, 1] + (m * h + (h - 1) / 2 - c) *
              sq[m:m + n_frames, 0] for m in range(r))
  tt = cfg.n_fft * (cfg.n_fft ** 2 - 1) / 12.0
  return s_sum / cfg.n_fft, t_dot / tt


def _bands(power, cfg):
  """``[F, bins]`` power -> (``[F, mels]``, ``[F]`` energy)."""
  mel_t, _, band = _constants(cfg)
  return power @ mel_t, power @ band


def _power(x, cfg):
  """Band powers of every centred frame: ``[F, bands]``, ``[F]``.

  When hop divides n_fft (r = n_fft / hop), frame ``k r + j`` starts at
  ``k n_fft + j hop`` of the padded signal, so the frames of phase ``j``
  are a plain reshape of the signal shifted by ``j hop``: no ``[F, n_fft]``
  frame matrix is ever gathered or concatenated (on CPU that copy cost
  more than the FFT).  The phases' band powers are interleaved at the end.
  """
  _, win, _ = _constants(cfg)
  if cfg.n_fft % cfg.hop:
    frames = _frames(x, cfg)
    if cfg.detrend:
      frames = _detrend(frames)
    spec = jnp.fft.rfft(frames * win, axis=-1)
    return _bands(spec.real ** 2 + spec.imag ** 2, cfg)
  n_frames, r, h = cfg.n_frames(x.shape[0]), cfg.n_fft // cfg.hop, cfg.hop
  per = -(-n_frames // r)                      # frames per phase
  pad = cfg.n_fft // 2
  x = jnp.pad(x, (pad, (r - 1) * h + per * cfg.n_fft - x.shape[0] - pad))
  if cfg.detrend:
    # The FFT is linear: FFT(w (x - a - b t)) = FFT(w x) - a FFT(w) - b FFT(w t)
    blocks = x[:(per * r + r - 1) * h].reshape(-1, h)
    mean, slope = _trend(blocks, per * r, cfg)
    t = np.arange(cfg.n_fft) - (cfg.n_fft - 1) / 2
    f_w = jnp.asarray(np.fft.rfft(win).astype(np.complex64))
    f_wt = jnp.asarray(np.fft.rfft(win * t).astype(np.complex64))
  outs = []
  for j in range(r):
    frames = x[j * h:j * h + per * cfg.n_fft].reshape(per, cfg.n_fft)
    spec = jnp.fft.rfft(frames * win, axis=-1)
    if cfg.detrend:
      spec = (spec - mean[j::r, None] * f_w - slope[j::r, None] * f_wt)
    outs.append(_bands(spec.real ** 2 + spec.imag ** 2, cfg))
  mel = jnp.stack([o[0] for o in outs], axis=1).reshape(per * r, -1)
  energy = jnp.stack([o[1] for o in outs], axis=1).reshape(per * r)
  return mel[:n_frames], energy[:n_frames]


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
  return _to_db(_power(x, cfg)[0], cfg)


def _windows(f: jnp.ndarray, cfg: MelConfig, n: int) -> jnp.ndarray:
  """``[frames, d] -> [n, context * d]`` (frame-major inside a window),
  window i starting at frame ``first_frame + i * stride``."""
  idx = (cfg.first_frame + np.arange(n)[:, None] * cfg.stride +
         np.arange(cfg.context))
  return f[idx].reshape(n, -1)


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


def _low_power(x, cfg, n_frames: int):
  """``[n_frames, bands]``: power in ``cfg.low_bands`` (Hz edges) from a
  long-window STFT of the signal averaged over ``low_decim`` samples
  (24 kHz / 64 = 375 Hz, 512 points: 0.73 Hz bins, 1.37 s frames), one
  frame per main frame (centred on the same sample)."""
  win, fb = _low_constants(cfg)
  y = x[:x.shape[0] // cfg.low_decim * cfg.low_decim]
  y = y.reshape(-1, cfg.low_decim).mean(axis=1)
  frames = _centred(y, cfg.low_n_fft, cfg.hop // cfg.low_decim, n_frames)
  frames = frames - frames.mean(axis=1, keepdims=True)
  spec = jnp.fft.rfft(frames * win, axis=-1)
  return (spec.real ** 2 + spec.imag ** 2) @ fb


@functools.partial(jax.jit, static_argnums=(1,))
def _file_features(x, cfg, n_valid, mean, std):
  mel_power, band_power = _power(x, cfg)
  if len(cfg.low_bands) > 1:
    low = _low_power(x, cfg, mel_power.shape[0])
    mel_power = jnp.concatenate([low, mel_power], axis=1)
  db = _to_db(mel_power, cfg)
  e_db = 10.0 * jnp.log10(jnp.maximum(band_power, cfg.amin))
  # Background: median over every MEDIAN_STEP-th valid frame (a full sort of
  # every frame costs as much as the STFT; the subsample's median is as good).
  valid = jnp.arange(db.shape[0]) < 1 + n_valid // cfg.hop
  sub = jnp.where(valid[:, None], db, jnp.nan)[::MEDIAN_STEP]
  db = db - jnp.nanmedian(sub, axis=0)
  e_db = e_db - jnp.nanmedian(jnp.where(valid, e_db, jnp.nan)[::MEDIAN_STEP])
  n_win = (db.shape[0] - cfg.first_frame - cfg.context) // cfg.stride + 1
  win = (_windows(db, cfg, n_win) - mean) / std
  energy = _windows(e_db[:, None], cfg, n_win).mean(axis=1)
  return win, energy


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
  n = x.size
  padded = np.zeros(-(-max(n, 1) // BUCKET) * BUCKET, np.float32)
  padded[:n] = x
  mean = np.zeros(cfg.dim, np.float32) if mean is None else mean
  std = np.ones(cfg.dim, np.float32) if std is None else std
  win, energy = _file_features(jnp.asarray(padded), cfg, n,
                               jnp.asarray(mean, jnp.float32),
                               jnp.asarray(std, jnp.float32))
  w = cfg.n_windows(n)
  return np.asarray(win[:w]), np.asarray(energy[:w])
