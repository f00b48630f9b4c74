"""The shared core: sharding over two CPU devices, checkpoints, metric logs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtk import checkpoint, metrics_io, parallel


def test_two_devices_are_visible():
  assert jax.device_count() >= 2, "tests/conftest.py sets two host devices"


def test_sharded_sum_equals_single_device():
  mesh = parallel.data_mesh()
  x = np.arange(24, dtype=np.float32).reshape(8, 3)
  xs = parallel.shard_batch({"x": x}, mesh)["x"]
  assert len(xs.sharding.device_set) == mesh.size
  f = jax.jit(lambda a: (a ** 2).sum(0))
  np.testing.assert_allclose(f(xs), f(jnp.asarray(x)), rtol=1e-6)
  with pytest.raises(ValueError, match="not divisible"):
    parallel.shard_batch({"x": x[:3]}, mesh)


def test_checkpoint_round_trip_keeps_latest(tmp_path):
  ck = checkpoint.Checkpoints(str(tmp_path / "latest"))
  state = {"w": jnp.ones(3), "n": jnp.int32(0)}
  for step in (1, 2, 3):
    ck.save(step, jax.tree.map(lambda v, s=step: v + s, state), {"epoch": step})
  assert ck.all_steps() == [3]
  restored, meta = ck.restore(state)
  assert meta == {"epoch": 3}
  np.testing.assert_array_equal(restored["w"], np.full(3, 4.0))
  assert int(restored["n"]) == 3


def test_metric_writer_truncates_on_resume(tmp_path):
  w = metrics_io.MetricWriter(str(tmp_path / "m.jsonl"))
  for s in range(5):
    w.write(s, loss=np.float32(s) / 2)
  w.truncate_after(2)
  rows = w.read()
  assert [r["step"] for r in rows] == [0, 1, 2]
  assert rows[2]["loss"] == 1.0


def test_progress_is_shown_in_a_log_file(monkeypatch):
  import io  # pylint: disable=g-import-not-at-top
  from jaxtk import progress  # pylint: disable=g-import-not-at-top
  log = io.StringIO()           # not a terminal, as under nohup
  monkeypatch.setattr(progress.sys, "stderr", log)
  bar = progress.progress(range(5), desc="scan", unit="file")
  for _ in bar:
    bar.set_postfix(loss="1.0", refresh=False)  # as the trainer does
  lines = [l.strip("\r") for l in log.getvalue().splitlines() if l.strip()]
  assert lines[0].startswith("scan:   0%") and "0/5" in lines[0]
  assert lines[-1].startswith("scan: 100%") and "5/5" in lines[-1]
  assert len(lines) == 2  # redrawn at most every 30 s, not once per item
