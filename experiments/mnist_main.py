"""MNIST anomaly detection: the seed paper's three-phase model vs baselines.

  python experiments/mnist_main.py --workdir runs/mnist

Trains a plain conv AE (DCASE-style baseline) and the conv Gumiho network
(VAE tail, NP discriminator tail, GMM on typical latents), then prints AUC,
pAUC (FPR <= 0.1) and TPR at FPR = rho of four scores on the same held-out
digits, writes ``results.json`` and PNGs to ``--workdir``.  Re-running with
the same ``--workdir`` resumes from the last completed stage.  Every flag
but ``--workdir`` is a field of ``mnist.MnistConfig`` (or its ``train``),
unset flags keep the config's defaults.
"""
import json
import os

from absl import app
from absl import flags
from absl import logging

from anomaly_jax import mnist
from anomaly_jax import train as train_lib
from jaxtk import configs

_d = mnist.MnistConfig()
_t = _d.train
flags.DEFINE_string("workdir", "runs/mnist", "checkpoints, metrics, PNGs")
flags.DEFINE_list("anomalous", None, f"anomalous digits (default "
                  f"{','.join(map(str, _d.anomalous))})")
flags.DEFINE_list("typical", None, "typical digits (default: all the others)")
flags.DEFINE_float("contamination", None, "anomalous fraction of the "
                   f"unlabelled phase-1 data (default {_d.contamination})")
flags.DEFINE_float("eval_fraction", None,
                   f"held-out share (default {_d.eval_fraction})")
flags.DEFINE_integer("h_dim", None,
                     f"encoder/decoder interface width (default {_d.h_dim})")
flags.DEFINE_integer("eras", None, f"repetitions of the three phases "
                     f"(default {_t.eras})")
flags.DEFINE_integer("seed", None, f"PRNG seed, also of the data split "
                     f"(default {_t.seed})")
flags.DEFINE_integer("z_dim", None, f"latent size, 2 adds latent.png "
                     f"(default {_t.z_dim})")
flags.DEFINE_integer("n_components", None,
                     f"GMM components (default {_t.n_components})")
flags.DEFINE_integer("steps_ae", None,
                     f"baseline AE steps (default {_t.steps_ae})")
flags.DEFINE_integer("steps_vae", None,
                     f"phase-1 steps per era (default {_t.steps_vae})")
flags.DEFINE_integer("steps_np", None,
                     f"phase-2 steps per era (default {_t.steps_np})")
flags.DEFINE_integer("batch_size", None,
                     f"batch size (default {_t.batch_size})")
flags.DEFINE_float("lr", None, f"Adam learning rate (default {_t.lr})")
flags.DEFINE_float("rho", None,
                   f"target FPR of the NP objective (default {_t.rho})")
flags.DEFINE_float("tau", None, "sigmoid temperature, log-error units "
                   f"(default {_t.tau})")
flags.DEFINE_float("quantile", None, "typical-latent NLL quantile used as "
                   f"rejection threshold (default {_t.quantile})")
flags.DEFINE_float("beta", None, f"KL weight (default {_t.beta})")
flags.DEFINE_float("np_recon_weight", None, "weight of the typical log error "
                   f"in the NP phase (default {_t.np_recon_weight})")
flags.DEFINE_enum("proposal", None, [p.value for p in train_lib.Proposal],
                  "generator candidates: N(0,I) or the unlabelled latent "
                  f"means (default {_t.proposal.value})")
FLAGS = flags.FLAGS


def _ints(values):
  return None if values is None else tuple(int(v) for v in values)


def config_from_flags() -> mnist.MnistConfig:
  """``MnistConfig()`` with every set flag of the same name applied."""
  names = set(configs.field_paths(_d)) & set(FLAGS)
  given = {n: FLAGS[n].value for n in names}
  given.update(anomalous=_ints(FLAGS.anomalous),
               typical=_ints(FLAGS.typical))
  return configs.override(_d, **given)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  out = mnist.train_and_evaluate(config_from_flags(), FLAGS.workdir)
  print(out["table"])
  print(f"wall time {out['wall_seconds']:.0f} s; "
        f"{json.dumps(out['n'])}; results in "
        f"{os.path.join(FLAGS.workdir, 'results.json')}")


if __name__ == "__main__":
  app.run(main)
