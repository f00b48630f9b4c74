"""The training stages' losses as pure functions on parameter pytrees.

Each is ``(params, rng, *data) -> (loss [], aux)``, the signature
``train.make_step_chunk`` differentiates; settings are keyword-only, bound
with ``functools.partial``.

* ``vae_loss``: phase 1 (and the plain-AE baseline with ``beta=0``), the
  batch mean of the tail's reconstruction loss plus ``beta`` times the KL.
* ``np_objective``: phase 2 on reconstruction errors, the Neyman-Pearson
  ``FPR - TPR`` of ``np_loss.np_loss`` on log errors plus
  ``recon_weight`` times the typical batch's mean log error (which keeps
  the discriminator tail a reconstructor of typical data).
* ``np_stage_loss``: phase 2 on data, a typical batch against
  pseudo-anomalies from the GMM-conditioned generator, through
  ``np_objective``.
"""
import jax
import jax.numpy as jnp

from anomaly_jax import generator
from anomaly_jax import gmm as gmm_lib
from anomaly_jax import np_loss as np_lib
from anomaly_jax import vae

Array = jax.Array
VAE, NP, AE = "vae", "np", "ae"  # tail names
LOG_EPS = 1e-6  # added to errors before the log


def sample_batch(rng: Array, data: Array, batch_size: int) -> Array:
  """``batch_size`` rows of ``data [N, ...]`` drawn with replacement."""
  return data[jax.random.randint(rng, (batch_size,), 0, data.shape[0])]


def vae_loss(params: dict, rng: Array, data: Array, *, model: vae.Gumiho,
             tail: str, beta: float, batch_size: int) -> tuple[Array, dict]:
  """``vae.loss_fn`` on a batch drawn from ``data [N, input_dim]``.

  Returns:
    ``(loss [], {"recon", "kl"})``.
  """
  kb, kz = jax.random.split(rng)
  return vae.loss_fn(model, params, sample_batch(kb, data, batch_size), kz,
                     tail=tail, beta=beta)


def np_objective(err_typ: Array, err_gen: Array, *, rho: float, tau: float,
                 recon_weight: float) -> tuple[Array, dict]:
  """Phase 2's loss on reconstruction errors (Koizumi et al. 2019).

  ``l = log(err + LOG_EPS)``; ``loss = np_loss(l_typ, l_gen, rho, tau)
  + recon_weight * mean(l_typ)``.

  Args:
    err_typ: ``[batch]`` non-negative errors of typical samples.
    err_gen: ``[batch_gen]`` errors of generated pseudo-anomalies.
    rho: target false-positive rate.
    tau: sigmoid temperature in log-error units.
    recon_weight: weight of the typical mean log error.

  Returns:
    ``(loss [], {"fpr", "tpr", "phi"})``.
  """
  l_t = jnp.log(err_typ + LOG_EPS)
  l_g = jnp.log(err_gen + LOG_EPS)
  loss, aux = np_lib.np_loss(l_t, l_g, rho=rho, tau=tau)
  return loss + recon_weight * jnp.mean(l_t), aux


def np_error(model: vae.Gumiho, params: dict, x: Array, *,
             relative: float = 0.0) -> Array:
  """The NP score: the NP tail's per-sample error ``[batch, input_dim] ->
  [batch]``, over the VAE tail's error on the same input to the power
  ``relative``.

  Simple inputs (a "1") reconstruct well through every tail, so their raw
  error (``relative = 0``, the seed's score) is low whatever their class.
  With ``relative = 1`` the score is the ratio of the two tails' errors (its
  log the log-error difference, a likelihood-ratio-style correction as in
  Ren et al. 2019, "Likelihood ratios for out-of-distribution detection"):
  the input's complexity cancels and what the NP phase taught the NP tail
  stays; in between, part of the complexity is kept.  The VAE tail's error
  gets no gradient.
  """
  e = vae.recon_error(model, params, x, NP)
  if not relative:
    return e
  ref = jax.lax.stop_gradient(vae.recon_error(model, params, x, VAE))
  return (e + LOG_EPS) / (ref + LOG_EPS) ** relative


def np_stage_loss(params: dict, rng: Array, data: Array,
                  gmm_state: gmm_lib.GMMState, thr: Array, pool: Array, *,
                  model: vae.Gumiho, batch_size: int, oversample: int,
                  use_pool: bool, rho: float, tau: float,
                  recon_weight: float) -> tuple[Array, dict]:
  """``np_objective`` on a typical batch and as many generated samples.

  Args:
    params: the Gumiho parameters (tails ``"vae"`` and ``"np"``).
    rng: this step's key.
    data: ``[N, input_dim]`` typical data.
    gmm_state: the typical-latent GMM; ``thr``: its NLL rejection threshold.
    pool: ``[P, z_dim]`` candidate latents (used when ``use_pool``; else
      candidates come from N(0, I)).
    model: the Gumiho.
    batch_size, oversample: batch size; sampler candidates per round / n.
    use_pool, rho, tau, recon_weight: see ``np_objective``.

  Returns:
    ``(loss [], {"fpr", "tpr", "phi", "ok"})``; ``ok`` is False when the
    sampler could not fill its batch.
  """
  kb, kg = jax.random.split(rng)
  x_t = sample_batch(kb, data, batch_size)
  lat = generator.conditional(kg, gmm_state, thr, n=batch_size,
                              z_dim=model.z_dim, oversample=oversample,
                              pool=pool if use_pool else None)
  x_g = generator.generate(model, params, lat.z, VAE)
  loss, aux = np_objective(vae.recon_error(model, params, x_t, NP),
                           vae.recon_error(model, params, x_g, NP), rho=rho,
                           tau=tau, recon_weight=recon_weight)
  return loss, dict(aux, ok=lat.ok)
