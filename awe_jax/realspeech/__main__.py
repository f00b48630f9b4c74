"""Command line: ``python -m awe_jax.realspeech {fetch,trim-ap}``.

  fetch    download (apt-get download), check (SHA-256) and extract the
           pinned Debian packages of the real-speech check, then cache their
           features; work already done is skipped.
  trim-ap  MFCC+DTW AP on the words said by two or more speakers for several
           trim thresholds (how loader.TRIM_DB was chosen).
"""
import sys

from absl import app
from absl import flags
import numpy as np

from awe_jax.realspeech import loader
from awe_jax.realspeech import packages

COMMANDS = ("fetch", "trim-ap")
flags.DEFINE_string("root", None, "default: $AWE_JAX_DATA/realspeech or "
                    "<repo>/data/realspeech")
flags.DEFINE_multi_float("top_db", [40, 35, 30, 25, 20],
                         "trim-ap: trim thresholds (dB below the peak)")
FLAGS = flags.FLAGS


def cmd_fetch(args):
  root = packages.fetch(args.root)
  rs = loader.load(root)
  print(f"realspeech: {len(packages.PACKAGES)} packages, {len(rs)} tokens of "
        f"{len(rs.pronunciations)} words ready in {root}")


def cmd_trim_ap(args):
  from awe_jax import dtw, metrics  # pylint: disable=g-import-not-at-top
  rs = loader.load(args.root)
  rs = rs.select(np.isin(rs.words, rs.shared_words()))
  pos = metrics.same_word_pairs(rs.words)
  cross = pos & ~metrics.same_word_pairs(rs.speakers)
  keep = cross | ~pos
  print("top_db  median_frames  dtw_ap  dtw_ap_cross_speaker")
  for top_db in args.top_db:
    feats = [loader.token_features(p, top_db) for p in rs.paths]
    d = dtw.dtw_pdist(feats)
    print(f"{top_db:6g}  {np.median([len(x) for x in feats]):13g}  "
          f"{metrics.average_precision(d, pos):.4f}  "
          f"{metrics.average_precision(d[keep], cross[keep]):.4f}")


def run(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"expected one command, one of: {', '.join(COMMANDS)}"
                         f"; got {argv[1:]}")
  try:
    {"fetch": cmd_fetch, "trim-ap": cmd_trim_ap}[argv[1]](FLAGS)
  except (RuntimeError, ValueError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(run)
