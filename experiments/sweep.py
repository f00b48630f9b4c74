"""Sweeps: Rhodes & Bains' Table 1 (layers) and Table 2 (heads), and the
effect of each transformer option (:mod:`awe_jax.sweep` documents the rows,
the resumption and the outputs).

  python experiments/sweep.py --sweep=layers   # layers 1, 4, 8 x pool mean, first
  python experiments/sweep.py --sweep=heads    # heads 1, 4, 8, 16, 32 at 4 layers
  python experiments/sweep.py --sweep=heads --budget_minutes=20   # CPU cap per row
  python experiments/sweep.py --sweep=flags --budget_minutes=8    # one option per row

The config flags (``--d_model``, ``--pre_ln``, ...) override the sweep's
base config; a row's own settings win over them.
"""
import os
import sys

from absl import app
from absl import flags

from awe_jax import config_flags
from awe_jax import sweep
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_enum("sweep", None, list(sweep.SWEEPS), "which table to reproduce")
flags.mark_flag_as_required("sweep")
flags.DEFINE_string("data_dir", None, "corpus (default: the embedded one)")
flags.DEFINE_string("workdir", None, "default runs/sweep-<sweep>")
flags.DEFINE_list("rows", [], "row indices to run (default: all)")
config_flags.define_config_flags(base_flag=False)
flags.DEFINE_alias("budget_minutes", "max_minutes")


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()  # before the first JAX computation
  config = config_flags.config_from_flags(sweep.base_config(FLAGS.sweep))
  rows = sweep.select(sweep.SWEEPS[FLAGS.sweep].rows(),
                      [int(i) for i in FLAGS.rows])
  workdir = FLAGS.workdir or os.path.join("runs", f"sweep-{FLAGS.sweep}")
  data_dir = FLAGS.data_dir
  if data_dir is None:
    from awe_jax import corpus  # pylint: disable=g-import-not-at-top
    data_dir = corpus.ensure_corpus()
  try:
    results = sweep.run_sweep(config, rows, workdir, data_dir)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print(sweep.write_outputs(FLAGS.sweep, sweep.SWEEPS[FLAGS.sweep].rows(),
                            results, workdir))
  print(f"outputs in {workdir}: table.md, table.png, results.json")


if __name__ == "__main__":
  app.run(main)
