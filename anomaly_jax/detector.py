"""Public API: train a detector on feature vectors, score, save and load.

For users of ``anomaly_jax`` on their own features (the hydrophone archive
feeds flattened, standardised log-mel context windows, e.g. 5 x 64 = 320)::

  cfg = DetectorConfig(input_dim=320)   # cfg.train: the TrainConfig
  det = train_detector(x_typical, cfg, workdir="runs/det")  # resumes
  scores = det.score(x_new)   # {"ae", "vae", "gmm_nll", "np"} -> [N] each
  det.save("runs/det/final"); det = Detector.load("runs/det/final")

All scores are "higher = more anomalous".  The model is the dense
encoder/decoder of ``models.py`` inside the ``Gumiho`` of ``vae.py``.
"""
import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax import gmm as gmm_lib
from anomaly_jax import losses
from anomaly_jax import models
from anomaly_jax import train as train_lib
from anomaly_jax import vae
from jaxtk import batching
from jaxtk import checkpoint
from jaxtk.errors import DataError


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
  input_dim: int               # feature size (e.g. 5 frames x 64 mels = 320)
  h_dim: int = 128             # encoder/decoder interface width
  hidden: tuple = (256,)       # hidden widths of the dense encoder/decoders
  # The training schedule and hyper-parameters (z_dim, the GMM, the steps,
  # the NP objective's rho / tau, the generator's quantile and proposal).
  train: train_lib.TrainConfig = train_lib.TrainConfig(
      batch_size=256, steps_ae=1000)

  @classmethod
  def from_dict(cls, d: dict, where: str) -> "DetectorConfig":
    """The config of ``as_dict``'s output (read from file ``where``)."""
    try:
      return cls(**{**d, "hidden": tuple(d["hidden"]),
                    "train": train_lib.TrainConfig(**d["train"])})
    except (TypeError, KeyError, ValueError) as e:
      raise DataError(where, f"not a DetectorConfig: {e}") from e

  def as_dict(self) -> dict:
    """Plain JSON types (tuples as lists, enums as their values)."""
    return json.loads(json.dumps(dataclasses.asdict(self)))


def build_models(cfg: DetectorConfig) -> tuple[vae.Gumiho, vae.Gumiho]:
  """The dense Gumiho (tails "vae", "np") and the plain AE (tail "ae")."""
  hidden = tuple(cfg.hidden)
  z_dim = cfg.train.z_dim
  dec = lambda: models.DenseDecoder(cfg.input_dim, hidden[::-1])
  g = vae.Gumiho(models.DenseEncoder(cfg.h_dim, hidden), cfg.h_dim, z_dim)
  g = g.add_tail(train_lib.VAE, dec()).add_tail(train_lib.NP, dec())
  ae = vae.Gumiho(models.DenseEncoder(cfg.h_dim, hidden), cfg.h_dim,
                  z_dim, variational=False).add_tail(train_lib.AE, dec())
  return g, ae


def make_score_fn(model: vae.Gumiho, ae_model: vae.Gumiho | None,
                  trained: train_lib.Trained, np_relative: float = 0.0):
  """``[batch, input_dim] -> {"ae"?, "vae", "gmm_nll", "np"}``, jitted once
  per batch shape (the parameters are arguments, not baked-in constants);
  ``np_relative``: the power of the VAE tail's error that "np" is divided
  by (``losses.np_error``)."""
  with_ae = ae_model is not None and bool(trained.ae_params)

  @jax.jit
  def fn(t: train_lib.Trained, x):
    mu, _ = vae.encode(model, t.params, x)
    out = {"vae": vae.recon_error(model, t.params, x, train_lib.VAE),
           "np": losses.np_error(model, t.params, x, relative=np_relative),
           "gmm_nll": gmm_lib.nll(t.gmm, mu)}
    if with_ae:
      out["ae"] = vae.recon_error(ae_model, t.ae_params, x, train_lib.AE)
    return out

  return lambda x: fn(trained, x)


class Detector:
  """A trained detector: dense Gumiho + GMM (+ the plain-AE baseline)."""

  def __init__(self, cfg: DetectorConfig, trained: train_lib.Trained):
    self.cfg = cfg
    self.trained = trained
    self.model, self.ae_model = build_models(cfg)
    self._fn = make_score_fn(self.model, self.ae_model, trained,
                             cfg.train.np_relative)

  def _check(self, x, where: str) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[1] != self.cfg.input_dim or not len(x):
      raise DataError(where, f"expected a non-empty [N, {self.cfg.input_dim}]"
                      f" float array, got shape {x.shape}", field="x")
    if not np.all(np.isfinite(x)):
      raise DataError(where, "x contains NaN or inf", field="x")
    return x

  def score(self, x: np.ndarray, batch_size: int = 4096
            ) -> dict[str, np.ndarray]:
    """Anomaly scores, each ``[N]``, higher = more anomalous.

    Args:
      x: ``[N, input_dim]`` features, prepared like the training data.
      batch_size: rows per jitted call (the last batch is padded).

    Returns:
      ``{"vae", "np", "gmm_nll"}`` plus ``"ae"`` when a baseline was trained:
      VAE-tail and NP-tail reconstruction errors (summed squared error; the
      NP one over the VAE one to the power ``cfg.train.np_relative``), the
      GMM NLL of the latent mean, and the plain AE's error.
    """
    x = self._check(x, "Detector.score")
    return batching.apply_in_batches(self._fn, x, batch_size)

  def save(self, path: str) -> None:
    """Writes the parameters and config under directory ``path``."""
    ck = checkpoint.Checkpoints(os.path.abspath(path))
    last = ck.latest_step()  # overwrite: a newer step; orbax drops the old
    ck.save(0 if last is None else last + 1, _as_state(self.trained),
            {"config": self.cfg.as_dict()})
    ck.close()
    # The config again as plain JSON: ``load`` needs it to build the
    # parameter structure before it can restore the checkpoint.
    with open(os.path.join(path, "config.json"), "w") as f:
      json.dump(self.cfg.as_dict(), f, indent=1)

  @classmethod
  def load(cls, path: str) -> "Detector":
    """Reads a detector written by ``save``."""
    cfg_path = os.path.join(path, "config.json")
    if not os.path.exists(cfg_path):
      raise DataError(path, "no saved detector here (Detector.save writes "
                      "config.json and a checkpoint)")
    with open(cfg_path) as f:
      cfg = DetectorConfig.from_dict(json.load(f), cfg_path)
    ck = checkpoint.Checkpoints(os.path.abspath(path))
    like = _as_state(_untrained(cfg))
    state, _ = ck.restore(like)
    ck.close()
    return cls(cfg, _from_state(state))


def _as_state(t: train_lib.Trained) -> dict:
  s = {"params": t.params, "gmm": t.gmm._asdict(), "thr": t.nll_threshold}
  if t.ae_params:
    s["ae_params"] = t.ae_params
  return s


def _from_state(s: dict) -> train_lib.Trained:
  return train_lib.Trained(s["params"], s.get("ae_params", {}),
                           gmm_lib.GMMState(**s["gmm"]), s["thr"])


def _untrained(cfg: DetectorConfig) -> train_lib.Trained:
  model, ae = build_models(cfg)
  x = jnp.zeros((2, cfg.input_dim))
  tc = cfg.train
  return train_lib.Trained(
      vae.init(model, jax.random.key(0), x),
      vae.init(ae, jax.random.key(1), x) if tc.steps_ae else {},
      train_lib._placeholder_gmm(tc.n_components, tc.z_dim), jnp.zeros(()))  # pylint: disable=protected-access


def train_detector(x: np.ndarray, cfg: DetectorConfig,
                   workdir: str | None = None,
                   x_typical: np.ndarray | None = None) -> Detector:
  """Trains (or resumes from ``workdir``) a detector on feature vectors.

  Args:
    x: ``[N, input_dim]`` float32 unlabelled feature vectors (phase 1).
    cfg: the configuration.
    workdir: checkpoints after every stage and ``metrics.jsonl``; a stopped
      run resumes at the last completed stage.  None: nothing written.
    x_typical: optional ``[M, input_dim]`` known-typical vectors for the NP
      phase, the GMM and the AE baseline (default: ``x`` itself).
  """
  x = np.asarray(x, np.float32)
  if x.ndim != 2 or x.shape[1] != cfg.input_dim:
    raise DataError("train_detector", f"expected [N, {cfg.input_dim}] "
                    f"features, got shape {x.shape}", field="x")
  if len(x) < max(2, cfg.train.n_components):
    raise DataError("train_detector", f"need at least "
                    f"{cfg.train.n_components} "
                    f"rows, got {len(x)}", field="x")
  if not np.all(np.isfinite(x)):
    raise DataError("train_detector", "x contains NaN or inf", field="x")
  x_t = x if x_typical is None else np.asarray(x_typical, np.float32)
  model, ae = build_models(cfg)
  trained = train_lib.train(model, x, x_t, cfg.train, workdir, ae)
  return Detector(cfg, trained)
