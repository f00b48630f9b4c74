"""The ACO raw record format: header dtypes and bit (un)packing.

A file is a sequence of records with no file header.  Each record is a
36-byte little-endian header followed by ``SAMPLES_PER_RECORD`` samples
packed at ``bits`` bits each (``bits`` is the header's last byte), so the
payload is ``512 * bits`` bytes.  The payload is one LSB-first bit stream:
bit 0 of byte 0 is the first bit, each sample is the next ``bits`` bits read
as unsigned (bit j worth 2**j), then two's complement.

Because 8 samples always take exactly ``bits`` bytes, the bit pattern repeats
every 8 samples: the (un)packers below view the payload as ``[groups, bits]``
bytes and handle the 8 sample positions of a group with whole-array
operations, for every record of a file at once (written by hand: numpy's
``unpackbits`` would expand the data eightfold).
"""
import datetime as dt
import os
import re

import numpy as np

from jaxtk.errors import DataError

HEADER_BYTES = 36
SAMPLES_PER_RECORD = 4096
MAX_BITS = 32

# Header times and the scan's window times are seconds from this (UTC).
EPOCH = dt.datetime(1970, 1, 1)


def unix(t: dt.datetime) -> float:
  """Seconds from ``EPOCH`` of a naive UTC datetime."""
  return (t - EPOCH).total_seconds()


def utc(t: float) -> dt.datetime:
  """The naive UTC datetime of Unix seconds ``t`` (inverse of ``unix``)."""
  return EPOCH + dt.timedelta(seconds=float(t))

# Before December 2016.
HEADER_V1 = np.dtype([
    ("record", "<u4"), ("decimation", "u1"), ("start_of_file", "u1"),
    ("sync1", "u1"), ("sync2", "u1"), ("status1", "u1"), ("status2", "u1"),
    ("pad", "u1"), ("left_right", "u1"), ("tSec", "<u4"), ("tuSec", "<u4"),
    ("timecount", "<u4"), ("year", "<i2"), ("day_of_year", "<i2"),
    ("hour", "u1"), ("minute", "u1"), ("second", "u1"), ("align", "u1"),
    ("sSec", "<i2"), ("dynamic_range", "u1"), ("bits", "u1")])

# From December 2016.
HEADER_V2 = np.dtype([
    ("record", "<u4"), ("record_dup", "<u4"), ("sync1", "u1"),
    ("sync2", "u1"), ("status1", "u1"), ("status2", "u1"), ("tSec", "<u4"),
    ("tuSec", "<u4"), ("timecount", "<u4"), ("AtSec", "<u4"),
    ("AtnSec", "<u4"), ("correlation_offset", "u1"), ("ID", "u1"),
    ("left_right", "u1"), ("bits", "u1")])

LAYOUTS = {1: HEADER_V1, 2: HEADER_V2}
V2_FROM = dt.datetime(2016, 12, 1)

for _d in LAYOUTS.values():
  if _d.itemsize != HEADER_BYTES:  # A programming error, checked at import.
    raise RuntimeError(f"header dtype is {_d.itemsize} bytes, not 36")


def layout_for(when: dt.datetime) -> int:
  """The header layout (1 or 2) in use at ``when`` (naive UTC)."""
  return 2 if when.replace(tzinfo=None) >= V2_FROM else 1


def payload_bytes(bits: int) -> int:
  return SAMPLES_PER_RECORD * bits // 8


def record_bytes(bits: int) -> int:
  return HEADER_BYTES + payload_bytes(bits)


def _positions(bits: int):
  """For each of the 8 samples of a group: (first byte, bit shift, n bytes)."""
  out = []
  for p in range(8):
    start, shift = divmod(p * bits, 8)
    out.append((start, shift, (shift + bits + 7) // 8))
  return out


def unpack(payload: np.ndarray, bits: int) -> np.ndarray:
  """Decodes packed samples.

  Args:
    payload: uint8 ``[..., n_bytes]`` with ``n_bytes`` a multiple of ``bits``
      (whole groups of 8 samples), e.g. ``[records, 512 * bits]``.
    bits: sample width, 1..32.

  Returns:
    int32 ``[..., n_bytes * 8 // bits]`` two's-complement samples.
  """
  if not 1 <= bits <= MAX_BITS:
    raise ValueError(f"sample width {bits} is outside 1..{MAX_BITS}")
  payload = np.asarray(payload, dtype=np.uint8)
  lead, n = payload.shape[:-1], payload.shape[-1]
  if n % bits:
    raise ValueError(f"{n} payload bytes are not whole groups of {bits}")
  if bits in (8, 16, 32):  # LSB-first whole bytes = little-endian ints
    if payload.strides[-1] != 1:  # (a strided view of records is fine)
      payload = np.ascontiguousarray(payload)
    return payload.view(f"<i{bits // 8}").astype(np.int32)
  if bits == 24:
    b = payload.reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    return ((v << 8) >> 8).reshape(*lead, n // 3)  # sign-extend bit 23
  payload = np.ascontiguousarray(payload)
  g = payload.reshape(-1, bits)
  out = np.empty((g.shape[0], 8), np.int64)
  mask = np.uint64((1 << bits) - 1)
  for p, (start, shift, nb) in enumerate(_positions(bits)):
    v = g[:, start].astype(np.uint64)
    for k in range(1, nb):
      v |= g[:, start + k].astype(np.uint64) << np.uint64(8 * k)
    out[:, p] = ((v >> np.uint64(shift)) & mask).view(np.int64)
  half = 1 << (bits - 1)
  out -= (out >= half).astype(np.int64) << bits
  return out.astype(np.int32).reshape(*lead, n * 8 // bits)


def unpack_records(records: np.ndarray, bits: int) -> np.ndarray:
  """Decodes whole records: uint8 ``[R, record_bytes(bits)]`` -> int32
  ``[R, SAMPLES_PER_RECORD]`` (the headers are skipped).

  24 bits, the usual width, is read without unpacking: sample i's 3 bytes
  and the byte before them (the previous sample's last byte, or the
  header's ``bits`` byte) are a little-endian int32 equal to the sample
  times 256, so a strided int32 view shifted right by 8 (sign-extending) is
  the samples: one pass instead of eight.
  """
  records = np.ascontiguousarray(records, np.uint8)
  if bits == 24 and records.shape[0]:
    v = np.ndarray((records.shape[0], SAMPLES_PER_RECORD), "<i4",
                   buffer=records, offset=HEADER_BYTES - 1,
                   strides=(records.shape[1], 3))
    return v >> 8
  return unpack(records[:, HEADER_BYTES:], bits)


def pack(samples: np.ndarray, bits: int) -> np.ndarray:
  """Encodes samples; the inverse of ``unpack``.

  Args:
    samples: integer ``[..., n]`` with ``n`` a multiple of 8, each within
      ``[-2**(bits-1), 2**(bits-1))``.
    bits: sample width, 1..32.

  Returns:
    uint8 ``[..., n * bits // 8]``.
  """
  if not 1 <= bits <= MAX_BITS:
    raise ValueError(f"sample width {bits} is outside 1..{MAX_BITS}")
  samples = np.asarray(samples)
  lead, n = samples.shape[:-1], samples.shape[-1]
  if n % 8:
    raise ValueError(f"{n} samples are not whole groups of 8")
  lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
  if samples.size and (samples.min() < lo or samples.max() > hi):
    raise ValueError(f"samples outside [{lo}, {hi}] do not fit in {bits} bits")
  if bits in (8, 16, 24, 32):  # whole bytes: little-endian ints
    b = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :bits // 8]
    return np.ascontiguousarray(b).reshape(*lead, n * bits // 8)
  s = samples.astype(np.int64).reshape(-1, 8)
  u = (s & ((1 << bits) - 1)).view(np.uint64)
  acc = np.zeros((s.shape[0], bits + 5), np.uint64)  # +5: spill room
  for p, (start, shift, nb) in enumerate(_positions(bits)):
    v = u[:, p] << np.uint64(shift)
    for k in range(nb):
      acc[:, start + k] |= (v >> np.uint64(8 * k)) & np.uint64(0xFF)
  return acc[:, :bits].astype(np.uint8).reshape(*lead, n * bits // 8)


# File names: BASEDIR/YYYY/MM/DD/YYYY-MM-DD--HH.MM.HYD24BBpk (start, UTC).
_NAME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})--(\d{2})\.(\d{2})\.([A-Za-z0-9]+)$")
_EXT = re.compile(r"^HYD(\d+)([A-Z]{2})pk$")


def file_name(start: dt.datetime, rate_khz: int = 24, variant: str = "BB"):
  """``YYYY-MM-DD--HH.MM.HYD<rate><variant>pk`` for a file starting at
  ``start`` (naive UTC)."""
  return f"{start:%Y-%m-%d--%H.%M}.HYD{rate_khz}{variant}pk"


def relative_path(start: dt.datetime, rate_khz: int = 24, variant="BB"):
  """``YYYY/MM/DD/<file_name>``: where the file lives under the archive."""
  return os.path.join(f"{start:%Y}", f"{start:%m}", f"{start:%d}",
                      file_name(start, rate_khz, variant))


def parse_name(path) -> tuple[dt.datetime, int]:
  """The start time (naive UTC) and sample rate (Hz) a file name gives.

  Raises:
    DataError: the name is not ``YYYY-MM-DD--HH.MM.HYD<kHz>..pk``.
  """
  base = os.path.basename(str(path))
  m = _NAME.match(base)
  if not m:
    raise DataError(path, "file name is not YYYY-MM-DD--HH.MM.HYD<kHz>..pk")
  ext = _EXT.match(m.group(6))
  if not ext or int(ext.group(1)) == 0:
    raise DataError(path, f"unknown extension .{m.group(6)}: expected "
                    "HYD<kHz><2 letters>pk, e.g. HYD24BBpk")
  try:
    start = dt.datetime(*(int(m.group(i)) for i in range(1, 6)))
  except ValueError as e:
    raise DataError(path, f"file name is not a valid date/time: {e}") from e
  return start, int(ext.group(1)) * 1000
