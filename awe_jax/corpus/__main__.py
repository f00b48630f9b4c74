"""Command line: ``python -m awe_jax.corpus {build,dtw-ap} [--small] ...``.

  build    build (or resume) the corpus; prints counts per split.
  dtw-ap   MFCC+DTW same-different AP on --n tokens of a split (all pairs).

``--seed`` overrides the corpus config's field of that name through
:func:`jaxtk.configs.override`, as every script's flags do.
"""
import os
import sys
import time

from absl import app
from absl import flags
import numpy as np

from awe_jax import data as data_lib
from awe_jax.corpus import build as build_lib
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib
from jaxtk import configs as jaxtk_configs

COMMANDS = ("build", "dtw-ap")


def define_flags(fv: flags.FlagValues = flags.FLAGS):
  """The command's flags, on ``fv`` (tests pass their own FlagValues)."""
  flags.DEFINE_bool("small", False, "60 types / 600 tokens instead of "
                    "600 / 10,000", flag_values=fv)
  flags.DEFINE_integer("seed", None, "corpus seed (default: the config's, 0)",
                       flag_values=fv)
  flags.DEFINE_string("data_dir", None, "default: $AWE_JAX_DATA/corpus[-small] "
                      "or <repo>/data/corpus[-small]", flag_values=fv)
  flags.DEFINE_integer("jobs", 2, "worker processes", flag_values=fv)
  flags.DEFINE_bool("force", False, "build: rebuild a complete corpus "
                    "(reusing WAVs)", flag_values=fv)
  flags.DEFINE_integer("n", 1000, "dtw-ap: tokens scored (all their pairs)",
                       flag_values=fv)
  flags.DEFINE_enum("split", "dev", list(plan_lib.SPLITS), "dtw-ap: split",
                    flag_values=fv)


def _config(fv):
  base = plan_lib.SMALL if fv.small else plan_lib.DEFAULT
  return jaxtk_configs.override(base, seed=fv.seed)


def cmd_build(fv):
  cfg = _config(fv)
  data_dir = fv.data_dir or build_lib.default_dir(fv.small)
  with build_lib.build_lock(data_dir):
    if build_lib.is_complete(data_dir, cfg) and not fv.force:
      print(f"corpus in {data_dir} is complete (config {cfg.digest()}); "
            "--force rebuilds (reusing WAVs)")
      return
    build_lib.build(cfg, data_dir, jobs=fv.jobs)


def cmd_dtw_ap(fv):
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top  (numba start-up)
  cfg = _config(fv)
  data_dir = fv.data_dir or build_lib.default_dir(fv.small)
  with build_lib.build_lock(data_dir):
    if not build_lib.is_complete(data_dir, cfg):
      build_lib.build(cfg, data_dir, jobs=fv.jobs)
  vocab = data_lib.read_vocab(os.path.join(data_dir, "vocab.json"))
  seg = data_lib.load_split(data_dir, fv.split, vocab)
  n = min(fv.n, len(seg))
  idx = np.sort(np.random.default_rng(cfg.seed).permutation(len(seg))[:n])
  feats = [seg.feats[i] for i in idx]
  words = seg.words[idx]
  start = time.time()
  ap = dtw.dtw_acoustic_ap(feats, words)
  n_pos = int(sum(c * (c - 1) // 2 for c in
                  np.unique(words, return_counts=True)[1]))
  print(f"MFCC+DTW AP on {fv.split} of {data_dir}: {ap:.4f} ({n} tokens, "
        f"{len(set(words))} types, {n * (n - 1) // 2} pairs, {n_pos} same-word; "
        f"{time.time() - start:.0f} s)")


def run(argv, fv: flags.FlagValues = flags.FLAGS):
  """Runs the command named in ``argv[1]`` with the parsed flags ``fv``."""
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"expected one command, one of: {', '.join(COMMANDS)}"
                         f"; got {argv[1:]}")
  try:
    if argv[1] == "build":
      cmd_build(fv)
    else:
      cmd_dtw_ap(fv)
  except (voices_lib.SynthesiserMissing, voices_lib.SynthesisError) as e:
    sys.exit(f"error: {e}")


def main():
  define_flags()
  app.run(run)


if __name__ == "__main__":
  main()
