"""The VAE family as pure functions on one parameter pytree.

A ``Gumiho`` (the seed paper's name for a VAE with several decoder tails) is
plain data: an encoder to the ``h``-dim interface, a bottleneck of size
``z_dim`` and a dict of named tails, each a decoder paired with its
per-sample loss.  Parameters are one pytree::

  {"encoder": ..., "mu": ..., "logvar": ..., "eta": ..., "tails": {name: ...}}

Fixed against the seed code: the bottleneck layers ``mu``/``logsigma``/``eta``
were created but never handed to the optimiser (its ``parameters()`` chained
the wrong objects); here they are ordinary leaves of the trained pytree.  The
KL term was a *mean* over latent units next to a *summed* reconstruction
error, so it was under-weighted by ``z_dim * batch``; here both are summed
per sample and ``beta`` weights the KL explicitly.
"""
import dataclasses
from typing import Callable, Mapping, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array


def sum_squared_error(x: Array, y: Array) -> Array:
  """Per-sample summed squared error; ``[batch, d] x2 -> [batch]``."""
  return jnp.sum(jnp.square(x - y), axis=-1)


def kl_to_standard_normal(mu: Array, logvar: Array) -> Array:
  """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent units -> [batch]."""
  return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mu) - 1.0 - logvar, -1)


class Tail(NamedTuple):
  """A decoder tail and its per-sample loss ``loss(x, y) -> [batch]``."""
  decoder: nn.Module
  loss: Callable[[Array, Array], Array] = sum_squared_error


@dataclasses.dataclass(frozen=True)
class Gumiho:
  """Encoder, bottleneck and named decoder tails (plain data, no params).

  Attributes:
    encoder: module mapping ``[batch, input_dim] -> [batch, h_dim]``.
    h_dim: width of the interface between encoder/decoders and bottleneck.
    z_dim: latent size.
    tails: name -> ``Tail``.
    variational: sample ``z ~ q(z|x)`` and add the KL (VAE); ``False`` gives
      a plain deterministic auto-encoder (``z = mu``, no KL).
  """
  encoder: nn.Module
  h_dim: int
  z_dim: int
  tails: Mapping[str, Tail] = dataclasses.field(default_factory=dict)
  variational: bool = True

  def add_tail(self, name: str, decoder: nn.Module,
               loss: Callable[[Array, Array], Array] = sum_squared_error
               ) -> "Gumiho":
    """A new model with one more tail (functional: ``self`` is unchanged)."""
    if name in self.tails:
      raise ValueError(f"Gumiho.add_tail: a tail named {name!r} exists")
    return dataclasses.replace(self, tails={**self.tails,
                                            name: Tail(decoder, loss)})


def init(model: Gumiho, rng: Array, x: Array) -> dict:
  """Initialises every part; ``x``: an example batch ``[batch, input_dim]``."""
  keys = jax.random.split(rng, 4 + len(model.tails))
  params = {"encoder": model.encoder.init(keys[0], x)}
  h = model.encoder.apply(params["encoder"], x)
  z = jnp.zeros((x.shape[0], model.z_dim), x.dtype)
  params["mu"] = nn.Dense(model.z_dim).init(keys[1], h)
  # logvar starts near zero-output so early KL gradients are tame.
  params["logvar"] = nn.Dense(
      model.z_dim, kernel_init=nn.initializers.zeros).init(keys[2], h)
  params["eta"] = nn.Dense(model.h_dim).init(keys[3], z)
  hz = jnp.zeros((x.shape[0], model.h_dim), x.dtype)
  params["tails"] = {name: tail.decoder.init(k, hz) for k, (name, tail)
                     in zip(keys[4:], sorted(model.tails.items()))}
  return params


def encode(model: Gumiho, params: dict, x: Array) -> tuple[Array, Array]:
  """``[batch, input_dim] -> (mu, logvar)``, each ``[batch, z_dim]``."""
  h = model.encoder.apply(params["encoder"], x)
  mu = nn.Dense(model.z_dim).apply(params["mu"], h)
  logvar = nn.Dense(model.z_dim).apply(params["logvar"], h)
  return mu, jnp.clip(logvar, -12.0, 8.0)


def decode(model: Gumiho, params: dict, z: Array, tail: str) -> Array:
  """``[batch, z_dim] -> [batch, input_dim]`` through ``eta`` and a tail."""
  h = nn.gelu(nn.Dense(model.h_dim).apply(params["eta"], z))
  return model.tails[tail].decoder.apply(params["tails"][tail], h)


def reparameterize(rng: Array, mu: Array, logvar: Array) -> Array:
  return mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape,
                                                       mu.dtype)


def loss_fn(model: Gumiho, params: dict, x: Array, rng: Array, *,
            tail: str, beta: float = 1.0) -> tuple[Array, dict]:
  """Batch-mean of (tail loss + beta * KL), both summed per sample.

  Returns:
    ``(loss, {"recon": [], "kl": []})``.
  """
  mu, logvar = encode(model, params, x)
  z = reparameterize(rng, mu, logvar) if model.variational else mu
  y = decode(model, params, z, tail)
  recon = model.tails[tail].loss(x, y)
  kl = (kl_to_standard_normal(mu, logvar) if model.variational
        else jnp.zeros_like(recon))
  return jnp.mean(recon + beta * kl), {"recon": jnp.mean(recon),
                                       "kl": jnp.mean(kl)}


def recon_error(model: Gumiho, params: dict, x: Array, tail: str) -> Array:
  """Deterministic (``z = mu``) per-sample tail loss -> ``[batch]``."""
  mu, _ = encode(model, params, x)
  return model.tails[tail].loss(x, decode(model, params, mu, tail))
