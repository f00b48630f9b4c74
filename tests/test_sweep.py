"""awe_jax.sweep end to end on tiny rows; SpecAugment; lr warm-up."""
import dataclasses
import os
import re
import tempfile

from absl.testing import absltest
import jax
import jax.numpy as jnp
import numpy as np
import optax

from awe_jax import augment, configs, sweep, train
from awe_jax.factory import build_model
from awe_jax.models import init_params
import awe_fixture


# One length bucket: one train-step and one evaluation compile per row.
TINY = dict(epochs=1, d_model=32, d_ff=64, acoustic_layers=1, batch_size=32,
            topk=4, eval_batch_size=64, num_buckets=1)
_AP_ROW = re.compile(r"^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \| "
                     r"([0-9.]+) \| ([0-9.]+) \| (\d+) min (\d+) s \|$", re.M)


class SweepTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.data = awe_fixture.make_corpus(os.path.join(cls.root, "data"))

  def _run(self, name, workdir, budget_minutes=0, epochs=1, **kw):
    rows = sweep.select(sweep.SWEEPS[name].rows(), [0])
    cfg = sweep.base_config(name, max_minutes=budget_minutes,
                            **dict(TINY, epochs=epochs))
    results = sweep.run_sweep(cfg, rows, workdir, self.data, **kw)
    return sweep.write_outputs(name, sweep.SWEEPS[name].rows(), results,
                               workdir)

  def test_rows_and_config(self):
    self.assertLen(sweep.layers_rows(), 6)
    self.assertEqual([r.overrides["phone_heads"] for r in sweep.heads_rows()],
                     [1, 4, 8, 16, 32])
    cfg = sweep.base_config(max_minutes=3, pre_ln=True, frame_stack=2,
                            pool="cls", warmup_steps=7)
    self.assertEqual((cfg.epochs, cfg.max_minutes, cfg.warmup_steps), (15, 3, 7))
    self.assertEqual((cfg.model.d_model, cfg.model.pre_ln, cfg.model.frame_stack,
                      cfg.model.pool), (256, True, 2, "cls"))
    # The options sweep starts from the default config with its epochs and
    # changes exactly one option per row.
    cfg = sweep.base_config("flags", pre_ln=None)
    self.assertEqual((cfg.epochs, cfg.model.d_model, cfg.model.pre_ln),
                     (configs.default().epochs, 128, False))
    self.assertEqual(configs.override(cfg, **sweep.flag_rows()[-2].overrides),
                     configs.default())
    rows = sweep.flag_rows()
    self.assertEqual(rows[0].overrides, {})
    self.assertLen({r.name for r in rows}, len(rows))
    for row in rows[1:]:
      changed = configs.override(cfg, **row.overrides)
      self.assertNotEqual(changed, cfg, row.label)
    with self.assertRaisesRegex(ValueError, "out of range"):
      sweep.select(sweep.heads_rows(), [5])
    with self.assertRaisesRegex(ValueError, "nonsense"):
      configs.override(configs.paper(), nonsense=1)

  def test_sweeps_run_one_tiny_row_and_skip_when_rerun(self):
    for name, budget, epochs in (("layers", 0, 1), ("heads", 1e-6, 3),
                                 ("flags", 0, 1)):
      wd = os.path.join(self.root, name)
      table = self._run(name, wd, budget, epochs)
      rows = _AP_ROW.findall(table)
      self.assertLen(rows, 1, table)
      self.assertEqual(rows[0][0], sweep.SWEEPS[name].rows()[0].label)
      for ap in rows[0][1:5]:
        self.assertBetween(float(ap), 0.0, 1.0)
      self.assertEqual(float(rows[0][5]), 1.0)  # epochs trained
      self.assertIn(rows[0][0], open(os.path.join(wd, "table.md")).read())
      self.assertTrue(os.path.exists(os.path.join(wd, "table.png")))
    # heads: the budget stopped training after the first epoch's evaluation,
    # and the final evaluation still ran.
    row_dir = os.path.join(self.root, "heads", sweep.heads_rows()[0].name)
    self.assertLen(open(os.path.join(row_dir, "metrics.jsonl")).readlines(), 1)
    self.assertTrue(os.path.exists(os.path.join(row_dir, "final.json")))

    def must_not_train(*args):
      raise AssertionError(f"finished row trained again: {args}")

    wd = os.path.join(self.root, "layers")
    before = open(os.path.join(wd, "table.md")).read()
    self._run("layers", wd, train_fn=must_not_train)
    self.assertEqual(open(os.path.join(wd, "table.md")).read(), before)
    # The same row with another config is refused, not silently reused.
    with self.assertRaisesRegex(ValueError, "different config"):
      sweep.run_sweep(sweep.base_config(**dict(TINY, d_ff=32)),
                      sweep.layers_rows()[:1], wd, self.data,
                      train_fn=must_not_train)


class SpecAugmentTest(absltest.TestCase):

  def test_masks_only_valid_frames(self):
    b, t, d = 16, 20, 8
    feats = jax.random.normal(jax.random.PRNGKey(0), (b, t, d)) + 5.0
    lengths = jnp.arange(b) % t + 1
    mask = jnp.arange(t)[None] < lengths[:, None]
    cfg = augment.SpecAugmentConfig(time_masks=2, time_width=4, freq_masks=2,
                                    freq_width=3)
    out = np.asarray(jax.jit(augment.spec_augment, static_argnums=3)(
        jax.random.PRNGKey(1), feats, mask, cfg))
    m = np.asarray(mask)
    np.testing.assert_array_equal(out[~m], np.asarray(feats)[~m])
    zeroed = out == 0
    self.assertGreater(zeroed.sum(), 0)
    self.assertFalse(zeroed[~m].any())
    # Time masks: at most 2 x 4 fully zeroed frames per segment.
    self.assertLessEqual(zeroed.all(-1).sum(1).max(), 8)

  def test_step_dropout_key_masks_with_rbg_bits(self):
    # train.dropout_key gives threefry4x32 keys; with them the default
    # config's step ran for minutes (jaxlib 0.10.2), so SpecAugment draws
    # its bits from the same key data as an "rbg" key (augment._rbg).
    key = train.dropout_key(jax.random.PRNGKey(3))
    feats = jnp.ones((8, 20, 6))
    mask = jnp.ones((8, 20), bool)
    cfg = augment.SpecAugmentConfig(time_masks=2, time_width=4, freq_masks=1,
                                    freq_width=2)
    f = jax.jit(augment.spec_augment, static_argnums=3)
    rbg = jax.random.wrap_key_data(jax.random.key_data(key), impl="rbg")
    np.testing.assert_array_equal(f(key, feats, mask, cfg),
                                  f(rbg, feats, mask, cfg))
    self.assertEqual(str(jax.random.key_impl(augment._rbg(key))), "rbg")

  def test_train_only(self):
    cfg = configs.override(configs.tiny(), spec_time_masks=2, spec_time_width=5,
                           spec_freq_masks=1, spec_freq_width=4)
    model, plain = build_model(cfg, 10), build_model(configs.tiny(), 10)
    params = init_params(model, jax.random.PRNGKey(0), 8)
    feats = jax.random.normal(jax.random.PRNGKey(1), (4, 12, 8))
    mask = jnp.arange(12)[None] < jnp.array([[12], [9], [5], [3]])
    rngs = {"dropout": jax.random.PRNGKey(2)}
    emb = lambda m, tr: m.apply({"params": params}, feats, mask, train=tr,
                                method="acoustic", rngs=rngs)
    np.testing.assert_array_equal(emb(model, False), emb(plain, False))
    # tiny() has dropout 0: any train-time difference is the masking.
    np.testing.assert_array_equal(emb(plain, True), emb(plain, False))
    self.assertFalse(np.allclose(emb(model, True), emb(model, False)))


class WarmupTest(absltest.TestCase):

  def _updates(self, tx, steps, lr=None):
    params = {"w": jnp.zeros(3)}
    grads = {"w": jnp.ones(3)}
    opt = tx.init(params)
    out = []
    for i in range(steps):
      if lr is not None and i == steps - 1:
        opt = train.set_lr(opt, lr)
      upd, opt = jax.jit(tx.update)(grads, opt, params)
      out.append(float(upd["w"][0]))
    return out

  def test_linear_warmup_and_set_lr(self):
    cfg = dataclasses.replace(configs.tiny(), lr=1e-2, warmup_steps=4)
    ups = self._updates(train.make_optimizer(cfg), 6)
    # Constant gradients: Adam's normalised step is 1, so update = -lr x factor.
    np.testing.assert_allclose(ups, [0, -2.5e-3, -5e-3, -7.5e-3, -1e-2, -1e-2],
                               rtol=1e-5, atol=1e-9)
    ups = self._updates(train.make_optimizer(cfg), 6, lr=1e-3)
    np.testing.assert_allclose(ups[-1], -1e-3, rtol=1e-5)
    # Without warm-up the optimiser is plain Adam, as before.
    plain = self._updates(train.make_optimizer(configs.tiny()), 2)
    ref = self._updates(optax.adam(configs.tiny().lr), 2)
    np.testing.assert_allclose(plain, ref, rtol=1e-4)  # float32 hyperparams


if __name__ == "__main__":
  absltest.main()
