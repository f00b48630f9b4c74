"""Scores a trained AWE model on words recorded by people (Debian packages).

  python -m awe_jax.realcheck --workdir runs/awe

Prints acoustic AP (model and MFCC+DTW on the same pairs) and cross-view
top-1 / top-5 / AP, and writes ``<workdir>/realcheck.json``.  The packages
are fetched once by ``python -m awe_jax.realspeech fetch`` (scripts/setup.sh
does it).  See docs/realspeech.md.
"""
import os

from absl import app
from absl import flags

from awe_jax.realspeech import words
from jaxtk import logs
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/awe", "the training run to check")
flags.DEFINE_string("data_dir", None, "the data the run was trained on "
                    "(default: the embedded corpus' directory)")
flags.DEFINE_string("realspeech_dir", None, "the fetched packages (default: "
                    "$AWE_JAX_DATA/realspeech or <repo>/data/realspeech)")
flags.DEFINE_string("out", None, "the JSON of the scores (default: "
                    "<workdir>/realcheck.json)")
flags.DEFINE_string("distractor_dir", None, "a corpus whose vocabulary "
                    "gives the \"+ vocabulary\" distractors (default: "
                    "--data_dir's), e.g. the default corpus, to rank two "
                    "models against the same candidate words")
flags.DEFINE_multi_enum("sources", None, list(words.SOURCE_NAMES),
                        "speaker sources to use (repeatable; default: all)")


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()
  logs.quiet_libraries()
  from awe_jax.realspeech import check  # pylint: disable=g-import-not-at-top
  data_dir = FLAGS.data_dir
  if data_dir is None:
    from awe_jax.corpus import build  # pylint: disable=g-import-not-at-top
    data_dir = build.default_dir()
  out = FLAGS.out or os.path.join(FLAGS.workdir, check.RESULT_FILE)
  result = check.run(FLAGS.workdir, data_dir, FLAGS.realspeech_dir,
                     FLAGS.sources, out, FLAGS.distractor_dir)
  print(check.format_report(result))
  print(f"scores in {out}")


if __name__ == "__main__":
  app.run(main)
