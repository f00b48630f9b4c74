"""``python -m awe_jax.realspeech fetch [--root DIR]``: downloads (apt-get
download), checks (SHA-256) and extracts the pinned Debian packages of the
real-speech check, then caches their features; work already done is
skipped."""
import argparse
import sys

from awe_jax.realspeech import loader
from awe_jax.realspeech import packages


def main(argv=None):
  p = argparse.ArgumentParser(prog="python -m awe_jax.realspeech",
                              description=__doc__.split("\n")[0])
  sub = p.add_subparsers(dest="cmd", required=True)
  f = sub.add_parser("fetch", help="fetch the packages (idempotent)")
  f.add_argument("--root", default=None, help="default: "
                 "$AWE_JAX_DATA/realspeech or <repo>/data/realspeech")
  args = p.parse_args(argv)
  try:
    root = packages.fetch(args.root)
    rs = loader.load(root)
  except (RuntimeError, ValueError) as e:
    sys.exit(f"error: {e}")
  print(f"realspeech: {len(packages.PACKAGES)} packages, {len(rs)} tokens of "
        f"{len(rs.pronunciations)} words ready in {root}")


if __name__ == "__main__":
  main()
