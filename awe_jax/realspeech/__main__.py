"""Command line: ``python -m awe_jax.realspeech {fetch,trim-ap}``.

  fetch    download (apt-get download), check (SHA-256) and extract the
           pinned Debian packages of the real-speech check, then cache their
           features; work already done is skipped.
  trim-ap  MFCC+DTW AP on the words said by two or more speakers for several
           trim thresholds (how loader.TRIM_DB was chosen).
"""
import argparse
import sys

import numpy as np

from awe_jax.realspeech import loader
from awe_jax.realspeech import packages


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


def main(argv=None):
  p = argparse.ArgumentParser(prog="python -m awe_jax.realspeech",
                              description=__doc__.split("\n")[0])
  sub = p.add_subparsers(dest="cmd", required=True)
  for name in ("fetch", "trim-ap"):
    s = sub.add_parser(name)
    s.add_argument("--root", default=None, help="default: "
                   "$AWE_JAX_DATA/realspeech or <repo>/data/realspeech")
  sub.choices["trim-ap"].add_argument(
      "--top_db", type=float, nargs="+", default=[40, 35, 30, 25, 20])
  args = p.parse_args(argv)
  try:
    {"fetch": cmd_fetch, "trim-ap": cmd_trim_ap}[args.cmd](args)
  except (RuntimeError, ValueError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  main()
