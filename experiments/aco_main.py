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
from anomaly_jax.aco import config, evaluation, features, pipeline
from jaxtk import configs, logs

_C = config.AcoConfig()
F = flags.FLAGS
for _define, _name, _help in (
    (flags.DEFINE_string, "archive", "archive root (None: the embedded "
     "synthetic archive, $ACO_ARCHIVE or <repo>/data/aco, built on first "
     "use)"),
    (flags.DEFINE_string, "workdir", "outputs and resumable state"),
    (flags.DEFINE_string, "start", "first file time, ISO (None: all)"),
    (flags.DEFINE_string, "end", "end time, ISO, exclusive (None: all)"),
    (flags.DEFINE_list, "typical_hours", "UTC hours of the quiet files to "
     "train on (5 UTC: 19:00 Hawaii time)"),
    (flags.DEFINE_integer, "train_per_file", "training windows per file"),
    (flags.DEFINE_float, "low_weight", "standardised low bands times this "
     "when training (1: as the mels)"),
    (flags.DEFINE_float, "fa_per_hour", "false-alarm budget of the recall"),
    (flags.DEFINE_list, "fuse", "scores fused into --score=fused: np, vae, "
     "gmm_nll, ae, low"),
    (flags.DEFINE_float, "fuse_quantile", "typical-window quantile of each "
     "fused score that maps to 1.0"),
    (flags.DEFINE_integer, "fuse_smooth", "windows each fused detector "
     "score is averaged over (1: none)"),
    # The low-frequency pulse-series branch (PulseConfig).
    (flags.DEFINE_integer, "pulse_decim", "samples averaged into one"),
    (flags.DEFINE_integer, "pulse_n_fft", "FFT points of the decimated "
     "signal"),
    (flags.DEFINE_list, "pulse_band", "lo,hi Hz of the pulses"),
    (flags.DEFINE_list, "pulse_ref", "lo,hi[,lo,hi...] Hz of the reference "
     "bands"),
    (flags.DEFINE_float, "pulse_s", "seconds of one pulse (box mean)"),
    (flags.DEFINE_float, "period_s", "seconds between pulses (running max)"),
    (flags.DEFINE_integer, "pulse_count", "periods averaged (odd)"),
    (flags.DEFINE_integer, "top_n", "spectrogram PNGs of the top detections"),
    # Features (MelConfig).
    (flags.DEFINE_integer, "rate", "sample rate of the archive (Hz)"),
    (flags.DEFINE_integer, "n_fft", "STFT size"),
    (flags.DEFINE_integer, "hop", "STFT hop"),
    (flags.DEFINE_integer, "n_mels", "mel bands"),
    (flags.DEFINE_float, "fmin", "lowest mel frequency (Hz)"),
    (flags.DEFINE_list, "low_bands", "Hz edges of bands from a decimated "
     "long-window STFT, for 20 Hz fin pulses (empty: off)"),
    (flags.DEFINE_integer, "context", "frames per window"),
    (flags.DEFINE_float, "pcen_time_constant", "seconds of PCEN's smoother "
     "(--frontend=pcen)"),
    (flags.DEFINE_integer, "stride", "frames between windows"),
    (flags.DEFINE_list, "band", "Hz band of the energy baseline"),
    # The detector and its training (DetectorConfig, TrainConfig).
    (flags.DEFINE_integer, "h_dim", "encoder/decoder interface width"),
    (flags.DEFINE_list, "hidden", "hidden widths of the dense layers"),
    (flags.DEFINE_integer, "z_dim", "latent size"),
    (flags.DEFINE_integer, "steps_vae", "VAE steps per era"),
    (flags.DEFINE_integer, "steps_np", "NP-discriminator steps per era"),
    (flags.DEFINE_integer, "steps_ae", "plain-AE baseline steps (needed "
     "by --score=ae)"),
    (flags.DEFINE_integer, "eras", "training eras"),
    (flags.DEFINE_float, "tau", "NP sigmoid temperature on log errors"),
    (flags.DEFINE_float, "quantile", "typical-latent NLL quantile for the "
     "generator's rejection"),
    (flags.DEFINE_integer, "seed", "PRNG seed"),
    # The Beam engine (BeamConfig).
    (flags.DEFINE_string, "runner", "Beam runner: DirectRunner, "
     "FlinkRunner, SparkRunner, DataflowRunner"),
    (flags.DEFINE_integer, "direct_num_workers", "DirectRunner workers"),
    (flags.DEFINE_multi_string, "beam_options", "another Beam pipeline "
     "option, e.g. --beam_options=--flink_master=host:8081 (repeat the "
     "flag for more)")):
  configs.define_flag(_define, _name, _C, _help)
for _name, _kind, _help in (
    ("mode", config.Mode, "what to run"),
    ("score", config.ScoreKey, "detector output ranked as 'ours'"),
    ("engine", config.Engine, "scan in this process or on Beam"),
    ("proposal", train_lib.Proposal, "generator candidates"),
    ("frontend", None, "per mel band: db (log-mel) or pcen"),
    ("direct_running_mode", config.RunningMode, "DirectRunner worker kind")):
  configs.define_flag(flags.DEFINE_enum, _name, _C, _help,
                      enum_values=list(features.FRONTENDS) if _kind is None
                      else [m.value for m in _kind])

_LISTS = {"typical_hours": int, "low_bands": float, "band": float,
          "hidden": int, "fuse": str, "pulse_band": float, "pulse_ref": float}


def config_from_flags() -> config.AcoConfig:
  """``AcoConfig()`` with every set flag applied to the field of its name."""
  given = {n: F[n].value for n in set(configs.field_paths(_C)) & set(F)}
  for name, kind in _LISTS.items():
    if given[name] is not None:
      given[name] = tuple(kind(v) for v in given[name])
  if given["pulse_ref"] is not None:
    r = given["pulse_ref"]
    given["pulse_ref"] = tuple(zip(r[::2], r[1::2]))
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
