"""Decodes one ACO raw file into int32 samples and per-record headers.

All records of a file are decoded at once: the record offsets, the header
array and the payload matrix are numpy views of the file's bytes, and
``fmt.unpack_records`` handles the whole payload in whole-array
operations.  Only a file whose records change width midway is walked record
by record (to find where each record starts), and is then still decoded one
run of equal width at a time.
"""
import dataclasses
import datetime as dt
import os

import numpy as np

from anomaly_jax.aco import fmt
from jaxtk.errors import DataError

@dataclasses.dataclass
class Decoded:
  """One decoded file.

  Attributes:
    path: the file.
    start: start time from the file name (naive UTC).
    rate: sample rate in Hz (from the extension).
    layout: header layout used (1: before Dec 2016, 2: from Dec 2016).
    samples: int32 ``[n]``, every complete sample, records concatenated.
    headers: structured ``[records]`` (``fmt.HEADER_V1`` or ``_V2``).
    record_offsets: int64 ``[records]``, index of each record's first sample
      in ``samples`` (a short final record holds fewer samples).
    record_times: float64 ``[records]``, header time (tSec + tuSec) in seconds
      after ``start``.
    issues: what is odd but decodable (short final record, header time not
      matching the name), one readable line each.
  """
  path: str
  start: dt.datetime
  rate: int
  layout: int
  samples: np.ndarray
  headers: np.ndarray
  record_offsets: np.ndarray
  record_times: np.ndarray
  issues: list

  @property
  def bits(self) -> np.ndarray:
    return self.headers["bits"]

  @property
  def duration(self) -> float:
    return self.samples.size / self.rate


def _check_width(path, bits, index):
  if not 1 <= bits <= fmt.MAX_BITS:
    raise DataError(path, f"sample width {bits} bits is outside 1..32 "
                    "(corrupt header or not an ACO raw file)",
                    field=f"record {index} byte 35 (bits)")


def _record_starts(path, data: np.ndarray):
  """Byte offset and width of every record with a whole header.

  Returns (offsets int64 [records], widths int [records]).
  """
  n = data.size
  bits = int(data[fmt.HEADER_BYTES - 1])
  _check_width(path, bits, 0)
  size = fmt.record_bytes(bits)
  count = -(-(n - fmt.HEADER_BYTES + 1) // size)  # records with a header
  offsets = np.arange(count, dtype=np.int64) * size
  widths = data[offsets + fmt.HEADER_BYTES - 1].astype(np.int64)
  if (widths == bits).all():
    return offsets, widths
  # Width changes midway: walk the records (one step per record).
  offs, ws, off = [], [], 0
  while off + fmt.HEADER_BYTES <= n:
    b = int(data[off + fmt.HEADER_BYTES - 1])
    _check_width(path, b, len(offs))
    offs.append(off)
    ws.append(b)
    off += fmt.record_bytes(b)
  return np.asarray(offs, np.int64), np.asarray(ws, np.int64)


def _check_headers(path, h: np.ndarray, layout: int):
  """Raises DataError at the first record whose header contradicts itself."""
  bad = np.flatnonzero(h["tuSec"] >= 1_000_000)
  if bad.size:
    raise DataError(path, f"tuSec {h['tuSec'][bad[0]]} is not below 10**6 "
                    "(record header inconsistent)", f"record {bad[0]}")
  if layout == 2:
    bad = np.flatnonzero(h["record"] != h["record_dup"])
    if bad.size:
      i = bad[0]
      raise DataError(path, f"record number {h['record'][i]} != its duplicate "
                      f"{h['record_dup'][i]} (record header inconsistent, or "
                      "layout 2 used for a pre-December-2016 file)",
                      f"record {i}")
  else:
    clock = (h["hour"].astype(np.int64) * 3600 + h["minute"].astype(np.int64)
             * 60 + h["second"])
    off = (clock - h["tSec"].astype(np.int64) % 86400) % 86400
    bad = np.flatnonzero((h["hour"] > 23) | (h["minute"] > 59) |
                         (h["second"] > 60) | (h["year"] < 1990) |
                         (h["day_of_year"] < 1) | (h["day_of_year"] > 366) |
                         ((off > 2) & (off < 86398)))
    if bad.size:
      i = bad[0]
      raise DataError(path, f"clock {h['year'][i]}/{h['day_of_year'][i]} "
                      f"{h['hour'][i]}:{h['minute'][i]}:{h['second'][i]} does "
                      f"not match tSec {h['tSec'][i]} (record header "
                      "inconsistent, or layout 1 used for a file from "
                      "December 2016 on)", f"record {i}")


def read_file(path, layout: int | None = None,
              time_tolerance: float = 1.0) -> Decoded:
  """Decodes an ACO raw file.

  Args:
    path: ``.../YYYY-MM-DD--HH.MM.HYD<kHz>..pk``.
    layout: header layout 1 or 2; default from the file name's date.
    time_tolerance: seconds the first record's header time may differ from
      the name before it is reported in ``issues``.

  Returns:
    The ``Decoded`` file.

  Raises:
    DataError: unknown name/extension, empty file, sample width 0 or > 32,
      inconsistent record header (names the file and the record).
  """
  path = str(path)
  start, rate = fmt.parse_name(path)
  layout = fmt.layout_for(start) if layout is None else layout
  if layout not in fmt.LAYOUTS:
    raise DataError(path, f"header layout {layout} is not 1 or 2")
  data = np.fromfile(path, np.uint8)
  if data.size < fmt.HEADER_BYTES:
    raise DataError(path, f"{data.size} bytes: not even one 36-byte record "
                    "header")
  issues = []
  offsets, widths = _record_starts(path, data)
  dtype = fmt.LAYOUTS[layout]
  n_rec = offsets.size
  ends = offsets + fmt.HEADER_BYTES + widths * (fmt.SAMPLES_PER_RECORD // 8)
  counts = np.full(n_rec, fmt.SAMPLES_PER_RECORD, np.int64)
  tail = data.size - ends[-1]
  if tail < 0:  # The last record is cut short.
    have = data.size - offsets[-1] - fmt.HEADER_BYTES
    counts[-1] = have * 8 // widths[-1]
    issues.append(f"record {n_rec - 1} truncated: {counts[-1]} of "
                  f"{fmt.SAMPLES_PER_RECORD} samples complete, "
                  f"{fmt.SAMPLES_PER_RECORD - counts[-1]} missing")
  elif tail > 0:  # 1..35 bytes after the last record: no whole header.
    issues.append(f"{tail} trailing bytes after record {n_rec - 1} "
                  "(not a whole header) ignored")
  record_offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

  headers = np.empty(n_rec, dtype)
  samples = np.empty(int(counts.sum()), np.int32)
  n_whole = n_rec - (tail < 0)
  # Runs of consecutive whole records of one width are contiguous bytes:
  # view each run as a [records, record_bytes] matrix (one run, usually).
  cuts = np.flatnonzero(np.diff(widths[:n_whole])) + 1
  for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n_whole]):
    if hi <= lo:
      continue
    bits = int(widths[lo])
    size = fmt.record_bytes(bits)
    run = data[offsets[lo]:offsets[lo] + (hi - lo) * size].reshape(-1, size)
    headers[lo:hi] = run[:, :fmt.HEADER_BYTES].copy().view(dtype)[:, 0]
    samples[record_offsets[lo]:record_offsets[lo] + (hi - lo) *
            fmt.SAMPLES_PER_RECORD] = fmt.unpack_records(run, bits).ravel()
  if tail < 0:
    last = data[offsets[-1]:]
    headers[-1] = last[:fmt.HEADER_BYTES].copy().view(dtype)[0]
    b = int(widths[-1])
    pay = last[fmt.HEADER_BYTES:]
    pay = np.concatenate([pay, np.zeros(-pay.size % b, np.uint8)])
    samples[record_offsets[-1]:] = fmt.unpack(pay, b)[:counts[-1]]
  _check_headers(path, headers, layout)

  t0 = fmt.unix(start)
  times = (headers["tSec"].astype(np.float64) +
           headers["tuSec"].astype(np.float64) * 1e-6 - t0)
  if abs(times[0]) > time_tolerance:
    issues.append(f"header time of record 0 is {times[0]:+.3f} s from the "
                  f"time in the file name ({start:%Y-%m-%d %H:%M:%S})")
  return Decoded(path, start, rate, layout, samples, headers, record_offsets,
                 times, issues)


def list_day(basedir, day: dt.date) -> list[str]:
  """All raw files of ``day`` under ``basedir/YYYY/MM/DD`` (sorted)."""
  d = os.path.join(str(basedir), f"{day:%Y}", f"{day:%m}", f"{day:%d}")
  if not os.path.isdir(d):
    return []
  return sorted(os.path.join(d, f) for f in os.listdir(d) if ".HYD" in f)
