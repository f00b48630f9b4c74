"""Data parallelism over ``jax.devices()`` with ``jax.sharding`` (no pmap).

Batches are split along their leading axis over a 1-D mesh named ``data``;
parameters and optimiser state are replicated.  A jitted step that receives
arrays placed this way runs SPMD on every local device and gives the same
result as on one device (XLA inserts the gradient all-reduce).
"""
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "data"


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all devices)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def shard_batch(batch, mesh: Mesh):
  """Places every array of ``batch`` split along axis 0 over the mesh.

  The leading dimension must be divisible by the number of devices; pad the
  batch (with a validity mask) to make it so.
  """
  n = mesh.size

  def put(x):
    x = np.asarray(x)
    if x.ndim == 0:
      return jax.device_put(x, replicated(mesh))
    if x.shape[0] % n:
      raise ValueError(
          f"batch leading dimension {x.shape[0]} is not divisible by the "
          f"{n} devices of the mesh; pad the batch")
    return jax.device_put(x, batch_sharding(mesh))

  return jax.tree.map(put, batch)


def replicate(tree, mesh: Mesh):
  """Places a pytree (parameters, optimiser state) on every device."""
  return jax.device_put(tree, replicated(mesh))


def pad_to_multiple(n: int, multiple: int) -> int:
  """The smallest m >= n that is a multiple of ``multiple``."""
  return -(-n // multiple) * multiple
