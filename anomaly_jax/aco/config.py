"""The ACO detector's one config: features, detector (with its training
config), the run and the scan engine; plain frozen dataclasses.

``experiments/aco_main.py`` maps its flags onto ``AcoConfig()`` with
``jaxtk.configs.override`` (flag names are the leaf field names), so
``pipeline.run(AcoConfig())`` is the script's default run.  Every string
choice is an enum, checked when the config is built.
"""
import dataclasses
import datetime as dt
import enum

from anomaly_jax import detector as det_lib
from anomaly_jax import train as train_lib
from anomaly_jax.aco import features
from anomaly_jax.aco import pulse as pulse_lib
from anomaly_jax.aco import tonal as tonal_lib
from jaxtk import configs


class Mode(str, enum.Enum):
  TRAIN = "train"   # train the detector only
  SCAN = "scan"     # scan with the detector in the workdir, then report
  ALL = "all"       # train if there is no detector yet, scan, report


class ScoreKey(str, enum.Enum):
  """The detector output ranked as "score" (the detections' score)."""
  NP = "np"            # NP-discriminator tail reconstruction error
  VAE = "vae"          # VAE tail reconstruction error
  GMM_NLL = "gmm_nll"  # GMM NLL of the latent mean
  AE = "ae"            # plain-AE baseline (needs steps_ae > 0)
  LOW = "low"          # low-frequency pulse-series branch (pulse.py)
  FUSED = "fused"      # max of the calibrated scores of ``fuse`` (fusion.py)


# Scores ``fuse`` may name (the detector's outputs and the branches).
FUSABLE = ("np", "vae", "gmm_nll", "ae", "low", "tonal")


class Engine(str, enum.Enum):
  SINGLE = "single"  # this process, scan_threads files at once (scan.py)
  BEAM = "beam"      # an Apache Beam pipeline (beam_scan.py, extra [beam])


class RunningMode(str, enum.Enum):
  """DirectRunner worker kinds (Beam's ``--direct_running_mode``)."""
  IN_MEMORY = "in_memory"
  MULTI_THREADING = "multi_threading"
  MULTI_PROCESSING = "multi_processing"


# The log-mel features the detector was developed with: 4 frames between
# windows, and three low bands (12-18, 18-24, 24-30 Hz) for fin pulses.
MEL = features.MelConfig(stride=4, low_bands=(12.0, 18.0, 24.0, 30.0))

# The detector settings the ACO run was developed with (the anomaly
# package's defaults, tau=1.0, quantile=0.995 and the "aggregate" proposal,
# were tuned on MNIST; on this archive they give the NP score single-window
# spikes on ships and noise: recall 0.00 at 1 FA/h).
DETECTOR = det_lib.DetectorConfig(
    input_dim=MEL.dim,  # replaced by the features' size when training
    train=train_lib.TrainConfig(
        eras=2, steps_ae=0, steps_vae=600, steps_np=200, batch_size=256,
        tau=0.1, quantile=0.9, proposal=train_lib.Proposal.PRIOR))


@dataclasses.dataclass(frozen=True)
class BeamConfig:
  """How ``engine=beam`` runs (other Beam options: ``beam_options``)."""
  runner: str = "DirectRunner"  # or FlinkRunner, SparkRunner, DataflowRunner
  direct_num_workers: int = 2   # DirectRunner workers
  direct_running_mode: RunningMode = RunningMode.MULTI_PROCESSING
  beam_options: tuple = ()      # more pipeline options, "--name=value"

  def __post_init__(self):
    object.__setattr__(self, "direct_running_mode", configs.choice(
        "direct_running_mode", self.direct_running_mode, RunningMode))


@dataclasses.dataclass(frozen=True)
class AcoConfig:
  """One ACO run: train on typical hours, scan a time range, report."""
  archive: str | None = None    # archive root; None: the embedded archive
  workdir: str = "runs/aco"     # outputs and resumable state
  start: str | None = None      # first file time, ISO (None: all)
  end: str | None = None        # end time, ISO, exclusive (None: all)
  typical_hours: tuple = (5,)   # UTC hours of the files to train on
  mode: Mode = Mode.ALL
  # The fused NP + low-branch score: on the embedded archive (seed 0)
  # recall at 1 FA/h 0.731 (NP) -> 0.851, fin 0.29 -> 0.71 (docs/aco.md).
  score: ScoreKey = ScoreKey.FUSED
  engine: Engine = Engine.SINGLE
  # Files decoded and scored at once by engine=single, each in a thread:
  # one file's host-side work beside another's XLA features (1 -> 2 on
  # 2 cores: 1.2-2.0x faster in paired runs; docs/benchmarks.md).
  scan_threads: int = 2
  train_per_file: int = 800     # training windows sampled per file
  # Standardised low bands times this (kept in standardize.npz, so the scan
  # uses the training run's value): 3 of 67 bands per frame, they would
  # otherwise barely move the scores.  10 raised NP fin-whale recall on the
  # embedded archive 0.07 -> 0.29 and on a second seed's 0.21 -> 0.43.
  low_weight: float = 10.0
  fa_per_hour: float = 1.0      # false-alarm budget of the recall figure
  # + the tonal branch (third round): dev mean 0.835 -> 0.929 (docs/aco.md).
  fuse: tuple = ("np", "low", "tonal")  # fused into "fused" (FUSABLE)
  fuse_quantile: float = 0.99   # typical-window quantile that maps to 1.0
  # The same for the low branch (0.98 until the sixth round).
  fuse_low_quantile: float = 0.97
  # The same for the tonal branch (fifth round): dev mean over 14 archives
  # 0.897 -> 0.907 at 0.975 (0.99 before; docs/aco.md).
  fuse_tonal_quantile: float = 0.975
  fuse_smooth: int = 3          # windows the fused detector scores average
  # Seconds either side within which only the low branch's largest window
  # keeps its calibrated score (fusion.peaks; 0: off).  Sixth round, with
  # the tonal tracking and the low quantile 0.97: dev mean over 14 archives
  # 0.907 -> 0.944 (docs/aco.md).
  fuse_low_nms_s: float = 13.0
  top_n: int = 8                # spectrogram PNGs of the top detections
  mel: features.MelConfig = MEL
  detector: det_lib.DetectorConfig = DETECTOR
  # The low branch, 3 pulses at one interval (fourth round): dev mean over
  # 7 archives 0.903 -> 0.911, fin 0.757 -> 0.810 (docs/aco.md).
  pulse: pulse_lib.PulseConfig = pulse_lib.PulseConfig(
      pulse_count=3, pulse_series=pulse_lib.Series.COMB)
  # The tonal branch, tracking tones over 5 frames, 2 bins either side
  # (sixth round; TonalConfig's own default, no tracking, is the third's).
  tonal: tonal_lib.TonalConfig = tonal_lib.TonalConfig(track_frames=5,
                                                        track_bins=2)
  beam: BeamConfig = BeamConfig()

  def __post_init__(self):
    for name, kind in (("mode", Mode), ("score", ScoreKey),
                       ("engine", Engine)):
      object.__setattr__(self, name,
                         configs.choice(name, getattr(self, name), kind))
    for k in self.fuse:
      configs.choice("fuse", k, FUSABLE)
    if not self.fuse:
      raise ValueError(f"fuse is empty: name some of {', '.join(FUSABLE)}")
    if self.fuse_low_nms_s < 0:
      raise ValueError(f"fuse_low_nms_s={self.fuse_low_nms_s} must be >= 0")
    if self.scan_threads < 1:
      raise ValueError(f"scan_threads={self.scan_threads} must be >= 1")
    if self.fuse_smooth < 1:
      raise ValueError(f"fuse_smooth={self.fuse_smooth} must be >= 1")
    for name in ("fuse_quantile", "fuse_low_quantile", "fuse_tonal_quantile"):
      if not 0.5 < getattr(self, name) < 1:
        raise ValueError(f"{name}={getattr(self, name)} must be in "
                         "(0.5, 1)")
    self.pulse.check(self.mel)
    self.tonal.check(self.mel)
    if ((self.score == ScoreKey.AE or "ae" in self.fuse) and
        not self.detector.train.steps_ae):
      raise ValueError("score='ae' needs the plain-AE baseline: set "
                       "steps_ae > 0")
    for name in ("start", "end"):
      if getattr(self, name) is not None:
        time_of(name, getattr(self, name))

  @property
  def start_time(self) -> dt.datetime | None:
    return time_of("start", self.start)

  @property
  def end_time(self) -> dt.datetime | None:
    return time_of("end", self.end)

  def low_nms_windows(self) -> int:
    """``fuse_low_nms_s`` in scan windows (``Fusion.low_nms``)."""
    return int(round(self.fuse_low_nms_s * self.mel.rate /
                     (self.mel.hop * self.mel.stride)))

  def trained_detector(self) -> det_lib.DetectorConfig:
    """The detector config for this run's features."""
    return dataclasses.replace(self.detector, input_dim=self.mel.dim)


def time_of(name: str, value: str | None) -> dt.datetime | None:
  """ISO ``value`` as a naive UTC datetime (None stays None)."""
  if value is None:
    return None
  try:
    return dt.datetime.fromisoformat(value)
  except ValueError as e:
    raise ValueError(f"{name}={value!r} is not an ISO date/time "
                     "(e.g. 2016-12-01 or 2016-12-01T05:00)") from e
