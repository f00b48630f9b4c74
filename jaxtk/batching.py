"""Fixed-shape batched application of a jitted function over a large array.

Every batch has the same leading size (the last one is padded by repeating
its final row and the padding is trimmed from the output), so the function
compiles once whatever ``N`` is.
"""
from typing import Callable

import jax
import numpy as np


def apply_in_batches(fn: Callable, x, batch_size: int):
  """``fn`` over ``x`` in fixed-size batches; outputs concatenated on axis 0.

  Args:
    fn: maps ``[batch_size, ...]`` to a pytree of ``[batch_size, ...]``
      arrays (typically a jitted closure).
    x: ``[N, ...]`` host or device array, ``N >= 1``.
    batch_size: leading size of every call; capped at ``N`` rounded up to a
      multiple of 8 so a small ``x`` is not padded to a huge batch.

  Returns:
    The pytree of ``fn``'s outputs, each ``[N, ...]`` numpy arrays.
  """
  x = np.asarray(x)
  n = x.shape[0]
  if n == 0:
    raise ValueError("apply_in_batches: x is empty (N = 0)")
  bs = min(batch_size, -(-n // 8) * 8)
  outs = []
  for start in range(0, n, bs):
    chunk = x[start:start + bs]
    pad = bs - chunk.shape[0]
    if pad:
      chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)], 0)
    out = fn(chunk)
    outs.append(jax.tree.map(lambda a, k=bs - pad: np.asarray(a)[:k], out))
  return jax.tree.map(lambda *a: np.concatenate(a, 0), *outs)
