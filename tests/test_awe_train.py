"""Training: sharded step = single-device step, resume, learning, NaN stop."""
import dataclasses
import functools
import json
import os
import tempfile

from absl.testing import absltest
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

from awe_jax import configs, input_pipeline as ip, schedule, train
from jaxtk import parallel
from jaxtk.checkpoint import Checkpoints
import awe_fixture

CFG = dataclasses.replace(configs.tiny(), lr=3e-3, patience=2)


def _params(workdir, sub="latest"):
  ck = Checkpoints(os.path.join(workdir, sub))
  step = ck.latest_step()
  out = ck._mgr.restore(step, args=ocp.args.Composite(  # pylint: disable=protected-access
      state=ocp.args.StandardRestore()))["state"]["params"]
  ck.close()
  return step, out


class TrainTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.data = awe_fixture.make_corpus(os.path.join(cls.root, "data"))

  def test_two_devices_equal_one(self):
    self.assertGreaterEqual(jax.device_count(), 2)
    cfg = dataclasses.replace(CFG, model=dataclasses.replace(CFG.model, dropout=0.1))
    s = train.setup(cfg, self.data)
    tr = s.ds.splits["train"]
    batches = ip.epoch_batches(tr.lengths, s.boundaries, cfg.batch_size, 0, 0)[:2]
    # Plain SGD: Adam's m / sqrt(v) turns float-rounding differences of
    # near-zero gradients into +-lr steps, which would hide what is compared.
    tx = optax.sgd(0.5)
    params0 = jax.device_get(train.initial_state(cfg, s)["params"])
    results = []
    for devices in (jax.devices()[:1], jax.devices()[:2]):
      mesh = parallel.data_mesh(devices)
      state = parallel.replicate({"params": params0, "opt": tx.init(params0)}, mesh)
      step = jax.jit(functools.partial(train.train_step, model=s.model, tx=tx,
                                       config=cfg), donate_argnums=(0,))
      for i, idx in enumerate(batches):
        b = parallel.shard_batch(ip.make_batch(tr, idx, s.boundaries, cfg.batch_size,
                                               s.ds.phone_table), mesh)
        state, m = step(state, b, jax.random.fold_in(s.rng, i), jnp.int32(i))
      self.assertEqual(len(state["params"]["acoustic_net"]["in_proj"]["kernel"]
                           .sharding.device_set), len(devices))
      results.append((jax.device_get(state["params"]), float(m["loss_sum"])))
    (p1, l1), (p2, l2) = results
    self.assertAlmostEqual(l1, l2, places=4)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5), p1, p2)

  def test_resume_learns_and_eval_only(self):
    cfg = dataclasses.replace(CFG, epochs=4)
    full = os.path.join(self.root, "full")
    out = train.train_and_evaluate(cfg, full, self.data)
    # Stopped after 2 epochs, then resumed from the same workdir.
    part = os.path.join(self.root, "part")
    train.train_and_evaluate(dataclasses.replace(cfg, epochs=2), part, self.data)
    out2 = train.train_and_evaluate(cfg, part, self.data)
    (s1, p1), (s2, p2) = _params(full), _params(part)
    self.assertEqual(s1, s2)
    jax.tree.map(np.testing.assert_array_equal, p1, p2)
    self.assertEqual(out, out2)
    rows = [json.loads(l) for l in open(os.path.join(part, "metrics.jsonl"))]
    self.assertEqual([r["step"] for r in rows], sorted({r["step"] for r in rows}))
    # Learning: well above the untrained model's dev cross-view AP.
    s = train.setup(cfg, self.data)
    untrained, _ = s.evaluator(train.initial_state(cfg, s)["params"],
                               s.ds.splits["dev"])
    self.assertGreater(out["dev_crossview_ap"], untrained["crossview_ap"] + 0.15)
    for name in ("dev-embs.npz", "test-embs.npz", "dev-curves.png", "dev-pca.png"):
      self.assertTrue(os.path.exists(os.path.join(full, name)), name)
    embs = np.load(os.path.join(full, "dev-embs.npz"))
    self.assertEqual(embs["embs1"].shape, (len(s.ds.splits["dev"]), 32))
    self.assertEqual(train.evaluate_only(cfg, full, self.data), out)

  def test_resume_mid_epoch_equals_uninterrupted(self):
    cfg = dataclasses.replace(CFG, epochs=1, eval_every_steps=2)
    full = os.path.join(self.root, "mid-full")
    train.train_and_evaluate(cfg, full, self.data)
    # A wall-clock budget stops the run after its first evaluation, in the
    # middle of epoch 1; the resumed run starts at the next batch.
    part = os.path.join(self.root, "mid-part")
    train.train_and_evaluate(dataclasses.replace(cfg, max_minutes=1e-9), part,
                             self.data)
    rows = [json.loads(l) for l in open(os.path.join(part, "metrics.jsonl"))]
    self.assertLen(rows, 1)
    self.assertBetween(rows[0]["epoch"], 0.01, 0.99)
    train.train_and_evaluate(cfg, part, self.data)
    (s1, p1), (s2, p2) = _params(full), _params(part)
    self.assertEqual(s1, s2)
    jax.tree.map(np.testing.assert_array_equal, p1, p2)

  def test_nonfinite_loss_stops_and_keeps_last_good(self):
    cfg = dataclasses.replace(CFG, lr=1e30, eval_every_steps=1, epochs=3)
    wd = os.path.join(self.root, "nan")
    with self.assertRaisesRegex(train.NonFiniteLossError, "non-finite"):
      train.train_and_evaluate(cfg, wd, self.data)
    step, params = _params(wd)
    self.assertGreaterEqual(step, 1)
    self.assertTrue(all(np.isfinite(x).all() for x in jax.tree.leaves(params)))


class ScheduleTest(absltest.TestCase):

  def test_plateau_revert_and_stop(self):
    st = schedule.plateau_init(1e-5)
    acts = []
    for step, score in enumerate([0.1, 0.2, 0.2, 0.1, 0.15, 0.19, 0.3, 0.1, 0.1]):
      st, a = schedule.plateau_update(st, score, step, patience=2, decay=0.1,
                                      min_lr=1e-7)
      acts.append(a)
    self.assertEqual([a.improved for a in acts],
                     [True, True, False, False, False, False, True, False, False])
    self.assertEqual([a.revert for a in acts],
                     [False, False, False, True, False, True, False, False, True])
    # 1e-5 -> 1e-6 -> 1e-7 (not below min_lr) -> 1e-8: stop.
    self.assertEqual([a.stop for a in acts], [False] * 8 + [True])
    self.assertEqual((st.best_score, st.best_step, st.num_decays), (0.3, 6, 3))

  def test_plateau_holds_during_warmup(self):
    st = schedule.plateau_init(1e-3)
    acts = []
    for step, score in zip(range(0, 80, 10), [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2]):
      st, a = schedule.plateau_update(st, score, step, patience=2,
                                      hold_until=40)
      acts.append(a)
    # Flat during the warm-up (steps 0-30): no decay; counted from step 40.
    self.assertEqual([a.revert for a in acts], [False] * 5 + [True, False, False])
    self.assertEqual([a.improved for a in acts], [True] + [False] * 5 + [True, False])
    self.assertAlmostEqual(st.lr, 1e-4)


if __name__ == "__main__":
  absltest.main()
