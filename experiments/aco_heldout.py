"""The detector on archives its settings never saw: seeds 1-3 and a mix.

  python experiments/aco_heldout.py                 # default config
  python experiments/aco_heldout.py --workdir=runs/aco --root=data/aco-heldout
  python experiments/aco_heldout.py --workdir=runs/aco_tau --tau=0.2

Trains once on the embedded archive (seed 0; or reuses the detector in
--workdir), scans it, builds (once, under --root) and scans the held-out
archives: seeds --seeds and, with another mix, --mix_seed (--mix_snr_db,
--mix_ships_per_block, --mix_noise); prints the table of
``anomaly_jax.aco.heldout`` and writes heldout.md / heldout.json into
--workdir.  Every other flag is an ``AcoConfig`` field, as in
``aco_main.py`` (``anomaly_jax.aco.config_flags``); choose settings on
seed 0 only.
"""
import os

from absl import app, flags

from anomaly_jax.aco import config_flags, heldout, ocean, synth
from jaxtk import logs

config_flags.define_config_flags()
flags.DEFINE_string("root", None, "held-out archives, built on first use "
                    "(default: aco-heldout beside the embedded archive, "
                    "e.g. /work/data/aco-heldout)")
flags.DEFINE_list("seeds", ["1", "2", "3"], "seeds of held-out archives "
                  "with the embedded archive's mix")
flags.DEFINE_integer("mix_seed", 4, "seed of the archive with another mix "
                     "(-1: none)")
flags.DEFINE_list("mix_snr_db", [str(v) for v in heldout.MIX["snr_db"]],
                  "its events' SNR range, dB")
flags.DEFINE_float("mix_ships_per_block", heldout.MIX["ships_per_block"],
                   "its mean ship passages per block")
flags.DEFINE_enum("mix_noise", heldout.MIX["noise"].value,
                  [n.value for n in ocean.Noise], "its noise colour")
F = flags.FLAGS


def main(_):
  logs.quiet_libraries()
  cfg = config_flags.config_from_flags()
  root = F.root or os.path.join(os.path.dirname(synth.default_dir()),
                                "aco-heldout")
  mix = dict(snr_db=tuple(float(v) for v in F.mix_snr_db),
             ships_per_block=F.mix_ships_per_block, noise=F.mix_noise)
  out = heldout.run(cfg, root, heldout.archives(
      [int(s) for s in F.seeds], None if F.mix_seed < 0 else F.mix_seed,
      mix))
  print(out["table"])
  print(f"written: {cfg.workdir}/heldout.md, {cfg.workdir}/heldout.json")


if __name__ == "__main__":
  app.run(main)
