"""Encoders: shapes, dtypes, padding invariance, position encoding."""
import dataclasses

from absl.testing import absltest, parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from awe_jax import factory, models

CFG = models.EncoderConfig(num_layers=1, num_heads=2, d_model=16, d_ff=32,
                           dropout=0.1)


def _acoustic(cfg, feat_dim=5):
  net = models.AcousticEncoder(cfg)
  p = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 3, feat_dim)),
               jnp.ones((1, 3), bool))
  return net, p


class PositionEncodingTest(parameterized.TestCase):

  @parameterized.parameters(5000.0, 10000.0)
  def test_formula(self, base):
    pe = models.sinusoidal_encoding(50, 16, base)
    self.assertEqual(pe.shape, (50, 16))
    self.assertEqual(pe.dtype, np.float32)
    for t in (0, 1, 7, 49):
      for i in range(8):
        np.testing.assert_allclose(pe[t, 2 * i], np.sin(t / base ** (2 * i / 16)), atol=1e-6)
        np.testing.assert_allclose(pe[t, 2 * i + 1], np.cos(t / base ** (2 * i / 16)), atol=1e-6)


class EncoderTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(("mean", False, 0), ("first", True, 8),
                            ("cls", False, 0), ("cls", True, 8))
  def test_shapes_and_padding_invariance(self, pool, pre_ln, out_dim):
    cfg = dataclasses.replace(CFG, pool=pool, pre_ln=pre_ln, out_dim=out_dim)
    net, p = _acoustic(cfg)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 5)).astype(np.float32)
    lens = np.array([7, 4, 2])
    mask = np.arange(7)[None] < lens[:, None]
    apply = self.variant(lambda p, x, m: net.apply(p, x, m, train=False))
    short = apply(p, x * mask[..., None], mask)
    # Longer padding with garbage in the padded frames: same embeddings.
    xl = rng.normal(size=(3, 12, 5)).astype(np.float32) * 100
    xl[:, :7] = np.where(mask[..., None], x, xl[:, :7])
    ml = np.arange(12)[None] < lens[:, None]
    long = apply(p, xl, ml)
    e = out_dim or 16
    chex.assert_shape(short, (3, e))
    chex.assert_type(short, jnp.float32)
    np.testing.assert_allclose(short, long, atol=1e-5)
    # One sequence alone gives the same embedding as in the batch.
    alone = apply(p, x[1:2, :4], mask[1:2, :4])
    np.testing.assert_allclose(alone[0], short[1], atol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_phone_view_padding(self):
    net = models.PhoneEncoder(dataclasses.replace(CFG, num_heads=4), num_phones=10)
    ph = jnp.array([[3, 4, 5, 0], [7, 0, 0, 0]], jnp.int32)
    p = net.init(jax.random.PRNGKey(1), ph)
    apply = self.variant(lambda p, ph: net.apply(p, ph))
    a = apply(p, ph)
    b = apply(p, jnp.pad(ph, ((0, 0), (0, 5))))
    chex.assert_shape(a, (2, 16))
    np.testing.assert_allclose(a, b, atol=1e-5)

  def test_dropout_only_in_training(self):
    net, p = _acoustic(CFG)
    x = jnp.ones((2, 6, 5))
    m = jnp.ones((2, 6), bool)
    fwd = jax.jit(lambda r: net.apply(p, x, m, train=True, rngs={"dropout": r}))
    self.assertFalse(np.allclose(fwd(jax.random.PRNGKey(1)), fwd(jax.random.PRNGKey(2))))
    # Evaluation: no dropout whatever rng is passed; equal to training the
    # same parameters with dropout 0.
    ref = models.AcousticEncoder(dataclasses.replace(CFG, dropout=0.0)).apply(
        p, x, m, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
    for key in (1, 2):
      ev = net.apply(p, x, m, rngs={"dropout": jax.random.PRNGKey(key)})
      np.testing.assert_allclose(ev, ref, atol=1e-6)

  def test_multiview_methods(self):
    from awe_jax import configs
    cfg = configs.tiny()
    model = factory.build_model(cfg, num_phones=12)
    params = models.init_params(model, jax.random.PRNGKey(0), feat_dim=5)
    x, y = jax.jit(model.apply)({"params": params}, jnp.ones((4, 9, 5)),
                                jnp.ones((4, 9), bool), jnp.ones((3, 4), jnp.int32))
    chex.assert_shape([x, y], [(4, 32), (3, 32)])
    self.assertIn("acoustic_net", params)
    self.assertIn("phone_net", params)

  def test_paper_config_builds_the_papers_model(self):
    # configs.paper() reaches the modules: acoustic view 6 layers x 4 heads,
    # phone view 4 x 16, d_model 256, d_ff 1024 (Rhodes & Bains, sec. 3).
    from awe_jax import configs
    model = factory.build_model(configs.paper(), num_phones=40)
    shapes = jax.eval_shape(lambda: models.init_params(
        model, jax.random.PRNGKey(0), feat_dim=39))
    for view, layers, heads in (("acoustic_net", 6, 4), ("phone_net", 4, 16)):
      enc = shapes[view]["encoder"]
      self.assertEqual(sorted(k for k in enc if k.startswith("layer_")),
                       [f"layer_{i}" for i in range(layers)])
      layer = enc[f"layer_{layers - 1}"]
      self.assertEqual(layer["attention"]["query"]["kernel"].shape,
                       (256, heads, 256 // heads))
      self.assertEqual(layer["ff_in"]["kernel"].shape, (256, 1024))
    # frame_stack 1: the acoustic input projection sees single 39-dim frames.
    self.assertEqual(shapes["acoustic_net"]["in_proj"]["kernel"].shape, (39, 256))
    self.assertEqual(shapes["phone_net"]["embed"]["embedding"].shape, (40, 256))


if __name__ == "__main__":
  absltest.main()
