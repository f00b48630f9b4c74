"""The ``review``, ``export`` and ``import-labels`` subcommands of
``python -m anomaly_jax.aco`` (argparse; ``__main__`` only registers them).

  review --workdir runs/aco [--port N]           the web page
  review --mode=threshold --target_precision=0.9 score for a precision
  review --mode=simulate --n=50                  ground-truth reviewer
  review --mode=retrain [--out DIR]              retrain with false alarms
  export --workdir runs/aco --format=raven --which=confirmed --out DIR
  import-labels TABLE.txt --workdir runs/aco [--reviewer NAME]
"""
import argparse
import json
import math
import os
import sys

from anomaly_jax.aco import synth
from anomaly_jax.aco.config import ScoreKey
from anomaly_jax.aco.review import app as app_lib
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import exports, labels as labels_lib, media
from anomaly_jax.aco.review import retrain, simulate, use
from jaxtk import configs
from jaxtk.errors import DataError

MODES = ("serve", "threshold", "simulate", "retrain")


def _common(p: argparse.ArgumentParser):
  p.add_argument("--workdir", default="runs/aco", help="the scan's workdir "
                 "(its scores.sqlite; the labels go there too)")
  p.add_argument("--archive", default=None, help="archive root (default "
                 "$ACO_ARCHIVE or <repo>/data/aco)")


def add_parsers(sub) -> None:
  """Registers the three subcommands on ``__main__``'s subparsers."""
  r = sub.add_parser("review", help="review, listen to and label detections "
                     "in a browser; threshold, simulate, retrain")
  _common(r)
  r.add_argument("--mode", default="serve", choices=MODES)
  r.add_argument("--host", default="127.0.0.1", help="address to bind "
                 "(default loopback only)")
  r.add_argument("--port", type=int, default=8765)
  r.add_argument("--target_precision", type=float, default=0.9)
  r.add_argument("--n", type=int, default=50, help="detections the "
                 "simulated reviewer answers (top n)")
  r.add_argument("--reviewer", default="simulated")
  r.add_argument("--out", default=None, help="retrain: new workdir "
                 "(default <workdir>_retrained)")
  # Fields of retrain.RetrainConfig (None keeps its default).
  r.add_argument("--fa_share", type=float, default=None, help="retrain: "
                 "share of false-alarm windows in the training set (0: "
                 "none, a control run; default 0.1)")
  r.add_argument("--typical_hours", default=None, type=lambda s: tuple(
      int(h) for h in s.split(",")), help="retrain: UTC hours the first run "
                 "trained on, comma-separated (default 5)")
  r.add_argument("--train_per_file", type=int, default=None,
                 help="retrain: typical windows per file (default 800)")
  r.add_argument("--score", default=None, help="retrain: detector output "
                 "ranked as the score, one of "
                 f"{', '.join(k.value for k in ScoreKey)} (default np)")
  e = sub.add_parser("export", help="Raven / Audacity / CSV tables of the "
                     "detections and their labels")
  _common(e)
  e.add_argument("--format", default="raven", choices=exports.FORMATS)
  e.add_argument("--which", default="all", choices=exports.WHICH)
  e.add_argument("--out", default=None, help="directory (default "
                 "<workdir>/exports)")
  i = sub.add_parser("import-labels", help="read a Raven selection table "
                     "back as labels")
  i.add_argument("table")
  _common(i)
  i.add_argument("--reviewer", default="")
  i.add_argument("--label_column", default="Label")
  i.add_argument("--file", default=None, help="archive file of a per-file "
                 "table without Begin Path / Begin File")


def _latest(workdir: str) -> dict:
  s = labels_lib.Labels(os.path.join(workdir, det_lib.STORE))
  try:
    return s.latest()
  finally:
    s.close()


def _metrics(workdir: str, key: str) -> dict:
  with open(os.path.join(workdir, "metrics.json")) as f:
    return json.load(f)["methods"][key]


def run(a: argparse.Namespace) -> int:
  """Runs the subcommand ``a.cmd`` parsed by ``add_parsers``; a bad input
  file or setting is one line on stderr and exit status 2."""
  try:
    return _run(a)
  except (DataError, ValueError) as e:
    print(f"ERROR {e}", file=sys.stderr)
    return 2


def _run(a: argparse.Namespace) -> int:
  archive = a.archive or synth.default_dir()
  if a.cmd == "export":
    out = a.out or os.path.join(a.workdir, "exports")
    os.makedirs(out, exist_ok=True)
    dets = det_lib.load(a.workdir, archive)
    files = exports.export(a.format, dets, _latest(a.workdir),
                           exports.Timeline(det_lib.files(a.workdir), dets),
                           archive, a.which)
    for name, text in files.items():
      with open(os.path.join(out, name), "w") as f:
        f.write(text)
    print(f"{len(files)} file(s) in {out}")
    return 0
  if a.cmd == "import-labels":
    s = labels_lib.Labels(os.path.join(a.workdir, det_lib.STORE))
    try:
      got = exports.import_raven(a.table, det_lib.load(a.workdir, archive), s,
                                 a.reviewer, a.label_column, a.file)
    finally:
      s.close()
    print(f"{a.table}: {got['matched']} labels on detections, "
          f"{got['unmatched']} on no detection, {got['skipped']} unlabelled")
    return 0
  if a.mode == "serve":
    app = app_lib.create_app(a.workdir, media.check_archive(archive),
                             app_lib.LOCAL if a.host in app_lib.LOCAL
                             else None)
    app_lib.serve(app, a.host, a.port)
    return 0
  if a.mode == "threshold":
    t = use.threshold_for_precision(det_lib.load(a.workdir, archive),
                                    _latest(a.workdir), a.target_precision)
    if math.isinf(t["threshold"]):
      print(f"no score reaches precision {a.target_precision} on the "
            f"{t['reviewed']} reviewed detections")
      return 1
    print(f"score >= {t['threshold']:.6g}: precision {t['precision']:.3f} "
          f"({t['true']} true of {t['reviewed']} reviewed, down to rank "
          f"{t['rank']})")
    return 0
  if a.mode == "simulate":
    got = simulate.review_top(a.workdir, archive, a.n, a.reviewer)
    print(f"simulated review of the top {got['reviewed']}: {got['true']} "
          f"true, {got['false']} false")
    return 0
  out = a.out or a.workdir.rstrip("/") + "_retrained"
  cfg = configs.override(retrain.RetrainConfig(), fa_share=a.fa_share,
                         typical_hours=a.typical_hours,
                         train_per_file=a.train_per_file,
                         score=a.score)
  after = retrain.retrain(a.workdir, out, archive, cfg)
  before = _metrics(a.workdir, cfg.score.value)
  now = after["methods"][cfg.score.value]
  print(f"retrained with {after['false_alarms']} false alarms: "
        f"{after['fa_windows']} windows x {after['fa_repeats']} -> {out}")
  print(f"{'':>14} {'before':>8} {'after':>8}")
  for k in sorted(before):
    if k.startswith("recall") or k in ("auc", "ships_detected"):
      print(f"{k:>14} {before[k]:8.3f} {now[k]:8.3f}")
  return 0
