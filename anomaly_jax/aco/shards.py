"""Per-file scan results as files: Parquet shards and dead-letter records.

The Beam scan's workers write one file per archive file, each atomically
(a temporary name in the same directory, then ``os.replace``), so a file's
result is either wholly there or not at all, whatever kills a worker:

  <shard_dir>/ok/<quoted path>.parquet      windows: idx, t, SCORE_KEYS
                                            (schema metadata "aco": the
                                            file's start, seconds, issues)
  <shard_dir>/damaged/<quoted path>.json    {"path", "start", "reason"}

``<quoted path>`` is the archive-relative path with every ``/`` quoted
(``urllib.parse.quote(path, safe="")``).  ``committed`` lists the files with
a result, so a rerun skips them; ``merge`` stores every result not yet in
the SQLite index, as the one writer.  Leftover temporary files of killed
workers are never read and are removed by ``merge``.
"""
import json
import os
import urllib.parse
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from anomaly_jax.aco.store import SCORE_KEYS, FileResult, Store

OK, DAMAGED = "ok", "damaged"
_SUFFIX = {OK: ".parquet", DAMAGED: ".json"}
_TMP = ".tmp-"


def _atomic_write(path: str, write) -> None:
  """``write(tmp_path)`` then rename onto ``path`` (same directory)."""
  tmp = f"{path}{_TMP}{uuid.uuid4().hex}"
  try:
    write(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def _name(rel: str, kind: str) -> str:
  return urllib.parse.quote(rel, safe="") + _SUFFIX[kind]


def write(shard_dir: str, r: FileResult) -> str:
  """Writes ``r`` as a shard (or a dead-letter record); returns its path."""
  kind = DAMAGED if r.error is not None else OK
  folder = os.path.join(shard_dir, kind)
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, _name(r.path, kind))
  if kind == DAMAGED:
    rec = {"path": r.path, "start": r.start, "reason": r.error}
    def dump(tmp):
      with open(tmp, "w") as f:
        json.dump(rec, f)
  else:
    meta = {"path": r.path, "start": r.start, "seconds": r.seconds,
            "issues": list(r.issues), "wall": r.wall}
    table = pa.table(
        {"idx": np.arange(r.times.size, dtype=np.int32),
         "t": np.asarray(r.times, np.float64),
         **dict(zip(SCORE_KEYS, r.columns()))},
    ).replace_schema_metadata({"aco": json.dumps(meta)})
    dump = lambda tmp: pq.write_table(table, tmp)
  _atomic_write(path, dump)
  return path


def read(path: str) -> FileResult:
  """The ``FileResult`` of a shard or dead-letter record written by
  ``write``."""
  if path.endswith(_SUFFIX[DAMAGED]):
    with open(path) as f:
      rec = json.load(f)
    return FileResult(rec["path"], rec["start"], error=rec["reason"])
  table = pq.read_table(path)
  meta = json.loads(table.schema.metadata[b"aco"])
  cols = {k: table.column(k).to_numpy() for k in table.column_names}
  scores = {k: cols[k] for k in SCORE_KEYS  # older shards lack "pcen"
            if k in cols and not np.isnan(cols[k]).all()}
  return FileResult(meta["path"], meta["start"], meta["seconds"], cols["t"],
                    scores, meta["issues"], meta["wall"])


def committed(shard_dir: str) -> dict[str, str]:
  """``{archive-relative path: result file}`` of every committed result."""
  out = {}
  for kind, suffix in _SUFFIX.items():
    folder = os.path.join(shard_dir, kind)
    if not os.path.isdir(folder):
      continue
    for name in sorted(os.listdir(folder)):
      if name.endswith(suffix) and _TMP not in name:
        out[urllib.parse.unquote(name[:-len(suffix)])] = os.path.join(
            folder, name)
  return out


def merge(shard_dir: str, store: Store) -> int:
  """Stores every committed result not yet in ``store``; returns how many.

  Also removes temporary files that killed workers left behind.
  """
  done = store.done()
  n = 0
  for rel, path in sorted(committed(shard_dir).items()):
    if rel not in done:
      store.add(read(path))
      n += 1
  for kind in _SUFFIX:
    folder = os.path.join(shard_dir, kind)
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
      if _TMP in name:
        os.remove(os.path.join(folder, name))
  return n
