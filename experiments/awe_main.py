"""Trains and evaluates multi-view transformer acoustic word embeddings.

Default: a modest model on the embedded spoken-word corpus (built on first
use), under 10 minutes on 2 CPU cores.  The paper's configuration, and the
large recipe on the ``--size large`` corpus (docs/voices.md)::

  python experiments/awe_main.py --config=paper
  python experiments/awe_main.py --config=large --workdir=runs/awe-large
  python experiments/awe_main.py --layers=4 --heads=16   # phone view only

Flags override the chosen config; ``--flagfile`` works as in any absl app.
"""
import dataclasses
import sys

from absl import app
from absl import flags
from absl import logging

from awe_jax import configs
from jaxtk import errors
from jaxtk import logs
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_enum("config", "default", ["default", "paper", "codebase",
                                        "large"],
                  "base config (awe_jax/configs.py): default (modest "
                  "transformer), paper (Rhodes & Bains), codebase (Settle et "
                  "al.'s BiGRU recipe), large (wider, for the large corpus); "
                  "flags below override it")
flags.DEFINE_enum("encoder", None, ["transformer", "bigru", "bilstm"],
                  "encoder of both views; bigru/bilstm are the codebase's "
                  "architecture (6 + 2 layers, 512 units per direction)")
flags.DEFINE_integer("layers", None, "phone-view encoder layers")
flags.DEFINE_integer("heads", None, "phone-view attention heads")
flags.DEFINE_integer("acoustic_layers", None, "acoustic-view encoder layers")
flags.DEFINE_integer("acoustic_heads", None, "acoustic-view attention heads")
flags.DEFINE_integer("d_model", None, "model width of both views")
flags.DEFINE_integer("d_ff", None, "feed-forward width")
flags.DEFINE_enum("pool", None, ["mean", "first", "cls"], "phone-view pooling")
flags.DEFINE_bool("pre_ln", None, "pre-LN layers instead of post-LN")
flags.DEFINE_integer("out_dim", None, "optional output projection (0: none)")
flags.DEFINE_integer("frame_stack", None, "acoustic frames concatenated per "
                     "position (1 = the paper)")
flags.DEFINE_integer("spec_time_masks", None, "SpecAugment time masks per "
                     "segment (training only; 0: off)")
flags.DEFINE_integer("spec_time_width", None, "maximum frames per time mask")
flags.DEFINE_integer("spec_freq_masks", None, "SpecAugment feature-band masks")
flags.DEFINE_integer("spec_freq_width", None, "maximum dims per feature band")
flags.DEFINE_float("margin", None, "hinge margin m")
flags.DEFINE_integer("topk", None, "initial k most offending negatives")
flags.DEFINE_integer("min_topk", None, "final k (k drops by 1 per step)")
flags.DEFINE_integer("batch_size", None, "word segments per step")
flags.DEFINE_float("lr", None, "initial Adam learning rate")
flags.DEFINE_float("grad_clip", None, "clip the global gradient norm (0: off)")
flags.DEFINE_integer("warmup_steps", None, "linear lr warm-up from 0 (0: off)")
flags.DEFINE_float("max_minutes", None, "wall-clock budget: stop after the "
                   "evaluation that crosses it (0: none)")
flags.DEFINE_integer("epochs", None, "maximum number of epochs")
flags.DEFINE_integer("patience", None, "evaluations without a better dev "
                     "cross-view AP before the lr is divided by 10")
flags.DEFINE_integer("eval_every_steps", None, "0: evaluate dev once per epoch")
flags.DEFINE_string("data_dir", None, "agwe or Kaldi data directory "
                    "(default: the embedded corpus of --corpus_size)")
flags.DEFINE_enum("corpus_size", None, ["small", "default", "large"],
                  "embedded corpus when --data_dir is not given (default: "
                  "large for --config=large, else default, built on first "
                  "use; the large one must be built first, docs/voices.md)")
flags.DEFINE_string("workdir", "runs/awe", "checkpoints, logs, embeddings, plots")
flags.DEFINE_integer("seed", None, "parameters, dropout and data order")
flags.DEFINE_bool("eval_only", False, "score the best checkpoint of --workdir")

_MODEL_FLAGS = {"layers": "phone_layers", "heads": "phone_heads",
                "acoustic_layers": "acoustic_layers",
                "acoustic_heads": "acoustic_heads", "d_model": "d_model",
                "d_ff": "d_ff", "pool": "pool", "pre_ln": "pre_ln",
                "out_dim": "out_dim", "frame_stack": "frame_stack",
                "encoder": "encoder", "spec_time_masks": "spec_time_masks",
                "spec_time_width": "spec_time_width",
                "spec_freq_masks": "spec_freq_masks",
                "spec_freq_width": "spec_freq_width"}
_TOP_FLAGS = ("margin", "topk", "min_topk", "batch_size", "lr", "grad_clip", "epochs",
              "eval_every_steps", "seed", "warmup_steps", "max_minutes",
              "patience")


def config_from_flags() -> configs.Config:
  base = {"default": configs.default, "paper": configs.paper,
          "codebase": configs.codebase, "large": configs.large}[FLAGS.config]()
  model = dataclasses.replace(base.model, **{
      field: FLAGS[name].value for name, field in _MODEL_FLAGS.items()
      if FLAGS[name].value is not None})
  top = {n: FLAGS[n].value for n in _TOP_FLAGS if FLAGS[n].value is not None}
  cfg = dataclasses.replace(base, model=model, **top)
  if cfg.min_topk > cfg.topk:
    cfg = dataclasses.replace(cfg, min_topk=cfg.topk)
  return cfg


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()  # before the first JAX computation
  logs.quiet_libraries()
  from awe_jax import train  # pylint: disable=g-import-not-at-top
  config = config_from_flags()
  data_dir = FLAGS.data_dir
  if data_dir is None:
    from awe_jax import corpus  # pylint: disable=g-import-not-at-top
    size = FLAGS.corpus_size or (
        "large" if FLAGS.config == "large" else "default")
    try:
      data_dir = (corpus.require_corpus(size) if size == "large" else
                  corpus.ensure_corpus(small=size == "small"))
    except errors.DataError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
  logging.info("config: %s", config)
  if FLAGS.eval_only:
    out = train.evaluate_only(config, FLAGS.workdir, data_dir)
  else:
    try:
      out = train.train_and_evaluate(config, FLAGS.workdir, data_dir)
    except train.NonFiniteLossError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
  print(f"dev:  acoustic AP {out['dev_acoustic_ap']:.4f}  "
        f"cross-view AP {out['dev_crossview_ap']:.4f}")
  print(f"test: acoustic AP {out['test_acoustic_ap']:.4f}  "
        f"cross-view AP {out['test_crossview_ap']:.4f}")
  print(f"outputs in {FLAGS.workdir}: metrics.jsonl, dev-embs.npz, "
        "test-embs.npz, dev-curves.png, dev-pca.png, final.json")


if __name__ == "__main__":
  app.run(main)
