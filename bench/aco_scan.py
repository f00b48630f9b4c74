"""ACO scan speed: ours vs the seed's stack, as audio seconds per second.

  PYTHONPATH=$PWD python bench/aco_scan.py [--files 6 --repeats 3]

Builds a small archive of 5-minute 24 kHz files (half 16-bit, half 24-bit)
in a temporary directory and times, per stage, on the same files:

* decode: ``reader.read_file`` (whole file at once) vs the seed's way, a
  per-record reader written here (``naive_read``: a Python loop over records,
  header by ``np.frombuffer``, payload by ``np.unpackbits`` and a dot with
  the bit weights, as ``ACDio.py`` does);
* features: the jitted JAX log-mel + windows (``features.file_features``) vs
  ``librosa.power_to_db(librosa.feature.melspectrogram(...))`` + numpy
  windows and standardisation;
* full scan: ``scan.scan`` itself for ours (decode-ahead thread, JAX
  features, detector scores, SQLite store), naive decode + librosa features
  + the same detector for the seed's stack; and ``scan.scan`` split over two
  processes as ``aco_main.py --num_processes=2`` does (one per core) (the seed's PyTorch model is not
  installed; the scoring model is the same for both, so the ratio is the
  decode and feature path's).

Wall-clock times exclude the one-off jit compilation (a warm-up file first);
ours and the seed's stack are timed in turn, ``--repeats`` times, best kept.
Printed as audio seconds per wall-clock second and ratios ours / seed.
"""
import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
import librosa
from anomaly_jax import detector as det_lib
from anomaly_jax.aco import features, fmt, reader, scan, synth
from anomaly_jax.aco.store import Store


def naive_read(path):
  """The seed's reader: one record at a time (header, then payload bits)."""
  start, _ = fmt.parse_name(path)
  dtype = fmt.LAYOUTS[fmt.layout_for(start)]
  raw = open(path, "rb").read()
  out, off = [], 0
  while off + fmt.HEADER_BYTES <= len(raw):
    h = np.frombuffer(raw, dtype, 1, off)[0]
    bits = int(h["bits"])
    n = fmt.payload_bytes(bits)
    pay = np.frombuffer(raw, np.uint8, n, off + fmt.HEADER_BYTES)
    b = np.unpackbits(pay, bitorder="little").reshape(-1, bits)
    v = b.astype(np.int64) @ (1 << np.arange(bits, dtype=np.int64))
    v[v >= 1 << (bits - 1)] -= 1 << bits
    out.append((v / float(1 << (bits - 1))).astype(np.float32))
    off += fmt.HEADER_BYTES + n
  return np.concatenate(out)


def librosa_windows(x, cfg: features.MelConfig, mean, std):
  db = librosa.power_to_db(librosa.feature.melspectrogram(
      y=x, sr=cfg.rate, n_fft=cfg.n_fft, hop_length=cfg.hop,
      n_mels=cfg.n_mels, fmin=cfg.fmin), ref=1.0, amin=cfg.amin,
                           top_db=None).T
  db = db - np.median(db, axis=0)
  n = cfg.n_windows(x.size)
  idx = (cfg.first_frame + np.arange(n)[:, None] * cfg.stride +
         np.arange(cfg.context))
  return (db[idx].reshape(n, -1) - mean) / std


_WORKER = r"""
import os, sys, time, numpy as np
from anomaly_jax import detector as det_lib
from anomaly_jax.aco import features, scan
from anomaly_jax.aco.store import Store
tmp, basedir, i, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), 2
paths = open(os.path.join(tmp, "paths.txt")).read().split()
st = np.load(os.path.join(tmp, "std.npz"))
det = det_lib.Detector.load(os.path.join(tmp, "det"))
cfg = features.MelConfig(stride=4)
x = scan.decode_float(paths[0])[1]  # warm-up: compile, not timed
det.score(features.file_features(x, cfg, st["mean"], st["std"])[0], 2048)
store = Store(os.path.join(tmp, "two.sqlite"))
open(os.path.join(tmp, f"ready{i}"), "w").close()
while not all(os.path.exists(os.path.join(tmp, f"ready{k}")) for k in (0, 1)):
  time.sleep(0.01)
t0 = time.time()
res = scan.scan(paths, basedir, cfg, lambda w: det.score(w, batch_size=2048),
                "np", store, st["mean"], st["std"], i, n, bar=False)
print("TIMES", t0, time.time(), res.audio_seconds)
"""


def two_processes(tmp, basedir, paths, det, mean, std):
  """Audio s per wall s of ``scan.scan`` split over 2 processes (the
  ``jax.process_index()`` split of aco_main, started here without the
  coordinator), timed from the common start to the last finish."""
  det.save(os.path.join(tmp, "det"))
  np.savez(os.path.join(tmp, "std.npz"), mean=mean, std=std)
  with open(os.path.join(tmp, "paths.txt"), "w") as f:
    f.write("\n".join(paths))
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  # One core each: XLA's own intra-op threads would oversubscribe the two.
  env = dict(os.environ, PYTHONPATH=repo, XLA_FLAGS=(
      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"))
  procs = [subprocess.Popen([sys.executable, "-c", _WORKER, tmp, basedir,
                             str(i)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
           for i in (0, 1)]
  rows = [next(l for l in p.communicate()[0].splitlines()
               if l.startswith("TIMES")).split()[1:] for p in procs]
  t = np.array(rows, float)
  return t[:, 2].sum() / (t[:, 1].max() - t[:, 0].min())


def timed(fn, paths, repeats):
  best = np.inf
  for _ in range(repeats):
    t = time.perf_counter()
    for p in paths:
      fn(p)
    best = min(best, time.perf_counter() - t)
  return best


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--files", type=int, default=6)
  ap.add_argument("--repeats", type=int, default=3)
  args = ap.parse_args()
  cfg = features.MelConfig(stride=4)
  tmp = tempfile.mkdtemp(prefix="aco_bench_")
  half = max(1, args.files // 2)
  basedir = synth.build(os.path.join(tmp, "arch"), synth.SynthConfig(
      n_days=2, blocks=((5, half),), damage=False))
  paths = sorted(scan.select_files(
      [os.path.join(r, f) for r, _, fs in os.walk(basedir) for f in fs
       if ".HYD" in f], None, None))[:args.files]
  audio = sum(reader.read_file(p).duration for p in paths)
  warm = paths[0]
  x0 = scan.decode_float(warm)[1]
  win0, _ = features.file_features(x0, cfg)
  mean, std = win0.mean(0), win0.std(0) + 1e-3
  det = det_lib.train_detector(
      (win0[:2000] - mean) / std, det_lib.DetectorConfig(
          input_dim=cfg.dim, eras=1, steps_vae=20, steps_np=10, steps_ae=0))
  det.score(win0[:10], batch_size=2048)

  def ours_features(p):
    return features.file_features(scan.decode_float(p)[1], cfg, mean, std)

  def ours_scan_all(_):
    db = os.path.join(tmp, f"scan{time.perf_counter_ns()}.sqlite")
    scan.scan(paths, basedir, cfg, lambda w: det.score(w, batch_size=2048),
              "np", Store(db), mean, std, bar=False)

  def seed_scan(p):
    return det.score(librosa_windows(naive_read(p), cfg, mean, std),
                     batch_size=2048)

  np.testing.assert_allclose(naive_read(warm), x0, atol=0)  # same samples
  rows = []
  for name, ours, seed in (
      ("decode", lambda p: scan.decode_float(p), naive_read),
      ("features", ours_features,
       lambda p: librosa_windows(scan.decode_float(p)[1], cfg, mean, std)),
      ("full scan", ours_scan_all, seed_scan)):
    ours(warm)
    seed(warm)
    t_ours, t_seed = np.inf, np.inf
    for _ in range(args.repeats):  # interleaved: both see the same load
      t_ours = min(t_ours, timed(ours, ["all"] if name == "full scan"
                                 else paths, 1))
      t_seed = min(t_seed, timed(seed, paths, 1))
    rows.append((name, audio / t_ours, audio / t_seed))
  two = two_processes(tmp, basedir, paths, det, mean, std)
  rows.append(("scan, 2 processes", two, rows[-1][2]))
  print(f"{len(paths)} files, {audio:.0f} s of 24 kHz audio, "
        f"{os.cpu_count()} CPUs, {dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC")
  print(f"{'stage':<18} {'ours (x real time)':>19} {'seed stack':>11} "
        f"{'ratio':>7}")
  for name, o, s in rows:
    print(f"{name:<18} {o:19.0f} {s:11.0f} {o / s:7.1f}")
  print("(features: ours = decode + JAX log-mel + windows, seed = decode + "
        "librosa + numpy windows; the 2-process row is compared with the "
        "seed's one-process full scan)")


if __name__ == "__main__":
  main()
