"""Scanning an archive: decode, features, score, store; file by file.

The file list is split over hosts by ``jax.process_index()`` /
``jax.process_count()`` (every ``count``-th file), all hosts write the same
SQLite store, and files already in it are skipped, so a stopped scan
resumes where it stopped.  A damaged file is logged with its reason, stored
as an error and skipped: it never stops the scan.
"""
import concurrent.futures
import dataclasses
import datetime as dt
import os
import time
from typing import Callable

from absl import logging
import numpy as np

from anomaly_jax.aco import features, fmt, reader
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError
from jaxtk.progress import progress

EPOCH = dt.datetime(1970, 1, 1)


def unix(t: dt.datetime) -> float:
  return (t - EPOCH).total_seconds()


def decode_float(path: str) -> tuple[reader.Decoded, np.ndarray]:
  """A file's samples, float32 ``[n]`` in full scale of each record's width."""
  d = reader.read_file(path)
  bits = d.bits
  if (bits == bits[0]).all():
    x = d.samples.astype(np.float32) * np.float32(2.0 ** (1 - int(bits[0])))
  else:
    counts = np.diff(np.r_[d.record_offsets, d.samples.size])
    scale = np.repeat(np.ldexp(1.0, 1 - bits.astype(np.int32)), counts)
    x = (d.samples * scale).astype(np.float32)
  return d, x


def select_files(paths: list[str], start: dt.datetime | None,
                 end: dt.datetime | None, hours=None) -> list[str]:
  """Paths whose name time is in ``[start, end)`` and (if given) whose UTC
  hour is in ``hours``; unparseable names are kept (the scan reports them)."""
  out = []
  for p in paths:
    try:
      t, _ = fmt.parse_name(p)
    except DataError:
      out.append(p)
      continue
    if ((start is None or t >= start) and (end is None or t < end) and
        (hours is None or t.hour in hours)):
      out.append(p)
  return out


def shard(paths: list[str], index: int, count: int) -> list[str]:
  """This host's share: every ``count``-th path from ``index``."""
  return paths[index::count]


def typical_windows(paths: list[str], cfg: features.MelConfig,
                    per_file: int, seed: int = 0) -> np.ndarray:
  """Unstandardised context windows sampled from typical files.

  Returns:
    float32 ``[N, cfg.dim]``, up to ``per_file`` windows from each readable
    file (damaged files are logged and skipped).
  """
  rng = np.random.default_rng(seed)
  out = []
  for p in progress(paths, desc="features (typical)", unit="file",
                    disable=False):
    try:
      _, x = decode_float(p)
    except DataError as e:
      logging.warning("skipped for training: %s", e)
      continue
    win, _ = features.file_features(x, cfg)
    take = rng.choice(len(win), min(per_file, len(win)), replace=False)
    out.append(win[np.sort(take)])
  if not out:
    raise DataError(os.path.commonpath(paths) if paths else "archive",
                    "no readable typical files to train on")
  return np.concatenate(out)


def _load(path: str, rate: int):
  """(path, start, Decoded, float samples, error): never raises DataError."""
  start = None
  try:
    start, _ = fmt.parse_name(path)
    d, x = decode_float(path)
    if d.rate != rate:
      raise DataError(path, f"{d.rate} Hz, but the features are set up for "
                      f"{rate} Hz (--rate)")
    return path, start, d, x, None
  except DataError as e:
    return path, start, None, None, e


@dataclasses.dataclass
class ScanResult:
  scanned: int = 0
  skipped: int = 0       # already in the store
  errors: int = 0
  audio_seconds: float = 0.0
  wall: float = 0.0

  @property
  def speed(self) -> float:
    """Audio seconds per wall-clock second."""
    return self.audio_seconds / self.wall if self.wall else 0.0


def scan(paths: list[str], basedir: str, cfg: features.MelConfig,
         scorer: Callable[[np.ndarray], dict], score_key: str, store: Store,
         mean: np.ndarray, std: np.ndarray, process_index: int = 0,
         process_count: int = 1, bar: bool = True) -> ScanResult:
  """Scores this host's share of ``paths`` into ``store``.

  Args:
    paths: all files to scan (every host passes the same list).
    basedir: archive root (the store keeps paths relative to it).
    cfg: feature parameters.
    scorer: ``[W, cfg.dim] -> {name: [W]}`` (``Detector.score``).
    score_key: which of the scorer's outputs is "score".
    store: the results database.
    mean, std: ``[cfg.dim]`` training standardisation.
    process_index, process_count: this host and how many there are.
    bar: show a progress bar (also in logs).
  """
  res = ScanResult()
  mine = shard(paths, process_index, process_count)
  done = store.done()
  todo = [p for p in mine if os.path.relpath(p, basedir) not in done]
  res.skipped = len(mine) - len(todo)
  t_all = time.perf_counter()
  # Decode the next file in a thread while this one is scored (numpy and
  # XLA release the GIL, so the two overlap on two cores).
  with concurrent.futures.ThreadPoolExecutor(1) as pool:
    nxt = pool.submit(_load, todo[0], cfg.rate) if todo else None
    for i in progress(range(len(todo)), desc=f"scan {process_index}/"
                      f"{process_count}", unit="file",
                      disable=not bar):  # shown in nohup logs too
      p, start, d, x, err = nxt.result()
      nxt = pool.submit(_load, todo[i + 1], cfg.rate) if i + 1 < len(
          todo) else None
      rel = os.path.relpath(p, basedir)
      t0 = time.perf_counter()
      if err is not None:
        logging.warning("skipped: %s", err)
        store.add_error(rel, unix(start) if start else 0.0, str(err),
                        process_index)
        res.errors += 1
        continue
      win, energy = features.file_features(x, cfg, mean, std)
      scores = {k: np.asarray(v) for k, v in scorer(win).items()} if len(
          win) else {}
      scores["energy"] = energy
      scores["score"] = scores.get(score_key, np.zeros(len(win)))
      times = unix(start) + cfg.window_times(len(win))
      for msg in d.issues:
        logging.info("%s: %s", rel, msg)
      store.add_file(rel, unix(start), d.duration, times, scores, d.issues,
                     process_index, time.perf_counter() - t0)
      res.scanned += 1
      res.audio_seconds += d.duration
  res.wall = time.perf_counter() - t_all
  return res
