"""Training the ACO detector on the typical hours of an archive.

Writes into the workdir::

  detector/            the trained detector (``Detector.save``),
                       features.json (its MelConfig) and DONE
  detector_train/      checkpoints of a training run (resumable)
  standardize.npz      mean/std of the training windows (low bands scaled)
  fusion.json          the fused score's calibration (``fusion.py``)
"""
import dataclasses
import json
import os
import shutil

from absl import logging
import numpy as np

from anomaly_jax import detector as det_lib
from anomaly_jax.aco import features, fusion, scan
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.config import AcoConfig
from anomaly_jax.aco.store import Store
from jaxtk.errors import DataError

STORE = "scores.sqlite"             # the scan's index (``Store``)
STALE = (STORE, "shards")           # results of an older detector


def detector_dir(workdir: str) -> str:
  return os.path.join(workdir, "detector")


def is_trained(workdir: str) -> bool:
  return os.path.exists(os.path.join(detector_dir(workdir), "DONE"))


def typical_files(cfg: AcoConfig, arch: Archive) -> list[str]:
  """The files of ``cfg.typical_hours`` inside the run's time range."""
  return scan.select_files(arch.all_files(), cfg.start_time, cfg.end_time,
                           set(cfg.typical_hours))


def fit_fusion(cfg: AcoConfig, typical: list[dict]) -> fusion.Fusion:
  """The run's fusion (``cfg.fuse`` with its quantiles, smoothing,
  branches and low-branch peaks) calibrated on typical files' scores
  (``fusion.fit``'s ``files``)."""
  return fusion.fit(typical, cfg.fuse, cfg.fuse_quantile, cfg.pulse,
                    cfg.fuse_smooth, cfg.fuse_low_quantile, cfg.tonal,
                    cfg.fuse_tonal_quantile, cfg.low_nms_windows())


def train(cfg: AcoConfig, arch: Archive) -> det_lib.Detector:
  """Trains the detector on windows of typical hours and saves it.

  A new detector makes old scores stale: the workdir's shards and the
  index's scan rows are removed; other tables of the index (the review's
  labels) are kept, with a warning.
  """
  paths = typical_files(cfg, arch)
  logging.info("training on %d typical files (UTC hours %s)", len(paths),
               cfg.typical_hours)
  x, whole, low = scan.typical_windows(paths, cfg.mel, cfg.train_per_file,
                                       low=cfg.pulse, tonal_cfg=cfg.tonal)
  mean, std = x.mean(0), x.std(0) + 1e-3
  std = std / features.low_band_scale(cfg.mel, cfg.low_weight)
  x = (x - mean) / std
  det_cfg = cfg.trained_detector()
  logging.info("detector %s on %d windows", det_cfg, len(x))
  det = det_lib.train_detector(x, det_cfg, workdir=os.path.join(
      cfg.workdir, "detector_train"))
  out = detector_dir(cfg.workdir)
  shutil.rmtree(out, ignore_errors=True)
  det.save(out)
  np.savez(os.path.join(cfg.workdir, "standardize.npz"), mean=mean, std=std)
  typical = [{k: np.asarray(v) for k, v in det.score(
      (w - mean) / std, batch_size=2048).items()} | s
             for w, s in zip(whole, low) if len(w)]
  fit_fusion(cfg, typical).save(cfg.workdir)
  with open(os.path.join(out, "features.json"), "w") as f:
    json.dump(mel_dict(cfg.mel), f, indent=1)
  remove_stale(cfg.workdir)
  with open(os.path.join(out, "DONE"), "w") as f:
    f.write("ok\n")
  return det


def remove_stale(workdir: str, keep_labels: bool = True):
  """Removes the results of an older detector from ``workdir``: its shards,
  and its index (only the scan tables with ``keep_labels``)."""
  for name in STALE + ("scores.sqlite-wal", "scores.sqlite-shm"):
    p = os.path.join(workdir, name)
    if name == STORE and keep_labels and os.path.exists(p):
      clear_store(p)
    elif os.path.isdir(p):
      shutil.rmtree(p)
    elif os.path.exists(p) and not (keep_labels and name.startswith(STORE)):
      os.remove(p)


def clear_store(path: str):
  """Empties the scan tables of the index at ``path``, keeps the rest."""
  store = Store(path)
  try:
    kept = {k: n for k, n in store.clear().items() if n}
  finally:
    store.close()
  if kept:
    logging.warning(
        "%s: the old detector's scores are removed; kept %s (review "
        "labels refer to the old detections by file and peak time: export "
        "them, or retrain with `review --mode=retrain`, which uses a new "
        "workdir)", path, ", ".join(f"{k} ({n} rows)"
                                   for k, n in sorted(kept.items())))


def mel_dict(mel: features.MelConfig) -> dict:
  return json.loads(json.dumps(dataclasses.asdict(mel)))


def check_features(cfg: AcoConfig):
  """Raises ``DataError`` unless the workdir's detector was trained on
  ``cfg.mel``."""
  path = os.path.join(detector_dir(cfg.workdir), "features.json")
  if not os.path.exists(path):
    raise DataError(cfg.workdir, "no trained detector here: run with "
                    "--mode=train or --mode=all first")
  with open(path) as f:
    trained = json.load(f)
  diff = {k: (v, trained.get(k)) for k, v in mel_dict(cfg.mel).items()
          if trained.get(k) != v}
  if diff:
    raise DataError(path, "the detector here was trained on other features "
                    + ", ".join(f"{k}={t!r} (asked: {v!r})"
                                for k, (v, t) in sorted(diff.items()))
                    + "; retrain with --mode=train or use another --workdir")
