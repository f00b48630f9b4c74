"""Detections and labels out to the tools reviewers use, and Raven back in.

Formats:
  * Raven Pro selection tables: tab-separated, ``Selection  View  Channel
    Begin Time (s)  End Time (s)  Low Freq (Hz)  High Freq (Hz)`` and our
    columns.  One table per archive file (``Begin Time`` = seconds into the
    file, named ``<file>.Table.1.selections.txt`` as Raven names them) and
    one multi-file table with ``Begin Path``, ``File Offset (s)`` and
    ``Begin File``, whose ``Begin Time`` counts on the files laid end to end
    in time order (Raven's timeline when the scanned files are opened as one
    sequence).
  * Audacity label tracks, one per file: ``start<TAB>end<TAB>text``, seconds
    into the file.
  * CSV, one row per detection.
Each takes all detections or only the confirmed ones (latest label "true").
``import_raven`` reads a Raven table back as labels.
"""
import bisect
import csv
import io
import os

from anomaly_jax.aco import fmt
from anomaly_jax.aco.review import labels as labels_lib
from anomaly_jax.aco.review.detections import Det, File, iso, unix
from jaxtk.errors import DataError

WHICH = ("all", "confirmed")
FORMATS = ("raven", "raven-files", "audacity", "csv")
RAVEN_HEAD = ("Selection", "View", "Channel", "Begin Time (s)",
              "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)")
MULTI_HEAD = ("Begin Path", "File Offset (s)", "Begin File")
OURS = ("Rank", "Score", "Label", "Kind", "Note", "Reviewer", "Planted")


def chosen(dets: list[Det], latest: dict, which: str) -> list[Det]:
  """``dets``, or only those whose latest label is "true"."""
  if which not in WHICH:
    raise ValueError(f"which={which!r} is not one of: {', '.join(WHICH)}")
  if which == "all":
    return list(dets)
  return [d for d in dets if latest.get(d.key, {}).get("label") == "true"]


class Timeline:
  """Where a time falls among the scanned files (sorted by start)."""

  def __init__(self, files: list[File], dets: list[Det]):
    known = {f.path for f in files}
    extra = [File(d.path, unix(fmt.parse_name(d.path)[0]), 0.0)
             for d in dets if d.path not in known]
    self.files = sorted(files + list({f.path: f for f in extra}.values()),
                        key=lambda f: f.start)
    self.starts = [f.start for f in self.files]
    self.before = [0.0]  # seconds of the files before each one
    for f in self.files:
      self.before.append(self.before[-1] + f.seconds)

  def locate(self, det: Det) -> tuple[File, int]:
    """The file holding ``det.start`` (else the peak's file) and its index."""
    i = bisect.bisect_right(self.starts, det.start) - 1
    if i < 0 or det.start >= self.files[i].start + max(self.files[i].seconds,
                                                        1e-9):
      i = next(k for k, f in enumerate(self.files) if f.path == det.path)
    return self.files[i], i


def _ours(det: Det, lab: dict) -> list:
  return [det.id, f"{det.score:.6g}", lab.get("label", ""),
          lab.get("kind", ""), lab.get("note") or "", lab.get("reviewer", ""),
          det.planted]


def _high(path: str) -> float:
  return fmt.parse_name(path)[1] / 2.0


def _table(rows: list[list]) -> str:
  """Tab-separated lines, unquoted as Raven writes them (tabs and line
  breaks inside a field become spaces)."""
  clean = lambda v: " ".join(str(v).split("\n")).replace("\t", " ").replace(
      "\r", " ")
  return "".join("\t".join(clean(v) for v in r) + "\n" for r in rows)


def raven_multi(dets: list[Det], latest: dict, tl: Timeline,
                archive: str) -> str:
  """One multi-file Raven selection table (text)."""
  rows = [list(RAVEN_HEAD + MULTI_HEAD + OURS)]
  for n, d in enumerate(dets, 1):
    f, i = tl.locate(d)
    off = max(d.start - f.start, 0.0)
    begin = tl.before[i] + off
    rows.append([n, "Spectrogram 1", 1, f"{begin:.4f}",
                 f"{begin + d.end - d.start:.4f}", "0", f"{_high(f.path):g}",
                 os.path.join(os.path.abspath(archive), f.path), f"{off:.4f}",
                 os.path.basename(f.path)] + _ours(d, latest.get(d.key, {})))
  return _table(rows)


def by_file(dets: list[Det], tl: Timeline) -> dict[str, list[Det]]:
  out = {}
  for d in dets:
    out.setdefault(tl.locate(d)[0].path, []).append(d)
  return out


def raven_per_file(dets: list[Det], latest: dict, tl: Timeline
                   ) -> dict[str, str]:
  """``{"<file>.Table.1.selections.txt": table}``, one per file."""
  out = {}
  for path, ds in by_file(dets, tl).items():
    f = tl.locate(ds[0])[0]
    rows = [list(RAVEN_HEAD + OURS)]
    for n, d in enumerate(ds, 1):
      off = max(d.start - f.start, 0.0)
      rows.append([n, "Spectrogram 1", 1, f"{off:.4f}",
                   f"{off + d.end - d.start:.4f}", "0", f"{_high(path):g}"]
                  + _ours(d, latest.get(d.key, {})))
    out[os.path.basename(path) + ".Table.1.selections.txt"] = _table(rows)
  return out


def audacity(dets: list[Det], latest: dict, tl: Timeline) -> dict[str, str]:
  """``{"<file>.labels.txt": label track}``, one per file."""
  out = {}
  for path, ds in by_file(dets, tl).items():
    f = tl.locate(ds[0])[0]
    lines = []
    for d in ds:
      lab = latest.get(d.key, {})
      text = " ".join(x for x in (f"#{d.id}", f"{d.score:.3g}",
                                  lab.get("label", ""), lab.get("kind", ""))
                      if x)
      off = max(d.start - f.start, 0.0)
      lines.append(f"{off:.6f}\t{off + d.end - d.start:.6f}\t{text}\n")
    out[os.path.basename(path) + ".labels.txt"] = "".join(lines)
  return out


def table_csv(dets: list[Det], latest: dict) -> str:
  """CSV: one row per detection with its latest label."""
  buf = io.StringIO()
  w = csv.writer(buf, lineterminator="\n")
  w.writerow(["rank", "start", "end", "peak", "score", "file", "planted",
              "label", "kind", "note", "reviewer", "labelled_at"])
  for d in dets:
    lab = latest.get(d.key, {})
    w.writerow([d.id, iso(d.start), iso(d.end), iso(d.peak), f"{d.score:.6g}",
                d.path, d.planted, lab.get("label", ""), lab.get("kind", ""),
                lab.get("note", ""), lab.get("reviewer", ""),
                iso(lab["time"]) if lab.get("time") else ""])
  return buf.getvalue()


def export(fmt_name: str, dets: list[Det], latest: dict, tl: Timeline,
           archive: str, which: str = "all") -> dict[str, str]:
  """``{file name: text}`` of one format (``FORMATS``) for ``which``."""
  if fmt_name not in FORMATS:
    raise ValueError(f"format={fmt_name!r} is not one of: "
                     f"{', '.join(FORMATS)}")
  ds = chosen(dets, latest, which)
  if fmt_name == "raven":
    return {f"detections_{which}.selections.txt":
            raven_multi(ds, latest, tl, archive)}
  if fmt_name == "raven-files":
    return raven_per_file(ds, latest, tl)
  if fmt_name == "audacity":
    return audacity(ds, latest, tl)
  return {f"detections_{which}.csv": table_csv(ds, latest)}


def read_raven(path: str) -> list[dict]:
  """Rows of a Raven selection table (tab-separated, header first).

  Raises:
    DataError: no ``Begin Time (s)`` / ``End Time (s)`` column, or a row
      whose times are not numbers.
  """
  with open(path, newline="", encoding="utf-8-sig") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
  need = ("Begin Time (s)", "End Time (s)")
  cols = list(rows[0]) if rows else []
  for c in need:
    if rows and c not in cols:
      raise DataError(path, f"no {c!r} column: not a Raven selection table "
                      f"(columns: {', '.join(cols)})")
  for i, r in enumerate(rows):
    for c in need + ("File Offset (s)",):
      if c in r:
        try:
          r[c] = float(r[c])
        except (TypeError, ValueError) as e:
          raise DataError(path, f"row {i + 1}: expected seconds, got "
                          f"{r[c]!r}", field=c) from e
  return rows


def _best(dets: list[Det], a: float, b: float) -> Det | None:
  over = [(min(b, d.end) - max(a, d.start), -abs(d.peak - (a + b) / 2), d)
          for d in dets if d.start < b and d.end > a]
  return max(over, key=lambda o: o[:2])[2] if over else None


def import_raven(path: str, dets: list[Det], store: labels_lib.Labels,
                 reviewer: str = "", label_column: str = "Label",
                 file: str | None = None) -> dict:
  """Reads a Raven table's ``label_column`` back as labels.

  Each selection's UTC span comes from its file's name (``Begin Path`` or
  ``Begin File``, else ``file``, else the table's own name
  ``<file>.Table.N.selections.txt``) plus ``File Offset (s)`` (else
  ``Begin Time (s)``, a per-file table).  It labels the detection it
  overlaps most; a selection on no detection (one the scan missed) is
  stored under the key ``raven:<file>@<peak>``.

  Returns:
    {"matched", "unmatched", "skipped"} counts (skipped: empty label).

  Raises:
    DataError: no ``label_column``, a label not in ``labels.LABELS``, or no
      way to tell a row's file (names the table, the row and the field).
  """
  rows = read_raven(path)
  if rows and label_column not in rows[0]:
    raise DataError(path, f"no {label_column!r} column (columns: "
                    f"{', '.join(rows[0])}); pass --label_column")
  own = os.path.basename(path).split(".Table.")[0]
  out = {"matched": 0, "unmatched": 0, "skipped": 0}
  src = f"raven:{os.path.basename(path)}"
  for i, r in enumerate(rows):
    value = (r.get(label_column) or "").strip().lower()
    if not value:
      out["skipped"] += 1
      continue
    name = r.get("Begin Path") or r.get("Begin File") or file or own
    try:
      start = unix(fmt.parse_name(name)[0])
      lab = labels_lib.check(value, r.get("Kind"), r.get("Note"),
                             r.get("Reviewer") or reviewer)
    except DataError as e:
      raise DataError(path, f"row {i + 1}: cannot tell the archive file "
                      f"({e.what}); pass --file for a per-file table",
                      field="Begin Path") from e
    except labels_lib.LabelError as e:
      raise DataError(path, f"row {i + 1}: {e}", field=label_column) from e
    off = r.get("File Offset (s)", r["Begin Time (s)"])
    a = start + off
    b = a + r["End Time (s)"] - r["Begin Time (s)"]
    det = _best(dets, a, b)
    if det is None:
      det = Det(0, a, b, (a + b) / 2, float("nan"),
                f"raven:{os.path.basename(name)}")
      out["unmatched"] += 1
    else:
      out["matched"] += 1
    store.add(det, **lab, source=src)
  return out
