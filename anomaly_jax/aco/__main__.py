"""``python -m anomaly_jax.aco synth|info|view``.

  synth [DIR] [--seed N]     build the embedded archive (default
                             $ACO_ARCHIVE or <repo>/data/aco); another mix
                             with --snr_db LO HI, --ships_per_block N,
                             --noise red|pink|white
  info FILE...               decode files: records, widths, layout, issues
  view DIR START SECONDS OUT.png
                             e.g. view data/aco 2016-12-01T20:05:07 4 snip.png
  review --workdir runs/aco  review detections in a browser (and
                             --mode=threshold|simulate|retrain)
  export, import-labels      Raven / Audacity / CSV out, Raven back in
"""
import argparse
import datetime as dt
import sys

from anomaly_jax.aco import archive, ocean, reader, synth
from anomaly_jax.aco.review import cli as review_cli
from jaxtk.errors import DataError


def main(argv=None) -> int:
  p = argparse.ArgumentParser(prog="python -m anomaly_jax.aco")
  sub = p.add_subparsers(dest="cmd", required=True)
  s = sub.add_parser("synth", help="build the embedded synthetic archive")
  s.add_argument("dir", nargs="?", default=None)
  s.add_argument("--seed", type=int, default=0)
  s.add_argument("--force", action="store_true", help="rebuild if present")
  s.add_argument("--snr_db", type=float, nargs=2, metavar=("LO", "HI"),
                 help="range of the events' in-band SNR, dB (default "
                 f"{' '.join(map(str, synth.SynthConfig.snr_db))})")
  s.add_argument("--ships_per_block", type=float, help="mean ship passages "
                 f"per block (default {synth.SynthConfig.ships_per_block})")
  s.add_argument("--noise", choices=[n.value for n in ocean.Noise],
                 help="ambient noise colour (default red)")
  i = sub.add_parser("info", help="decode files and print what is in them")
  i.add_argument("files", nargs="+")
  v = sub.add_parser("view", help="waveform + spectrogram of a time span")
  v.add_argument("dir")
  v.add_argument("start", type=dt.datetime.fromisoformat)
  v.add_argument("seconds", type=float)
  v.add_argument("out")
  review_cli.add_parsers(sub)
  a = p.parse_args(argv)
  if a.cmd in ("review", "export", "import-labels"):
    return review_cli.run(a)
  if a.cmd == "synth":
    cfg = synth.mix(a.seed, a.snr_db, a.ships_per_block, a.noise)
    d = a.dir or synth.default_dir()
    out = synth.build(d, cfg) if a.force else synth.ensure_archive(d, cfg)
    print(out)
    return 0
  if a.cmd == "info":
    bad = 0
    for f in a.files:
      try:
        d = reader.read_file(f)
      except DataError as e:
        print(f"ERROR {e}")
        bad += 1
        continue
      print(f"{f}: layout {d.layout}, {d.rate} Hz, {d.headers.size} records, "
            f"bits {sorted(set(d.bits.tolist()))}, {d.duration:.3f} s")
      for msg in d.issues:
        print(f"  {msg}")
    return int(bad > 0)
  clip = archive.Archive(a.dir).load(a.start, dt.timedelta(seconds=a.seconds))
  print(clip.report())
  print(clip.view(a.out))
  return 0


if __name__ == "__main__":
  sys.exit(main())
