"""One ACO run: train on typical hours, scan the archive, report.

``experiments/aco_main.py`` is flags plus one call to ``run(AcoConfig)``.
The steps are modules of their own: ``training`` (the detector),
``scan`` / ``beam_scan`` (the scores, into the SQLite index), ``detect``
(the detections, into the index), ``evaluation`` (the planted events'
ground truth, when the archive has it), ``report`` (CSV and plots).
Workdir:

  detector/            the trained detector (``Detector.save``) + DONE
  standardize.npz      mean/std of the training windows
  scores.sqlite        the index: files, windows, detections (``Store``)
  shards/              per-file results of a Beam scan (``shards.py``)
  events.csv           the detections, ranked
  scores.png           score over the whole period, one panel per block
  top/NN_*.png         log-mel spectrograms of the top detections
  metrics.json         scan counts; with ground truth, recall and AUCs
"""
import dataclasses
import json
import os

from absl import logging
import numpy as np

from anomaly_jax.aco import (detect, evaluation, fmt, report, scan, synth,
                             training)
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.config import AcoConfig, Engine, Mode
from anomaly_jax.aco.store import Store


def scan_files(cfg: AcoConfig, arch: Archive) -> list[str]:
  """The files of the run's time range."""
  return scan.select_files(arch.all_files(), cfg.start_time, cfg.end_time)


def run_scan(cfg: AcoConfig, basedir: str, paths: list[str],
             store: Store) -> scan.ScanResult:
  """Scores ``paths`` into ``store`` with ``cfg.engine``."""
  if cfg.engine == Engine.BEAM:
    # Imported here: Beam is an optional extra, needed only by this engine.
    from anomaly_jax.aco import beam_scan  # pylint: disable=g-import-not-at-top
    return beam_scan.scan_archive(paths, basedir, cfg.workdir, cfg.mel,
                                  cfg.score, store, cfg.beam)
  return scan.scan(paths, basedir, scan.FileScorer.from_workdir(
      cfg.workdir, cfg.mel, cfg.score), store, threads=cfg.scan_threads)


def run(cfg: AcoConfig) -> dict:
  """Train / scan / report as ``cfg.mode`` says; returns the metrics."""
  basedir = cfg.archive or synth.ensure_archive()
  arch = Archive(basedir)
  os.makedirs(cfg.workdir, exist_ok=True)
  if cfg.mode == Mode.TRAIN or (cfg.mode == Mode.ALL and
                                not training.is_trained(cfg.workdir)):
    training.train(cfg, arch)
  if cfg.mode == Mode.TRAIN:
    return {}
  training.check_features(cfg)
  store = Store(os.path.join(cfg.workdir, "scores.sqlite"))
  res = run_scan(cfg, basedir, scan_files(cfg, arch), store)
  logging.info("scanned %d files (%d already done, %d damaged), %.0f s of "
               "audio in %.1f s: %.0fx real time", res.scanned, res.skipped,
               res.errors, res.audio_seconds, res.wall, res.speed)
  metrics = write_report(cfg, arch, store, basedir)
  metrics["scan"] = dataclasses.asdict(res) | {"speed": res.speed}
  with open(os.path.join(cfg.workdir, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=1, default=float)
  store.close()
  return metrics


def write_report(cfg: AcoConfig, arch: Archive, store: Store,
                 basedir: str) -> dict:
  """Detections into the store and ``events.csv``, plots; with ground
  truth, its metrics (returned)."""
  w = store.windows()
  half = cfg.mel.context * cfg.mel.hop / cfg.mel.rate / 2
  typical = detect.typical_mask(w["t"], cfg.typical_hours)
  dets, base = detect.find(w, "score", typical, half)
  store.set_detections(dets, cfg.score.value, base)
  metrics, matched, events = {}, [""] * len(dets), None
  thresholds = {"score": base,
                "energy": detect.find(w, "energy", typical, half)[1]}
  if evaluation.has_ground_truth(basedir):
    metrics = evaluation.summarize(cfg, store, basedir)
    events, kinds, ships = evaluation.planted(cfg, basedir)
    matched = evaluation.matched_kinds(dets, events, kinds, ships)
    thresholds = metrics["thresholds"]
  report.write_events(os.path.join(cfg.workdir, "events.csv"), dets, matched)
  shown = {cfg.score.value: w["score"], "energy": w["energy"]}
  report.plot_scores(
      os.path.join(cfg.workdir, "scores.png"), w["t"],
      {k: np.nan_to_num(v) for k, v in shown.items()},
      {cfg.score.value: thresholds["score"],
       "energy": thresholds["energy"]},
      events if events is not None else np.zeros((0, 2)))
  top = os.path.join(cfg.workdir, "top")
  os.makedirs(top, exist_ok=True)
  for i, d in enumerate(dets[:cfg.top_n]):
    name = f"{i + 1:02d}_{fmt.utc(d.peak_t):%Y-%m-%dT%H-%M-%S}.png"
    report.plot_event(os.path.join(top, name), arch, d, i + 1, cfg.mel,
                      matched[i])
  return metrics
