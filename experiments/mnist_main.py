"""MNIST anomaly detection: the seed paper's three-phase model vs baselines.

  PYTHONPATH=$PWD python experiments/mnist_main.py --workdir runs/mnist

Trains a plain conv AE (DCASE-style baseline) and the conv Gumiho network
(VAE tail, NP discriminator tail, GMM on typical latents), then prints AUC,
pAUC (FPR <= 0.1) and TPR at FPR = rho of four scores on the same held-out
digits, writes ``results.json`` and PNGs to ``--workdir``.  Re-running with
the same ``--workdir`` resumes from the last completed stage.
"""
import dataclasses
import json
import os
import sys

from absl import app
from absl import flags
from absl import logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from anomaly_jax import mnist  # pylint: disable=g-import-not-at-top,wrong-import-position
from anomaly_jax import train as train_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

_d = mnist.MnistConfig()
_t = _d.train
flags.DEFINE_string("workdir", "runs/mnist", "checkpoints, metrics, PNGs")
flags.DEFINE_list("anomalous", [str(d) for d in _d.anomalous],
                  "anomalous digits")
flags.DEFINE_list("typical", [], "typical digits (default: all the others)")
flags.DEFINE_float("contamination", _d.contamination,
                   "anomalous fraction of the unlabelled phase-1 data")
flags.DEFINE_float("eval_fraction", _d.eval_fraction, "held-out share")
flags.DEFINE_integer("eras", _t.eras, "repetitions of the three phases")
flags.DEFINE_integer("seed", _t.seed, "PRNG seed (also the data split)")
flags.DEFINE_integer("h_dim", _d.h_dim, "encoder/decoder interface width")
flags.DEFINE_integer("z_dim", _t.z_dim, "latent size (2 adds latent.png)")
flags.DEFINE_integer("n_components", _t.n_components, "GMM components")
flags.DEFINE_integer("steps_ae", _t.steps_ae, "baseline AE steps")
flags.DEFINE_integer("steps_vae", _t.steps_vae, "phase-1 steps per era")
flags.DEFINE_integer("steps_np", _t.steps_np, "phase-2 steps per era")
flags.DEFINE_integer("batch_size", _t.batch_size, "batch size")
flags.DEFINE_float("lr", _t.lr, "Adam learning rate")
flags.DEFINE_float("rho", _t.rho, "target FPR of the NP objective")
flags.DEFINE_float("tau", _t.tau, "sigmoid temperature (log-error units)")
flags.DEFINE_float("quantile", _t.quantile,
                   "typical-latent NLL quantile used as rejection threshold")
flags.DEFINE_float("beta", _t.beta, "KL weight")
flags.DEFINE_float("np_recon_weight", _t.np_recon_weight,
                   "weight of the typical log error in the NP phase")
flags.DEFINE_enum("proposal", _t.proposal, ["prior", "aggregate"],
                  "generator candidates: N(0,I) or the unlabelled latent means")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  # Every TrainConfig field that has a flag of the same name.
  tc = train_lib.TrainConfig(**{
      f.name: FLAGS[f.name].value
      for f in dataclasses.fields(train_lib.TrainConfig) if f.name in FLAGS})
  cfg = mnist.MnistConfig(
      anomalous=tuple(int(d) for d in FLAGS.anomalous),
      typical=tuple(int(d) for d in FLAGS.typical),
      contamination=FLAGS.contamination, eval_fraction=FLAGS.eval_fraction,
      h_dim=FLAGS.h_dim, train=tc)
  out = mnist.train_and_evaluate(cfg, FLAGS.workdir)
  print(out["table"])
  print(f"wall time {out['wall_seconds']:.0f} s; "
        f"{json.dumps(out['n'])}; results in "
        f"{os.path.join(FLAGS.workdir, 'results.json')}")


if __name__ == "__main__":
  app.run(main)
