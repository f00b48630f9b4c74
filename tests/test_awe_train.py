"""Training: sharded step and evaluation = single-device ones (SGD and Adam),
resume, learning, revert-to-best in the loop, compile counts, NaN stop."""
import dataclasses
import functools
import json
import os
import tempfile

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

from awe_jax import configs, evaluate, input_pipeline as ip, schedule, train
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

  def _steps_on(self, devices, tx, cfg, s, num_steps=2):
    """``num_steps`` steps of ``tx`` from the same start on ``devices``."""
    tr = s.ds.splits["train"]
    batches = ip.epoch_batches(tr.lengths, s.boundaries, cfg.batch_size, 0,
                               0)[:num_steps]
    params0 = jax.device_get(train.initial_state(cfg, s)["params"])
    mesh = parallel.data_mesh(devices)
    state = parallel.replicate({"params": params0, "opt": tx.init(params0)}, mesh)
    step = jax.jit(functools.partial(train.train_step, model=s.model, tx=tx,
                                     config=cfg), donate_argnums=(0,))
    for i, idx in enumerate(batches):
      b = parallel.shard_batch(ip.make_batch(tr, idx, s.boundaries,
                                             cfg.batch_size, s.ds.phone_table),
                               mesh)
      state, m = step(state, b, jax.random.fold_in(s.rng, i), jnp.int32(i))
    self.assertEqual(len(state["params"]["acoustic_net"]["in_proj"]["kernel"]
                         .sharding.device_set), len(devices))
    return jax.device_get(state["params"]), float(m["loss_sum"])

  def test_two_devices_equal_one(self):
    self.assertGreaterEqual(jax.device_count(), 2)
    cfg = dataclasses.replace(CFG, model=dataclasses.replace(CFG.model, dropout=0.1))
    s = train.setup(cfg, self.data)
    # Plain SGD: every parameter agrees to float rounding.
    tx = optax.sgd(0.5)
    (p1, l1), (p2, l2) = (self._steps_on(d, tx, cfg, s)
                          for d in (jax.devices()[:1], jax.devices()[:2]))
    self.assertAlmostEqual(l1, l2, places=4)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5), p1, p2)

  def test_two_devices_equal_one_adam(self):
    # The optimiser of training.  Adam's step is about lr * sign(g) wherever
    # |g| >> eps, so a gradient that is float-rounding noise around 0 (summed
    # in another order over two devices) can move its weight by up to
    # +-lr per step.  Tolerance: every weight within 1e-6 + 2 lr of the
    # single-device run, and 98 % of them within 1e-6 (measured after 3
    # steps: 99.6 % with rbg dropout masks, 98.7 % with the threefry4x32
    # ones of train.dropout_key: how many gradients are rounding noise
    # depends on which units the masks drop); the loss to 1e-4.  That the
    # masks themselves agree is test_two_devices_equal_one's (SGD, 2e-5).
    cfg = dataclasses.replace(CFG, model=dataclasses.replace(CFG.model, dropout=0.1))
    s = train.setup(cfg, self.data)
    (p1, l1), (p2, l2) = (self._steps_on(d, s.tx, cfg, s, num_steps=3)
                          for d in (jax.devices()[:1], jax.devices()[:2]))
    self.assertAlmostEqual(l1, l2, places=4)
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in
                           zip(jax.tree.leaves(p1), jax.tree.leaves(p2))])
    self.assertLessEqual(diff.max(), 1e-6 + 2 * cfg.lr)
    self.assertGreaterEqual(np.mean(diff <= 1e-6), 0.98)

  def test_sharded_evaluation_equals_unsharded(self):
    s = train.setup(CFG, self.data)
    params = jax.device_get(train.initial_state(CFG, s)["params"])
    dev = s.ds.splits["dev"]
    out = []
    for devices in (jax.devices()[:1], jax.devices()[:2]):
      mesh = parallel.data_mesh(devices)
      ev = evaluate.Evaluator(s.model, s.ds.phone_table, s.boundaries,
                              CFG.eval_batch_size, mesh)
      out.append(ev(parallel.replicate(params, mesh), dev))
    (sc1, a1), (sc2, a2) = out
    np.testing.assert_allclose(a1["embs1"], a2["embs1"], atol=1e-5)
    np.testing.assert_allclose(a1["embs2"], a2["embs2"], atol=1e-5)
    for k in ("acoustic_ap", "crossview_ap"):
      self.assertAlmostEqual(sc1[k], sc2[k], delta=1e-6)

  def test_revert_to_best_inside_the_loop(self):
    # Scripted dev scores: step 1 is the best, step 2 is worse; with
    # patience 1 the loop must restore step 1's parameters and Adam state,
    # divide the lr by 10 and, the lr now below min_lr, stop.
    cfg = dataclasses.replace(CFG, eval_every_steps=1, patience=1, decay=0.1,
                              min_lr=CFG.lr / 2, epochs=3)
    scripted = iter([0.5, 0.1])
    seen = []
    real_setup = train.setup

    def scripted_setup(config, data_dir):
      s = real_setup(config, data_dir)
      real_eval = s.evaluator

      def evaluator(params, segs, id_to_word=None):
        scores, arrays = real_eval(params, segs, id_to_word)
        score = next(scripted, None)
        if score is not None:   # the loop's evaluations; finish() is real
          seen.append(jax.device_get(params))
          scores = dict(scores, crossview_ap=score)
        return scores, arrays

      s.evaluator = evaluator
      return s

    wd = os.path.join(self.root, "revert")
    with absltest.mock.patch.object(train, "setup", scripted_setup):
      train.train_and_evaluate(cfg, wd, self.data)
    self.assertLen(seen, 2)
    rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
    self.assertEqual([(r["step"], r["improved"], r["stop"]) for r in rows],
                     [(1, True, False), (2, False, True)])
    self.assertAlmostEqual(rows[-1]["lr"], cfg.lr * 0.1)
    # The state saved after the revert is step 1's, not step 2's.
    (best_step, best), (last_step, last) = _params(wd, "best"), _params(wd)
    self.assertEqual((best_step, last_step), (1, 2))
    jax.tree.map(np.testing.assert_array_equal, last, best)
    jax.tree.map(np.testing.assert_array_equal, best, seen[0])
    self.assertFalse(all(np.array_equal(a, b) for a, b in
                         zip(jax.tree.leaves(seen[1]), jax.tree.leaves(best))))
    ck = Checkpoints(os.path.join(wd, "latest"))
    opt = ck._mgr.restore(2, args=ocp.args.Composite(  # pylint: disable=protected-access
        state=ocp.args.StandardRestore()))["state"]["opt"]
    ck.close()
    self.assertAlmostEqual(float(opt["hyperparams"]["learning_rate"]),
                           cfg.lr * 0.1, places=9)

  def test_steps_compile_once_per_bucket(self):
    # Static shapes: the train step traces once per length bucket, however
    # many epochs; evaluation once per bucket (acoustic) and once (phones).
    cfg = dataclasses.replace(CFG, epochs=2)
    n = cfg.num_buckets
    real_evaluator = evaluate.Evaluator

    class CountedEvaluator(real_evaluator):

      def __init__(self, model, *args, **kwargs):
        super().__init__(model, *args, **kwargs)

        def acoustic(variables, feats, mask):
          return model.apply(variables, feats, mask, method="acoustic",
                             train=False)

        def phones(variables, ph):
          return model.apply(variables, ph, method="phones", train=False)

        self._acoustic = jax.jit(chex.assert_max_traces(acoustic, n=n))
        self._phones = jax.jit(chex.assert_max_traces(phones, n=1))

    counted_step = chex.assert_max_traces(train.train_step, n=n)
    with absltest.mock.patch.object(train, "train_step", counted_step), \
         absltest.mock.patch.object(evaluate, "Evaluator", CountedEvaluator):
      out = train.train_and_evaluate(cfg, os.path.join(self.root, "traces"),
                                     self.data)
    self.assertIn("test_crossview_ap", out)
    chex.clear_trace_counter()

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

  def test_warm_start_from_an_exported_model(self):
    import shutil  # pylint: disable=g-import-not-at-top
    import flax.serialization  # pylint: disable=g-import-not-at-top
    from jaxtk.errors import DataError  # pylint: disable=g-import-not-at-top
    cfg = dataclasses.replace(CFG, epochs=2)
    src = os.path.join(self.root, "ws-src")
    out = train.train_and_evaluate(cfg, src, self.data)
    # As Embedder.export writes it (the fixture's 8-dim features are not the
    # MFCCs an Embedder computes, so it is written by hand here).
    exported = os.path.join(self.root, "ws-exported")
    os.makedirs(exported)
    shutil.copy(os.path.join(src, "model_card.json"), exported)
    with open(os.path.join(exported, "params.msgpack"), "wb") as f:
      f.write(flax.serialization.to_bytes(_params(src, "best")[1]))
    # No epochs: the new run's best state is the exported parameters.
    warm = os.path.join(self.root, "ws-warm")
    got = train.train_and_evaluate(dataclasses.replace(cfg, epochs=0), warm,
                                   self.data, init_from=exported)
    self.assertEqual(got, out)
    # It trains on from them (a fresh optimizer) and resumes as usual: a
    # rerun restores its checkpoint instead of starting from them again.
    on = os.path.join(self.root, "ws-on")
    cfg1 = dataclasses.replace(cfg, epochs=1)
    train.train_and_evaluate(cfg1, on, self.data, init_from=exported)
    step, trained = _params(on)
    self.assertGreater(step, 0)
    _, src_params = _params(src, "best")
    self.assertFalse(all(jax.tree_util.tree_leaves(jax.tree_util.tree_map(
        np.array_equal, trained, src_params))))
    train.train_and_evaluate(cfg1, on, self.data, init_from=exported)
    step2, again = _params(on)
    self.assertEqual(step2, step)
    jax.tree_util.tree_map(np.testing.assert_array_equal, again, trained)
    wider = dataclasses.replace(cfg, model=dataclasses.replace(
        cfg.model, d_model=2 * cfg.model.d_model))
    with self.assertRaisesRegex(DataError, "params.msgpack"):
      train.train_and_evaluate(wider, os.path.join(self.root, "ws-bad"),
                               self.data, init_from=exported)
    with self.assertRaisesRegex(DataError, "cannot read"):
      train.train_and_evaluate(cfg, os.path.join(self.root, "ws-none"),
                               self.data, init_from=self.root)

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


class DropoutKeyTest(absltest.TestCase):
  """``train.dropout_key``: Threefry 4x32 bits, a function of the step's
  key only, the same masks whether the array is split over devices or not."""

  def test_masks_deterministic_and_device_independent(self):
    rng = jax.random.fold_in(jax.random.PRNGKey(3), 7)
    key = train.dropout_key(rng)
    self.assertEqual(str(jax.random.key_impl(key)), "threefry4x32")
    chex.assert_trees_all_equal(jax.random.key_data(key), jax.random.key_data(
        jax.random.split(rng)).reshape(4))
    shape = (8, 16, 64)
    mask = jax.jit(lambda k: jax.random.bernoulli(k, 0.9, shape))
    m1 = np.asarray(mask(key))
    self.assertTrue(np.array_equal(m1, np.asarray(mask(train.dropout_key(rng)))))
    self.assertFalse(np.array_equal(m1, np.asarray(mask(train.dropout_key(
        jax.random.fold_in(jax.random.PRNGKey(3), 8))))))
    self.assertAlmostEqual(m1.mean(), 0.9, delta=0.02)  # 8,192 Bernoullis
    # Dropout of an input split over two devices along the batch: the
    # one-device masks.
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("data",))
    x = jax.device_put(jnp.ones(shape), jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec("data")))
    drop = jax.jit(lambda k, x: jnp.where(
        jax.random.bernoulli(k, 0.9, x.shape), x, 0.0))
    sharded = drop(key, x)
    self.assertLen(sharded.sharding.device_set, 2)
    np.testing.assert_array_equal(np.asarray(sharded), m1.astype(np.float32))
    # A raw four-word key (jax_default_prng_impl="rbg") is used as it is.
    raw4 = jnp.arange(4, dtype=jnp.uint32)
    chex.assert_trees_all_equal(jax.random.key_data(train.dropout_key(raw4)),
                                raw4)


if __name__ == "__main__":
  absltest.main()
