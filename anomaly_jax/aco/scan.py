"""Scanning an archive in one process: decode, features, score, store.

``FileScorer`` turns one file into a ``FileResult`` (its windows' times and
scores, or the reason it is damaged); the Beam pipeline (``beam_scan``)
runs the same scorer in its workers.  ``scan`` runs it here, a few files
at once in threads (each decodes its file, then ``analysis.analyse``, one
XLA program, and the detector), and stores each result in one transaction,
in the files' order, so a stopped scan resumes by skipping the files
already in the store.  A damaged file (bad records, unreadable, vanished,
permission denied) is stored with its reason and never stops the scan.
"""
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import os
import time
from typing import Callable

from absl import logging
import numpy as np

from anomaly_jax import detector as det_lib
from anomaly_jax.aco import (analysis, features, fmt, fusion, peer, pulse,
                             reader, tonal)
from anomaly_jax.aco.config import ScoreKey
from anomaly_jax.aco.store import SCORE_KEYS, FileResult, Store
from jaxtk import configs
from jaxtk.errors import DataError
from jaxtk.progress import progress


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


def typical_windows(paths: list[str], cfg: features.MelConfig,
                    per_file: int, seed: int = 0,
                    low: pulse.PulseConfig | None = None,
                    tonal_cfg: tonal.TonalConfig | None = None):
  """Unstandardised context windows sampled from typical files.

  Returns:
    float32 ``[N, cfg.dim]``, up to ``per_file`` windows from each readable
    file (damaged files are logged and skipped); with ``low``, a triple:
    those windows, and per readable file all its windows (``[W, cfg.dim]``)
    and its branch scores ``{"low": [W]}`` (and ``"tonal"`` with
    ``tonal_cfg``), for ``fusion.fit``.
  """
  rng = np.random.default_rng(seed)
  out, whole, low_out = [], [], []
  for p in progress(paths, desc="features (typical)", unit="file",
                    disable=False):
    try:
      _, x = decode_float(p)
    except (DataError, OSError) as e:
      logging.warning("skipped for training: %s", e)
      continue
    a = analysis.analyse(x, cfg, low=low,
                         tone=None if low is None else tonal_cfg)
    win = a.windows
    take = np.sort(rng.choice(len(win), min(per_file, len(win)),
                              replace=False))
    out.append(win[take])
    if low is not None:
      whole.append(win)
      low_out.append({"low": a.low} if a.tonal is None else
                     {"low": a.low, "tonal": a.tonal})
  if not out:
    raise DataError(os.path.commonpath(paths) if paths else "archive",
                    "no readable typical files to train on")
  if low is not None:
    return np.concatenate(out), whole, low_out
  return np.concatenate(out)


@dataclasses.dataclass
class Loaded:
  """A decoded file, or why it could not be decoded."""
  path: str
  start: dt.datetime | None
  decoded: reader.Decoded | None = None
  samples: np.ndarray | None = None   # float32 [n]
  error: str | None = None


def load(path: str, rate: int) -> Loaded:
  """Decodes ``path``; never raises for a damaged or unreadable file."""
  start = None
  try:
    start, _ = fmt.parse_name(path)
    d, x = decode_float(path)
    if d.rate != rate:
      raise DataError(path, f"{d.rate} Hz, but the features are set up for "
                      f"{rate} Hz (--rate)")
    return Loaded(path, start, d, x)
  except DataError as e:
    return Loaded(path, start, error=str(e))
  except OSError as e:  # vanished, permission denied, I/O error
    return Loaded(path, start, error=f"{path}: {type(e).__name__}: "
                  f"{e.strerror or e}")


class FileScorer:
  """One file -> ``FileResult``, with the detector and standardisation.

  Args:
    cfg: feature parameters.
    scorer: ``[W, cfg.dim] -> {name: [W]}`` (``Detector.score``).
    score_key: which of the scorer's outputs is "score".
    mean, std: ``[cfg.dim]`` training standardisation.
    fuse: the training run's fusion (adds the scores "low", "fused" and,
      if fused, "tonal");
      None: neither.
  """

  def __init__(self, cfg: features.MelConfig,
               scorer: Callable[[np.ndarray], dict], score_key: str,
               mean: np.ndarray, std: np.ndarray,
               fuse: fusion.Fusion | None = None):
    self.cfg, self.scorer, self.fuse = cfg, scorer, fuse
    self.score_key = configs.choice("score", score_key, ScoreKey).value
    self.mean = np.asarray(mean, np.float32)
    self.std = np.asarray(std, np.float32)

  @classmethod
  def from_workdir(cls, workdir: str, cfg: features.MelConfig,
                   score_key: str) -> "FileScorer":
    """The detector (``workdir/detector``) and ``standardize.npz`` that
    ``training.train`` wrote."""
    fuse = fusion.load(workdir)
    if fuse is None and score_key in (ScoreKey.LOW, ScoreKey.FUSED,
                                      "low", "fused"):
      raise DataError(workdir, f"score={ScoreKey(score_key).value!r} needs "
                      f"the {fusion.FILE} of a training run with the low "
                      "branch: retrain (--mode=train) or pick --score=np")
    det = det_lib.Detector.load(os.path.join(workdir, "detector"))
    st = np.load(os.path.join(workdir, "standardize.npz"))
    return cls(cfg, lambda w: det.score(w, batch_size=2048), score_key,
               st["mean"], st["std"], fuse)

  def __call__(self, f: Loaded, rel: str) -> FileResult:
    """Scores loaded file ``f`` (stored under its archive-relative ``rel``)."""
    start = fmt.unix(f.start) if f.start else 0.0
    if f.error is not None:
      return FileResult(rel, start, error=f.error)
    t0 = time.perf_counter()
    fuse = self.fuse
    a = analysis.analyse(
        f.samples, self.cfg, self.mean, self.std,
        low=None if fuse is None else fuse.pulse,
        tone=fuse.tonal if fuse is not None and "tonal" in fuse.keys
        else None)
    win = a.windows
    scores = {"score": np.zeros(0)}
    if len(win):
      scores = {k: np.asarray(v) for k, v in self.scorer(win).items()}
      if fuse is not None:
        scores["low"] = a.low
        if a.tonal is not None:
          scores["tonal"] = a.tonal
        scores["fused"] = fuse(scores)
      if self.score_key not in scores:
        raise ValueError(f"score={self.score_key!r} is not an output of the "
                         f"detector: {', '.join(sorted(scores))}")
      scores["score"] = scores[self.score_key]
    scores["energy"] = a.energy
    scores["pcen"] = peer.window_scores(a.mels, self.cfg, len(win))
    times = start + self.cfg.window_times(len(win))
    return FileResult(rel, start, f.decoded.duration, times,
                      {k: v for k, v in scores.items() if k in SCORE_KEYS},
                      list(f.decoded.issues), time.perf_counter() - t0)

  def score_path(self, path: str, rel: str) -> FileResult:
    return self(load(path, self.cfg.rate), rel)


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


def scan(paths: list[str], basedir: str, file_scorer: FileScorer,
         store: Store, bar: bool = True, threads: int = 2) -> ScanResult:
  """Scores the files of ``paths`` not yet in ``store`` into it.

  Args:
    paths: files to scan.
    basedir: archive root (the store keeps paths relative to it).
    file_scorer: features and detector.
    store: the results database.
    bar: show a progress bar (also in logs).
    threads: files decoded and scored at once, each in a thread (numpy,
      scipy and XLA release the GIL: one file's host-side work runs beside
      another's XLA features); results are stored in the files' order.
  """
  if threads < 1:
    raise ValueError(f"threads={threads} must be >= 1")
  res = ScanResult()
  done = store.done()
  todo = [p for p in paths if os.path.relpath(p, basedir) not in done]
  res.skipped = len(paths) - len(todo)
  rate = file_scorer.cfg.rate

  def work(path):
    f = load(path, rate)
    return file_scorer(f, os.path.relpath(f.path, basedir))

  t_all = time.perf_counter()
  # ``threads`` files in flight and one more queued, so no worker waits; the
  # store writes in another thread behind them (its commit waits on the
  # disk, fsync, not on the CPU), one file at a time, in order, so a stopped
  # scan has stored a prefix of ``todo``.  A write's or a scorer's error is
  # raised here.
  with concurrent.futures.ThreadPoolExecutor(threads) as pool, \
      concurrent.futures.ThreadPoolExecutor(1) as writer:
    queued = iter(todo)
    pending = collections.deque(
        pool.submit(work, p) for p in itertools.islice(queued, threads + 1))
    written = None
    try:
      for _ in progress(range(len(todo)), desc="scan", unit="file",
                        disable=not bar):  # shown in nohup logs too
        r = pending.popleft().result()
        nxt = next(queued, None)
        if nxt is not None:
          pending.append(pool.submit(work, nxt))
        if written is not None:
          written.result()
        written = writer.submit(store.add, r)
        if r.error is not None:
          logging.warning("skipped: %s", r.error)
          res.errors += 1
          continue
        for msg in r.issues:
          logging.info("%s: %s", r.path, msg)
        res.scanned += 1
        res.audio_seconds += r.seconds
      if written is not None:
        written.result()
    finally:
      for f in pending:  # stopped: drop the files not started yet
        f.cancel()
  res.wall = time.perf_counter() - t_all
  return res
