"""ACO raw format: bit packing, hand-made records, round trips, bad files."""
import datetime as dt
import os

from hypothesis import given, settings, strategies as st, HealthCheck
import numpy as np
import pytest

from anomaly_jax.aco import fmt, reader, writer
from jaxtk.errors import DataError

OLD = dt.datetime(2016, 2, 18, 7, 55)   # layout 1
NEW = dt.datetime(2017, 3, 1, 5, 0)     # layout 2


def _bitstream_reference(payload: bytes, bits: int, n: int):
  """Per-sample decoding from a string of bits: slow and obviously right."""
  s = "".join(format(b, "08b")[::-1] for b in payload)  # LSB first
  out = []
  for i in range(n):
    v = sum(int(c) << j for j, c in enumerate(s[i * bits:(i + 1) * bits]))
    out.append(v - (1 << bits) if v >= 1 << (bits - 1) else v)
  return out


def test_header_dtypes_are_36_bytes_with_bits_last():
  for d in (fmt.HEADER_V1, fmt.HEADER_V2):
    assert d.itemsize == 36
    assert d.fields["bits"][1] == 35


def test_3_bit_hand_made_bytes():
  samples = [1, -1, 3, -4, 0, 2, -2, -3]
  payload = bytes([0xF9, 0x08, 0xB9])
  np.testing.assert_array_equal(
      fmt.unpack(np.frombuffer(payload, np.uint8), 3), samples)
  assert fmt.pack(np.array(samples), 3).tobytes() == payload
  assert _bitstream_reference(payload, 3, 8) == samples


def test_17_bit_hand_made_bytes():
  payload = bytes([0xFF, 0xFF, 0x00, 0x00, 0x06] + [0] * 12)
  want = [65535, -65536, 1, 0, 0, 0, 0, 0]
  np.testing.assert_array_equal(
      fmt.unpack(np.frombuffer(payload, np.uint8), 17), want)
  assert fmt.pack(np.array(want), 17).tobytes() == payload


def _write(path, records: list[bytes]):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(b"".join(records))
  return str(path)


def test_hand_made_record_file_both_layouts(tmp_path):
  for when, layout in ((OLD, 1), (NEW, 2)):
    h = writer.make_headers(1, when, 24000, 3, layout)
    payload = bytes([0xF9, 0x08, 0xB9]) + bytes(512 * 3 - 3)
    rec = h.tobytes() + payload
    assert len(rec) == 36 + 1536
    path = _write(tmp_path / fmt.relative_path(when), [rec])
    d = reader.read_file(path)
    assert d.layout == layout and d.rate == 24000 and not d.issues
    np.testing.assert_array_equal(d.samples[:8], [1, -1, 3, -4, 0, 2, -2, -3])
    assert (d.samples[8:] == 0).all() and d.samples.size == 4096


@pytest.mark.parametrize("layout", [1, 2])
def test_round_trip_every_width(tmp_path, layout):
  rng = np.random.default_rng(layout)
  when = OLD if layout == 1 else NEW
  for bits in range(1, 33):
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    x = rng.integers(lo, hi, 2 * 4096)
    x[:2] = lo, hi - 1  # the extremes
    start = when + dt.timedelta(minutes=5 * bits)
    path = writer.write_file(tmp_path, start, x, bits=bits, layout=layout)
    d = reader.read_file(path, layout=layout)
    np.testing.assert_array_equal(d.samples, x, err_msg=f"bits={bits}")
    assert (d.bits == bits).all() and not d.issues
    np.testing.assert_allclose(d.record_times, [0, 4096 / 24000], atol=1e-6)


def test_mixed_widths_in_one_file(tmp_path):
  h = writer.make_headers(3, NEW, 24000, 16, 2)
  h["bits"] = [16, 24, 16]
  x = np.arange(3 * 4096) - 6000
  recs = [writer.encode(x[i * 4096:(i + 1) * 4096], int(h["bits"][i]),
                        h[i:i + 1]) for i in range(3)]
  d = reader.read_file(_write(tmp_path / fmt.relative_path(NEW), recs))
  np.testing.assert_array_equal(d.samples, x)
  np.testing.assert_array_equal(d.record_offsets, [0, 4096, 8192])


def test_truncated_last_record(tmp_path):
  x = np.arange(2 * 4096) % 1000 - 500
  path = writer.write_file(tmp_path, NEW, x, bits=17)
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) - 1000)
  d = reader.read_file(path)
  have = (512 * 17 - 1000) * 8 // 17
  assert d.samples.size == 4096 + have
  np.testing.assert_array_equal(d.samples, x[:4096 + have])
  assert "record 1 truncated" in d.issues[0]


@pytest.mark.parametrize("bits", [0, 33, 255])
def test_bad_width_names_file_and_record(tmp_path, bits):
  x = np.zeros(3 * 4096, np.int64)
  path = writer.write_file(tmp_path, NEW, x, bits=16)
  with open(path, "r+b") as f:  # record 1's width byte
    f.seek(fmt.record_bytes(16) + 35)
    f.write(bytes([bits]))
  with pytest.raises(DataError, match=r"record 1 byte 35.*outside 1\.\.32"
                     ) as e:
    reader.read_file(path)
  assert e.value.path == path


def test_inconsistent_header_and_wrong_layout(tmp_path):
  path = writer.write_file(tmp_path, NEW, np.zeros(4096, int), bits=8)
  with pytest.raises(DataError, match="record 0.*inconsistent"):
    reader.read_file(path, layout=1)  # layout-2 bytes read as layout 1
  with open(path, "r+b") as f:
    f.seek(4)
    f.write((7).to_bytes(4, "little"))  # record != record_dup
  with pytest.raises(DataError, match="duplicate"):
    reader.read_file(path)


def test_unknown_extension_and_bad_name(tmp_path):
  for name in ("2017-03-01--05.00.WAV24BBpk", "2017-03-01--05.00.HYD0BBpk",
               "notes.txt"):
    p = _write(tmp_path / name, [bytes(36)])
    with pytest.raises(DataError, match="extension|file name"):
      reader.read_file(p)
  assert fmt.parse_name("x/2017-03-01--05.00.HYD96HFpk")[1] == 96000


def test_header_time_differs_from_name(tmp_path):
  path = writer.write_file(tmp_path, NEW, np.zeros(4096, int), bits=16)
  moved = os.path.join(os.path.dirname(path), fmt.file_name(
      NEW + dt.timedelta(minutes=5)))
  os.rename(path, moved)
  d = reader.read_file(moved)
  assert "-300.000 s from the time in the file name" in d.issues[0]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=3000),
       bits=st.integers(0, 40), layout=st.sampled_from([1, 2]))
def test_fuzz_random_bytes_only_raise_data_error(tmp_path, data, bits, layout):
  when = OLD if layout == 1 else NEW
  path = tmp_path / fmt.relative_path(when)
  raw = bytearray(data)
  if len(raw) > 35:
    raw[35] = bits  # a plausible width half of the time
  _write(path, [bytes(raw)])
  try:
    d = reader.read_file(str(path))
  except DataError as e:
    assert str(path) in str(e)
    return
  assert d.samples.dtype == np.int32
  assert d.record_offsets.size == d.headers.size


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 32), seed=st.integers(0, 2**31))
def test_unpack_matches_bitstream_reference(bits, seed):
  payload = np.random.default_rng(seed).integers(0, 256, bits, np.uint8)
  assert fmt.unpack(payload, bits).tolist() == _bitstream_reference(
      payload.tobytes(), bits, 8)


@pytest.mark.parametrize("bits", [1, 16, 17, 24, 32])
def test_unpack_records_equals_unpack_of_payloads(bits):
  rng = np.random.default_rng(bits)
  records = rng.integers(0, 256, (3, fmt.record_bytes(bits)), np.uint8)
  want = fmt.unpack(records[:, fmt.HEADER_BYTES:], bits)
  got = fmt.unpack_records(records, bits)
  assert got.dtype == np.int32 and got.shape == (3, fmt.SAMPLES_PER_RECORD)
  np.testing.assert_array_equal(got, want)
  assert fmt.unpack_records(records[:0], bits).shape == (
      0, fmt.SAMPLES_PER_RECORD)
