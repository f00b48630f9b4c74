"""Our log-space EM vs ``sklearn.mixture.GaussianMixture`` (full covariance).

  PYTHONPATH=$PWD python bench/gmm_em.py [--n 200000 --d 16 --k 8 --iters 20]

Both start from the same parameters (our k-means++ init is handed to sklearn
as ``weights_init``/``means_init``/``precisions_init``) and run the same
number of EM iterations (``max_iter=iters, tol=0``).  Printed: wall time of
each (ours excludes the one-off compile, timed separately), the ratio, and the
final mean log-likelihood of the data under each fitted model.
"""
import argparse
import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from anomaly_jax import gmm  # pylint: disable=g-import-not-at-top,wrong-import-position


def make_data(n, d, k, seed):
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(k, d)) * 3
  a = rng.normal(size=(k, d, d)) / np.sqrt(d)
  comp = rng.integers(0, k, n)
  x = centres[comp] + np.einsum("nde,ne->nd", a[comp], rng.normal(size=(n, d)))
  return x.astype(np.float32)


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--n", type=int, default=200_000)
  ap.add_argument("--d", type=int, default=16)
  ap.add_argument("--k", type=int, default=8)
  ap.add_argument("--iters", type=int, default=20)
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--seed", type=int, default=0)
  args = ap.parse_args()
  from sklearn.mixture import GaussianMixture  # pylint: disable=g-import-not-at-top

  x = make_data(args.n, args.d, args.k, args.seed)
  xj = jnp.asarray(x)
  state0 = gmm.init(jax.random.key(args.seed), xj, args.k)
  jax.block_until_ready(state0)

  t = time.perf_counter()
  jax.block_until_ready(gmm.fit_from(state0, xj, args.iters, 0.0))
  compile_s = time.perf_counter() - t
  ours = []
  for _ in range(args.repeats):
    t = time.perf_counter()
    st = jax.block_until_ready(gmm.fit_from(state0, xj, args.iters, 0.0))
    ours.append(time.perf_counter() - t)
  ll_ours = float(jnp.mean(gmm.log_prob(st, xj)))

  w0 = np.exp(np.asarray(state0.log_weights, np.float64))
  prec = np.linalg.inv(np.asarray(state0.covariances, np.float64))
  sk_t = []
  for _ in range(args.repeats):
    sk = GaussianMixture(args.k, covariance_type="full", tol=0.0,
                         max_iter=args.iters, reg_covar=1e-6,
                         weights_init=w0 / w0.sum(),
                         means_init=np.asarray(state0.means, np.float64),
                         precisions_init=prec, random_state=0)
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 on purpose
      t = time.perf_counter()
      sk.fit(x.astype(np.float64))
      sk_t.append(time.perf_counter() - t)
  ll_sk = float(sk.score(x.astype(np.float64)))

  o, s = min(ours), min(sk_t)
  print(f"N={args.n} D={args.d} K={args.k} iters={args.iters} "
        f"(best of {args.repeats}; devices: {jax.devices()[0].platform})")
  print(f"ours   : {o:.3f} s  (+ {compile_s - o:.2f} s compile, once)")
  print(f"sklearn: {s:.3f} s  (n_iter_={sk.n_iter_})")
  print(f"speed-up (sklearn / ours): {s / o:.2f}x")
  print(f"mean log-likelihood: ours {ll_ours:.6f}  sklearn {ll_sk:.6f}  "
        f"|diff| {abs(ll_ours - ll_sk):.2e}")


if __name__ == "__main__":
  main()
