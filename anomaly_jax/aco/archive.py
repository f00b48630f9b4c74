"""Time-based access to an ACO archive: ``Archive(basedir).load(start, dur)``.

Example (the seed's ``ACDio`` example)::

  from datetime import datetime, timedelta
  from anomaly_jax.aco.archive import Archive

  clip = Archive("data/aco").load(datetime(2016, 11, 30, 5, 0),
                                  timedelta(minutes=10))
  snip = clip[timedelta(seconds=7):timedelta(seconds=11)]
  snip.view("snip.png")          # waveform + spectrogram
  x = snip.float()               # float32 [n], full scale 1.0, NaN = no data
  print(snip.report())           # gaps and file issues
"""
import dataclasses
import datetime as dt
import os

import numpy as np

from anomaly_jax.aco import fmt, reader
from jaxtk.errors import DataError

NOMINAL_FILE = dt.timedelta(minutes=5)
LOOKBACK = dt.timedelta(minutes=15)  # a file longer than 5 min still counts


@dataclasses.dataclass
class Clip:
  """Samples of a time span, aligned on time.

  Attributes:
    start: time of sample 0 (naive UTC).
    rate: samples per second.
    samples: int32 ``[n]`` raw counts (0 where there is no data).
    bits: uint8 ``[n]`` width of the file each sample came from (0: none).
    issues: one line per odd or unreadable file.
  """
  start: dt.datetime
  rate: int
  samples: np.ndarray
  bits: np.ndarray
  issues: list

  @property
  def valid(self) -> np.ndarray:
    """bool ``[n]``: True where there is data."""
    return self.bits > 0

  @property
  def duration(self) -> dt.timedelta:
    return dt.timedelta(seconds=self.samples.size / self.rate)

  def float(self) -> np.ndarray:
    """float32 ``[n]`` in full scale of each file's width; NaN = no data."""
    scale = np.ldexp(1.0, -np.maximum(self.bits.astype(np.int32) - 1, 0))
    x = (self.samples * scale).astype(np.float32)
    x[~self.valid] = np.nan
    return x

  def _index(self, t) -> int:
    if t is None:
      return None
    if isinstance(t, dt.datetime):
      t = t - self.start
    if isinstance(t, dt.timedelta):
      t = t.total_seconds()
    return int(round(t * self.rate))

  def __getitem__(self, key) -> "Clip":
    """``clip[timedelta(seconds=7):timedelta(seconds=11)]`` (also datetimes
    or float seconds)."""
    if not isinstance(key, slice) or key.step is not None:
      raise TypeError("slice a Clip with clip[t0:t1] (timedelta, datetime "
                      "or seconds)")
    lo, hi = slice(self._index(key.start), self._index(key.stop)).indices(
        self.samples.size)[:2]
    return Clip(self.start + dt.timedelta(seconds=lo / self.rate), self.rate,
                self.samples[lo:hi], self.bits[lo:hi], list(self.issues))

  def gaps(self) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of every run without data."""
    v = np.r_[True, self.valid, True].astype(np.int8)
    lo = np.flatnonzero(np.diff(v) == -1)
    hi = np.flatnonzero(np.diff(v) == 1)
    at = lambda i: self.start + dt.timedelta(seconds=i / self.rate)
    return [(at(a), at(b)) for a, b in zip(lo, hi)]

  def report(self) -> str:
    """The gaps and file issues, one per line."""
    lines = [f"{self.start:%Y-%m-%d %H:%M:%S} +{self.duration}: "
             f"{self.valid.mean() if self.samples.size else 0:.1%} with data"]
    for a, b in self.gaps():
      secs = (b - a).total_seconds()
      lines.append(f"gap {a:%H:%M:%S.%f} .. {b:%H:%M:%S.%f} ({secs:.3f} s)")
    return "\n".join(lines + self.issues)

  def view(self, path: str) -> str:
    """Saves the waveform and spectrogram of the clip as a PNG."""
    from jaxtk.plotting import plt  # pylint: disable=g-import-not-at-top
    x = self.float()
    t = np.arange(x.size) / self.rate
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5), dpi=110, sharex=True)
    a.plot(t, x, lw=0.4)
    a.set_ylabel("full scale")
    a.set_title(f"{self.start:%Y-%m-%d %H:%M:%S} UTC")
    b.specgram(np.nan_to_num(x), NFFT=1024, Fs=self.rate, noverlap=512,
               cmap="magma")
    b.set_ylabel("Hz")
    b.set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


class Archive:
  """An archive ``basedir/YYYY/MM/DD/YYYY-MM-DD--HH.MM.HYD..pk``.

  Args:
    basedir: the archive root.
    layout: force header layout 1 or 2 (default: from each file's date).
    time_tolerance: seconds a header time may differ from the file name
      before it is reported (and the name's time is used instead).
  """

  def __init__(self, basedir, layout: int | None = None,
               time_tolerance: float = 1.0):
    self.basedir = str(basedir)
    self.layout = layout
    self.time_tolerance = time_tolerance
    if not os.path.isdir(self.basedir):
      raise DataError(self.basedir, "archive directory does not exist")

  def files(self, start: dt.datetime, end: dt.datetime) -> list[str]:
    """Files whose name time is in ``[start - 15 min, end)``, by time."""
    out = []
    day = (start - LOOKBACK).date()
    while day <= end.date():
      for p in reader.list_day(self.basedir, day):
        try:
          t, _ = fmt.parse_name(p)
        except DataError:
          continue  # not an archive file (reported by read_file when read)
        if start - LOOKBACK <= t < end:
          out.append((t, p))
      day += dt.timedelta(days=1)
    return [p for _, p in sorted(out)]

  def all_files(self) -> list[str]:
    """Every archive file, by time."""
    out = []
    for root, _, names in os.walk(self.basedir):
      out += [os.path.join(root, n) for n in names if ".HYD" in n]
    return sorted(out, key=os.path.basename)

  def read(self, path) -> reader.Decoded:
    return reader.read_file(path, self.layout, self.time_tolerance)

  def load(self, start: dt.datetime,
           duration: dt.timedelta = NOMINAL_FILE) -> Clip:
    """Samples of ``[start, start + duration)`` across file boundaries.

    Missing files, unreadable files and short records leave samples
    without data (``Clip.valid`` False, NaN in ``Clip.float()``) and a line
    in ``Clip.issues``; nothing is dropped silently.
    """
    end = start + duration
    paths = self.files(start, end)
    rates = {fmt.parse_name(p)[1] for p in paths}
    if len(rates) > 1:
      raise DataError(self.basedir, f"files of {sorted(rates)} Hz between "
                      f"{start} and {end}: load one rate at a time")
    if not rates:
      raise DataError(self.basedir, f"no files between {start} and {end}")
    rate = rates.pop()
    n = int(round(duration.total_seconds() * rate))
    samples = np.zeros(n, np.int32)
    bits = np.zeros(n, np.uint8)
    issues = []
    for p in paths:
      try:
        d = self.read(p)
      except DataError as e:
        issues.append(f"skipped: {e}")
        continue
      issues += [f"{p}: {msg}" for msg in d.issues]
      dest = self._place(d, start)
      keep = (dest >= 0) & (dest < n)
      samples[dest[keep]] = d.samples[keep]
      rec_bits = np.repeat(d.bits, np.diff(np.r_[d.record_offsets,
                                                 d.samples.size]))
      bits[dest[keep]] = rec_bits[keep]
    return Clip(start, rate, samples, bits, issues)

  def _place(self, d: reader.Decoded, start: dt.datetime) -> np.ndarray:
    """int64 ``[samples]``: where each sample of ``d`` goes in the clip.

    Records follow one another unless a header time jumps by more than half
    a record (missing records), in which case the header time is used.
    """
    t_rec = d.record_times
    base = t_rec[0] if abs(t_rec[0]) <= self.time_tolerance else 0.0
    pos = np.round((t_rec - t_rec[0]) * d.rate).astype(np.int64)
    pos = np.where(np.abs(pos - d.record_offsets) <= fmt.SAMPLES_PER_RECORD
                   // 2, d.record_offsets, pos)
    shift = np.repeat(pos - d.record_offsets,
                      np.diff(np.r_[d.record_offsets, d.samples.size]))
    first = int(round(((d.start - start).total_seconds() + base) * d.rate))
    return first + np.arange(d.samples.size) + shift
