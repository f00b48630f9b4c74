"""The stage losses as pure functions: the NP objective's value on a
hand-computed case, the VAE stage loss under jit and without (the NP stage
loss runs in test_np.py and test_mnist.py; a stopped run resuming to the
uninterrupted parameters: test_mnist.py)."""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax import losses
from anomaly_jax import models
from anomaly_jax import vae


def _dense(d=6, z=2):
  g = vae.Gumiho(models.DenseEncoder(8, (16,)), 8, z)
  return g.add_tail("vae", models.DenseDecoder(d, (16,))).add_tail(
      "np", models.DenseDecoder(d, (16,)))


def _sigmoid(v):
  return 1.0 / (1.0 + math.exp(-v))


class LossesTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_np_objective_by_hand(self):
    # Log errors 0, 1, 2, 3 (typical) and 3, 4 (generated); rho = 0.25:
    # phi = 0.75 quantile of 0..3 (linear) = 2.25; tau = 0.5.
    e_t = jnp.exp(jnp.arange(4.0)) - losses.LOG_EPS
    e_g = jnp.exp(jnp.array([3.0, 4.0])) - losses.LOG_EPS
    f = self.variant(lambda a, b: losses.np_objective(
        a, b, rho=0.25, tau=0.5, recon_weight=0.1))
    loss, aux = f(e_t, e_g)
    fpr = sum(_sigmoid((k - 2.25) / 0.5) for k in range(4)) / 4
    tpr = (_sigmoid((3 - 2.25) / 0.5) + _sigmoid((4 - 2.25) / 0.5)) / 2
    chex.assert_shape(loss, ())
    np.testing.assert_allclose(aux["phi"], 2.25, rtol=1e-6)
    np.testing.assert_allclose(aux["fpr"], fpr, rtol=1e-5)
    np.testing.assert_allclose(aux["tpr"], tpr, rtol=1e-5)
    np.testing.assert_allclose(loss, fpr - tpr + 0.1 * 1.5, rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_vae_stage_loss_is_pure_and_scalar(self):
    model = _dense()
    x = jax.random.normal(jax.random.key(0), (40, 6))
    params = vae.init(model, jax.random.key(1), x[:2])
    vl = self.variant(lambda p, k: losses.vae_loss(
        p, k, x, model=model, tail="vae", beta=1.0, batch_size=16))
    a, aux = vl(params, jax.random.key(2))
    b, _ = vl(params, jax.random.key(2))
    chex.assert_shape([a, aux["recon"], aux["kl"]], ())
    assert float(a) == float(b) and float(a) > 0
