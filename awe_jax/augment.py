"""SpecAugment-style masking of acoustic features (Park et al., 2019).

Time and frequency masks only (no time warping), drawn per segment and
vectorised over the batch, so the function jits with static shapes.  Written
by hand: optax/flax have no equivalent.
"""
import dataclasses

import chex
import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class SpecAugmentConfig:
  """Numbers and maximum widths of the masks (0 masks: off)."""
  time_masks: int = 0
  time_width: int = 0
  freq_masks: int = 0
  freq_width: int = 0

  @property
  def active(self) -> bool:
    return ((self.time_masks > 0 and self.time_width > 0) or
            (self.freq_masks > 0 and self.freq_width > 0))


def _bands(rng, n: int, max_width: int, extent, size: int):
  """``[B, size]`` bool: union of ``n`` bands of width ``U[0, max_width]``
  starting uniformly in ``[0, extent - width]`` (``extent``: ``[B]``)."""
  b = extent.shape[0]
  r_w, r_s = jax.random.split(rng)
  width = jax.random.randint(r_w, (b, n), 0, max_width + 1)
  width = jnp.minimum(width, extent[:, None])
  start = (jax.random.uniform(r_s, (b, n)) *
           (extent[:, None] - width + 1)).astype(jnp.int32)
  pos = jnp.arange(size)[None, None, :]
  inside = (pos >= start[..., None]) & (pos < (start + width)[..., None])
  return inside.any(1)


def _rbg(rng):
  """A typed 4-word key (the step's ``threefry4x32`` dropout key) as an
  ``"rbg"`` key; other keys unchanged.

  With ``threefry4x32`` keys the default config's step (these masks'
  ``randint`` / ``uniform`` on ``[B, n]``, next to the dropout masks) ran
  for minutes instead of 0.2 s in jaxlib 0.10.2; ``rbg`` keys, as before,
  do not.  The bits still depend on ``(seed, step)`` only.
  """
  if (jnp.issubdtype(rng.dtype, jax.dtypes.prng_key)
      and jax.random.key_data(rng).shape[-1] == 4):
    return jax.random.wrap_key_data(jax.random.key_data(rng), impl="rbg")
  return rng


def spec_augment(rng: jax.Array, feats, mask, cfg: SpecAugmentConfig):
  """Zeroes random time spans and feature bands of the real frames.

  Time masks are placed within each segment's real length, so padding
  (``mask == False``) is never changed and masks never fall on it.

  Args:
    rng: a key (the step's dropout key is fine).
    feats: ``[B, T, D]`` features.
    mask: ``[B, T]`` bool, True at real frames.
    cfg: the numbers and widths of the masks.

  Returns:
    ``[B, T, D]`` features, equal to ``feats`` at padded frames.
  """
  chex.assert_rank(feats, 3)
  chex.assert_rank(mask, 2)
  b, t, d = feats.shape
  r_t, r_f = jax.random.split(_rbg(rng))
  drop = jnp.zeros((b, t, d), bool)
  if cfg.time_masks > 0 and cfg.time_width > 0:
    lengths = mask.sum(1).astype(jnp.int32)
    drop |= _bands(r_t, cfg.time_masks, cfg.time_width, lengths, t)[..., None]
  if cfg.freq_masks > 0 and cfg.freq_width > 0:
    dims = jnp.full((b,), d, jnp.int32)
    drop |= _bands(r_f, cfg.freq_masks, cfg.freq_width, dims, d)[:, None, :]
  drop &= mask[..., None]
  return jnp.where(drop, jnp.zeros_like(feats), feats)
