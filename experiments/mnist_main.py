"""MNIST anomaly detection: the seed paper's three-phase model vs baselines.

  python experiments/mnist_main.py --workdir runs/mnist

Trains a plain conv AE (DCASE-style baseline) and the conv Gumiho network
(VAE tail, NP discriminator tail, GMM on typical latents), then prints AUC,
pAUC (FPR <= 0.1), TPR at FPR = rho and the AUC per anomalous digit of four
scores on the same held-out digits, writes ``results.json`` and PNGs to ``--workdir``.  Re-running with
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
FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/mnist", "checkpoints, metrics, PNGs")
for _define, _name, _help in (
    (flags.DEFINE_list, "anomalous", "anomalous digits"),
    (flags.DEFINE_list, "typical", "typical digits (empty: all the others)"),
    (flags.DEFINE_float, "contamination",
     "anomalous fraction of the unlabelled phase-1 data"),
    (flags.DEFINE_float, "eval_fraction", "held-out share"),
    (flags.DEFINE_integer, "h_dim", "encoder/decoder interface width"),
    (flags.DEFINE_integer, "eras", "repetitions of the three phases"),
    (flags.DEFINE_integer, "seed", "PRNG seed, also of the data split"),
    (flags.DEFINE_integer, "z_dim", "latent size, 2 adds latent.png"),
    (flags.DEFINE_integer, "n_components", "GMM components"),
    (flags.DEFINE_integer, "steps_ae", "baseline AE steps"),
    (flags.DEFINE_integer, "steps_vae", "phase-1 steps per era"),
    (flags.DEFINE_integer, "steps_np", "phase-2 steps per era"),
    (flags.DEFINE_integer, "batch_size", "batch size"),
    (flags.DEFINE_float, "lr", "Adam learning rate"),
    (flags.DEFINE_float, "rho", "target FPR of the NP objective"),
    (flags.DEFINE_float, "tau", "sigmoid temperature, log-error units"),
    (flags.DEFINE_float, "quantile",
     "typical-latent NLL quantile used as rejection threshold"),
    (flags.DEFINE_float, "beta", "KL weight"),
    (flags.DEFINE_float, "np_recon_weight",
     "weight of the typical log error in the NP phase"),
    (flags.DEFINE_float, "np_relative", "NP score: the NP tail's error over "
     "the VAE tail's to this power (0: the raw error, 1: the ratio)")):
  configs.define_flag(_define, _name, _d, _help)
configs.define_flag(flags.DEFINE_enum, "proposal", _d, "generator candidates:"
                    " N(0,I) or the unlabelled latent means",
                    enum_values=[p.value for p in train_lib.Proposal])


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
