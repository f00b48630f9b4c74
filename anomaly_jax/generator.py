"""Latent samplers: unconditioned N(0, I) and GMM-conditioned rejection.

The conditional generator draws ``z ~ N(0, I)`` and keeps only the draws the
typical-data GMM finds unlikely (NLL above a threshold), then decodes them
through a chosen tail into pseudo-anomalies.  The seed code drew one latent
at a time in a Python generator and dispatched each to a ``ray`` worker; here
each round draws a fixed oversampled block, and a ``lax.while_loop`` fills a
fixed ``[n, z]`` buffer inside jit, so the result has exactly ``n`` rows.
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from anomaly_jax import gmm as gmm_lib
from anomaly_jax import vae

Array = jax.Array


class RejectionSamplingError(RuntimeError):
  """The conditional sampler hit ``max_rounds`` before filling its buffer."""


class Latents(NamedTuple):
  """Result of the conditional sampler.

  Attributes:
    z: ``[n, z_dim]`` accepted latents (rows past ``count`` are zeros).
    count: ``[]`` int32 number of accepted rows (``n`` on success).
    rounds: ``[]`` int32 rounds used.
    ok: ``[]`` bool, ``count == n``.
  """
  z: Array
  count: Array
  rounds: Array
  ok: Array


def unconditioned(rng: Array, n: int, z_dim: int) -> Array:
  """``n`` draws from N(0, I) -> ``[n, z_dim]``."""
  return jax.random.normal(rng, (n, z_dim))


def nll_threshold(state: gmm_lib.GMMState, z_typical: Array,
                  quantile: float) -> Array:
  """The ``quantile`` of the typical latents' mixture NLL -> ``[]``."""
  return jnp.quantile(gmm_lib.nll(state, z_typical), quantile)


@functools.partial(jax.jit, static_argnames=("n", "z_dim", "oversample",
                                             "max_rounds"))
def conditional(rng: Array, state: gmm_lib.GMMState, threshold: Array, *,
                n: int, z_dim: int, oversample: int = 4,
                max_rounds: int = 64, pool: Array | None = None) -> Latents:
  """Exactly ``n`` latents with typical-GMM NLL above ``threshold``.

  Candidates come from N(0, I) (the VAE prior, the seed paper's choice) or,
  if ``pool`` is given, uniformly from its rows (e.g. the latent means of the
  unlabelled data: the aggregate posterior that N(0, I) only approximates).
  Each round draws ``oversample * n`` candidates and scatters the accepted
  ones into the next free rows of the buffer (extra ones are dropped).

  Args:
    rng: PRNG key.
    state: the typical-data GMM.
    threshold: ``[]`` NLL threshold (see ``nll_threshold``).
    n: number of latents wanted.
    z_dim: latent size.
    oversample: candidates per round, in units of ``n``.
    max_rounds: guard; ``ok`` is False if the buffer is not full by then.
    pool: optional ``[P, z_dim]`` candidate latents (None: N(0, I)).

  Returns:
    ``Latents``; check ``ok`` (or call ``check``) before using ``z``.
  """
  m = oversample * n

  def cond(c):
    _, count, rounds = c
    return (count < n) & (rounds < max_rounds)

  def body(c):
    buf, count, rounds = c
    k = jax.random.fold_in(rng, rounds)
    if pool is None:
      cand = jax.random.normal(k, (m, z_dim))
    else:
      cand = pool[jax.random.randint(k, (m,), 0, pool.shape[0])]
    accept = gmm_lib.nll(state, cand) > threshold
    pos = count + jnp.cumsum(accept) - 1
    idx = jnp.where(accept & (pos < n), pos, n)      # n = out of range: drop
    buf = buf.at[idx].set(cand, mode="drop")
    count = jnp.minimum(n, count + jnp.sum(accept, dtype=jnp.int32))
    return buf, count, rounds + 1

  buf = jnp.zeros((n, z_dim))
  buf, count, rounds = jax.lax.while_loop(
      cond, body, (buf, jnp.int32(0), jnp.int32(0)))
  return Latents(buf, count, rounds, count == n)


def check(latents: Latents) -> Array:
  """Host-side guard: the latents, or ``RejectionSamplingError``."""
  if not bool(latents.ok):
    raise RejectionSamplingError(
        f"conditional sampler filled {int(latents.count)} of "
        f"{latents.z.shape[0]} latents in {int(latents.rounds)} rounds; "
        "lower the NLL quantile or raise max_rounds/oversample")
  return latents.z


def generate(model: vae.Gumiho, params: dict, z: Array, tail: str) -> Array:
  """Decodes latents through ``tail`` (no gradient) -> ``[n, input_dim]``."""
  return jax.lax.stop_gradient(vae.decode(model, params, z, tail))
