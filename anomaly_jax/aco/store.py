"""SQLite store of scan results: one row per file, one per window.

Several processes (the scan's hosts) write the same database: it runs in WAL
mode with a long busy timeout, and each file's rows go in one transaction
with its ``files`` row, so a file is either wholly scored or not at all: a
stopped scan resumes by skipping the files already in ``files``.
"""
import json
import os
import sqlite3
import time

import numpy as np

SCORE_KEYS = ("score", "energy", "vae", "np", "gmm_nll", "ae")

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
  process INTEGER, wall REAL, done_at REAL);
CREATE TABLE IF NOT EXISTS windows (
  path TEXT, idx INTEGER, t REAL,  -- t: Unix seconds of the window centre
  score REAL, energy REAL, vae REAL, np REAL, gmm_nll REAL, ae REAL);
CREATE INDEX IF NOT EXISTS windows_t ON windows (t);
"""


class Store:
  """The scan database at ``path`` (created if missing)."""

  def __init__(self, path: str):
    self.path = path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    self.db = sqlite3.connect(path, timeout=120.0)
    # Switching to WAL while another process creates the same database can
    # fail at once with "database is locked" (the busy timeout does not
    # cover it): retry for up to a minute.
    for attempt in range(240):
      try:
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.commit()
        break
      except sqlite3.OperationalError as e:
        if "locked" not in str(e) or attempt == 239:
          raise
        time.sleep(0.25)

  def done(self) -> set[str]:
    """Paths already scored (or found damaged)."""
    return {r[0] for r in self.db.execute("SELECT path FROM files")}

  def add_file(self, path: str, start: float, seconds: float,
               times: np.ndarray, scores: dict, issues: list, process: int,
               wall: float):
    """Stores one scored file (window ``times`` and each ``scores[k]``
    ``[W]``) in one transaction."""
    n = times.size
    cols = [np.full(n, np.nan) if scores.get(k) is None
            else np.asarray(scores[k], np.float64) for k in SCORE_KEYS]
    rows = zip([path] * n, range(n), times.tolist(),
               *[c.tolist() for c in cols])
    s, e = cols[0], cols[1]
    stats = ((float(s.max()), float(np.percentile(s, 99)), float(s.mean()),
              float(e.max())) if n else (None,) * 4)
    with self.db:
      self.db.executemany(
          "INSERT INTO windows VALUES (?,?,?,?,?,?,?,?,?)",
          [tuple(None if isinstance(v, float) and v != v else v for v in r)
           for r in rows])
      self.db.execute(
          "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
          (path, start, seconds, "ok", None, json.dumps(issues), n, *stats,
           process, wall, time.time()))

  def add_error(self, path: str, start: float, reason: str, process: int):
    with self.db:
      self.db.execute(
          "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
          (path, start, 0.0, "error", reason, "[]", 0, None, None, None, None,
           process, 0.0, time.time()))

  def windows(self) -> dict[str, np.ndarray]:
    """Every window, by time: ``{"path", "t", <score keys>}`` arrays."""
    cur = self.db.execute(f"SELECT path, t, {', '.join(SCORE_KEYS)} "
                          "FROM windows ORDER BY t")
    rows = cur.fetchall()
    out = {"path": np.array([r[0] for r in rows], dtype=object),
           "t": np.array([r[1] for r in rows], np.float64)}
    for i, k in enumerate(SCORE_KEYS):
      out[k] = np.array([np.nan if r[2 + i] is None else r[2 + i]
                         for r in rows], np.float64)
    return out

  def files(self) -> list[dict]:
    cur = self.db.execute("SELECT * FROM files ORDER BY start")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

  def close(self):
    self.db.close()
