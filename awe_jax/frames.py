"""Frame stacking of padded acoustic input, shared by both encoder families."""
import jax.numpy as jnp


def stack_frames(feats, mask, s: int):
  """Zeroes padding and concatenates ``s`` consecutive frames per position.

  Args:
    feats: ``[B, T, D]`` frames.
    mask: ``[B, T]`` bool, True at real frames.
    s: frames per stacked position (1: no stacking).

  Returns:
    ``([B, ceil(T/s), s*D], [B, ceil(T/s)])``; a stacked position is real if
    any of its frames is.
  """
  feats = jnp.where(mask[..., None], feats, 0.0)
  if s > 1:
    b, t, d = feats.shape
    pad = -t % s
    feats = jnp.pad(feats, ((0, 0), (0, pad), (0, 0))).reshape(b, -1, s * d)
    mask = jnp.pad(mask, ((0, 0), (0, pad))).reshape(b, -1, s).any(-1)
  return feats, mask
