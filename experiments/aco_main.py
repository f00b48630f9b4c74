"""Finds events in an ACO hydrophone archive: train on typical hours, scan.

  python experiments/aco_main.py                       # embedded archive
  python experiments/aco_main.py --archive=/data/aco --start=2017-03-01 \
      --end=2017-03-08 --typical_hours=4,5,6,7 --workdir=runs/aco_march
  python experiments/aco_main.py --engine=beam         # Beam, DirectRunner

Every flag is a field of ``anomaly_jax.aco.config.AcoConfig`` (of its
``mel``, ``detector``, ``detector.train`` or ``beam``), named as the field
(``anomaly_jax.aco.config_flags``, shared with ``aco_heldout.py``); an
unset flag keeps the config's default, so this script's defaults are
``pipeline.run(AcoConfig())``.  docs/aco-beam.md: the scan on a cluster.
"""
from absl import app

from anomaly_jax.aco import config_flags, evaluation, pipeline
from jaxtk import logs

config_flags.define_config_flags()


def main(_):
  logs.quiet_libraries()
  cfg = config_flags.config_from_flags()
  metrics = pipeline.run(cfg)
  if metrics.get("methods"):
    evaluation.print_table(metrics, cfg.score.value)
  if "scan" in metrics:
    s = metrics["scan"]
    print(f"scan ({cfg.engine.value}): {s['scanned']} files, "
          f"{s['audio_seconds']:.0f} s audio in {s['wall']:.1f} s = "
          f"{s['speed']:.0f}x real time")
    print(f"outputs in {cfg.workdir}: scores.sqlite events.csv scores.png "
          "top/*.png metrics.json")


if __name__ == "__main__":
  app.run(main)
