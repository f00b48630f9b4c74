"""Spectrogram PNGs and WAV snippets of detections, rendered on demand from
the archive and cached under ``<workdir>/review_cache``.

Only files inside the archive root are read: a file whose real path (after
symlinks) leaves the root is refused, as ``inside`` refuses ``..`` and
absolute paths for the files the web app serves.
"""
import dataclasses
import fractions
import functools
import hashlib
import os
import threading

import matplotlib
import numpy as np
import PIL.Image
import scipy.fft
import scipy.signal
import soundfile
from werkzeug.security import safe_join

from anomaly_jax.aco import fmt, scan
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.review.detections import Det, unix, utc
from jaxtk.errors import DataError

SPEEDS = (1, 2, 5, 10, 20)   # playback speed-ups offered (x10: 20 Hz -> 200)
MAX_PAD = 120.0              # s of context either side, at most
OUT_RATE = 48000             # WAV rate when rate x speed would exceed it
FMIN = 10.0                  # lowest frequency of the spectrogram (Hz)
ROWS = 192                   # spectrogram rows, log-spaced FMIN..Nyquist


@functools.lru_cache(maxsize=1)
def _palette() -> list[int]:
  """matplotlib's "magma" as a 256-colour PNG palette."""
  rgb = matplotlib.colormaps["magma"](np.arange(256))[:, :3]
  return (rgb * 255).round().astype(np.uint8).ravel().tolist()


class Refused(ValueError):
  """A path outside the served roots (the web app's 404)."""


def inside(root: str, rel: str) -> str:
  """The real path of ``root/rel`` if it stays inside ``root``.

  Raises:
    Refused: ``rel`` is absolute, holds ``..``, or resolves (through a
      symlink) outside ``root``.
  """
  joined = safe_join(root, rel) if rel else None
  if joined is None:
    raise Refused(f"{rel!r} is not a path inside {root}")
  real, base = os.path.realpath(joined), os.path.realpath(root)
  if os.path.commonpath([real, base]) != base:
    raise Refused(f"{rel!r} leads outside {root}")
  return real


def read_span(path: str, first: int, stop: int) -> np.ndarray:
  """float32 samples ``[first, stop)`` of one file, in full scale of its
  width (fewer if the file ends sooner; none if it starts later).

  Reads only the records that hold them when every record has the first
  one's width (the rule); otherwise decodes the whole file
  (``scan.decode_float``).  A damaged file gives no samples.
  """
  bits = int(np.fromfile(path, np.uint8, count=fmt.HEADER_BYTES)[-1]) if (
      os.path.getsize(path) >= fmt.HEADER_BYTES) else 0
  if not 1 <= bits <= fmt.MAX_BITS or stop <= first:
    return np.zeros(0, np.float32)
  size, per = fmt.record_bytes(bits), fmt.SAMPLES_PER_RECORD
  n_rec = os.path.getsize(path) // size
  r0, r1 = first // per, min(-(-stop // per), n_rec)
  if r1 <= r0:
    return np.zeros(0, np.float32)
  run = np.fromfile(path, np.uint8, count=(r1 - r0) * size,
                    offset=r0 * size).reshape(-1, size)
  if (run[:, fmt.HEADER_BYTES - 1] != bits).any():
    try:
      _, x = scan.decode_float(path)
    except DataError:
      return np.zeros(0, np.float32)
    return x[first:stop]
  x = fmt.unpack_records(run, bits).ravel() * np.float32(2.0 ** (1 - bits))
  return x[first - r0 * per:stop - r0 * per]


@dataclasses.dataclass(frozen=True)
class Spec:
  """How a snippet is rendered (validated by ``spec``)."""
  pad: float = 5.0     # s of context either side of the detection
  speed: int = 1       # playback speed-up (audio only)


def spec(pad=None, speed=None) -> Spec:
  """A ``Spec`` from request parameters (strings or numbers).

  Raises:
    ValueError: ``pad`` not a number in [0, MAX_PAD]; ``speed`` not one of
      ``SPEEDS``.
  """
  out = Spec()
  if pad is not None:
    p = float(pad)
    if not 0.0 <= p <= MAX_PAD:
      raise ValueError(f"pad={pad!r} is not in [0, {MAX_PAD:g}] s")
    out = dataclasses.replace(out, pad=p)
  if speed is not None:
    s = int(speed) if str(speed).isdigit() else None
    if s not in SPEEDS:
      raise ValueError(f"speed={speed!r} is not one of: "
                       f"{', '.join(map(str, SPEEDS))}")
    out = dataclasses.replace(out, speed=s)
  return out


class Media:
  """Renders and caches snippets of ``archive`` detections in ``cache``."""

  def __init__(self, archive: str, cache: str):
    self.archive = Archive(archive)
    self.root = os.path.realpath(archive)
    self.cache = cache
    os.makedirs(cache, exist_ok=True)

  def _cached(self, det: Det, s: Spec, ext: str) -> str:
    h = hashlib.sha1(det.key.encode()).hexdigest()[:16]
    return os.path.join(self.cache, f"{h}_p{s.pad:g}_x{s.speed}.{ext}")

  def load(self, det: Det, pad: float) -> tuple[np.ndarray, int]:
    """float64 ``[n]`` samples of ``[start - pad, end + pad]`` (0 where no
    file has data, high-passed at 2 Hz) and the rate.

    Samples are placed by the file name's time and their index, as the
    scan timed its windows.

    Raises:
      Refused: a file of the span resolves outside the archive.
      DataError: no archive file covers the span.
    """
    a, b = det.start - pad, det.end + pad
    paths = self.archive.files(utc(a), utc(b))
    rates = {fmt.parse_name(p)[1] for p in paths}
    if len(rates) != 1:
      raise DataError(self.archive.basedir, f"{len(rates)} sample rates "
                      f"among the files of {utc(a)}..{utc(b)}: expected one")
    rate = rates.pop()
    x = np.zeros(int(round((b - a) * rate)))
    for p in paths:
      real = inside(self.root, os.path.relpath(p, self.archive.basedir))
      lo = int(round((unix(fmt.parse_name(p)[0]) - a) * rate))  # in x
      got = read_span(real, max(-lo, 0), x.size - lo)
      dst = max(lo, 0)
      x[dst:dst + got.size] = got[:x.size - dst]
    # The DC offset and the swell (0.07-0.1 Hz) would leak into the low
    # bins and eat the audio's headroom.
    sos = scipy.signal.butter(2, 2.0, "highpass", fs=rate, output="sos")
    return scipy.signal.sosfiltfilt(sos, x - x.mean()), rate

  def spectrogram(self, det: Det, s: Spec) -> str:
    """PNG of the log-power spectrogram on a log-frequency axis (FMIN to
    Nyquist, low at the bottom), one column per hop; cached."""
    out = self._cached(det, s, "png")
    if os.path.exists(out):
      return out
    x, rate = self.load(det, s.pad)
    n_fft = 1 << int(round(np.log2(rate / 6.0)))  # ~6 Hz bins
    hop = max(n_fft // 4, int(len(x) / 800) + 1)  # <= ~800 columns
    x = np.pad(x.astype(np.float32), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    win = scipy.signal.get_window("hann", n_fft).astype(np.float32)
    p = np.abs(scipy.fft.rfft(frames * win, axis=1)).T ** 2  # [bins, T]
    f = np.fft.rfftfreq(n_fft, 1.0 / rate)
    # Log-spaced rows, linearly interpolated between the FFT bins.
    pos = np.geomspace(FMIN, rate / 2, ROWS) / f[1]
    i0 = np.minimum(pos.astype(int), len(f) - 2)
    w = (pos - i0)[:, None]
    db = 10 * np.log10(p[i0] * (1 - w) + p[i0 + 1] * w + 1e-20)
    lo, hi = np.percentile(db, 5), db.max()
    idx = np.clip((db - lo) / max(hi - lo, 1e-6) * 255, 0, 255)
    img = PIL.Image.fromarray(idx[::-1].astype(np.uint8), mode="P")
    img.putpalette(_palette())
    tmp = out + f".{os.getpid()}.{threading.get_ident()}.tmp.png"
    img.save(tmp, format="PNG")
    os.replace(tmp, out)
    return out

  def audio(self, det: Det, s: Spec) -> str:
    """16-bit WAV, ``s.speed`` times faster (pitch up by the same factor),
    peak-normalised, at ``rate * speed`` or resampled to ``OUT_RATE`` when
    that is higher; cached."""
    out = self._cached(det, s, "wav")
    if os.path.exists(out):
      return out
    x, rate = self.load(det, s.pad)
    play = rate * s.speed
    if play > OUT_RATE:
      r = fractions.Fraction(OUT_RATE, play).limit_denominator(1000)
      x = scipy.signal.resample_poly(x, r.numerator, r.denominator)
      play = OUT_RATE
    peak = np.abs(x).max() if x.size else 0.0
    x = x / peak * 0.9 if peak > 0 else x
    tmp = out + f".{os.getpid()}.{threading.get_ident()}.tmp.wav"
    soundfile.write(tmp, x.astype(np.float32), int(play), subtype="PCM_16",
                    format="WAV")
    os.replace(tmp, out)
    return out


def check_archive(archive: str) -> str:
  """``archive`` if it is a directory (the review never builds one)."""
  if not os.path.isdir(archive):
    raise DataError(archive, "archive directory does not exist: pass "
                    "--archive or set $ACO_ARCHIVE")
  return archive
