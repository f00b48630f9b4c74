"""Orbax checkpoints with resume.

A state is any pytree of arrays; ``meta`` is a small JSON dict saved beside
it (epoch, learning rate, best score, data-order position), so a stopped run
can resume exactly where it stopped.  Keep "latest" and "best" as two
``Checkpoints`` in two directories: each keeps its own most recent saves, so
saving a new latest never deletes the best and vice versa.
"""
import os

from absl import logging
import jax
import orbax.checkpoint as ocp


class Checkpoints:
  """Thin wrapper over ``orbax.checkpoint.CheckpointManager``.

  Args:
    directory: where step folders are written (created if missing).
    max_to_keep: how many of the most recent checkpoints to keep.
  """

  def __init__(self, directory: str, *, max_to_keep: int = 1):
    self.directory = os.path.abspath(directory)
    opts = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        enable_async_checkpointing=False,
        create=True)
    self._mgr = ocp.CheckpointManager(self.directory, options=opts,
                                      item_names=("state", "meta"))

  def save(self, step: int, state, meta: dict | None = None) -> None:
    self._mgr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        meta=ocp.args.JsonSave(dict(meta or {}))), force=True)
    self._mgr.wait_until_finished()
    logging.info("checkpoint %d saved in %s", step, self.directory)

  def restore(self, like, step: int | None = None):
    """Restores ``(state, meta)`` at ``step`` (default: the latest).

    ``like`` gives the structure, shapes, dtypes and shardings of the state.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.directory}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    out = self._mgr.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    return out["state"], dict(out["meta"])

  def latest_step(self) -> int | None:
    return self._mgr.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._mgr.all_steps())

  def close(self):
    self._mgr.close()
