"""Finds events in an ACO hydrophone archive: train on typical hours, scan.

  python experiments/aco_main.py                       # embedded archive
  python experiments/aco_main.py --archive=/data/aco --start=2017-03-01 \
      --end=2017-03-08 --typical_hours=4,5,6,7 --workdir=runs/aco_march

Two processes on one machine (JAX distributed runtime; each scans every
second file, both write the same SQLite store, process 0 trains and reports):

  for i in 0 1; do python experiments/aco_main.py --num_processes=2 \
      --process_id=$i --coordinator=localhost:12355 --workdir=runs/aco2 & done
"""
import datetime as dt

from absl import app, flags, logging
import jax

from anomaly_jax.aco import features, pipeline
from jaxtk import logs

F = flags.FLAGS
flags.DEFINE_string("archive", None, "archive root (default: the embedded "
                    "synthetic archive, $ACO_ARCHIVE or <repo>/data/aco, "
                    "built on first use)")
flags.DEFINE_string("workdir", "runs/aco", "outputs and resumable state")
flags.DEFINE_string("start", None, "first file time, ISO (default: all)")
flags.DEFINE_string("end", None, "end time, ISO, exclusive (default: all)")
flags.DEFINE_list("typical_hours", ["5"], "UTC hours of the quiet evening "
                  "files to train on (5 UTC = 19:00 Hawaii time)")
flags.DEFINE_enum("mode", "all", ["train", "scan", "all"], "what to run")
flags.DEFINE_string("score", "np", "detector output ranked as 'ours' "
                    "(vae, np, gmm_nll, ae)")
flags.DEFINE_integer("rate", 24000, "sample rate of the archive (Hz)")
flags.DEFINE_integer("n_fft", 2048, "STFT size")
flags.DEFINE_integer("hop", 1024, "STFT hop")
flags.DEFINE_integer("n_mels", 64, "mel bands")
flags.DEFINE_float("fmin", 10.0, "lowest mel frequency (Hz)")
flags.DEFINE_list("low_bands", ["12", "18", "24", "30"], "Hz edges of "
                  "bands from a decimated long-window STFT (0.73 Hz, 1.37 s) "
                  "before the mels, for 20 Hz fin pulses (empty: off)")
flags.DEFINE_float("low_weight", 10.0, "standardised low bands times this "
                   "when training (they are 3 of 67 bands a frame; 1: as "
                   "the mels)")
flags.DEFINE_integer("context", 5, "frames per window")
flags.DEFINE_integer("stride", 4, "frames between windows")
flags.DEFINE_list("energy_band", ["50", "4000"], "Hz band of the energy "
                  "baseline")
flags.DEFINE_integer("train_per_file", 800, "training windows per file")
flags.DEFINE_integer("steps_vae", 600, "VAE steps per era")
flags.DEFINE_integer("steps_np", 200, "NP-discriminator steps per era")
flags.DEFINE_integer("eras", 2, "training eras")
flags.DEFINE_float("tau", 0.1, "NP sigmoid temperature on log recon errors")
flags.DEFINE_float("nll_quantile", 0.9, "typical-latent NLL quantile for the "
                   "generator's rejection")
flags.DEFINE_enum("proposal", "prior", ["prior", "aggregate"], "generator "
                  "candidates")
flags.DEFINE_integer("top_n", 8, "spectrogram PNGs of the top detections")
flags.DEFINE_integer("num_processes", 1, "hosts of the scan")
flags.DEFINE_integer("process_id", 0, "this host")
flags.DEFINE_string("coordinator", "localhost:12355", "JAX distributed "
                    "coordinator address (num_processes > 1)")


def _time(s):
  return None if s is None else dt.datetime.fromisoformat(s)


def main(_):
  logs.quiet_libraries()
  if F.num_processes > 1:
    jax.distributed.initialize(coordinator_address=F.coordinator,
                               num_processes=F.num_processes,
                               process_id=F.process_id)
    logging.info("process %d of %d", jax.process_index(), jax.process_count())
  mel = features.MelConfig(
      rate=F.rate, n_fft=F.n_fft, hop=F.hop, n_mels=F.n_mels, fmin=F.fmin,
      low_bands=tuple(float(b) for b in F.low_bands), context=F.context,
      stride=F.stride,
      band=tuple(float(b) for b in F.energy_band))
  opts = pipeline.Options(
      archive=F.archive, workdir=F.workdir, start=_time(F.start),
      end=_time(F.end), typical_hours=tuple(int(h) for h in F.typical_hours),
      mode=F.mode, mel=mel, train_per_file=F.train_per_file,
      score_key=F.score, steps_vae=F.steps_vae, steps_np=F.steps_np,
      eras=F.eras, tau=F.tau, nll_quantile=F.nll_quantile,
      proposal=F.proposal, low_weight=F.low_weight, top_n=F.top_n,
      process_id=jax.process_index(),
      num_processes=jax.process_count())
  metrics = pipeline.run(opts)
  if metrics:
    pipeline.print_table(metrics, F.score)
    print(f"outputs in {F.workdir}: scores.sqlite events.csv scores.png "
          "top/*.png metrics.json")


if __name__ == "__main__":
  app.run(main)
