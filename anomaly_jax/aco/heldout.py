"""Held-out evaluation: the detector chosen on the embedded archive (seed
0), scored on synthetic archives that played no part in the choice.

``experiments/aco_heldout.py`` is flags plus one call to ``run``: it
trains once on the seed-0 archive (or reuses the trained ``cfg.workdir``),
scans it (``pipeline.run``), then builds (``synth.ensure_archive``, cached
under ``root``) and scans each held-out archive into its own index
``<workdir>/heldout/<name>/scores.sqlite`` with the same detector and
reports, per archive and detector output (ours, VAE, GMM NLL, the PCEN
peer, the energy baseline): recall at ``cfg.fa_per_hour`` false alarms per
hour, AUC and recall per kind, then the mean and the worst over the
held-out archives.  Everything resumes: built archives and scanned files
are kept; a retrained detector makes the held-out indexes stale (cleared).
"""
import dataclasses
import json
import os

from absl import logging
import numpy as np

from anomaly_jax.aco import (evaluation, ocean, pipeline, scan, synth,
                             training)
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.config import AcoConfig, Mode
from anomaly_jax.aco.store import Store

# The held-out mix: lower SNRs, three times the ships, pink noise (more
# noise above the red spectrum's 150 Hz corner, less below).
MIX = dict(snr_db=(-3.0, 10.0), ships_per_block=2.0, noise=ocean.Noise.PINK)
KINDS = ("clicks", "fin", "humpback", "minke")
DEFAULT = "seed 0 (default)"  # the row of the archive the choices were made on


def archives(seeds=(1, 2, 3), mix_seed: int | None = 4, mix: dict = MIX,
             base: synth.SynthConfig = synth.SynthConfig()) -> dict:
  """``{name: SynthConfig}`` of the held-out archives: ``base`` with each
  of ``seeds``, and (unless ``mix_seed`` is None) with ``mix_seed`` and the
  ``mix`` fields."""
  out = {f"seed{s}": dataclasses.replace(base, seed=s) for s in seeds}
  if mix_seed is not None:
    out[f"mix-seed{mix_seed}"] = dataclasses.replace(base, seed=mix_seed,
                                                     **mix)
  return out


def methods(cfg: AcoConfig) -> list[str]:
  """The detector outputs of the table: ours first, then the others."""
  return [cfg.score.value] + [k for k in ("np", "vae", "gmm_nll", "pcen",
                                          "energy")
                              if k != cfg.score.value]


def scan_into(cfg: AcoConfig, name: str,
              basedir: str) -> tuple[Store, scan.ScanResult]:
  """Scans archive ``basedir`` with the detector of ``cfg.workdir`` into
  ``<workdir>/heldout/<name>/scores.sqlite`` (files already there are
  kept, unless an older detector scored them); returns the open store,
  for the caller to close, and the scan's result."""
  path = os.path.join(cfg.workdir, "heldout", name, training.STORE)
  done = os.path.join(training.detector_dir(cfg.workdir), "DONE")
  if os.path.exists(path) and os.path.getmtime(path) < os.path.getmtime(
      done):
    training.clear_store(path)  # scored by an older detector
  store = Store(path)
  try:
    paths = pipeline.scan_files(cfg, Archive(basedir))
    res = pipeline.run_scan(cfg, basedir, paths, store)
  except BaseException:
    store.close()
    raise
  logging.info("%s: %d files scanned (%d done before), %.0fx real time",
               name, res.scanned, res.skipped, res.speed)
  return store, res


def scan_heldout(cfg: AcoConfig, name: str, basedir: str) -> dict:
  """:func:`scan_into`, then the archive's metrics."""
  store, res = scan_into(cfg, name, basedir)
  try:
    m = evaluation.summarize(cfg, store, basedir)
  finally:
    store.close()
  m["scan"] = dataclasses.asdict(res) | {"speed": res.speed}
  return m


def run(cfg: AcoConfig, root: str, heldout: dict) -> dict:
  """Trains (unless ``cfg.workdir`` has a detector) and scans the seed-0
  archive, then each archive of ``heldout`` (``{name: SynthConfig}``,
  built under ``root/<name>`` if missing); writes ``heldout.json`` and
  ``heldout.md`` into ``cfg.workdir`` and returns the JSON's dict:
  ``{"archives": {name: {method: {"recall", "auc", <kind>...}}}, "mean",
  "worst" (the same over the held-out archives), "mixes", "scans",
  "counts" (planted events, ship passages, hours), "table" (markdown)}``.
  """
  cfg = dataclasses.replace(cfg, mode=Mode.ALL)
  per = {DEFAULT: pipeline.run(cfg)}
  for name, scfg in heldout.items():
    basedir = synth.ensure_archive(os.path.join(root, name), scfg)
    per[name] = scan_heldout(dataclasses.replace(cfg, archive=basedir),
                             name, basedir)
  out = {"archives": {n: _row(m, methods(cfg)) for n, m in per.items()},
         "mixes": {n: synth.config_json(s) for n, s in heldout.items()},
         "scans": {n: m.get("scan") for n, m in per.items()},
         "counts": {n: {k: m[k] for k in ("events", "ships", "hours")}
                    for n, m in per.items()}}
  rows = [out["archives"][n] for n in heldout]
  out["mean"] = _combine(rows, np.mean)
  out["worst"] = _combine(rows, np.min)
  out["table"] = table(out, cfg)
  with open(os.path.join(cfg.workdir, "heldout.json"), "w") as f:
    json.dump(out, f, indent=1, default=float)
  with open(os.path.join(cfg.workdir, "heldout.md"), "w") as f:
    f.write(out["table"])
  return out


def _row(metrics: dict, keys: list[str]) -> dict:
  """``{method: {"recall", "auc", kind...}}`` of one archive's metrics."""
  row = {}
  for k in keys:
    m = metrics["methods"].get(k)
    if m is None:
      continue
    row[k] = {"recall": m["recall_at_fa"], "auc": m["auc"]} | {
        kind: m.get(f"recall_{kind}", float("nan")) for kind in KINDS}
  return row


def _combine(rows: list[dict], fn) -> dict:
  """Per method and column, ``fn`` over the archives (NaN: a kind that an
  archive did not have is left out)."""
  if not rows:
    return {}
  out = {}
  for k in rows[0]:
    out[k] = {}
    for col in rows[0][k]:
      v = np.array([r[k][col] for r in rows if k in r], float)
      v = v[np.isfinite(v)]
      out[k][col] = float(fn(v)) if v.size else float("nan")
  return out


def table(out: dict, cfg: AcoConfig) -> str:
  """The markdown table: per archive (then mean, worst) and method, recall
  at the false-alarm budget, AUC (5-s segments), recall per kind."""
  tags = {cfg.score.value: " (ours)"} | evaluation.TAGS
  lines = [f"| archive | detector | recall@{cfg.fa_per_hour:g}FA/h | AUC | "
           + " | ".join(KINDS) + " |", "|---" * (4 + len(KINDS)) + "|"]
  rows = list(out["archives"].items())
  rows += [("mean (held-out)", out["mean"]), ("worst (held-out)",
                                              out["worst"])]
  for name, row in rows:
    for k, m in row.items():
      cells = [m["recall"], m["auc"]] + [m[kind] for kind in KINDS]
      lines.append(f"| {name} | {k}{tags.get(k, '')} | " + " | ".join(
          "-" if np.isnan(v) else f"{v:.2f}" for v in cells) + " |")
  lines.append("")
  lines += [f"{name}: {c['events']} planted events, {c['ships']} ship "
            f"passages, {c['hours']:.2f} h"
            for name, c in out["counts"].items()]
  return "\n".join(lines) + "\n"
