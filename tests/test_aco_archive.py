"""Archive: time-aligned clips across files, gaps, slicing, reports."""
import datetime as dt
import os

import numpy as np
import pytest

from anomaly_jax.aco import archive, fmt, writer
from jaxtk.errors import DataError

T0 = dt.datetime(2017, 3, 1, 5, 0)
RATE = 8000  # a small rate keeps the fixtures small; HYD8BBpk


def _minutes(m):
  return np.arange(int(m * 60 * RATE)) % 20000 - 10000


@pytest.fixture()
def arch(tmp_path):
  # 05:00 and 05:05 back to back (16 then 24 bits), 05:10 missing,
  # 05:15 present.
  writer.write_file(tmp_path, T0, _minutes(5), bits=16, rate=RATE)
  writer.write_file(tmp_path, T0 + dt.timedelta(minutes=5),
                    _minutes(5) * 256, bits=24, rate=RATE)
  writer.write_file(tmp_path, T0 + dt.timedelta(minutes=15), _minutes(5),
                    bits=16, rate=RATE)
  return archive.Archive(tmp_path)


def test_slice_across_two_files(arch):
  clip = arch.load(T0 + dt.timedelta(minutes=4, seconds=58),
                   dt.timedelta(seconds=4))
  assert clip.valid.all() and clip.samples.size == 4 * RATE
  x = clip.float()
  # Same physical signal at 16 and 24 bits: identical in full scale.
  first = (np.arange(2 * RATE) + (4 * 60 + 58) * RATE) % 20000 - 10000
  np.testing.assert_allclose(x[:2 * RATE], first / 32768)
  np.testing.assert_allclose(x[2 * RATE:], _minutes(5)[:2 * RATE] / 32768)
  snip = clip[dt.timedelta(seconds=1):dt.timedelta(seconds=3)]
  assert snip.start == T0 + dt.timedelta(minutes=4, seconds=59)
  np.testing.assert_array_equal(snip.bits[:RATE], 16)
  np.testing.assert_array_equal(snip.bits[RATE:], 24)


def test_slice_across_a_gap(arch):
  clip = arch.load(T0 + dt.timedelta(minutes=9), dt.timedelta(minutes=7))
  (a, b), = clip.gaps()
  # The 05:05 file runs to its last whole record, a little past 05:10.
  pad = dt.timedelta(seconds=(-300 * RATE % 4096) / RATE)
  assert (a, b) == (T0 + dt.timedelta(minutes=10) + pad,
                    T0 + dt.timedelta(minutes=15))
  x = clip.float()
  assert np.isnan(x[61 * RATE:360 * RATE]).all()
  assert not np.isnan(x[:60 * RATE]).any()
  assert not np.isnan(x[360 * RATE:]).any()
  assert "gap 05:10:00" in clip.report()
  # Slicing by datetime too.
  part = clip[T0 + dt.timedelta(minutes=14, seconds=59):
              T0 + dt.timedelta(minutes=15, seconds=1)]
  assert part.valid.sum() == RATE


def test_short_record_is_masked_and_reported(tmp_path):
  path = writer.write_file(tmp_path, T0, _minutes(1), bits=16, rate=RATE)
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) - 4000)
  clip = archive.Archive(tmp_path).load(T0, dt.timedelta(minutes=2))
  assert clip.valid.sum() == 117 * 4096 + 2096  # 2000 samples cut off
  assert clip.valid[:117 * 4096 + 2096].all()
  assert any("truncated" in s for s in clip.issues)


def test_damaged_file_is_a_gap_not_a_crash(tmp_path):
  path = writer.write_file(tmp_path, T0, _minutes(1), bits=16, rate=RATE)
  with open(path, "r+b") as f:
    f.seek(35)
    f.write(b"\x00")
  clip = archive.Archive(tmp_path).load(T0, dt.timedelta(seconds=10))
  assert not clip.valid.any()
  assert "record 0 byte 35" in clip.issues[0]


def test_header_time_mismatch_is_reported_and_name_wins(tmp_path):
  path = writer.write_file(tmp_path, T0, _minutes(1), bits=16, rate=RATE)
  later = T0 + dt.timedelta(minutes=5)
  moved = os.path.join(os.path.dirname(path), fmt.file_name(later, 8))
  os.rename(path, moved)
  clip = archive.Archive(tmp_path).load(later, dt.timedelta(seconds=10))
  assert clip.valid.all()
  assert "from the time in the file name" in clip.issues[0]


def test_missing_records_inside_a_file_are_a_gap(tmp_path):
  path = writer.write_file(tmp_path, T0, _minutes(1), bits=16, rate=RATE)
  size = fmt.record_bytes(16)
  raw = open(path, "rb").read()
  with open(path, "wb") as f:  # drop records 2 and 3
    f.write(raw[:2 * size] + raw[4 * size:])
  clip = archive.Archive(tmp_path).load(T0, dt.timedelta(minutes=1))
  assert clip.gaps() == [(T0 + dt.timedelta(seconds=2 * 4096 / RATE),
                          T0 + dt.timedelta(seconds=4 * 4096 / RATE))]
  np.testing.assert_array_equal(clip.samples[4 * 4096:5 * 4096],
                                _minutes(1)[4 * 4096:5 * 4096])


def test_no_files_is_a_clear_error(tmp_path):
  with pytest.raises(DataError, match="no files between"):
    archive.Archive(tmp_path).load(T0)
  with pytest.raises(DataError, match="does not exist"):
    archive.Archive(tmp_path / "nope")


def test_cli_info_and_view(arch, tmp_path, capsys):
  from anomaly_jax.aco import __main__ as cli  # pylint: disable=g-import-not-at-top
  paths = arch.all_files()
  assert cli.main(["info", *paths]) == 0
  out = capsys.readouterr().out
  assert "layout 2, 8000 Hz" in out and "bits [24]" in out
  png = str(tmp_path / "v.png")
  assert cli.main(["view", arch.basedir, "2017-03-01T05:04:58", "4", png]) == 0
  assert os.path.getsize(png) > 1000
