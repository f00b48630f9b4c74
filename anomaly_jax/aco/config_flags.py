"""The absl flags of the ACO scripts, one per ``AcoConfig`` leaf field, and
the one path from them to a config (``jaxtk.configs.override``).

``experiments/aco_main.py`` and ``experiments/aco_heldout.py`` share them,
so a setting evaluated on the held-out archives is set exactly as in a run.
Every flag is named as the leaf field it sets and defaults to ``None``,
which keeps ``AcoConfig()``'s value.  A leaf field without a line in
``HELP`` still gets a flag, its kind taken from its default value, so a new
config field can be set by both scripts at once.
"""
import enum
import sys

from absl import flags

from anomaly_jax.aco import config, features
from jaxtk import configs

_C = config.AcoConfig()
HELP = {
    "archive": "archive root (None: the embedded synthetic archive, "
               "$ACO_ARCHIVE or <repo>/data/aco, built on first use)",
    "workdir": "outputs and resumable state",
    "start": "first file time, ISO (None: all)",
    "end": "end time, ISO, exclusive (None: all)",
    "typical_hours": "UTC hours of the quiet files to train on (5 UTC: "
                     "19:00 Hawaii time)",
    "train_per_file": "training windows per file",
    "low_weight": "standardised low bands times this when training (1: as "
                  "the mels)",
    "fa_per_hour": "false-alarm budget of the recall",
    "top_n": "spectrogram PNGs of the top detections",
    "fuse": "scores fused into --score=fused: np, vae, gmm_nll, ae, low, "
            "tonal",
    "tonal_band": "lo,hi Hz searched for a tone (tonal branch)",
    "tonal_frames": "STFT frames the tonal branch averages per window",
    "track_frames": "frames over which the tonal branch follows a tone "
                    "before taking a frame's largest ratio (1: off)",
    "track_bins": "FFT bins either side a tracked tone may move per frame",
    "fuse_quantile": "typical-window quantile of each fused score that maps "
                     "to 1.0",
    "fuse_low_quantile": "the same for the low branch (its own threshold: "
                         "its false alarms are rarer)",
    "fuse_tonal_quantile": "the same for the tonal branch",
    "pulse_detector": "low branch per window: matched (filter on the "
                      "swept pulse) or band (band power vs reference bands)",
    "pulse_sweep": "start,end Hz of the matched filter's pulse",
    "fuse_smooth": "windows each fused detector score is averaged over (1: "
                   "none)",
    # The low-frequency pulse-series branch (PulseConfig).
    "pulse_decim": "samples averaged into one",
    "pulse_n_fft": "FFT points of the decimated signal",
    "pulse_band": "lo,hi Hz of the pulses",
    "pulse_ref": "lo,hi[,lo,hi...] Hz of the reference bands",
    "pulse_s": "seconds of one pulse (box mean)",
    "period_s": "seconds between pulses (running max)",
    "pulse_count": "pulses or periods of the series step (odd; 1: off)",
    "pulse_series": "series step: max (running max over period_s, "
                    "averaged) or comb (pulses at one interval)",
    "period_range": "shortest,longest s between pulses (comb)",
    "pulse_tol_s": "seconds each comb tooth searches for its pulse",
    "fuse_low_nms_s": "seconds either side within which only the low "
                      "branch's largest window keeps its calibrated score "
                      "(0: off)",
    "mode": "what to run",
    "score": "detector output ranked as 'ours'",
    "engine": "scan in this process or on Beam",
    "scan_threads": "files decoded and scored at once by --engine=single "
                    "(one thread each)",
    # Features (MelConfig).
    "rate": "sample rate of the archive (Hz)",
    "n_fft": "STFT size",
    "hop": "STFT hop",
    "n_mels": "mel bands",
    "fmin": "lowest mel frequency (Hz)",
    "low_bands": "Hz edges of bands from a decimated long-window STFT, for "
                 "20 Hz fin pulses (empty: off)",
    "context": "frames per window",
    "frontend": "per mel band: db (log-mel) or pcen",
    "pcen_time_constant": "seconds of PCEN's smoother (--frontend=pcen)",
    "stride": "frames between windows",
    "band": "Hz band of the energy baseline",
    # The detector and its training (DetectorConfig, TrainConfig).
    "h_dim": "encoder/decoder interface width",
    "hidden": "hidden widths of the dense layers",
    "z_dim": "latent size",
    "steps_vae": "VAE steps per era",
    "steps_np": "NP-discriminator steps per era",
    "steps_ae": "plain-AE baseline steps (needed by --score=ae)",
    "eras": "training eras",
    "tau": "NP sigmoid temperature on log errors",
    "quantile": "typical-latent NLL quantile for the generator's rejection",
    "proposal": "generator candidates",
    "rho": "target FPR of the NP objective",
    "n_components": "GMM components on the latents",
    "lr": "Adam learning rate",
    "batch_size": "training windows per step",
    "seed": "PRNG seed",
    # The Beam engine (BeamConfig).
    "runner": "Beam runner: DirectRunner, FlinkRunner, SparkRunner, "
              "DataflowRunner",
    "direct_num_workers": "DirectRunner workers",
    "direct_running_mode": "DirectRunner worker kind",
    "beam_options": "another Beam pipeline option, e.g. "
                    "--beam_options=--flink_master=host:8081 (repeat the "
                    "flag for more)",
}
# Element types of the list flags whose default does not show it, and the
# fields whose None default hides their kind.
_LISTS = {"typical_hours": int, "low_bands": float, "band": float,
          "hidden": int, "fuse": str, "pulse_band": float, "pulse_ref": float,
          "pulse_sweep": float, "tonal_band": float}
_KINDS = {"archive": str, "start": str, "end": str, "fmax": float,
          "top_db": float}
_SCALARS = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
            float: flags.DEFINE_float, str: flags.DEFINE_string}


def _default(name):
  value = _C
  for part in configs.field_paths(_C)[name]:
    value = getattr(value, part)
  return value


def _list_type(name):
  if name in _LISTS:
    return _LISTS[name]
  value = _default(name)
  return type(value[0]) if value else float


def define_config_flags():
  """Defines one flag per leaf field of ``AcoConfig`` (default ``None``),
  listed under the running script in ``--help``."""
  for name in configs.field_paths(_C):
    value, help_ = _default(name), HELP.get(name, "AcoConfig field " + name)
    kw = {"module_name": sys.argv[0]}
    if name == "beam_options":
      define = flags.DEFINE_multi_string
    elif name == "frontend":
      define = flags.DEFINE_enum
      kw["enum_values"] = list(features.FRONTENDS)
    elif isinstance(value, enum.Enum):
      define = flags.DEFINE_enum
      kw["enum_values"] = [m.value for m in type(value)]
    elif isinstance(value, tuple):
      define = flags.DEFINE_list
    else:
      define = _SCALARS[_KINDS.get(name, type(value))]
    configs.define_flag(define, name, _C, help_, **kw)


def config_from_flags() -> config.AcoConfig:
  """``AcoConfig()`` with every set flag applied to the field of its name."""
  fv = flags.FLAGS
  given = {n: fv[n].value for n in configs.field_paths(_C)}
  for name, value in given.items():
    if value is not None and isinstance(_default(name), tuple):
      kind = str if name == "beam_options" else _list_type(name)
      given[name] = tuple(kind(v) for v in value)
  if given["pulse_ref"] is not None:  # lo,hi,lo,hi -> ((lo, hi), (lo, hi))
    r = given["pulse_ref"]
    given["pulse_ref"] = tuple(zip(r[::2], r[1::2]))
  return configs.override(_C, **given)
