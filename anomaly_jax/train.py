"""The three training phases of the seed paper, repeated for ``eras``.

Per era: (1) the VAE tail, encoder and bottleneck on all (unlabelled) data;
(2) the Neyman-Pearson discriminator tail (and the encoder) on typical data
against pseudo-anomalies from the GMM-conditioned generator; (3) the GMM
refitted on the typical data's latents.  Because phase 1 moves the encoder,
phase 2 first refreshes the GMM on the current latents (one extra EM fit;
phase 3 is then the fit the scores and the next era use).  An optional plain
auto-encoder (the DCASE-style baseline) is trained first on typical data.

Steps are pure and jitted with the train state donated; ``chunk`` steps run
inside one ``lax.fori_loop`` per dispatch, each drawing its batch with
``fold_in(rng, step)``.  After every stage an orbax checkpoint is saved, so a
stopped run resumes at the last completed stage.
"""
import dataclasses
import enum
import functools
import os
from typing import NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from anomaly_jax import generator
from anomaly_jax import gmm as gmm_lib
from anomaly_jax import losses
from anomaly_jax import vae
from anomaly_jax.losses import AE, NP, VAE
from jaxtk import batching
from jaxtk import checkpoint
from jaxtk import configs
from jaxtk import metrics_io
from jaxtk import progress


class Proposal(str, enum.Enum):
  """Where the phase-2 rejection sampler draws candidate latents."""
  PRIOR = "prior"          # N(0, I), the seed paper
  AGGREGATE = "aggregate"  # latent means of the unlabelled phase-1 data


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  z_dim: int = 8                 # latent size
  n_components: int = 4          # GMM components on typical latents
  eras: int = 2                  # repetitions of the three phases
  steps_ae: int = 0              # plain-AE baseline steps (0: no baseline)
  steps_vae: int = 1000          # phase-1 steps per era
  steps_np: int = 500            # phase-2 steps per era
  batch_size: int = 128          # batch size of every phase
  lr: float = 1e-3               # Adam learning rate
  rho: float = 0.05              # target FPR of the NP objective
  tau: float = 1.0               # sigmoid temperature on log recon errors
  quantile: float = 0.995        # typical-latent NLL quantile for rejection
  beta: float = 1.0              # KL weight of the VAE loss
  np_recon_weight: float = 0.1   # weight of mean typical log error in phase 2
  # Score only (training is the same): the "np" score is the NP tail's
  # error over the VAE tail's to this power (0: the raw error, 1: the ratio;
  # losses.np_error).
  np_relative: float = 0.0
  gmm_iters: int = 200           # max EM iterations per fit
  gmm_tol: float = 1e-4          # EM tolerance on mean log-likelihood
  oversample: int = 8            # rejection-sampler candidates per round / n
  proposal: Proposal = Proposal.AGGREGATE  # rejection-sampler candidates
  chunk: int = 50                # steps per jitted dispatch
  seed: int = 0                  # PRNG seed

  def __post_init__(self):
    object.__setattr__(self, "proposal",
                       configs.choice("proposal", self.proposal, Proposal))


class Trained(NamedTuple):
  """What training produces (all device arrays / pytrees)."""
  params: dict          # the Gumiho parameters (tails "vae" and "np")
  ae_params: dict       # the baseline AE parameters ({} if not trained)
  gmm: gmm_lib.GMMState  # the typical-latent GMM
  nll_threshold: jax.Array  # [] rejection threshold for the generator


def _stages(cfg: TrainConfig) -> list[tuple[str, int]]:
  out = [("ae", -1)] if cfg.steps_ae else []
  return out + [(p, e) for e in range(cfg.eras) for p in ("vae", "np", "gmm")]


def _placeholder_gmm(k: int, d: int) -> gmm_lib.GMMState:
  return gmm_lib.GMMState(
      jnp.full((k,), -jnp.log(k)), jnp.zeros((k, d)),
      jnp.broadcast_to(jnp.eye(d), (k, d, d)), jnp.array(-jnp.inf),
      jnp.array(jnp.inf), jnp.array(0, jnp.int32))


def make_step_chunk(loss_of, tx):
  """Jitted ``(params, opt, rng, step0, n, *data) -> (params, opt, stats)``.

  ``loss_of(params, rng, *data) -> (loss, aux)`` is one step's loss; the
  chunk runs ``n`` steps in a ``fori_loop`` and returns the mean of the loss
  and of every aux entry (``ok`` entries are and-ed instead).
  """
  def chunk(params, opt, rng, step0, n, *data):
    def body(i, carry):
      params, opt, acc = carry
      k = jax.random.fold_in(rng, step0 + i)
      (loss, aux), g = jax.value_and_grad(loss_of, has_aux=True)(
          params, k, *data)
      updates, opt = tx.update(g, opt, params)
      params = optax.apply_updates(params, updates)
      aux = dict(aux, loss=loss)
      acc = {key: (acc[key] & v) if key == "ok" else acc[key] + v
             for key, v in aux.items()}
      return params, opt, acc

    probe = jax.eval_shape(loss_of, params, rng, *data)[1]
    acc0 = {key: jnp.ones((), bool) if key == "ok" else jnp.zeros(())
            for key in list(probe) + ["loss"]}
    params, opt, acc = jax.lax.fori_loop(0, n, body, (params, opt, acc0))
    stats = {key: v if key == "ok" else v / n for key, v in acc.items()}
    return params, opt, stats

  return jax.jit(chunk, donate_argnums=(0, 1))


def encode_mu(model: vae.Gumiho, params: dict, x, batch_size: int = 1024):
  """Latent means of ``x`` in fixed-size batches -> ``[N, z_dim]`` numpy."""
  fn = jax.jit(lambda p, xb: vae.encode(model, p, xb)[0])
  return batching.apply_in_batches(lambda xb: fn(params, xb), x, batch_size)


def fit_gmm(model, params, x_typ, cfg: TrainConfig, rng):
  """GMM on typical latents and the generator's NLL threshold."""
  z = jnp.asarray(encode_mu(model, params, x_typ))
  state = gmm_lib.fit(rng, z, cfg.n_components, cfg.gmm_iters, cfg.gmm_tol)
  thr = generator.nll_threshold(state, z, cfg.quantile)
  return state, thr


def _run_phase(name, chunk_fn, params, opt, rng, steps, cfg, writer, offset,
               *data):
  done = 0
  stats = {}
  bar = progress.progress(total=steps, desc=name, unit="step")
  while done < steps:
    n = min(cfg.chunk, steps - done)
    params, opt, stats = chunk_fn(params, opt, rng, jnp.int32(done),
                                  jnp.int32(n), *data)
    stats = jax.device_get(stats)
    done += n
    bar.update(n)
    if not np.isfinite(stats["loss"]):
      raise FloatingPointError(f"{name}: non-finite loss at step {done}")
    if "ok" in stats and not stats["ok"]:
      raise generator.RejectionSamplingError(
          f"{name}: the conditional sampler could not fill its batch by "
          "rejection; lower TrainConfig.quantile or raise oversample")
    if writer is not None:
      writer.write(offset + done, phase=name, **{
          k: float(v) for k, v in stats.items() if k != "ok"})
  bar.close()
  return params, opt, stats


def train(model: vae.Gumiho, x_all, x_typ, cfg: TrainConfig,
          workdir: str | None = None, ae_model: vae.Gumiho | None = None
          ) -> Trained:
  """Runs (or resumes) the baseline AE and the three phases for ``eras``.

  Args:
    model: a ``Gumiho`` with tails ``"vae"`` and ``"np"`` (same decoder
      architecture: the NP tail starts as a copy of the trained VAE tail).
    x_all: ``[N, input_dim]`` unlabelled data for phase 1.
    x_typ: ``[M, input_dim]`` typical data for phases 2-3 (and the AE).
    cfg: the schedule and hyper-parameters.
    workdir: checkpoints and ``metrics.jsonl`` go here (None: no saving).
    ae_model: a non-variational ``Gumiho`` with tail ``"ae"``; required if
      ``cfg.steps_ae > 0``.
  """
  for t in (VAE, NP):
    if t not in model.tails:
      raise ValueError(f"train: model needs a tail named {t!r}")
  if cfg.steps_ae and (ae_model is None or AE not in ae_model.tails):
    raise ValueError("train: steps_ae > 0 needs ae_model with tail 'ae'")
  x_all = jnp.asarray(x_all, jnp.float32)
  x_typ = jnp.asarray(x_typ, jnp.float32)
  if x_all.ndim != 2 or x_typ.ndim != 2 or x_all.shape[1] != x_typ.shape[1]:
    raise ValueError(f"train: x_all {x_all.shape} and x_typ {x_typ.shape} "
                     "must both be [N, input_dim]")
  rng = jax.random.key(cfg.seed)
  k_init, k_ae, k_run = jax.random.split(rng, 3)
  tx = optax.adam(cfg.lr)
  params = vae.init(model, k_init, x_typ[:2])
  state = {"params": params, "opt_vae": tx.init(params),
           "opt_np": tx.init(params),
           "gmm": _placeholder_gmm(cfg.n_components, model.z_dim)._asdict(),
           "thr": jnp.zeros(())}
  if cfg.steps_ae:
    ae_params = vae.init(ae_model, k_ae, x_typ[:2])
    state.update(ae_params=ae_params, opt_ae=tx.init(ae_params))

  stages = _stages(cfg)
  ckpt = writer = None
  start = 0
  if workdir is not None:
    ckpt = checkpoint.Checkpoints(os.path.join(workdir, "ckpt"))
    writer = metrics_io.MetricWriter(os.path.join(workdir, "metrics.jsonl"))
    last = ckpt.latest_step()
    if last is not None:
      state, meta = ckpt.restore(state)
      start = int(meta["stage"]) + 1
      logging.info("resumed after stage %d of %d (%s)", start, len(stages),
                   meta.get("name"))
      writer.truncate_after(int(meta["offset"]))

  vae_chunk = make_step_chunk(functools.partial(
      losses.vae_loss, model=model, tail=VAE, beta=cfg.beta,
      batch_size=cfg.batch_size), tx)
  np_chunk = make_step_chunk(functools.partial(
      losses.np_stage_loss, model=model, batch_size=cfg.batch_size,
      oversample=cfg.oversample, use_pool=cfg.proposal == Proposal.AGGREGATE,
      rho=cfg.rho, tau=cfg.tau, recon_weight=cfg.np_recon_weight), tx)
  offset = 0
  for i, (name, era) in enumerate(stages):
    steps = {"ae": cfg.steps_ae, "vae": cfg.steps_vae, "np": cfg.steps_np,
             "gmm": 0}[name]
    if i < start:
      offset += steps
      continue
    ks = jax.random.fold_in(k_run, i)
    label = f"{name}[era {era}]" if era >= 0 else name
    if name == "ae":
      ae_chunk = make_step_chunk(functools.partial(
          losses.vae_loss, model=ae_model, tail=AE, beta=0.0,
          batch_size=cfg.batch_size), tx)
      state["ae_params"], state["opt_ae"], _ = _run_phase(
          label, ae_chunk, state["ae_params"], state["opt_ae"], ks, steps,
          cfg, writer, offset, x_typ)
    elif name == "vae":
      state["params"], state["opt_vae"], _ = _run_phase(
          label, vae_chunk, state["params"], state["opt_vae"], ks, steps, cfg,
          writer, offset, x_all)
    elif name == "np":
      p = state["params"]
      if era == 0:  # the discriminator starts as a copy of the VAE tail
        p = dict(p, tails=dict(p["tails"], np=jax.tree.map(
            jnp.copy, p["tails"][VAE])))
      g, thr = fit_gmm(model, p, x_typ, cfg, jax.random.fold_in(ks, 1))
      pool = (jnp.asarray(encode_mu(model, p, x_all))
              if cfg.proposal == Proposal.AGGREGATE
              else jnp.zeros((1, model.z_dim)))
      state["params"], state["opt_np"], _ = _run_phase(
          label, np_chunk, p, state["opt_np"], ks, steps, cfg, writer,
          offset, x_typ, g, thr, pool)
    else:
      g, thr = fit_gmm(model, state["params"], x_typ, cfg, ks)
      state["gmm"], state["thr"] = g._asdict(), thr
      if writer is not None:
        writer.write(offset, phase=label, gmm_ll=float(g.log_likelihood),
                     gmm_iters=int(g.n_iter), nll_threshold=float(thr))
    offset += steps
    if ckpt is not None:
      ckpt.save(i + 1, state, {"stage": i, "name": label, "offset": offset})
  if ckpt is not None:
    ckpt.close()
  return Trained(state["params"], state.get("ae_params", {}),
                 gmm_lib.GMMState(**state["gmm"]), state["thr"])
