"""Packing several words per row: the layout, the plan, and the packed model
giving the padded model's embeddings, loss and gradients."""
import dataclasses
import functools
import types

from absl.testing import absltest, parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from awe_jax import configs, factory, input_pipeline as ip, models, packing, train
from jaxtk import parallel

CFG = models.EncoderConfig(num_layers=1, num_heads=2, d_model=16, d_ff=32,
                           dropout=0.0)


def _batch(rng, b=8, t=12, feat_dim=5, num_words=5, width=4):
  """A padded batch as make_batch gives it, with the last segment and the
  last word rows padding."""
  lens = rng.integers(1, t + 1, b)
  lens[0] = t
  valid = np.arange(b) < b - 1
  mask = (np.arange(t)[None] < lens[:, None]) & valid[:, None]
  feats = rng.normal(size=(b, t, feat_dim)).astype(np.float32)
  word_len = rng.integers(1, width + 1, b)
  word_valid = np.arange(b) < num_words
  phones = np.where((np.arange(width)[None] < word_len[:, None]) &
                    word_valid[:, None], rng.integers(1, 9, (b, width)), 0)
  inv = np.where(valid, rng.integers(0, num_words, b), 0)
  return dict(feats=feats, mask=mask, valid=valid, inv=inv.astype(np.int32),
              phones=phones.astype(np.int32), word_valid=word_valid)


class FirstFitTest(absltest.TestCase):

  def test_hand_case(self):
    # Longest first: 5 -> row 0; 4 -> row 1 (5 + 4 > 8); 3 -> row 0;
    # 2 -> row 1; the empty item is left out.
    row, offset, n = packing.first_fit_decreasing([5, 3, 4, 2, 0], 8)
    self.assertEqual(n, 2)
    np.testing.assert_array_equal(row, [0, 0, 1, 1, -1])
    np.testing.assert_array_equal(offset, [0, 5, 0, 4, -1])

  def test_pack_layout_and_errors(self):
    src = packing.pack([2, 0, 3], src_len=4, row_len=5, rows=2)
    # Item 2 (3 positions, from flat 8) then item 0 (from flat 0); 12 = empty.
    np.testing.assert_array_equal(src, [[8, 9, 10, 0, 1], [12] * 5])
    with self.assertRaisesRegex(ValueError, "need 2 packed rows"):
      packing.pack([3, 3], src_len=4, row_len=5, rows=1)
    with self.assertRaisesRegex(ValueError, "does not fit rows of 5"):
      packing.first_fit_decreasing([6], 5)


class PackedModelTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(("mean", False, 0, 1), ("first", True, 8, 3))
  def test_embeddings_equal_padded(self, pool, pre_ln, out_dim, stack):
    cfg = dataclasses.replace(CFG, pool=pool, pre_ln=pre_ln, out_dim=out_dim,
                              frame_stack=stack)
    rng = np.random.default_rng(stack)
    b = _batch(rng)
    plan = packing.Plan({12: (4, 2 * -(-12 // stack))}, (4, 8), stack)
    pb = packing.pack_batch(b, plan)
    ac, ph = models.AcousticEncoder(cfg), models.PhoneEncoder(cfg, num_phones=9)
    pa = ac.init(jax.random.PRNGKey(0), b["feats"], b["mask"])
    pp = ph.init(jax.random.PRNGKey(1), b["phones"])
    run_ac = self.variant(lambda p, f, m, s: ac.apply(p, f, m, src=s))
    run_ph = self.variant(lambda p, c, s: ph.apply(p, c, src=s))
    packed = run_ac(pa, b["feats"], b["mask"], pb["ac_src"])
    chex.assert_shape(packed, (8, out_dim or 16))
    chex.assert_type(packed, jnp.float32)
    # Rows of batch padding are masked out of the loss: not compared ("first"
    # pools a fully masked row's garbage there when padded).
    np.testing.assert_allclose(
        packed[b["valid"]],
        run_ac(pa, b["feats"], b["mask"], None)[b["valid"]], atol=1e-5)
    np.testing.assert_allclose(
        run_ph(pp, b["phones"], pb["ph_src"])[b["word_valid"]],
        run_ph(pp, b["phones"], None)[b["word_valid"]], atol=1e-5)

  def test_cls_has_no_packed_layout(self):
    cfg = dataclasses.replace(CFG, pool="cls")
    b = _batch(np.random.default_rng(0))
    pb = packing.pack_batch(b, packing.Plan({12: (4, 24)}, None, 1))
    init = functools.partial(models.AcousticEncoder(cfg).init,
                             src=pb["ac_src"])
    with self.assertRaisesRegex(ValueError, "pool='cls' has no packed"):
      jax.eval_shape(init, jax.random.PRNGKey(0), b["feats"], b["mask"])


class PackedStepTest(absltest.TestCase):

  def test_step_equals_padded_and_two_devices_equal_one(self):
    # One SGD step: the padded batch on one device, the packed one on one
    # and on two (packed rows and the padded rows they gather from both
    # split over the mesh): the same loss and parameters, i.e. gradients.
    self.assertGreaterEqual(jax.device_count(), 2)
    cfg = configs.override(configs.tiny(), frame_stack=2)
    b = _batch(np.random.default_rng(1), b=16, t=10, feat_dim=6, num_words=6)
    pb = packing.pack_batch(b, packing.Plan({10: (8, 10)}, (8, 8), 2))
    model = factory.build_model(cfg, num_phones=9)
    params = models.init_params(model, jax.random.PRNGKey(0), 6)
    tx = optax.sgd(0.5)
    step = jax.jit(functools.partial(train.train_step, model=model, tx=tx,
                                     config=cfg))
    out = []
    for batch, devices in ((b, 1), (pb, 1), (pb, 2)):
      mesh = parallel.data_mesh(jax.devices()[:devices])
      state = parallel.replicate({"params": params, "opt": tx.init(params)},
                                 mesh)
      state, m = step(state, parallel.shard_batch(batch, mesh),
                      jax.random.PRNGKey(3), jnp.int32(0))
      out.append((float(m["loss_sum"]), jax.device_get(state["params"])))
    self.assertGreater(out[0][0], 0.0)
    for loss, p in out[1:]:
      self.assertAlmostEqual(out[0][0], loss, places=4)
      jax.tree.map(functools.partial(np.testing.assert_allclose, atol=2e-5),
                   out[0][1], p)
    self.assertFalse(np.allclose(out[0][1]["acoustic_net"]["in_proj"]["kernel"],
                                 params["acoustic_net"]["in_proj"]["kernel"]))


class PlanTest(absltest.TestCase):

  def test_every_batch_of_the_run_fits(self):
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 60, 300)
    segs = types.SimpleNamespace(lengths=lengths,
                                 word_ids=rng.integers(0, 40, 300))
    table = np.where(np.arange(6)[None] < rng.integers(1, 7, (40, 1)),
                     rng.integers(1, 9, (40, 6)), 0)
    bounds = ip.bucket_boundaries(lengths, 3)
    plan = packing.make_plan(segs, bounds, 32, 0, 3, table, 2)
    self.assertEqual(set(plan.acoustic), {int(t) for t in bounds})
    self.assertIsNotNone(plan.phones)
    self.assertEqual(plan.phones[0] % packing.ROW_MULTIPLE, 0)
    self.assertLessEqual(plan.phones[0] * plan.phones[1],
                         packing.MAX_PACKED_SHARE * 32 * 6)
    for epoch in range(3):
      for idx in ip.epoch_batches(lengths, bounds, 32, 0, epoch):
        t = ip.padded_length(lengths[idx], bounds)
        if plan.acoustic[t]:
          need = packing.first_fit_decreasing(-(-lengths[idx] // 2),
                                              plan.acoustic[t][1])[2]
          self.assertLessEqual(need, plan.acoustic[t][0])
        words = np.unique(segs.word_ids[idx])
        need = packing.first_fit_decreasing((table[words] > 0).sum(1),
                                            plan.phones[1])[2]
        self.assertLessEqual(need, plan.phones[0])


if __name__ == "__main__":
  absltest.main()
