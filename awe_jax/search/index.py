"""A searchable index of spoken recordings: windows, vectors, metadata.

An index directory holds ``index.sqlite`` (the model hash, the window
settings, the format version, one row per recording and one per window)
and ``vectors/`` (one ``.npy`` of ``[windows, E]`` float16 per recording).
Windows of one or more durations (by default one: the geometric middle of
the training words' 5th-95th percentile lengths) start every ``hop`` frames
and are embedded in jitted batches, one static shape per duration.

Adding is incremental and survives a kill: a recording's vectors are written
first (atomically), then its rows in one SQLite transaction; a recording
without rows is embedded again.  Search is exact (``nearest.similarities``
with every window, then ``nearest.top_k``) up to ``exact_limit`` windows,
else through a USearch HNSW index built from the vectors and cached as
``hnsw.usearch``.  Overlapping hits are merged by non-maximum suppression
(:func:`nms`).  The candidates are ranked again by a query refined with
pseudo-relevance feedback (:meth:`SearchIndex.query_vector`).

Format versions (``meta.format``): 1, unversioned, had no ``format`` row and
is migrated on opening by adding it (its storage is format 2's); a format
newer than :data:`FORMAT` is refused.
"""
import dataclasses
import json
import os
import sqlite3

import numba
import numpy as np
from usearch.index import Index, MetricKind

from awe_jax.inference import Embedder
from awe_jax.search.nearest import similarities, top_k
from jaxtk.errors import DataError
from jaxtk.progress import progress

DB = "index.sqlite"
HNSW = "hnsw.usearch"
FORMAT = 2          # index format written and read (module docstring)
# Pseudo-relevance feedback (SearchIndex.query_vector), chosen on the dev
# queries of the search task (docs/search.md).
FEEDBACK_HITS = 5
FEEDBACK_WEIGHT = 1.0
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY, path TEXT UNIQUE,
  seconds REAL, row0 INTEGER, n_windows INTEGER);
CREATE TABLE IF NOT EXISTS windows (id INTEGER PRIMARY KEY, file_id INTEGER,
  start REAL, end REAL);
"""


@dataclasses.dataclass(frozen=True)
class WindowConfig:
  """Where windows are cut (frames of 10 ms)."""
  hop: int = 10                # frames between window starts (100 ms)
  num_durations: int = 1       # durations, geometric from q_low to q_high;
                               # 1: their geometric mean
  q_low: str = "5"             # training word-length percentiles spanned
  q_high: str = "95"

  def durations(self, quantiles: dict) -> tuple:
    lo, hi = quantiles[self.q_low], quantiles[self.q_high]
    d = (np.geomspace(lo, hi, self.num_durations) if self.num_durations > 1
         else [np.sqrt(lo * hi)])
    return tuple(sorted({int(round(x)) for x in d}))


@dataclasses.dataclass(frozen=True)
class Hit:
  file: str
  start: float       # seconds
  end: float
  distance: float    # cosine distance, 1 - cos


def nms(starts, ends, groups, order, *, max_overlap: float = 0.2,
        limit: int = 0) -> list:
  """Greedy non-maximum suppression of overlapping spans.

  Args:
    starts, ends: ``[N]`` spans.
    groups: ``[N]`` integer recording of each span (only spans of one
      recording suppress each other).
    order: indices by decreasing score (increasing distance).
    max_overlap: a span is dropped when its intersection with a kept span
      exceeds this fraction of the shorter of the two.
    limit: stop after keeping this many (0: no limit).

  Returns:
    The kept indices, in ``order``'s order.
  """
  keep = _nms(np.asarray(starts, np.float64), np.asarray(ends, np.float64),
              np.asarray(groups, np.int64), np.asarray(order, np.int64),
              float(max_overlap), int(limit))
  return keep.tolist()


@numba.njit(cache=True)
def _nms(starts, ends, groups, order, max_overlap, limit):
  """:func:`nms` compiled with numba: a query's 2,000 candidates took 0.6 ms
  on the loaded machine, inside the 100 ms budget of one query."""
  out = np.empty(len(order), np.int64)
  n = 0
  for i in order:
    ok = True
    for k in range(n):
      j = out[k]
      if groups[j] != groups[i]:
        continue
      inter = min(ends[i], ends[j]) - max(starts[i], starts[j])
      shorter = min(ends[i] - starts[i], ends[j] - starts[j])
      if inter > max_overlap * shorter:
        ok = False
        break
    if ok:
      out[n] = i
      n += 1
      if n == limit:
        break
  return out[:n]


def audio_files(paths) -> list:
  """Files and the audio files under directories, sorted per directory."""
  out = []
  for p in paths:
    if os.path.isdir(p):
      for root, _, names in sorted(os.walk(p)):
        out += [os.path.join(root, n) for n in sorted(names)
                if n.lower().endswith(AUDIO_EXTENSIONS)]
    else:
      out.append(p)
  return [os.path.abspath(p) for p in out]


def _connect(path: str) -> sqlite3.Connection:
  if not os.path.exists(os.path.join(path, DB)):
    raise DataError(path, f"no search index ({DB}) here; create one with "
                    "SearchIndex.create or `python -m awe_jax.search index`")
  return sqlite3.connect(os.path.join(path, DB))


class SearchIndex:
  """Open with :meth:`create` or :meth:`open`; then :meth:`add`, :meth:`query`.

  Args:
    path: the index directory.
    embedder: must be the model the index was built with.
  """

  def __init__(self, path: str, embedder: Embedder):
    self.path, self.embedder = path, embedder
    self.db = _connect(path)
    self.db.executescript(SCHEMA)
    meta = dict(self.db.execute("SELECT key, value FROM meta"))
    if "model_hash" not in meta:
      raise DataError(os.path.join(path, DB), "not a search index (no model "
                      "hash); create it with SearchIndex.create or `index`")
    version = int(meta.get("format", 1))
    if version > FORMAT:
      raise DataError(os.path.join(path, DB), f"index format {version} is "
                      f"newer than this awe_jax reads ({FORMAT}); update "
                      "awe_jax or build the index again", field="format")
    if version < FORMAT:  # format 1 -> 2: only the version row is new
      with self.db:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)",
                        (str(FORMAT),))
    if meta["model_hash"] != embedder.model_hash:
      raise DataError(os.path.join(path, DB), f"the index was built with model "
                      f"{meta['model_hash']} ({meta.get('model_dir', '?')}); "
                      f"this query model is {embedder.model_hash}. Query with "
                      "that model or build a new index", field="model_hash")
    self.windows = WindowConfig(**json.loads(meta["windows"]))
    self.exact_limit = int(meta["exact_limit"])
    self.durations = self.windows.durations(embedder.card.length_quantiles)
    self._cache = None

  @classmethod
  def create(cls, path: str, embedder: Embedder, *, model_dir: str = "",
             windows: WindowConfig = WindowConfig(),
             exact_limit: int = 2_000_000) -> "SearchIndex":
    """A new, empty index (an existing one is opened and checked instead)."""
    os.makedirs(os.path.join(path, "vectors"), exist_ok=True)
    db = sqlite3.connect(os.path.join(path, DB))
    with db:
      db.executescript(SCHEMA)
      for k, v in (("format", str(FORMAT)),
                   ("model_hash", embedder.model_hash), ("model_dir", model_dir),
                   ("windows", json.dumps(dataclasses.asdict(windows))),
                   ("exact_limit", str(exact_limit))):
        db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (k, v))
    db.close()
    return cls(path, embedder)

  @staticmethod
  def model_dir(path: str) -> str:
    """The model directory recorded when the index was created."""
    db = _connect(path)
    row = db.execute("SELECT value FROM meta WHERE key='model_dir'").fetchone()
    db.close()
    if not row or not row[0]:
      raise DataError(os.path.join(path, DB), "no model directory recorded; "
                      "pass --model")
    return row[0]

  def indexed(self) -> set:
    return {p for (p,) in self.db.execute("SELECT path FROM files")}

  def __len__(self):
    return self.db.execute("SELECT COALESCE(SUM(n_windows), 0) FROM files").fetchone()[0]

  def seconds(self) -> float:
    return self.db.execute("SELECT COALESCE(SUM(seconds), 0) FROM files").fetchone()[0]

  def windows_of(self, n_frames: int):
    """``[(duration, starts)]`` for a recording of ``n_frames`` frames."""
    out = []
    for d in self.durations:
      if n_frames >= d:
        out.append((d, np.arange(0, n_frames - d + 1, self.windows.hop)))
    if not out:  # shorter than every window: one window over all of it
      out.append((n_frames, np.zeros(1, np.int64)))
    return out

  def add(self, paths, *, quiet: bool = True) -> int:
    """Embeds and stores the recordings not yet indexed.

    Returns:
      The number of recordings added.
    """
    done = self.indexed()
    todo = [p for p in dict.fromkeys(audio_files(paths)) if p not in done]
    frame_s = self.embedder.card.features["hop"] / self.embedder.sample_rate
    for p in progress(todo, desc="index", unit="file", disable=quiet):
      feats = self.embedder.features(p)
      vecs, spans = [], []
      for d, starts in self.windows_of(len(feats)):
        vecs.append(self.embedder.embed_windows(feats, starts, d))
        spans.append(np.stack([starts, starts + d], 1) * frame_s)
      vecs, spans = np.concatenate(vecs), np.concatenate(spans)
      row0 = len(self)
      fid = row0  # unique and stable: the first window's row
      vpath = os.path.join(self.path, "vectors", f"{fid:09d}.npy")
      np.save(vpath + ".tmp.npy", vecs.astype(np.float16))
      os.replace(vpath + ".tmp.npy", vpath)
      with self.db:
        self.db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                        (fid, p, len(feats) * frame_s, row0, len(vecs)))
        self.db.executemany(
            "INSERT INTO windows VALUES (?, ?, ?, ?)",
            [(row0 + i, fid, float(s), float(e)) for i, (s, e) in enumerate(spans)])
      self._cache = None
    return len(todo)

  def _load(self):
    if self._cache is None:
      files = self.db.execute("SELECT id, path FROM files ORDER BY row0").fetchall()
      vecs = [np.load(os.path.join(self.path, "vectors", f"{fid:09d}.npy"))
              for fid, _ in files]
      rows = np.asarray(self.db.execute(
          "SELECT file_id, start, end FROM windows ORDER BY id").fetchall())
      if not files:
        raise DataError(self.path, "the index is empty; add recordings first")
      vecs = np.concatenate(vecs).astype(np.float32)
      vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
      hnsw = None
      if len(vecs) > self.exact_limit:
        hnsw = self._hnsw(vecs)
      self._cache = dict(vecs=vecs, hnsw=hnsw, file_id=rows[:, 0].astype(np.int64),
                         start=rows[:, 1], end=rows[:, 2],
                         paths=dict(files))
    return self._cache

  def _hnsw(self, vecs):
    path = os.path.join(self.path, HNSW)
    index = Index(ndim=vecs.shape[1], metric=MetricKind.Cos, dtype="f16")
    if os.path.exists(path):
      index.load(path)
      if len(index) == len(vecs):
        return index
      index = Index(ndim=vecs.shape[1], metric=MetricKind.Cos, dtype="f16")
    index.add(np.arange(len(vecs)), vecs)
    index.save(path + ".tmp")
    os.replace(path + ".tmp", path)
    return index

  def _nearest(self, q: np.ndarray, k: int):
    """The ``k`` windows nearest the unit vector ``q [E]``: (rows, distances)."""
    c = self._load()
    k = min(len(c["vecs"]), k)
    if c["hnsw"] is not None:
      m = c["hnsw"].search(q[None], k)
      return np.asarray(m.keys).reshape(-1), np.asarray(m.distances).reshape(-1)
    sim = similarities(c["vecs"], q)
    rows = top_k(sim, k)
    return rows, 1.0 - sim[rows]

  def query_vector(self, q: np.ndarray, *, top: int = 10, candidates: int = 0,
                   max_overlap: float = 0.2, feedback: int = FEEDBACK_HITS,
                   feedback_weight: float = FEEDBACK_WEIGHT) -> list:
    """Hits for one embedding ``q [E]``, best first (at most ``top``).

    With ``feedback`` > 0 the candidates are ranked again by their distance
    to ``q / |q| + feedback_weight * mean(v)`` over the unit vectors ``v``
    of the query's first ``feedback`` hits (pseudo-relevance feedback:
    the Rocchio update of text retrieval), and ``distance`` is to that
    refined query.  Ranking the candidates again gave the same scores as a
    second search over the whole index on the dev queries, at the cost of
    one search.

    Args:
      candidates: nearest windows kept for NMS (default ``20 * top``, at
        least 200 and ``20 * feedback``).
      max_overlap: NMS overlap (:func:`nms`).
      feedback: hits averaged into the query (0: one plain search).
      feedback_weight: their weight against the query's.
    """
    c = self._load()
    q = np.asarray(q, np.float32)
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    keys, dist = self._nearest(
        q, candidates or max(20 * top, 200, 20 * feedback))
    starts, ends, files = c["start"][keys], c["end"][keys], c["file_id"][keys]
    if feedback > 0:
      first = keys[nms(starts, ends, files, np.arange(len(keys)),
                       max_overlap=max_overlap, limit=feedback)]
      q = q + feedback_weight * c["vecs"][first].mean(0)
      q /= max(float(np.linalg.norm(q)), 1e-12)
      dist = 1.0 - similarities(c["vecs"], q, keys)
    keep = nms(starts, ends, files, np.argsort(dist, kind="stable"),
               max_overlap=max_overlap, limit=top)
    return [Hit(c["paths"][f], *span) for f, *span in zip(
        *(x[keep].tolist() for x in (files, starts, ends, dist)))]

  def query_audio(self, audio, sr: int | None = None, **kwargs) -> list:
    """Query by example: a recording of the word (path or array at ``sr``)."""
    return self.query_vector(self.embedder.embed_audio(audio, sr), **kwargs)

  def query_word(self, word: str, **kwargs) -> list:
    """Query by a typed word, through the phone view."""
    return self.query_vector(self.embedder.embed_words([word])[0], **kwargs)

  def close(self):
    self.db.close()
