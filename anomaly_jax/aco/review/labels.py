"""Reviewer labels in the scan's SQLite (``<workdir>/scores.sqlite``).

One table, ``labels``, created here, append-only: every answer is a new row
(label, kind, note, reviewer, time) and a detection's label is its latest
row.  Two browsers labelling at once therefore lose nothing: each insert is
its own transaction, SQLite serialises them (WAL mode, a busy timeout), and
the history stays.  Rows carry the detection's file, span and score, so
they still mean something after a re-scan ranks the detections anew.
"""
import os
import sqlite3
import time
import unicodedata

from anomaly_jax.aco.review.detections import Det

LABELS = ("true", "false", "unsure")
MAX_TEXT = {"kind": 40, "note": 2000, "reviewer": 60, "source": 200}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  det_key TEXT NOT NULL,        -- Det.key: file@peak (Unix s, 3 decimals)
  path TEXT, start REAL, end REAL, peak REAL, score REAL,
  label TEXT NOT NULL CHECK (label IN ('true', 'false', 'unsure')),
  kind TEXT, note TEXT, reviewer TEXT,
  time REAL,                    -- Unix s when answered
  source TEXT);                 -- 'web', 'raven:<file>', 'simulated', ...
CREATE INDEX IF NOT EXISTS labels_key ON labels (det_key, id);
"""


class LabelError(ValueError):
  """A label the reviewer sent is not acceptable (the web app's 400)."""


def _text(name: str, value) -> str:
  if value is None:
    return ""
  if not isinstance(value, str):
    raise LabelError(f"{name} must be a string, got {type(value).__name__}")
  if len(value) > MAX_TEXT[name]:
    raise LabelError(f"{name} is longer than {MAX_TEXT[name]} characters")
  if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
    raise LabelError(f"{name} holds control characters")
  return value.strip()


def check(label, kind=None, note=None, reviewer=None) -> dict:
  """The answer, validated.

  Raises:
    LabelError: ``label`` not one of ``LABELS``; a text field not a string,
      too long or with control characters; ``kind`` with a tab or newline
      (it becomes a column of the exported tables).
  """
  if label not in LABELS:
    raise LabelError(f"label={label!r} is not one of: {', '.join(LABELS)}")
  out = {"label": label, "kind": _text("kind", kind),
         "note": _text("note", note), "reviewer": _text("reviewer", reviewer)}
  if any(c in out["kind"] for c in "\t\n"):
    raise LabelError("kind holds a tab or a newline")
  return out


class Labels:
  """The ``labels`` table of the SQLite file at ``path`` (created if
  missing).  One instance per thread: ``sqlite3`` connections are not
  shared between threads."""

  def __init__(self, path: str):
    self.path = path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    self.db = sqlite3.connect(path, timeout=60.0)
    self.db.execute("PRAGMA journal_mode=WAL")
    self.db.executescript(_SCHEMA)
    self.db.commit()

  def add(self, det: Det, label: str, kind=None, note=None, reviewer=None,
          source: str = "web", when: float | None = None) -> dict:
    """Stores one answer for ``det`` (checked with ``check``); returns it."""
    row = check(label, kind, note, reviewer)
    row["source"] = _text("source", source)
    row["time"] = time.time() if when is None else float(when)
    with self.db:
      cur = self.db.execute(
          "INSERT INTO labels (det_key, path, start, end, peak, score, label,"
          " kind, note, reviewer, time, source) VALUES (?,?,?,?,?,?,?,?,?,?,"
          "?,?)", (det.key, det.path, det.start, det.end, det.peak, det.score,
                   row["label"], row["kind"], row["note"], row["reviewer"],
                   row["time"], row["source"]))
    return {"row": cur.lastrowid, "key": det.key} | row

  def _rows(self, sql: str, args=()) -> list[dict]:
    cur = self.db.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

  def latest(self) -> dict[str, dict]:
    """``{det_key: the latest answer}`` over every labelled detection."""
    rows = self._rows("SELECT * FROM labels WHERE id IN (SELECT MAX(id) FROM"
                      " labels GROUP BY det_key)")
    return {r["det_key"]: r for r in rows}

  def history(self, key: str) -> list[dict]:
    """Every answer for one detection, oldest first."""
    return self._rows("SELECT * FROM labels WHERE det_key = ? ORDER BY id",
                      (key,))

  def all(self) -> list[dict]:
    return self._rows("SELECT * FROM labels ORDER BY id")

  def copy_to(self, other: "Labels") -> int:
    """Appends every row here to ``other`` (a retrained run's store)."""
    rows = self.all()
    cols = [c for c in rows[0] if c != "id"] if rows else []
    with other.db:
      other.db.executemany(
          f"INSERT INTO labels ({', '.join(cols)}) VALUES "
          f"({', '.join('?' * len(cols))})",
          [tuple(r[c] for c in cols) for r in rows])
    return len(rows)

  def close(self):
    self.db.close()
