"""``--mode=retrain``: the confirmed false alarms join the typical data, the
detector is retrained and the archive scanned again, in a new workdir.

The false alarms' windows (every window whose centre lies in a detection
labelled "false") are standardised like the training windows (the first
run's ``standardize.npz``) and repeated until they are ``fa_share`` of the
training set, so a few hundred windows weigh against ~30,000 typical ones;
the typical windows are sampled as the first run sampled them.
"""
import dataclasses
import json
import os
import shutil

from absl import logging
import numpy as np

from anomaly_jax import detector as det_lib
from anomaly_jax.aco import features, fusion, pipeline, scan, training
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.config import AcoConfig, Mode, ScoreKey
from anomaly_jax.aco.review import detections as dets_lib
from anomaly_jax.aco.review import labels as labels_lib
from jaxtk import configs
from jaxtk.errors import DataError


@dataclasses.dataclass(frozen=True)
class RetrainConfig:
  typical_hours: tuple = (5,)   # UTC hours the first run trained on
  train_per_file: int = 800     # typical windows sampled per file (as then)
  fa_share: float = 0.1         # share of false-alarm windows in training
                                # (0: none, the control run)
  score: ScoreKey = ScoreKey.NP  # the detector output ranked as "score"

  def __post_init__(self):
    object.__setattr__(self, "score", configs.choice("score", self.score,
                                                     ScoreKey))
    if not 0.0 <= self.fa_share < 1.0:
      raise ValueError(f"fa_share={self.fa_share} is not in [0, 1)")


def mel_of(workdir: str) -> features.MelConfig:
  """The feature settings the workdir's detector was trained on."""
  path = os.path.join(training.detector_dir(workdir), "features.json")
  if not os.path.exists(path):
    raise DataError(path, "no trained detector here (run the scan first)")
  with open(path) as f:
    d = json.load(f)
  return features.MelConfig(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in d.items()})


def span_windows(arch: Archive, spans: np.ndarray,
                 mel: features.MelConfig) -> np.ndarray:
  """Unstandardised windows whose centre lies in one of ``spans``.

  Args:
    arch: the archive.
    spans: float ``[S, 2]`` start/end Unix seconds.
    mel: feature settings.

  Returns:
    float32 ``[N, mel.dim]``.
  """
  by_file = {}
  for a, b in spans:
    for p in arch.files(dets_lib.utc(a), dets_lib.utc(b)):
      by_file.setdefault(p, []).append((a, b))
  out = [np.zeros((0, mel.dim), np.float32)]
  for p, ss in sorted(by_file.items()):
    try:
      d, x = scan.decode_float(p)
    except DataError as e:
      logging.warning("false alarms: skipped %s", e)
      continue
    win, _ = features.file_features(x, mel)
    t = dets_lib.unix(d.start) + mel.window_times(len(win))
    keep = np.zeros(len(win), bool)
    for a, b in ss:
      keep |= (t >= a) & (t <= b)
    out.append(win[keep])
  return np.concatenate(out)


def retrain(workdir: str, out: str, archive: str,
            cfg: RetrainConfig = RetrainConfig()) -> dict:
  """Retrains with ``workdir``'s confirmed false alarms; scans into ``out``.

  Returns:
    ``out``'s metrics (``pipeline.run``), plus "false_alarms" (labels),
    "fa_windows" (their windows) and "fa_repeats" (times each was used).
  """
  src = labels_lib.Labels(os.path.join(workdir, dets_lib.STORE))
  fa = [r for r in src.latest().values() if r["label"] == "false"]
  if not fa:
    raise DataError(workdir, "no detection labelled false here: review some "
                    "first (or --mode=simulate)")
  run = AcoConfig(archive=archive, workdir=out, mode=Mode.SCAN,
                  typical_hours=tuple(cfg.typical_hours),
                  train_per_file=cfg.train_per_file, score=cfg.score,
                  mel=mel_of(workdir), detector=det_lib.Detector.load(
                      training.detector_dir(workdir)).cfg)
  arch = Archive(archive)
  st = np.load(os.path.join(workdir, "standardize.npz"))
  mean, std = st["mean"], st["std"]
  x = (scan.typical_windows(training.typical_files(run, arch), run.mel,
                            run.train_per_file) - mean) / std
  spans = np.array([[r["start"], r["end"]] for r in fa])
  x_fa = (span_windows(arch, spans, run.mel) - mean) / std
  reps = 0 if cfg.fa_share == 0 else max(1, int(round(
      cfg.fa_share * len(x) / (1 - cfg.fa_share) / max(len(x_fa), 1))))
  x_all = np.concatenate([x] + [x_fa] * reps).astype(np.float32)
  logging.info("retraining on %d typical + %d false-alarm windows (x%d)",
               len(x), len(x_fa), reps)
  os.makedirs(out, exist_ok=True)
  det = det_lib.train_detector(x_all, run.detector,
                               workdir=os.path.join(out, "detector_train"))
  dst = training.detector_dir(out)
  shutil.rmtree(dst, ignore_errors=True)
  det.save(dst)
  shutil.copy(os.path.join(training.detector_dir(workdir), "features.json"),
              dst)
  shutil.copy(os.path.join(workdir, "standardize.npz"), out)
  if os.path.exists(os.path.join(workdir, fusion.FILE)):
    shutil.copy(os.path.join(workdir, fusion.FILE), out)
  training.remove_stale(out, keep_labels=False)
  with open(os.path.join(dst, "DONE"), "w") as f:
    f.write("ok\n")
  metrics = pipeline.run(run)
  dst_labels = labels_lib.Labels(os.path.join(out, dets_lib.STORE))
  src.copy_to(dst_labels)
  dst_labels.close()
  src.close()
  return metrics | {"false_alarms": len(fa), "fa_windows": int(len(x_fa)),
                    "fa_repeats": reps}
