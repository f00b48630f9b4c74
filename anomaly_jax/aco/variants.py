"""Fusion settings compared on stored scans, without retraining.

``experiments/aco_variants.py`` is flags plus one call to :func:`compare`.
Each archive is scanned once by the detector of ``cfg.workdir`` (into
``<workdir>/heldout/<name>/``, :func:`heldout.scan_into`; a store
from before the tonal score was kept is scanned again); then, for every
(detector, low, tonal) quantile triple, the fusion's calibration is refitted
on the typical hours of the first archive (the embedded one, as training
fits it) and every archive's fused score is recomputed from the stored
branch scores and scored as :func:`evaluation.summarize` scores it.  The
triple of the workdir's own fusion reproduces its stored fused score.
"""
import dataclasses
import os

import numpy as np

from anomaly_jax.aco import detect, evaluation, fusion, heldout, training
from anomaly_jax.aco.config import AcoConfig
from jaxtk.errors import DataError


def scanned(cfg: AcoConfig, name: str, basedir: str):
  """``(Store.windows(), Store.files())`` of ``basedir`` scanned by the
  workdir's detector, with the tonal score stored."""
  cfg = dataclasses.replace(cfg, archive=basedir)
  store, _ = heldout.scan_into(cfg, name, basedir)
  w = store.windows()
  if np.isnan(w["tonal"]).all():  # scanned before the tonal score was kept
    store.close()
    training.clear_store(store.path)
    store, _ = heldout.scan_into(cfg, name, basedir)
    w = store.windows()
  files = store.files()
  store.close()
  return w, files


def _per_file(w: dict, keys) -> list:
  """``[(window indices, {key: [W_f]})]`` per file, windows in order."""
  return [(idx, {k: w[k][idx] for k in keys})
          for idx in (np.flatnonzero(w["path"] == p)
                      for p in np.unique(w["path"]))]


def compare(cfg: AcoConfig, archives: dict, quantiles) -> list[dict]:
  """Recall of the fused score per archive for each quantile triple.

  Args:
    cfg: the run (``cfg.workdir`` trained, with its ``fusion.json``).
    archives: ``{name: archive dir}``; the first is the embedded archive
      the calibration is fitted on (its typical hours).
    quantiles: ``(detector, low, tonal)`` quantile triples.

  Returns:
    Per triple ``{"quantiles": triple, "recall": {name: r}, "fin": {name:
    fin recall}}``.

  Raises:
    DataError: the workdir has no fusion.
  """
  saved = fusion.load(cfg.workdir)
  if saved is None:
    raise DataError(cfg.workdir, f"no {fusion.FILE}: train the run first "
                    f"(python experiments/aco_main.py --workdir={cfg.workdir})")
  scans = {n: scanned(cfg, n, p) for n, p in archives.items()}
  split = {n: _per_file(w, saved.keys) for n, (w, _) in scans.items()}
  first = next(iter(archives))
  w0 = scans[first][0]
  typical = [s for idx, s in split[first] if detect.typical_mask(
      w0["t"][idx[:1]], cfg.typical_hours)[0]]
  rows = []
  for qn, ql, qt in quantiles:
    fit = fusion.fit(typical, saved.keys, qn, saved.pulse, saved.smooth, ql,
                     saved.tonal, qt, saved.low_nms)
    row = {"quantiles": (qn, ql, qt), "recall": {}, "fin": {}}
    for n, (w, files) in scans.items():
      fused = np.full(w["t"].shape, np.nan)
      for idx, s in split[n]:
        fused[idx] = fit(s)
      only = {k: fused if k == "fused" else np.full_like(fused, np.nan)
              for k in evaluation.METHODS}
      m = evaluation.summarize_windows(
          cfg, {"path": w["path"], "t": w["t"]} | only, files,
          archives[n])["methods"]["fused"]
      row["recall"][n] = m["recall_at_fa"]
      row["fin"][n] = m.get("recall_fin", float("nan"))
    rows.append(row)
  return rows


def table(rows: list[dict]) -> str:
  """Markdown: a row per triple, a column per archive, then the mean,
  worst and fin recall over all but the first archive."""
  names = list(rows[0]["recall"])
  lines = ["| detector / low / tonal quantile | " + " | ".join(names) +
           " | mean (others) | worst (others) | fin (others) |",
           "|" + "---|" * (len(names) + 4)]
  for r in rows:
    rest = [r["recall"][n] for n in names[1:]] or [float("nan")]
    fin = [r["fin"][n] for n in names[1:]] or [float("nan")]
    lines.append("| " + " / ".join(f"{q:g}" for q in r["quantiles"]) + " | "
                 + " | ".join(f"{r['recall'][n]:.3f}" for n in names)
                 + f" | {np.mean(rest):.4f} | {np.min(rest):.3f} | "
                 f"{np.mean(fin):.3f} |")
  return "\n".join(lines)
