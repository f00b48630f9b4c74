"""NP objective, conditional sampler and the phase-2 gradient path."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from anomaly_jax import generator
from anomaly_jax import gmm
from anomaly_jax import losses
from anomaly_jax import models
from anomaly_jax import np_loss
from anomaly_jax import vae


class NPTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_loss_decreases_when_rates_separate(self):
    rng = np.random.default_rng(0)
    e_typ = jnp.asarray(rng.normal(size=200), jnp.float32)
    e_gen = jnp.asarray(rng.normal(size=100), jnp.float32)
    f = self.variant(lambda a, b: np_loss.np_loss(a, b, rho=0.05, tau=0.1))
    base, aux = f(e_typ, e_gen)
    np.testing.assert_allclose(aux["phi"], jnp.quantile(e_typ, 0.95))
    raised, aux_r = f(e_typ, e_gen + 3.0)   # generated errors above phi
    self.assertLess(float(raised), float(base))
    self.assertGreater(float(aux_r["tpr"]), float(aux["tpr"]))
    # typical errors below phi pushed further down (phi unchanged)
    phi = aux["phi"]
    lowered = jnp.where(e_typ < phi - 0.2, e_typ - 1.0, e_typ)
    loss_l, aux_l = f(lowered, e_gen)
    np.testing.assert_allclose(aux_l["phi"], phi, rtol=1e-6)
    self.assertLess(float(aux_l["fpr"]), float(aux["fpr"]))
    self.assertLess(float(loss_l), float(base))

  @chex.variants(with_jit=True, without_jit=True)
  def test_sampler_exact_n_above_threshold(self):
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(500, 3)) * 0.3, jnp.float32)
    state = gmm.fit(jax.random.key(0), x, 2)
    thr = generator.nll_threshold(state, x, 0.9)
    lat = self.variant(lambda k, s, t: generator.conditional(
        k, s, t, n=37, z_dim=3, oversample=2))(jax.random.key(1), state, thr)
    z = generator.check(lat)
    chex.assert_shape(z, (37, 3))
    self.assertEqual(int(lat.count), 37)
    self.assertTrue(bool(jnp.all(gmm.nll(state, z) > thr)))
    self.assertEqual(len(np.unique(np.asarray(z), axis=0)), 37)

  def test_sampler_guard(self):
    x = jnp.asarray(np.random.default_rng(2).normal(size=(100, 2)),
                    jnp.float32)
    state = gmm.fit(jax.random.key(0), x, 1)
    lat = generator.conditional(jax.random.key(1), state, jnp.float32(1e9),
                                n=8, z_dim=2, max_rounds=3)
    self.assertFalse(bool(lat.ok))
    self.assertEqual(int(lat.rounds), 3)
    with pytest.raises(generator.RejectionSamplingError, match="0 of 8"):
      generator.check(lat)

  def test_gradient_reaches_encoder_and_tail(self):
    g = vae.Gumiho(models.DenseEncoder(8, (16,)), 8, 2)
    g = g.add_tail("vae", models.DenseDecoder(6, (16,))).add_tail(
        "np", models.DenseDecoder(6, (16,)))
    x = jax.random.normal(jax.random.key(0), (32, 6))
    p = vae.init(g, jax.random.key(1), x)
    z = generator.unconditioned(jax.random.key(2), 16, 2)

    def loss(p):
      x_gen = generator.generate(g, p, z, "vae")
      e_t = jnp.log(vae.recon_error(g, p, x, "np"))
      e_g = jnp.log(vae.recon_error(g, p, x_gen, "np"))
      return np_loss.np_loss(e_t, e_g, tau=1.0)[0]

    grads = jax.jit(jax.grad(loss))(p)
    norm = lambda t: sum(float(jnp.abs(v).sum()) for v in jax.tree.leaves(t))
    self.assertGreater(norm(grads["encoder"]), 0)
    self.assertGreater(norm(grads["mu"]), 0)
    self.assertGreater(norm(grads["tails"]["np"]), 0)
    self.assertEqual(norm(grads["tails"]["vae"]), 0)  # generator is frozen


@functools.cache
def _tiny_gumiho():
  """A 6-pixel Gumiho (tails "vae", "np"), its parameters and 32 inputs."""
  g = vae.Gumiho(models.DenseEncoder(8, (16,)), 8, 2)
  g = g.add_tail("vae", models.DenseDecoder(6, (16,))).add_tail(
      "np", models.DenseDecoder(6, (16,)))
  x = jax.random.normal(jax.random.key(0), (32, 6))
  return g, vae.init(g, jax.random.key(1), x), x


class RelativeErrorTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_relative_error_is_the_ratio_of_the_tails(self):
    g, p, x = _tiny_gumiho()
    f = self.variant(lambda p, x: losses.np_error(g, p, x, relative=1.0))
    got = f(p, x)
    chex.assert_shape(got, (32,))
    chex.assert_type(got, jnp.float32)
    e_np = np.sum((np.asarray(x) - np.asarray(vae.decode(
        g, p, vae.encode(g, p, x)[0], "np"))) ** 2, -1)
    e_vae = np.sum((np.asarray(x) - np.asarray(vae.decode(
        g, p, vae.encode(g, p, x)[0], "vae"))) ** 2, -1)
    np.testing.assert_allclose(got, (e_np + losses.LOG_EPS)
                               / (e_vae + losses.LOG_EPS), rtol=1e-4)
    np.testing.assert_allclose(
        losses.np_error(g, p, x, relative=0.75),
        (e_np + losses.LOG_EPS) / (e_vae + losses.LOG_EPS) ** 0.75, rtol=1e-4)
    np.testing.assert_allclose(losses.np_error(g, p, x), e_np, rtol=1e-4)

  def test_relative_error_sends_no_gradient_to_the_vae_tail(self):
    g, p, x = _tiny_gumiho()
    grads = jax.jit(jax.grad(lambda p: jnp.sum(jnp.log(
        losses.np_error(g, p, x, relative=0.75)))))(p)
    norm = lambda t: sum(float(jnp.abs(v).sum()) for v in jax.tree.leaves(t))
    self.assertGreater(norm(grads["tails"]["np"]), 0)
    self.assertEqual(norm(grads["tails"]["vae"]), 0)
