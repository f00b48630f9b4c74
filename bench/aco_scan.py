"""ACO scan speed: ours vs the seed's stack, as audio seconds per second.

  python bench/aco_scan.py [--files 6 --repeats 3 --beam_files 24]

Builds a small archive of 5-minute 24 kHz files (half 16-bit, half 24-bit)
in a temporary directory and times, per stage, on the same files:

* decode: ``reader.read_file`` (whole file at once) vs the seed's way, a
  per-record reader written here (``naive_read``: a Python loop over records,
  header by ``np.frombuffer``, payload by ``np.unpackbits`` and a dot with
  the bit weights, as ``ACDio.py`` does);
* features: the jitted JAX log-mel + windows (``features.file_features``) vs
  ``librosa.power_to_db(librosa.feature.melspectrogram(...))`` + numpy
  windows and standardisation;
* full scan: ``scan.scan`` itself for ours (two files at once in threads,
  each file's features with the low bands and its low-frequency and tonal
  branches one XLA program, ``analysis.analyse``; detector scores, the
  PCEN peer, the fused score, the default ``--score=fused`` of
  ``aco_main.py``; SQLite store), naive decode + librosa features + the
  same detector for the seed's stack (the seed's PyTorch model is not
  installed; the scoring model is the same for both, so the ratio is the
  decode and feature path's);
* Beam: ``beam_scan.scan_archive`` on DirectRunner with ``--workers``
  worker processes (and threads), against ``scan.scan`` on the same
  ``--beam_files`` files in the same run.

Wall-clock times exclude the one-off jit compilation (a warm-up file first);
ours and the seed's stack are timed in turn, ``--repeats`` times, best kept.
Printed as audio seconds per wall-clock second and ratios ours / seed.
"""
import argparse
import datetime as dt
import os
import tempfile
import time

import librosa
import numpy as np

from anomaly_jax import detector as det_lib
from anomaly_jax import train as train_lib
from anomaly_jax.aco import (analysis, beam_scan, config, features, fmt,
                             training)
from anomaly_jax.aco import reader, scan, shards, synth
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
  # The seed had no low bands: zeros in their place, for the same detector.
  db = np.concatenate([np.zeros((len(db), cfg.bands - cfg.n_mels),
                                db.dtype), db], axis=1)
  n = cfg.n_windows(x.size)
  idx = (cfg.first_frame + np.arange(n)[:, None] * cfg.stride +
         np.arange(cfg.context))
  return (db[idx].reshape(n, -1) - mean) / std


def beam_rows(tmp, basedir, paths, det, mean, std, fuse, cfg, audio,
              workers):
  """Audio s per wall s of ``beam_scan.scan_archive`` on DirectRunner, per
  running mode: ``(name, whole run, steady state)``.  The whole run counts
  the workers' start-up (imports, detector load, jit compilation); the
  steady state is the files committed after every worker committed its
  first one, over the time between (from the shards' modification times).
  """
  work = os.path.join(tmp, "work")
  det.save(os.path.join(work, "detector"))
  np.savez(os.path.join(work, "standardize.npz"), mean=mean, std=std)
  fuse.save(work)
  per_file = audio / len(paths)
  rows = []
  for mode in ("multi_processing", "multi_threading"):
    sd = os.path.join(tmp, f"shards_{mode}")
    store = Store(os.path.join(tmp, f"beam_{mode}.sqlite"))
    t0 = time.perf_counter()
    beam_scan.scan_archive(paths, basedir, work, cfg, "fused", store,
                           config.BeamConfig(direct_num_workers=workers,
                                             direct_running_mode=mode), sd)
    wall = time.perf_counter() - t0
    t = np.sort([os.path.getmtime(p) for p in shards.committed(sd).values()])
    steady = (len(t) - workers) * per_file / (t[-1] - t[workers - 1])
    rows.append((f"Beam {mode}", audio / wall, steady))
  return rows


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
  ap.add_argument("--beam_files", type=int, default=24,
                  help="files of the Beam rows and their one-process peer")
  ap.add_argument("--workers", type=int, default=2,
                  help="DirectRunner workers (direct_num_workers)")
  args = ap.parse_args()
  cfg = config.MEL  # aco_main.py's features (with the low bands)
  tmp = tempfile.mkdtemp(prefix="aco_bench_")
  half = max(1, max(args.files, args.beam_files) // 2)
  basedir = synth.build(os.path.join(tmp, "arch"), synth.SynthConfig(
      n_days=2, blocks=((5, half),), damage=False))
  paths = sorted(scan.select_files(
      [os.path.join(r, f) for r, _, fs in os.walk(basedir) for f in fs
       if ".HYD" in f], None, None))
  beam_paths, paths = paths[:args.beam_files], paths[:args.files]
  audio = sum(reader.read_file(p).duration for p in paths)
  warm = paths[0]
  x0 = scan.decode_float(warm)[1]
  aco = config.AcoConfig()  # aco_main.py's branches and their fusion
  a0 = analysis.analyse(x0, cfg, low=aco.pulse, tone=aco.tonal)
  win0 = a0.windows
  mean, std = win0.mean(0), win0.std(0) + 1e-3
  det = det_lib.train_detector(
      (win0[:2000] - mean) / std, det_lib.DetectorConfig(
          input_dim=cfg.dim, train=train_lib.TrainConfig(
              eras=1, steps_vae=20, steps_np=10, steps_ae=0)))
  det.score(win0[:10], batch_size=2048)
  # The default score: NP fused with the low and tonal branches,
  # calibrated on file 0.
  fuse = training.fit_fusion(aco, [{k: np.asarray(v) for k, v in det.score(
      (win0 - mean) / std, batch_size=2048).items()} | {
          "low": a0.low, "tonal": a0.tonal}])

  def file_scorer():
    return scan.FileScorer(cfg, lambda w: det.score(w, batch_size=2048),
                           "fused", mean, std, fuse)

  def ours_features(p):
    return features.file_features(scan.decode_float(p)[1], cfg, mean, std)

  def ours_scan_all(_):
    db = os.path.join(tmp, f"scan{time.perf_counter_ns()}.sqlite")
    scan.scan(paths, basedir, file_scorer(), Store(db), bar=False)

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
  beam_audio = sum(reader.read_file(p).duration for p in beam_paths)
  one, brows = 0.0, []
  if beam_paths:
    t0 = time.perf_counter()
    scan.scan(beam_paths, basedir, file_scorer(),
              Store(os.path.join(tmp, "one.sqlite")), bar=False)
    one = beam_audio / (time.perf_counter() - t0)
    brows = beam_rows(tmp, basedir, beam_paths, det, mean, std, fuse, cfg,
                      beam_audio, args.workers)
  print(f"{len(paths)} files, {audio:.0f} s of 24 kHz audio, "
        f"{os.cpu_count()} CPUs, {dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC")
  print(f"{'stage':<18} {'ours (x real time)':>19} {'seed stack':>11} "
        f"{'ratio':>7}")
  for name, o, s in rows:
    print(f"{name:<18} {o:19.0f} {s:11.0f} {o / s:7.1f}")
  print("(features: ours = decode + JAX log-mel + windows, seed = decode + "
        "librosa + numpy windows)")
  if not brows:
    return
  print(f"\nBeam DirectRunner, {args.workers} workers, {len(beam_paths)} "
        f"files ({beam_audio:.0f} s), against scan.scan in this process "
        f"({one:.0f}x real time, jit warm):")
  print(f"{'engine':<28} {'whole run':>10} {'ratio':>6} {'steady':>8} "
        f"{'ratio':>6}")
  for name, whole, steady in brows:
    print(f"{name:<28} {whole:10.0f} {whole / one:6.2f} {steady:8.0f} "
          f"{steady / one:6.2f}")


if __name__ == "__main__":
  main()
