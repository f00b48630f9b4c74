"""SQLite index of a scan: one row per file, per window and per detection.

One process writes it: the single-process scan, or the merge step of the
Beam scan (whose workers write per-file shards, ``shards.py``).  Windows are
keyed by ``(path, idx)`` and a file's rows go in one transaction with its
``files`` row, so a file is either wholly stored or not at all, and storing
a file again replaces its rows instead of duplicating them.  Other tables
in the file (the review's ``labels``) are left alone, also by ``clear``.

Read API (for the review app and scripts), all ordered and plain Python:

* ``Store.files()``: ``[{"path", "start", "seconds", "status" ("ok" or
  "error"), "reason", "issues", "n_windows", "max_score", ...}]``;
* ``Store.windows()``: ``{"path", "t", <SCORE_KEYS>}`` numpy arrays by time;
* ``Store.detections()``: ``[{"rank", "start", "end", "peak", "score",
  "path", "score_key", "threshold"}]``, best first; times are Unix seconds
  (``fmt.utc`` gives the datetime), ``path`` is relative to the archive.
"""
import dataclasses
import json
import os
import sqlite3
import time

import numpy as np

SCORE_KEYS = ("score", "energy", "vae", "np", "gmm_nll", "ae", "pcen", "low",
              "fused", "tonal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY,   -- relative to the archive
  start REAL,              -- Unix seconds (file name)
  seconds REAL,            -- audio decoded
  status TEXT,             -- 'ok' or 'error'
  reason TEXT,             -- the error, if any
  issues TEXT,             -- JSON list of decoder issues
  n_windows INTEGER,
  max_score REAL, p99_score REAL, mean_score REAL, max_energy REAL,
  wall REAL, done_at REAL);
CREATE TABLE IF NOT EXISTS windows (
  path TEXT, idx INTEGER, t REAL,  -- t: Unix seconds of the window centre
  score REAL, energy REAL, vae REAL, np REAL, gmm_nll REAL, ae REAL,
  pcen REAL,               -- the PCEN peer detector (peer.py)
  low REAL, fused REAL,    -- the low branch (pulse.py), fusion.py's score
  PRIMARY KEY (path, idx));
CREATE INDEX IF NOT EXISTS windows_t ON windows (t);
CREATE TABLE IF NOT EXISTS detections (
  rank INTEGER PRIMARY KEY,  -- 1 = highest peak score
  start REAL, end REAL, peak REAL,  -- Unix seconds
  score REAL,                -- peak window score
  path TEXT,                 -- file of the peak, relative to the archive
  score_key TEXT,            -- the detector output ranked
  threshold REAL);           -- windows above it were merged
"""
_TABLES = ("files", "windows", "detections")


@dataclasses.dataclass
class FileResult:
  """One scanned file: its windows' times and scores, or why it failed."""
  path: str                     # relative to the archive
  start: float                  # Unix seconds of the file name's time
  seconds: float = 0.0          # audio decoded
  times: np.ndarray = dataclasses.field(
      default_factory=lambda: np.zeros(0))  # float64 [W] window centres
  scores: dict = dataclasses.field(default_factory=dict)  # key -> [W]
  issues: list = dataclasses.field(default_factory=list)  # decoder notes
  wall: float = 0.0             # seconds spent on features and scores
  error: str | None = None      # damaged: the reason

  def columns(self) -> list[np.ndarray]:
    """float64 ``[W]`` per ``SCORE_KEYS`` entry (NaN where absent)."""
    n = self.times.size
    return [np.full(n, np.nan) if self.scores.get(k) is None
            else np.asarray(self.scores[k], np.float64) for k in SCORE_KEYS]


def _nan_to_none(c: np.ndarray) -> list:
  """``c`` (float64 ``[W]``) as Python floats, None (SQL NULL) for NaN."""
  nan = np.isnan(c)
  if not nan.any():
    return c.tolist()
  out = c.astype(object)
  out[nan] = None
  return out.tolist()


class Store:
  """The scan database at ``path`` (created if missing); one writer."""

  def __init__(self, path: str):
    self.path = path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # One writer at a time, possibly not the creating thread (the scan
    # stores a file in its writer thread while it scores the next).
    self.db = sqlite3.connect(path, timeout=60.0, check_same_thread=False)
    self.db.executescript(_SCHEMA)
    have = {r[1] for r in self.db.execute("PRAGMA table_info(windows)")}
    for k in SCORE_KEYS:  # an index written before the column existed
      if k not in have:
        self.db.execute(f"ALTER TABLE windows ADD COLUMN {k} REAL")
    self.db.commit()

  def done(self) -> set[str]:
    """Paths already stored (scored or found damaged)."""
    return {r[0] for r in self.db.execute("SELECT path FROM files")}

  def add(self, r: FileResult):
    """Stores (or replaces) one file's rows in one transaction."""
    n = r.times.size
    cols = r.columns()
    s, e = cols[0], cols[1]
    stats = ((float(s.max()), float(np.percentile(s, 99)), float(s.mean()),
              float(e.max())) if n else (None,) * 4)
    rows = list(zip([r.path] * n, range(n), r.times.tolist(),
                    *[_nan_to_none(c) for c in cols]))
    with self.db:
      self.db.execute("DELETE FROM windows WHERE path = ?", (r.path,))
      self.db.executemany(
          f"INSERT INTO windows (path, idx, t, {', '.join(SCORE_KEYS)}) "
          f"VALUES ({', '.join('?' * (3 + len(SCORE_KEYS)))})",
          rows)
      self.db.execute(
          "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
          (r.path, r.start, r.seconds, "error" if r.error else "ok", r.error,
           json.dumps(r.issues), n, *stats, r.wall, time.time()))

  def windows(self) -> dict[str, np.ndarray]:
    """Every window, by time: ``{"path", "t", <score keys>}`` arrays."""
    cur = self.db.execute(f"SELECT path, t, {', '.join(SCORE_KEYS)} "
                          "FROM windows ORDER BY t, path, idx")
    rows = cur.fetchall()
    out = {"path": np.array([r[0] for r in rows], dtype=object),
           "t": np.array([r[1] for r in rows], np.float64)}
    for i, k in enumerate(SCORE_KEYS):
      out[k] = np.array([np.nan if r[2 + i] is None else r[2 + i]
                         for r in rows], np.float64)
    return out

  def files(self) -> list[dict]:
    """Every file's row, by start time then path."""
    cur = self.db.execute("SELECT * FROM files ORDER BY start, path")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

  def set_detections(self, dets, score_key: str, threshold: float):
    """Replaces the detections with ``dets`` (``detect.Detection``, ranked)."""
    with self.db:
      self.db.execute("DELETE FROM detections")
      self.db.executemany(
          "INSERT INTO detections VALUES (?,?,?,?,?,?,?,?)",
          [(i + 1, d.start, d.end, d.peak_t, d.score, d.path, score_key,
            threshold) for i, d in enumerate(dets)])

  def detections(self) -> list[dict]:
    """The detections, best first (see the module docstring)."""
    cur = self.db.execute("SELECT * FROM detections ORDER BY rank")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

  def clear(self) -> dict[str, int]:
    """Deletes the scan's rows (files, windows, detections), e.g. when a
    new detector makes them stale; tables of other tools (the review's
    ``labels``) stay.  Returns ``{table: rows}`` of those kept."""
    with self.db:
      for table in _TABLES:
        self.db.execute(f"DELETE FROM {table}")
    names = [r[0] for r in self.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
        "LIKE 'sqlite_%'") if r[0] not in _TABLES]
    return {n: self.db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]
            for n in names}

  def close(self):
    self.db.close()
