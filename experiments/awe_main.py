"""Trains and evaluates multi-view transformer acoustic word embeddings.

Default: a modest model on the embedded spoken-word corpus (built on first
use), under 10 minutes on 2 CPU cores.  The paper's configuration, and the
large recipe on the ``--size large`` corpus (docs/voices.md)::

  python experiments/awe_main.py --config=paper
  python experiments/awe_main.py --config=large --workdir=runs/awe-large
  python experiments/awe_main.py --layers=4 --heads=16   # phone view only

Flags override the chosen config; ``--flagfile`` works as in any absl app.
"""
import sys

from absl import app
from absl import flags
from absl import logging

from awe_jax import config_flags
from jaxtk import errors
from jaxtk import logs
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
config_flags.define_config_flags()
flags.DEFINE_string("data_dir", None, "agwe or Kaldi data directory "
                    "(default: the embedded corpus of --corpus_size)")
flags.DEFINE_enum("corpus_size", None, ["small", "default", "large"],
                  "embedded corpus when --data_dir is not given (default: "
                  "large for --config=large, else default, built on first "
                  "use; the large one must be built first, docs/voices.md)")
flags.DEFINE_string("workdir", "runs/awe", "checkpoints, logs, embeddings, plots")
flags.DEFINE_bool("eval_only", False, "score the best checkpoint of --workdir")
flags.DEFINE_string("init_from", None, "an exported model directory (e.g. "
                    "models/awe-large) whose parameters start the run "
                    "(fine-tuning; the config must match it)")


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()  # before the first JAX computation
  logs.quiet_libraries()
  from awe_jax import train  # pylint: disable=g-import-not-at-top
  config = config_flags.config_from_flags()
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
      out = train.train_and_evaluate(config, FLAGS.workdir, data_dir,
                                     FLAGS.init_from)
    except (train.NonFiniteLossError, errors.DataError) as e:
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
