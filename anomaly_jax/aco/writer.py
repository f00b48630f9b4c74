"""Encodes samples into ACO raw files (for fixtures and the embedded archive).

The inverse of ``reader.read_file``: whole records of 4,096 samples, either
header layout, any width 1..32, header times following the file name.
"""
import datetime as dt
import os

import numpy as np

from anomaly_jax.aco import fmt

def make_headers(n_records: int, start: dt.datetime, rate: int, bits: int,
                 layout: int, first_record: int = 0) -> np.ndarray:
  """Headers of ``n_records`` consecutive records starting at ``start``.

  Returns:
    structured ``[n_records]`` of ``fmt.LAYOUTS[layout]``.
  """
  h = np.zeros(n_records, fmt.LAYOUTS[layout])
  i = np.arange(n_records, dtype=np.int64)
  t0_us = int(round(fmt.unix(start) * 1e6))
  t_us = t0_us + (i * fmt.SAMPLES_PER_RECORD * 1_000_000) // rate
  h["record"] = first_record + i
  h["sync1"], h["sync2"] = 0xA5, 0x5A
  h["tSec"] = t_us // 1_000_000
  h["tuSec"] = t_us % 1_000_000
  h["timecount"] = (t_us * 10) % (1 << 32)
  h["left_right"] = 0
  h["bits"] = bits
  if layout == 1:
    h["decimation"] = 1
    h["start_of_file"][:1] = 1
    h["dynamic_range"] = bits
    for k in range(n_records):  # Calendar fields: cheap, one per record.
      t = fmt.EPOCH + dt.timedelta(microseconds=int(t_us[k]))
      h["year"][k], h["day_of_year"][k] = t.year, t.timetuple().tm_yday
      h["hour"][k], h["minute"][k], h["second"][k] = t.hour, t.minute, t.second
  else:
    h["record_dup"] = h["record"]
    h["AtSec"] = h["tSec"]
    h["AtnSec"] = h["tuSec"] * 1000
    h["ID"] = 1
  return h


def encode(samples: np.ndarray, bits: int, headers: np.ndarray) -> bytes:
  """Records as bytes.

  Args:
    samples: integer ``[records * 4096]``.
    bits: sample width 1..32 (the ``bits`` field of ``headers`` is not
      changed, so a test can write inconsistent headers on purpose).
    headers: structured ``[records]``.
  """
  n = headers.size
  samples = np.asarray(samples).reshape(n, fmt.SAMPLES_PER_RECORD)
  out = np.empty((n, fmt.record_bytes(bits)), np.uint8)
  out[:, :fmt.HEADER_BYTES] = headers.view(np.uint8).reshape(
      n, fmt.HEADER_BYTES)
  out[:, fmt.HEADER_BYTES:] = fmt.pack(samples, bits)
  return out.tobytes()


def write_file(basedir, start: dt.datetime, samples: np.ndarray, *,
               bits: int = 24, rate: int = 24000, variant: str = "BB",
               layout: int | None = None, first_record: int = 0) -> str:
  """Writes ``samples`` as ``basedir/YYYY/MM/DD/<name>``.

  Args:
    basedir: archive root.
    start: start time (naive UTC); goes into the name and the headers.
    samples: integer ``[n]``; zero-padded to whole records.
    bits: sample width 1..32.
    rate: sample rate in Hz, a multiple of 1000 (it is in the extension).
    variant: the two letters after the rate in the extension (BB, HF).
    layout: header layout 1 or 2; default from ``start``.
    first_record: record counter of the first record.

  Returns:
    The path written.
  """
  if rate % 1000:
    raise ValueError(f"rate {rate} Hz is not a multiple of 1000")
  layout = fmt.layout_for(start) if layout is None else layout
  samples = np.asarray(samples)
  pad = -samples.size % fmt.SAMPLES_PER_RECORD
  samples = np.concatenate([samples, np.zeros(pad, samples.dtype)])
  n = samples.size // fmt.SAMPLES_PER_RECORD
  headers = make_headers(n, start, rate, bits, layout, first_record)
  path = os.path.join(str(basedir),
                      fmt.relative_path(start, rate // 1000, variant))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(encode(samples, bits, headers))
  return path
