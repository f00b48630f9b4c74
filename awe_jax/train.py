"""Training: the pure jitted step and the loop with plateau/revert and resume.

State is the pytree ``{"params", "opt"}``; the optimiser is
``optax.inject_hyperparams(optax.adam)`` so the plateau schedule changes the
learning rate inside the state without recompiling.  Batches are split over
all local devices with ``jax.sharding`` (params replicated), the step is
``jax.jit(..., donate_argnums=(0,))``, per-step randomness is
``fold_in(rng, step)`` and the data order depends only on ``(seed, epoch)``:
a run stopped and resumed from ``workdir`` ends with the same parameters as
an uninterrupted one.
"""
import dataclasses
import functools
import json
import math
import os
import time

from absl import logging
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from awe_jax import (evaluate, input_pipeline, losses, model_card, packing,
                     schedule)
from awe_jax.factory import build_model
from awe_jax.models import init_params
from jaxtk import parallel
from jaxtk.checkpoint import Checkpoints
from jaxtk.errors import DataError
from jaxtk.metrics_io import MetricWriter
from jaxtk.progress import progress


class NonFiniteLossError(FloatingPointError):
  """The training loss became NaN or inf."""


def warmup_factor(count, warmup_steps: int):
  """``min(1, count / warmup_steps)``: 0 at step 0, 1 from ``warmup_steps``."""
  return jnp.minimum(1.0, jnp.asarray(count, jnp.float32) / warmup_steps)


def make_optimizer(config) -> optax.GradientTransformation:
  """Adam with an injectable learning rate; ``grad_clip > 0`` first clips the
  global gradient norm (the codebase clips at 10).

  With ``warmup_steps > 0`` the step is ``-lr * warmup_factor(count)``, where
  ``lr`` is the injected hyperparameter (so :func:`set_lr` and the plateau
  schedule keep working) and ``count`` the optimiser's own update count.
  """

  def adam(learning_rate, b1, b2, eps):
    if config.warmup_steps > 0:
      tx = optax.chain(
          optax.scale_by_adam(b1=b1, b2=b2, eps=eps),
          optax.scale_by_schedule(lambda count: -learning_rate * warmup_factor(
              count, config.warmup_steps)))
    else:
      tx = optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)
    if config.grad_clip > 0:
      tx = optax.chain(optax.clip_by_global_norm(config.grad_clip), tx)
    return tx

  return optax.inject_hyperparams(adam)(
      learning_rate=config.lr, b1=config.b1, b2=config.b2, eps=config.eps)


def set_lr(opt_state, lr: float):
  """The optimiser state with a new learning rate (same pytree structure)."""
  hp = dict(opt_state.hyperparams)
  hp["learning_rate"] = jnp.asarray(lr, jnp.asarray(hp["learning_rate"]).dtype)
  return opt_state._replace(hyperparams=hp)


def dropout_key(rng):
  """This step's threefry key ``rng`` as a ``"threefry4x32"`` key for dropout
  and SpecAugment.

  JAX's Threefry 4x32 (a built-in key implementation) computes each mask's
  bits as one element-wise fusion over a counter: 10 ms of CPU for a 256 x
  56 x 256 dropout mask, against 80 ms with ``"rbg"`` keys (XLA:CPU's
  expansion of RngBitGenerator) and 62 ms with the default threefry 2x32,
  which JAX lowers on CPU as a rolled 5-iteration loop writing four
  ``uint32`` arrays of the mask's size per iteration (docs/step-perf.md).
  Its four key words are the two halves of ``split(rng)``, so the bits
  depend on ``(seed, step)`` only: a resumed run draws the same masks.  The
  counter is the element's index in the whole array, so a batch split over
  devices draws the same masks as one.  (``"philox4x32"`` is as fast but
  does not compile for arrays sharded over devices in jaxlib 0.10.2.)

  Args:
    rng: a raw ``uint32[2]`` or typed threefry key (a raw ``uint32[4]`` key,
      from ``jax_default_prng_impl="rbg"``, is used as it is).

  Returns:
    A typed ``"threefry4x32"`` key.
  """
  if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key):
    rng = jax.random.key_data(rng)
  if rng.shape[-1] == 2:
    halves = jax.random.split(jax.random.wrap_key_data(rng, impl="threefry2x32"))
    rng = jax.random.key_data(halves).reshape(4)
  return jax.random.wrap_key_data(rng, impl="threefry4x32")


def _packed(batch, key):
  """``{"src": batch[key]}`` if the batch is packed, else nothing."""
  return {"src": batch[key]} if key in batch else {}


def train_step(state, batch, rng, step, *, model: nn.Module, tx, config):
  """One Adam step on the multi-view loss.

  Args:
    state: ``{"params", "opt"}``.
    batch: from :func:`input_pipeline.make_batch` (``feats [B, T, D]``,
      ``mask [B, T]``, ``valid [B]``, ``inv [B]``, ``phones [B, L]``,
      ``word_valid [B]``), optionally packed (``ac_src``, ``ph_src``,
      :func:`awe_jax.packing.pack_batch`).
    rng: this step's threefry key (``fold_in(rng, step)``); dropout draws
      from :func:`dropout_key` of it.
    step: int32 global step (sets the decreasing k).

  Returns:
    ``(state, metrics)`` with sums and counts: ``loss_sum``, ``terms_sum
    [3]``, ``count``, ``grad_norm``.
  """
  r_ac, r_ph = jax.random.split(dropout_key(rng))
  k = losses.topk_at_step(step, config.topk, config.min_topk)

  def loss_fn(params):
    v = {"params": params}
    x = model.apply(v, batch["feats"], batch["mask"], train=True,
                    method="acoustic", rngs={"dropout": r_ac},
                    **_packed(batch, "ac_src"))
    y = model.apply(v, batch["phones"], train=True, method="phones",
                    rngs={"dropout": r_ph}, **_packed(batch, "ph_src"))
    per_seg, terms = losses.multiview_triplet_loss(
        x, batch["valid"], y, batch["word_valid"], batch["inv"],
        margin=config.margin, k=k, k_max=config.topk,
        semi_hard=config.semi_hard, distance=config.distance,
        hinge_each=config.hinge_each)
    count = batch["valid"].sum()
    loss = per_seg.sum() / jnp.maximum(count, 1)
    return loss, (per_seg.sum(), terms.sum(1), count)

  grads, (loss_sum, terms_sum, count) = jax.grad(loss_fn, has_aux=True)(
      state["params"])
  grad_norm = optax.global_norm(grads)
  updates, opt = tx.update(grads, state["opt"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  return ({"params": params, "opt": opt},
          {"loss_sum": loss_sum, "terms_sum": terms_sum, "count": count,
           "grad_norm": grad_norm})


@dataclasses.dataclass
class Setup:
  """Everything built once from the config and the data."""
  ds: input_pipeline.Dataset
  model: nn.Module
  tx: optax.GradientTransformation
  boundaries: np.ndarray
  mesh: object
  evaluator: evaluate.Evaluator
  rng: jax.Array
  plan: packing.Plan | None  # packed shapes of the training batches

  def train_batch(self, config, idx) -> dict:
    """The training batch of segments ``idx`` (packed if planned), on the
    mesh."""
    train = self.ds.splits["train"]
    batch = input_pipeline.make_batch(train, idx, self.boundaries,
                                      config.batch_size, self.ds.phone_table,
                                      config.max_frames)
    if self.plan is not None:
      batch = packing.pack_batch(batch, self.plan)
    return parallel.shard_batch(batch, self.mesh)


def setup(config, data_dir: str) -> Setup:
  ds = input_pipeline.load_dataset(data_dir)
  lengths = np.concatenate([s.lengths for s in ds.splits.values()])
  if config.max_frames:
    lengths = np.minimum(lengths, config.max_frames)
  boundaries = input_pipeline.bucket_boundaries(lengths, config.num_buckets)
  model = build_model(config, ds.vocab.num_phones)
  mesh = parallel.data_mesh()
  for name, bs in (("batch_size", config.batch_size),
                   ("eval_batch_size", config.eval_batch_size)):
    if bs % mesh.size:
      raise ValueError(f"{name}={bs} is not divisible by the {mesh.size} devices")
  ev = evaluate.Evaluator(model, ds.phone_table, boundaries,
                          config.eval_batch_size, mesh, config.max_frames)
  return Setup(ds, model, make_optimizer(config), boundaries, mesh, ev,
               jax.random.PRNGKey(config.seed),
               training_plan(config, ds, boundaries))


def training_plan(config, ds, boundaries) -> packing.Plan | None:
  """The packed shapes of every training batch of the run, or None if the
  config trains padded (``pack_words`` off, recurrent views, CLS pooling)."""
  m = config.model
  if not (m.pack_words and m.encoder == "transformer" and
          "cls" not in (m.pool, m.acoustic_pool)):
    return None
  plan = packing.make_plan(ds.splits["train"], boundaries, config.batch_size,
                           config.seed, config.epochs, ds.phone_table,
                           m.frame_stack, config.max_frames)
  logging.info("packed training shapes: %s", plan)
  return plan


def initial_state(config, s: Setup):
  init_rng, _ = jax.random.split(s.rng)
  params = init_params(s.model, init_rng, s.ds.feat_dim)
  return parallel.replicate({"params": params, "opt": s.tx.init(params)}, s.mesh)


def _meta(epoch, batch_pos, step, sched, history):
  return {"epoch": epoch, "batch_pos": batch_pos, "step": step,
          "sched": list(sched), "history": history}


def warm_start_params(model_dir: str, like, phones_to_ids: dict):
  """The parameters of an exported model (``model_card.read_params``) to
  start training from, checked against ``like`` (the new run's parameters)
  and the new data's phone ids.

  Raises:
    DataError: no ``params.msgpack``, another phone set or order, or
      parameters of other shapes (another config).
  """
  params = model_card.read_params(model_dir, like)
  card = model_card.read_model_card(model_dir)
  want = model_card.phone_order(phones_to_ids)
  if tuple(card.phones) != want:
    raise DataError(model_dir, f"its phones {card.phones} are not the "
                    f"training data's {want} (same set, same order)")
  return params


def train_and_evaluate(config, workdir: str, data_dir: str,
                       init_from: str | None = None) -> dict:
  """Trains with the plateau schedule, then scores the best state.

  Writes ``workdir/{latest,best}`` checkpoints, ``metrics.jsonl`` and, via
  :func:`finish`, embeddings and plots.  Returns the final scores.
  ``init_from``: an exported model directory whose parameters start a new
  run (a fresh optimizer and schedule; ignored when ``workdir`` already has
  a checkpoint to resume).

  Raises:
    NonFiniteLossError: the loss became NaN/inf; the latest and best
      checkpoints are those of the last good evaluation.
  """
  os.makedirs(workdir, exist_ok=True)
  s = setup(config, data_dir)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(dataclasses.asdict(config), f, indent=1)
  train = s.ds.splits["train"]
  model_card.write_model_card(workdir, s.ds.vocab.phones_to_ids, train.lengths,
                              s.boundaries)
  state = initial_state(config, s)
  latest = Checkpoints(os.path.join(workdir, "latest"))
  best = Checkpoints(os.path.join(workdir, "best"))
  writer = MetricWriter(os.path.join(workdir, "metrics.jsonl"))
  sched = schedule.plateau_init(config.lr)
  epoch = batch_pos = step = 0
  history = []
  if latest.latest_step() is not None:
    state, meta = latest.restore(state)
    epoch, batch_pos, step = meta["epoch"], meta["batch_pos"], meta["step"]
    sched = schedule.PlateauState(*meta["sched"])
    history = meta["history"]
    writer.truncate_after(step)
    logging.info("resumed from %s at step %d (epoch %d)", latest.directory,
                 step, epoch)
  elif init_from:
    params = warm_start_params(init_from, jax.device_get(state["params"]),
                               s.ds.vocab.phones_to_ids)
    state = parallel.replicate({"params": params, "opt": s.tx.init(params)},
                               s.mesh)
    logging.info("parameters from %s", init_from)
  stopped = bool(history) and history[-1].get("stop", False)
  step_fn = jax.jit(functools.partial(train_step, model=s.model, tx=s.tx,
                                      config=config), donate_argnums=(0,))
  base_rng = jax.random.split(s.rng)[1]
  t_start = time.time()
  while epoch < config.epochs and not stopped:
    batches = input_pipeline.epoch_batches(
        train.lengths, s.boundaries, config.batch_size, config.seed, epoch)
    if epoch == 0 and batch_pos == 0:
      logging.info("padding fraction of an epoch: %.3f (%d batches, buckets %s)",
                   input_pipeline.padding_fraction(
                       train.lengths, batches, s.boundaries, config.batch_size,
                       config.max_frames), len(batches), s.boundaries.tolist())
    loss_sum = count = 0.0
    bar = progress(batches[batch_pos:], desc=f"epoch {epoch + 1}", unit="batch")
    for pos, idx in enumerate(bar, start=batch_pos):
      batch = s.train_batch(config, idx)
      state, m = step_fn(state, batch, jax.random.fold_in(base_rng, step),
                         jnp.int32(step))
      ls, c = float(m["loss_sum"]), float(m["count"])
      if not (math.isfinite(ls) and math.isfinite(float(m["grad_norm"]))):
        msg = (f"non-finite training loss at step {step} (epoch {epoch + 1}); "
               f"stopping. The last good checkpoints are kept in "
               f"{latest.directory} and {best.directory}.")
        logging.error(msg)
        writer.write(step, event="nonfinite_loss", loss=ls)
        raise NonFiniteLossError(msg)
      loss_sum, count, step = loss_sum + ls, count + c, step + 1
      bar.set_postfix(loss=f"{loss_sum / max(count, 1):.4f}", refresh=False)
      end_of_epoch = pos + 1 == len(batches)
      if not (end_of_epoch or (config.eval_every_steps and
                               step % config.eval_every_steps == 0)):
        continue
      scores, _ = s.evaluator(state["params"], s.ds.splits["dev"])
      sched, act = schedule.plateau_update(
          sched, scores["crossview_ap"], step, patience=config.patience,
          decay=config.decay, min_lr=config.min_lr,
          hold_until=config.warmup_steps)
      row = dict(epoch=epoch + (pos + 1) / len(batches),
                 train_loss=loss_sum / max(count, 1), lr=sched.lr,
                 dev_acoustic_ap=scores["acoustic_ap"],
                 dev_crossview_ap=scores["crossview_ap"],
                 improved=act.improved, stop=act.stop,
                 elapsed=time.time() - t_start)
      history.append(row)
      writer.write(step, **row)
      loss_sum = count = 0.0
      next_epoch, next_pos = (epoch + 1, 0) if end_of_epoch else (epoch, pos + 1)
      meta = _meta(next_epoch, next_pos, step, sched, history)
      if act.improved:
        best.save(step, state, meta)
      if act.revert:
        state, _ = best.restore(state)
        state = dict(state, opt=set_lr(state["opt"], sched.lr))
        logging.info("dev AP flat for %d evaluations: lr -> %g, reverted to "
                     "step %d", config.patience, sched.lr, sched.best_step)
      latest.save(step, state, meta)
      if act.stop:
        stopped = True
        break
      if config.max_minutes and time.time() - t_start >= 60 * config.max_minutes:
        logging.info("wall-clock budget of %g min reached at step %d; "
                     "stopping (resumable from %s)", config.max_minutes, step,
                     latest.directory)
        stopped = True
        break
    epoch, batch_pos = epoch + 1, 0
  latest.close()
  result = finish(config, s, best, state, workdir)
  best.close()
  return result


def restore_best(best: Checkpoints, like):
  if best.latest_step() is None:
    return like
  return best.restore(like)[0]


def finish(config, s: Setup, best: Checkpoints, like, workdir: str) -> dict:
  """Scores the best state on dev and test; writes embeddings and plots."""
  from awe_jax import report  # pylint: disable=g-import-not-at-top
  state = restore_best(best, like)
  id_to_word = {i: w for w, i in s.ds.vocab.words_to_ids.items()}
  out = {}
  for split in ("dev", "test"):
    scores, arrays = s.evaluator(state["params"], s.ds.splits[split], id_to_word)
    np.savez(os.path.join(workdir, f"{split}-embs.npz"), **arrays)
    out.update({f"{split}_{k}": v for k, v in scores.items()})
    if split == "dev":
      report.plot_pca(os.path.join(workdir, "dev-pca.png"), arrays)
  report.plot_curves(os.path.join(workdir, "dev-curves.png"),
                     os.path.join(workdir, "metrics.jsonl"))
  with open(os.path.join(workdir, "final.json"), "w") as f:
    json.dump(out, f, indent=1)
  return out


def evaluate_only(config, workdir: str, data_dir: str) -> dict:
  """Scores the best (else latest) checkpoint in ``workdir`` on dev and test."""
  s = setup(config, data_dir)
  like = initial_state(config, s)
  best = Checkpoints(os.path.join(workdir, "best"))
  if best.latest_step() is None:
    best = Checkpoints(os.path.join(workdir, "latest"))
    if best.latest_step() is None:
      raise FileNotFoundError(f"no checkpoint in {workdir}/best or {workdir}/latest")
  return finish(config, s, best, like, workdir)
