r"""Scores a trained AWE run on another corpus' split (``awe_jax.transfer``):
all tokens, the tokens by speakers unseen in training, and of those the
words unseen in training.

  python experiments/awe_transfer.py --workdir=runs/awe-large \
      --train_dir=data/corpus-large-part --eval_dir=data/corpus
  python experiments/awe_transfer.py --workdir=models/awe-small \
      --train_dir=data/corpus --also_heard=data/corpus-large-part

Writes ``<workdir>/transfer.json``.
"""
import sys

from absl import app
from absl import flags

from jaxtk import errors
from jaxtk import logs
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/awe-large", "the training run to score")
flags.DEFINE_string("train_dir", None, "the data the run was trained on "
                    "(its vocabulary and speakers)", required=True)
flags.DEFINE_string("eval_dir", None, "the corpus to score (default: the "
                    "embedded corpus, built on first use)")
flags.DEFINE_string("split", "test", "the split of --eval_dir to score")
flags.DEFINE_multi_string("also_heard", [], "another model's training data: "
                          "its training speakers and words count as heard "
                          "too (both models scored on the same tokens)")
flags.DEFINE_string("out", None, "the JSON written (default: "
                    "<workdir>/transfer.json)")


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()
  logs.quiet_libraries()
  from awe_jax import corpus, transfer  # pylint: disable=g-import-not-at-top
  try:
    r = transfer.run(FLAGS.workdir, FLAGS.train_dir,
                     FLAGS.eval_dir or corpus.ensure_corpus(), FLAGS.split,
                     tuple(FLAGS.also_heard), FLAGS.out)
  except errors.DataError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print(transfer.format_report(r))


if __name__ == "__main__":
  app.run(main)
