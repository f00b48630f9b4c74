"""The paper's learning-rate schedule: decay on plateau and revert to best.

Settle et al.'s ``ReduceLROnPlateau`` (used by Rhodes & Bains): after every
evaluation, if the dev score has not improved for ``patience`` evaluations,
the learning rate is multiplied by ``decay`` and the parameters and
optimiser state are reset to the best checkpoint; training stops once the
learning rate falls below ``min_lr``.  ``optax.contrib.reduce_on_plateau``
decays but cannot revert the parameters, hence this small (init, update)
pair over host scalars; the caller performs the revert it asks for.
"""
from typing import NamedTuple


class PlateauState(NamedTuple):
  lr: float            # current learning rate
  best_score: float    # best dev score so far (-inf before any)
  best_step: int       # global step of the best score (-1 before any)
  bad_evals: int       # evaluations since the last improvement
  num_decays: int      # how many times the lr was decayed


class PlateauUpdate(NamedTuple):
  improved: bool       # save this state as the new best
  revert: bool         # restore the best params + opt state, then use ``lr``
  stop: bool           # the lr fell below ``min_lr``


def plateau_init(lr: float) -> PlateauState:
  return PlateauState(float(lr), float("-inf"), -1, 0, 0)


def plateau_update(state: PlateauState, score: float, step: int, *,
                   patience: int = 4, decay: float = 0.1,
                   min_lr: float = 1e-7, hold_until: int = 0
                   ) -> tuple[PlateauState, PlateauUpdate]:
  """One evaluation's bookkeeping (higher scores are better).

  Args:
    state: from :func:`plateau_init` or a previous update.
    score: the dev score of this evaluation (cross-view AP).
    step: the global step at which it was measured.
    patience, decay, min_lr: as Settle et al.'s ReduceLROnPlateau.
    hold_until: evaluations before this step never count against the lr
      (the trainer passes its warm-up steps: a warm-up is slow on purpose,
      and decaying during it left the model at chance in our measurements).

  Returns:
    ``(new_state, what_to_do)``.
  """
  if score > state.best_score:
    return (state._replace(best_score=float(score), best_step=int(step),
                           bad_evals=0), PlateauUpdate(True, False, False))
  if step < hold_until:
    return state, PlateauUpdate(False, False, False)
  bad = state.bad_evals + 1
  if bad < patience:
    return state._replace(bad_evals=bad), PlateauUpdate(False, False, False)
  lr = state.lr * decay
  new = state._replace(lr=lr, bad_evals=0, num_decays=state.num_decays + 1)
  return new, PlateauUpdate(False, True, lr < min_lr)
