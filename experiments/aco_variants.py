r"""Fusion settings compared on development archives without retraining.

  python experiments/aco_variants.py --workdir=runs/aco \
      --archives=seed10=data/aco-dev/seed10,mix-seed12=data/aco-dev/mix-seed12 \
      --tonal_quantiles=0.95,0.975,0.99

Scans the embedded archive (seed 0) and each ``--archives`` entry once with
the detector of ``--workdir`` (resumable), then for every combination of
the quantile lists refits the fusion on seed 0's typical hours and prints
the fused score's recall at 1 false alarm per hour per archive, with the
mean, worst and fin recall of the others (``anomaly_jax.aco.variants``).
Choose on development archives only; report on archives built after the
choice (``aco_heldout.py``).
"""
import itertools
import os
import sys

from absl import app
from absl import flags

from jaxtk import errors
from jaxtk import logs

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", "runs/aco", "a trained run (aco_main.py)")
flags.DEFINE_string("archive", None, "the embedded archive (seed 0; "
                    "default: the one aco_main.py builds)")
flags.DEFINE_list("archives", [], "name=path of development archives")
flags.DEFINE_list("np_quantiles", ["0.99"], "fuse_quantile values (the "
                  "detector's scores)")
flags.DEFINE_list("low_quantiles", ["0.98"], "fuse_low_quantile values")
flags.DEFINE_list("tonal_quantiles", ["0.975"], "fuse_tonal_quantile values")
flags.DEFINE_string("out", None, "also write the markdown table here")


def main(argv):
  del argv
  logs.quiet_libraries()
  # pylint: disable=g-import-not-at-top
  from anomaly_jax.aco import config, synth, variants
  archives = {"seed0": FLAGS.archive or synth.ensure_archive()}
  for item in FLAGS.archives:
    name, sep, path = item.partition("=")
    if not sep or not os.path.isdir(path):
      sys.exit(f"error: --archives entry {item!r}: expected name=directory "
               "of an archive")
    archives[name] = path
  grid = list(itertools.product(*[[float(v) for v in q] for q in (
      FLAGS.np_quantiles, FLAGS.low_quantiles, FLAGS.tonal_quantiles)]))
  try:
    rows = variants.compare(config.AcoConfig(workdir=FLAGS.workdir),
                            archives, grid)
  except errors.DataError as e:
    sys.exit(f"error: {e}")
  out = variants.table(rows)
  print(out)
  if FLAGS.out:
    with open(FLAGS.out, "w") as f:
      f.write(out + "\n")


if __name__ == "__main__":
  app.run(main)
