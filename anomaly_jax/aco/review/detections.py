"""What the review reads of a scan, through three small adapters.

``load(workdir)``: the ranked detections (today ``<workdir>/events.csv``,
see ``report.write_events``); ``files(workdir)``: the scanned files and
their lengths, and ``window_scores(workdir)``: the score over time (both
from the scan's SQLite, ``scores.sqlite``).  This module is the only place
that knows those outputs, so a change of the scan changes these functions.
"""
import csv
import dataclasses
import datetime as dt
import os
import sqlite3

from jaxtk.errors import DataError

EPOCH = dt.datetime(1970, 1, 1)
EVENTS = "events.csv"
STORE = "scores.sqlite"


def unix(t: dt.datetime) -> float:
  return (t - EPOCH).total_seconds()


def utc(t: float) -> dt.datetime:
  return EPOCH + dt.timedelta(seconds=float(t))


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


def _time(path: str, row: dict, field: str) -> float:
  try:
    return unix(dt.datetime.fromisoformat(row[field]))
  except (KeyError, TypeError, ValueError) as e:
    raise DataError(path, f"expected an ISO time, got {row.get(field)!r}",
                    field=field) from e


def load(workdir: str) -> list[Det]:
  """The ranked detections of the scan in ``workdir`` (best first).

  Raises:
    DataError: no ``events.csv`` (run the scan first) or a malformed row.
  """
  path = os.path.join(workdir, EVENTS)
  if not os.path.exists(path):
    raise DataError(path, "no detections here: run experiments/aco_main.py "
                    f"--workdir={workdir} first")
  out = []
  with open(path, newline="") as f:
    for i, row in enumerate(csv.DictReader(f)):
      try:
        score = float(row["score"])
      except (KeyError, TypeError, ValueError) as e:
        raise DataError(path, f"row {i + 1}: expected a number",
                        field="score") from e
      out.append(Det(i + 1, _time(path, row, "start"),
                     _time(path, row, "end"), _time(path, row, "peak"),
                     score, row.get("file") or "", row.get("planted") or ""))
  out.sort(key=lambda d: -d.score)
  return [dataclasses.replace(d, id=i + 1) for i, d in enumerate(out)]


@dataclasses.dataclass(frozen=True)
class File:
  """One scanned archive file: ``path`` relative to the archive, ``start``
  Unix s (from its name), ``seconds`` of audio decoded (0 if damaged)."""
  path: str
  start: float
  seconds: float


def files(workdir: str) -> list[File]:
  """The scanned files, by time, from the scan's SQLite ``files`` table
  (empty if there is no store)."""
  path = os.path.join(workdir, STORE)
  if not os.path.exists(path):
    return []
  db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
  try:
    rows = db.execute("SELECT path, start, seconds FROM files ORDER BY start"
                      ).fetchall()
  finally:
    db.close()
  return [File(p, float(s or 0.0), float(n or 0.0)) for p, s, n in rows]


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
