"""The ACO run against the synthetic archive's ground truth.

The only module of the run that reads the planted events (``events.csv``
beside the archive, written by ``synth``): recall at a false-alarm budget
and AUCs per score, which planted event each detection hits, and the
printed table.  An archive without ground truth is not evaluated.
"""
import datetime as dt

import numpy as np

from anomaly_jax.aco import detect, evaluate, fmt, synth
from anomaly_jax.aco.config import AcoConfig
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError

METHODS = ("score", "fused", "np", "vae", "gmm_nll", "ae", "low", "pcen",
           "energy")
TAGS = {"pcen": " (peer)", "energy": " (baseline)"}  # beside their names


def has_ground_truth(basedir: str) -> bool:
  return bool(synth.read_events(basedir))


def _span(rows) -> np.ndarray:
  return np.array([[fmt.unix(r["start"]), fmt.unix(r["end"])]
                   for r in rows]).reshape(-1, 2)


def planted(cfg: AcoConfig, basedir: str):
  """(events ``[E, 2]``, their kinds, ship passages ``[S, 2]``) of the
  recorded planted events in the run's time range (Unix seconds)."""
  rows = [r for r in synth.read_events(basedir) if r["recorded"]]
  if cfg.start or cfg.end:
    lo = cfg.start_time or dt.datetime.min
    hi = cfg.end_time or dt.datetime.max
    rows = [r for r in rows if r["end"] > lo and r["start"] < hi]
  # Ship passages are scenery, not planted events: a detection on a ship is
  # neither a hit nor a false alarm, ship windows are left out of the AUC.
  ships = _span([r for r in rows if r["kind"] == "ship"])
  rows = [r for r in rows if r["kind"] != "ship"]
  return _span(rows), [r["kind"] for r in rows], ships


def matched_kinds(dets, events, kinds, ships) -> list[str]:
  """Per detection, the kinds of planted events (and ships) it overlaps."""
  ov = np.concatenate([evaluate.overlaps(dets, events),
                       evaluate.overlaps(dets, ships)], axis=1)
  names = list(kinds) + ["ship"] * len(ships)
  return [", ".join(sorted({names[j] for j in np.flatnonzero(o)}))
          for o in ov]


def summarize(cfg: AcoConfig, store: Store, basedir: str) -> dict:
  """Recall at ``cfg.fa_per_hour`` false alarms per hour and AUCs, per
  detector output, from the store."""
  return summarize_windows(cfg, store.windows(), store.files(), basedir)


def summarize_windows(cfg: AcoConfig, w: dict, files: list[dict],
                      basedir: str) -> dict:
  """:func:`summarize` of windows ``w`` (``Store.windows()``, possibly with
  scores recomputed) and the store's ``files``."""
  hours = sum(f["seconds"] for f in files) / 3600.0
  half = cfg.mel.context * cfg.mel.hop / cfg.mel.rate / 2
  events, kinds, ships = planted(cfg, basedir)
  typical = detect.typical_mask(w["t"], cfg.typical_hours)
  labels = evaluate.window_labels(w["t"], events, half)
  keep = labels | ~evaluate.window_labels(w["t"], ships, half)
  metrics = {"hours": hours, "files": len(files),
             "damaged": [f["path"] + ": " + f["reason"] for f in files
                         if f["status"] == "error"],
             "events": len(events), "ships": len(ships), "methods": {},
             "thresholds": {}}
  for k in [k for k in METHODS if np.isfinite(w[k]).any()]:
    dets, base = detect.find(w, k, typical, half)
    s = np.nan_to_num(w[k], nan=-np.inf)
    r = evaluate.recall_at_fa(evaluate.drop_ignored(dets, events, ships),
                              events, hours, cfg.fa_per_hour)
    m = {"recall_at_fa": r["recall"],
         "auc": evaluate.segment_auc(w["t"], s, events, ships),
         "window_auc": evaluate.auc(labels[keep], s[keep]),
         "threshold": r["threshold"], "detections": len(dets)}
    for kind in sorted(set(kinds)):
      sel = np.array([x == kind for x in kinds])
      m[f"recall_{kind}"] = float(r["found"][sel].mean())
    above = [d for d in dets if d.score >= r["threshold"]]
    m["ships_detected"] = (int(evaluate.overlaps(above, ships).any(0).sum())
                           if len(ships) else 0)
    metrics["methods"][k] = m
    metrics["thresholds"][k] = (r["threshold"] if np.isfinite(
        r["threshold"]) else base)
  return metrics


def print_table(metrics: dict, score_key: str):
  """The recall / AUC table, ours next to the PCEN peer and the energy
  baseline."""
  print(f"{metrics['hours']:.2f} h scanned, {metrics['files']} files, "
        f"{metrics['events']} planted events (+{metrics['ships']} ship "
        f"passages, not counted); damaged: {len(metrics['damaged'])}")
  for line in metrics["damaged"]:
    print(f"  {line}")
  print(f"{'score':>18} {'recall@1FA/h':>13} {'AUC(5s)':>7} {'AUC(win)':>8}"
        "   recall per kind")
  for k, m in metrics["methods"].items():
    if k == "score":
      continue
    kinds = " ".join(f"{n[7:]}={v:.2f}" for n, v in m.items()
                     if n.startswith("recall_") and n != "recall_at_fa")
    kinds += f" | ships hit {m['ships_detected']}"
    tag = " (ours)" if k == score_key else TAGS.get(k, "")
    print(f"{k + tag:>18} {m['recall_at_fa']:13.3f} {m['auc']:7.3f} "
          f"{m['window_auc']:8.3f}   {kinds}")


def kinds_of(dets, basedir: str) -> list[str]:
  """Per detection (anything with ``start``/``end`` Unix s), the kinds of
  the archive's planted events and ships it overlaps ("" for none)."""
  events, kinds, ships = planted(AcoConfig(), basedir)
  return matched_kinds(dets, events, kinds, ships)


def answers(dets, basedir: str) -> list[tuple[str, str]]:
  """A reviewer answering from the ground truth: (label, kind) per
  detection.  On a planted event: "true" with its kind(s); on a ship
  passage only: "false", "ship"; else "false", "".

  Raises:
    DataError: the archive has no ground truth (not a synthetic one).
  """
  if not has_ground_truth(basedir):
    raise DataError(basedir, "no ground truth (events.csv) in this archive: "
                    "the simulated reviewer needs the synthetic archive")
  events, kinds, ships = planted(AcoConfig(), basedir)
  ov = evaluate.overlaps(dets, events)
  ship = evaluate.overlaps(dets, ships).any(axis=1)
  out = []
  for i in range(len(dets)):
    hit = sorted({kinds[j] for j in np.flatnonzero(ov[i])})
    out.append(("true", ",".join(hit)) if hit else
               ("false", "ship" if ship[i] else ""))
  return out
