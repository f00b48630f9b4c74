"""Acoustic and cross-view AP: our blocked on-device AP vs the codebase's.

The codebase (Settle et al., ``lib/metric/ap.py``) computes all pair
distances with ``scipy.spatial.distance.pdist``/``cdist``, argsorts them with
NumPy and walks the sorted positives.  That algorithm is re-implemented here
verbatim in NumPy as the baseline; ours is ``awe_jax.metrics``.  Default:
n = 11,000 random 256-d embeddings with 1,000 labels (the paper's test-set
size), cross-view against 1,000 word embeddings.  Above
``--baseline_max_n`` the baseline is skipped (its ``pdist`` alone would need
``8 n^2 / 2`` bytes: 40 GB at n = 100,000), so ``--n=100000`` times ours
alone at Switchboard scale (5.0e9 pairs).  Prints the peak RSS.

  python bench/ap_eval.py [--n=11000] [--labels=1000] [--dim=256]
  python bench/ap_eval.py --n=100000 --repeat=1
"""
import argparse
import os
import resource
import sys
import time

import numpy as np
from scipy.spatial.distance import cdist, pdist

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _compute_ap(pairs):
  pos = np.arange(1, np.sum(pairs) + 1)
  ranks = np.arange(1, len(pairs) + 1)[pairs]
  return np.sum(pos / ranks) / np.sum(pairs)


def codebase_acoustic_ap(x, y):
  n = len(x)
  order = pdist(x, metric="cosine").astype(np.float32).argsort()
  pairs = np.zeros(n * (n - 1) // 2, dtype=bool)
  i = 0
  for j in range(n):
    pairs[i:(i + n - j - 1)][y[j] == y[j + 1:]] = True
    i += n - j - 1
  return _compute_ap(pairs[order])


def codebase_crossview_ap(x1, y1, x2, y2):
  n, m = len(x1), len(x2)
  order = cdist(x1, x2, metric="cosine").astype(np.float32).ravel().argsort()
  pairs = np.zeros((n, m), dtype=bool)
  for j in range(m):
    pairs[y1 == y2[j], j] = True
  return _compute_ap(pairs.ravel()[order])


def timed(fn, *a, repeat=1):
  best = float("inf")
  for _ in range(repeat):
    t0 = time.perf_counter()
    out = fn(*a)
    best = min(best, time.perf_counter() - t0)
  return out, best


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--n", type=int, default=11000)
  p.add_argument("--labels", type=int, default=1000)
  p.add_argument("--dim", type=int, default=256)
  p.add_argument("--repeat", type=int, default=2)
  p.add_argument("--baseline_max_n", type=int, default=20000,
                 help="skip the codebase baseline above this n")
  args = p.parse_args()
  from awe_jax import metrics  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  x = rng.normal(size=(args.n, args.dim)).astype(np.float32)
  y = rng.integers(0, args.labels, args.n)
  w = rng.normal(size=(args.labels, args.dim)).astype(np.float32)
  wl = np.arange(args.labels)
  metrics.acoustic_ap(x[:600], y[:600])  # compile the small shapes' code path
  print(f"n={args.n}, {args.labels} labels, dim {args.dim}: "
        f"{args.n * (args.n - 1) // 2:,} acoustic pairs, "
        f"{args.n * args.labels:,} cross-view pairs")
  for name, ours, base in (
      ("acoustic AP", lambda: metrics.acoustic_ap(x, y),
       lambda: codebase_acoustic_ap(x, y)),
      ("cross-view AP", lambda: metrics.crossview_ap(x, y, w, wl),
       lambda: codebase_crossview_ap(x, y, w, wl))):
    if args.n <= args.baseline_max_n:
      ours()  # compile at this size (above it, compilation is timed too)
    a, t_ours = timed(ours, repeat=args.repeat)
    if args.n > args.baseline_max_n:
      print(f"{name:14s} ours {t_ours:6.2f} s  (ours {a:.6f}; codebase "
            f"skipped above n={args.baseline_max_n})", flush=True)
      continue
    b, t_base = timed(base)
    print(f"{name:14s} ours {t_ours:6.2f} s  codebase {t_base:6.2f} s  "
          f"speed-up {t_base / t_ours:5.1f}x  |diff| {abs(a - b):.2e} "
          f"(ours {a:.6f}, codebase {b:.6f})", flush=True)
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
  print(f"peak RSS {peak:.2f} GB (the process, baseline included)")


if __name__ == "__main__":
  main()
