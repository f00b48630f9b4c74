r"""What each voice source and augmentation of the large corpus adds to
trained embeddings: one fine-tuning run per ablation, each on the same
number of training tokens, scored on the large corpus' dev/test and on real
speech (``awe_jax.realcheck``).

  python experiments/awe_ablate.py --root=runs/ablate \
      --ablations=all,no-kokoro,no-reverb --epochs=40

Each run starts from ``--init_from`` (the default model) with the default
config, so a row measures what its training tokens teach on top of it.
Resumable: a rerun keeps the ablated corpora, resumes unfinished training
runs and skips finished ones.  Writes ``<root>/table.md``.
"""
import json
import os
import sys

from absl import app
from absl import flags

from jaxtk import errors
from jaxtk import logs
from jaxtk import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", "data/corpus-large", "the complete corpus")
flags.DEFINE_string("root", "runs/ablate", "ablated corpora and runs")
flags.DEFINE_list("ablations", "all,no-kokoro,no-debian,no-reverb,no-codecs",
                  "awe_jax.corpus.ablate.ABLATIONS names (also no-piper, "
                  "no-wideband)")
flags.DEFINE_integer("n", 24000, "training tokens of every ablation")
flags.DEFINE_integer("epochs", 40, "epochs of every run")
flags.DEFINE_string("init_from", "models/awe-small", "the exported model "
                    "every run starts from")
flags.DEFINE_integer("seed", 0, "draw of the training tokens")


def _row(name, info, final, real):
  a, c = real["acoustic"], real["crossview_all"]
  k = real.get("crossview_ktuberling", {})
  return (f"| {name} | {info['train_tokens']:,} | {final['dev_crossview_ap']:.3f}"
          f" | {final['test_acoustic_ap']:.3f} / {final['test_crossview_ap']:.3f}"
          f" | {a['model_ap']:.3f} | {c['top1']:.3f} / {c['top5']:.3f} / "
          f"{c['ap']:.3f} | {k.get('top1', float('nan')):.3f} |")


HEADER = ("| ablation | train tokens | large dev cross-view AP (best) | "
          "large test acoustic / cross-view AP | real acoustic AP | "
          "real words top-1 / top-5 / AP | ktuberling top-1 |\n"
          "|---|---|---|---|---|---|---|")


def main(argv):
  del argv
  xla_cpu.use_measured_defaults()
  logs.quiet_libraries()
  # pylint: disable=g-import-not-at-top
  from awe_jax import configs, train
  from awe_jax.corpus import ablate
  from awe_jax.realspeech import check
  rows = []
  for name in FLAGS.ablations:
    data_dir = os.path.join(FLAGS.root, name, "data")
    workdir = os.path.join(FLAGS.root, name, "run")
    try:
      info = ablate.make(FLAGS.data_dir, data_dir, name, FLAGS.n, FLAGS.seed)
      final_path = os.path.join(workdir, "final.json")
      if os.path.exists(final_path):
        with open(final_path) as f:
          final = json.load(f)
      else:
        config = configs.override(configs.default(), epochs=FLAGS.epochs)
        final = train.train_and_evaluate(config, workdir, data_dir,
                                         FLAGS.init_from)
      real_path = os.path.join(workdir, check.RESULT_FILE)
      if os.path.exists(real_path):
        with open(real_path) as f:
          real = json.load(f)
      else:
        real = check.run(workdir, data_dir, out=real_path)
    except (errors.DataError, train.NonFiniteLossError) as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
    rows.append(_row(name, info, final, real))
    table = "\n".join([HEADER] + rows)
    with open(os.path.join(FLAGS.root, "table.md"), "w") as f:
      f.write(table + "\n")
    print(table, flush=True)


if __name__ == "__main__":
  app.run(main)
