"""The Gumiho VAE family: shapes, tails, KL, losses."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from anomaly_jax import models
from anomaly_jax import vae


def _dense(d=12, z=3):
  g = vae.Gumiho(models.DenseEncoder(16, (32,)), 16, z)
  return g.add_tail("vae", models.DenseDecoder(d, (32,))).add_tail(
      "np", models.DenseDecoder(d, (32,)))


class VAETest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_kl_matches_monte_carlo(self):
    rng = np.random.default_rng(0)
    mu = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
    logvar = jnp.asarray(rng.normal(size=(4, 3)) * 0.5, jnp.float32)
    kl = self.variant(vae.kl_to_standard_normal)(mu, logvar)
    z = vae.reparameterize(jax.random.key(0),
                           jnp.broadcast_to(mu, (200000, 4, 3)),
                           jnp.broadcast_to(logvar, (200000, 4, 3)))
    std = jnp.exp(0.5 * logvar)
    log_q = jnp.sum(-0.5 * jnp.square((z - mu) / std) - jnp.log(std), -1)
    log_p = jnp.sum(-0.5 * jnp.square(z), -1)
    np.testing.assert_allclose(kl, jnp.mean(log_q - log_p, 0), rtol=0.03,
                               atol=0.02)

  @chex.variants(with_jit=True, without_jit=True)
  def test_forward_shapes_and_losses_summed_per_sample(self):
    model = _dense()
    x = jax.random.uniform(jax.random.key(0), (5, 12))
    params = vae.init(model, jax.random.key(1), x)
    self.assertEqual(set(params), {"encoder", "mu", "logvar", "eta", "tails"})
    self.assertEqual(set(params["tails"]), {"vae", "np"})
    mu, logvar = self.variant(lambda p, x: vae.encode(model, p, x))(params, x)
    chex.assert_shape([mu, logvar], (5, 3))
    y = self.variant(lambda p, z: vae.decode(model, p, z, "np"))(params, mu)
    chex.assert_shape(y, (5, 12))
    loss, aux = self.variant(lambda p, x, k: vae.loss_fn(
        model, p, x, k, tail="vae", beta=2.0))(params, x, jax.random.key(2))
    np.testing.assert_allclose(loss, aux["recon"] + 2.0 * aux["kl"],
                               rtol=1e-5)
    err = vae.recon_error(model, params, x, "vae")
    chex.assert_shape(err, (5,))
    np.testing.assert_allclose(
        err, vae.sum_squared_error(x, vae.decode(model, params, mu, "vae")),
        rtol=1e-5)

  def test_add_tail_is_functional_and_rejects_duplicates(self):
    g = vae.Gumiho(models.DenseEncoder(8), 8, 2)
    g2 = g.add_tail("a", models.DenseDecoder(4))
    self.assertEqual(g.tails, {})
    self.assertEqual(set(g2.tails), {"a"})
    with pytest.raises(ValueError, match="exists"):
      g2.add_tail("a", models.DenseDecoder(4))

  def test_plain_ae_has_no_kl(self):
    g = vae.Gumiho(models.DenseEncoder(8), 8, 2, variational=False)
    g = g.add_tail("ae", models.DenseDecoder(6))
    x = jnp.ones((3, 6))
    p = vae.init(g, jax.random.key(0), x)
    _, aux = vae.loss_fn(g, p, x, jax.random.key(1), tail="ae")
    self.assertEqual(float(aux["kl"]), 0.0)

  def test_conv_models_shapes(self):
    g = vae.Gumiho(models.ConvEncoder(16), 16, 2).add_tail(
        "vae", models.ConvDecoder())
    x = jax.random.uniform(jax.random.key(0), (2, 784))
    p = vae.init(g, jax.random.key(1), x)
    y = vae.decode(g, p, vae.encode(g, p, x)[0], "vae")
    chex.assert_shape(y, (2, 784))
    self.assertTrue(bool(jnp.all((y > 0) & (y < 1))))
