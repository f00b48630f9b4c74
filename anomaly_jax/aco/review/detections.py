"""What the review reads of a scan, through small adapters over ``Store``.

``load(workdir, archive)``: the ranked detections (``Store.detections()``,
with the planted kinds from ``evaluation`` when the archive has ground
truth); ``files(workdir)``: the scanned files (``Store.files()``);
``window_scores(workdir)``: the score over time; ``version(workdir)``: a
fingerprint of the detections, to notice a rescan.  This module is the only
place of the review that knows the scan's outputs.
"""
import dataclasses
import datetime as dt
import os
import sqlite3

from anomaly_jax.aco import evaluation, fmt
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError

STORE = "scores.sqlite"


def unix(t: dt.datetime) -> float:
  return fmt.unix(t)


def utc(t: float) -> dt.datetime:
  return fmt.utc(t)


def iso(t: float) -> str:
  return utc(t).isoformat(timespec="milliseconds")


@dataclasses.dataclass(frozen=True)
class Det:
  """One detection.

  Attributes:
    id: its rank (1 = highest score): the id in URLs.
    start, end, peak: Unix seconds (UTC).
    score: the peak window's score.
    path: the file of the peak, relative to the archive.
    planted: kind(s) of the planted events it overlaps ("" for none or when
      there is no ground truth).
  """
  id: int
  start: float
  end: float
  peak: float
  score: float
  path: str
  planted: str = ""

  @property
  def key(self) -> str:
    """Stable across re-ranking: the file and the peak time (ms)."""
    return f"{self.path}@{self.peak:.3f}"

  def as_json(self) -> dict:
    return {"id": self.id, "start": iso(self.start), "end": iso(self.end),
            "peak": iso(self.peak), "t": self.peak, "score": self.score,
            "seconds": round(self.end - self.start, 3), "file": self.path,
            "planted": self.planted, "key": self.key}


def _store_path(workdir: str) -> str:
  path = os.path.join(workdir, STORE)
  if not os.path.exists(path):
    raise DataError(path, "no scan here: run experiments/aco_main.py "
                    f"--workdir={workdir} first")
  return path


def load(workdir: str, archive: str | None = None) -> list[Det]:
  """The ranked detections of the scan in ``workdir`` (best first).

  Args:
    workdir: the scan's workdir (its ``scores.sqlite``).
    archive: the archive it scanned; with ground truth (the synthetic
      archive) each detection gets the kinds it overlaps (``planted``).

  Raises:
    DataError: no store in ``workdir`` (run the scan first).
  """
  store = Store(_store_path(workdir))
  try:
    rows = store.detections()
  finally:
    store.close()
  out = [Det(r["rank"], r["start"], r["end"], r["peak"], r["score"],
             r["path"] or "") for r in rows]
  if archive and out and evaluation.has_ground_truth(archive):
    kinds = evaluation.kinds_of(out, archive)
    out = [dataclasses.replace(d, planted=k) for d, k in zip(out, kinds)]
  return out


def version(workdir: str) -> tuple | None:
  """Changes when the scan rewrites its detections (None: no store)."""
  path = os.path.join(workdir, STORE)
  if not os.path.exists(path):
    return None
  db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
  try:
    return db.execute("SELECT COUNT(*), TOTAL(score), TOTAL(peak), "
                      "TOTAL(start) FROM detections").fetchone()
  except sqlite3.OperationalError:  # no detections table yet
    return None
  finally:
    db.close()


@dataclasses.dataclass(frozen=True)
class File:
  """One scanned archive file: ``path`` relative to the archive, ``start``
  Unix s (from its name), ``seconds`` of audio decoded (0 if damaged)."""
  path: str
  start: float
  seconds: float


def files(workdir: str) -> list[File]:
  """The scanned files, by time (``Store.files()``; empty without a
  store)."""
  path = os.path.join(workdir, STORE)
  if not os.path.exists(path):
    return []
  store = Store(path)
  try:
    rows = store.files()
  finally:
    store.close()
  return [File(r["path"], float(r["start"] or 0.0),
               float(r["seconds"] or 0.0)) for r in rows]


def window_scores(workdir: str, seconds: float = 10.0) -> dict:
  """The scan's window score, max over ``seconds`` bins: ``{"t": [B] bin
  start (Unix s), "score": [B]}`` (lists; empty without a store)."""
  path = os.path.join(workdir, STORE)
  if not os.path.exists(path):
    return {"t": [], "score": []}
  db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
  try:
    rows = db.execute(
        "SELECT CAST(t / ? AS INTEGER) AS b, MAX(score) FROM windows "
        "WHERE score IS NOT NULL GROUP BY b ORDER BY b", (seconds,)).fetchall()
  finally:
    db.close()
  return {"t": [b * seconds for b, _ in rows], "score": [s for _, s in rows]}
