"""Finds events in an ACO hydrophone archive: train on typical hours, scan.

  python experiments/aco_main.py                       # embedded archive
  python experiments/aco_main.py --archive=/data/aco --start=2017-03-01 \
      --end=2017-03-08 --typical_hours=4,5,6,7 --workdir=runs/aco_march
  python experiments/aco_main.py --engine=beam         # Beam, DirectRunner

Every flag is a field of ``anomaly_jax.aco.config.AcoConfig`` (of its
``mel``, ``detector``, ``detector.train`` or ``beam``), named as the field;
an unset flag keeps the config's default, so this script's defaults are
``pipeline.run(AcoConfig())``.  docs/aco-beam.md: the scan on a cluster.
"""
from absl import app, flags

from anomaly_jax import train as train_lib
from anomaly_jax.aco import config, evaluation, pipeline
from jaxtk import configs, logs

_C = config.AcoConfig()
_M, _D, _T, _B = _C.mel, _C.detector, _C.detector.train, _C.beam
F = flags.FLAGS


def _enum(name, kind, default, help_):
  flags.DEFINE_enum(name, None, [m.value for m in kind],
                    f"{help_} (default {default.value})")


def _csv(values) -> str:
  return ",".join(f"{v:g}" if isinstance(v, float) else str(v)
                  for v in values)


flags.DEFINE_string("archive", None, "archive root (default: the embedded "
                    "synthetic archive, $ACO_ARCHIVE or <repo>/data/aco, "
                    "built on first use)")
flags.DEFINE_string("workdir", None, "outputs and resumable state "
                    f"(default {_C.workdir})")
flags.DEFINE_string("start", None, "first file time, ISO (default: all)")
flags.DEFINE_string("end", None, "end time, ISO, exclusive (default: all)")
flags.DEFINE_list("typical_hours", None, "UTC hours of the quiet files to "
                  f"train on (default {_csv(_C.typical_hours)}: 19:00 Hawaii)")
_enum("mode", config.Mode, _C.mode, "what to run")
_enum("score", config.ScoreKey, _C.score, "detector output ranked as 'ours'")
_enum("engine", config.Engine, _C.engine, "scan in this process or on Beam")
flags.DEFINE_integer("train_per_file", None, "training windows per file "
                     f"(default {_C.train_per_file})")
flags.DEFINE_float("low_weight", None, "standardised low bands times this "
                   f"when training (default {_C.low_weight:g}; 1: as the "
                   "mels)")
flags.DEFINE_float("fa_per_hour", None, "false-alarm budget of the recall "
                   f"(default {_C.fa_per_hour:g})")
flags.DEFINE_integer("top_n", None, "spectrogram PNGs of the top detections "
                     f"(default {_C.top_n})")
# Features (MelConfig).
flags.DEFINE_integer("rate", None, f"sample rate (Hz, default {_M.rate})")
flags.DEFINE_integer("n_fft", None, f"STFT size (default {_M.n_fft})")
flags.DEFINE_integer("hop", None, f"STFT hop (default {_M.hop})")
flags.DEFINE_integer("n_mels", None, f"mel bands (default {_M.n_mels})")
flags.DEFINE_float("fmin", None, f"lowest mel frequency (Hz, default "
                   f"{_M.fmin:g})")
flags.DEFINE_list("low_bands", None, "Hz edges of bands from a decimated "
                  "long-window STFT, for 20 Hz fin pulses (empty: off; "
                  f"default {_csv(_M.low_bands)})")
flags.DEFINE_integer("context", None, f"frames per window (default "
                     f"{_M.context})")
flags.DEFINE_integer("stride", None, f"frames between windows (default "
                     f"{_M.stride})")
flags.DEFINE_list("band", None, "Hz band of the energy baseline (default "
                  f"{_csv(_M.band)})")
# Detector and its training (DetectorConfig, TrainConfig).
flags.DEFINE_integer("h_dim", None, f"interface width (default {_D.h_dim})")
flags.DEFINE_list("hidden", None, f"hidden widths (default "
                  f"{_csv(_D.hidden)})")
flags.DEFINE_integer("z_dim", None, f"latent size (default {_T.z_dim})")
flags.DEFINE_integer("steps_vae", None, f"VAE steps per era (default "
                     f"{_T.steps_vae})")
flags.DEFINE_integer("steps_np", None, "NP-discriminator steps per era "
                     f"(default {_T.steps_np})")
flags.DEFINE_integer("steps_ae", None, "plain-AE baseline steps, needed by "
                     f"--score=ae (default {_T.steps_ae})")
flags.DEFINE_integer("eras", None, f"training eras (default {_T.eras})")
flags.DEFINE_float("tau", None, "NP sigmoid temperature on log recon errors "
                   f"(default {_T.tau:g})")
flags.DEFINE_float("quantile", None, "typical-latent NLL quantile for the "
                   f"generator's rejection (default {_T.quantile:g})")
_enum("proposal", train_lib.Proposal, _T.proposal, "generator candidates")
flags.DEFINE_integer("seed", None, f"PRNG seed (default {_T.seed})")
# The Beam engine (BeamConfig).
flags.DEFINE_string("runner", None, "Beam runner: DirectRunner, "
                    "FlinkRunner, SparkRunner, DataflowRunner (default "
                    f"{_B.runner})")
flags.DEFINE_integer("direct_num_workers", None, "DirectRunner workers "
                     f"(default {_B.direct_num_workers})")
_enum("direct_running_mode", config.RunningMode, _B.direct_running_mode,
      "DirectRunner worker kind")
flags.DEFINE_multi_string("beam_options", None, "another Beam pipeline "
                          "option, e.g. --beam_options=--flink_master="
                          "host:8081 (repeat the flag for more)")

_LISTS = {"typical_hours": int, "low_bands": float, "band": float,
          "hidden": int}


def config_from_flags() -> config.AcoConfig:
  """``AcoConfig()`` with every set flag applied to the field of its name."""
  given = {n: F[n].value for n in set(configs.field_paths(_C)) & set(F)}
  for name, kind in _LISTS.items():
    if given[name] is not None:
      given[name] = tuple(kind(v) for v in given[name])
  if given["beam_options"] is not None:
    given["beam_options"] = tuple(given["beam_options"])
  return configs.override(_C, **given)


def main(_):
  logs.quiet_libraries()
  cfg = config_from_flags()
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
