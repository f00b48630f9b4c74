"""Measurements that chose the large corpus' voices and augmentation.

``python -m awe_jax.corpus voice-speed|augment-ap|real-match`` (docs/voices.md).
"""
import dataclasses
import glob
import os
import time

import numpy as np
import scipy.spatial.distance
import soundfile as sf

from awe_jax.corpus import build as build_lib
from awe_jax.corpus import degrade
from awe_jax.corpus import features
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.corpus import perturb
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib
from jaxtk import errors


def voice_speed(n: int, synths: str):
  """Prints each synthesiser's seconds of speech per CPU second (one
  thread) on ``n`` words of the default lexicon."""
  import resource  # pylint: disable=g-import-not-at-top
  words = sorted(lexicon_lib.load_lexicon())[:n]
  one = {"espeak-ng": "en-us", "flite": "slt", "festival": "kal_diphone",
         "kokoro": "af_heart", "piper": voices_lib.PIPER_VOICE}
  for synth in synths.split(","):
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


def augment_ap(n: int, seed: int, voices: str):
  """Prints MFCC+DTW AP of ``n`` words said by ``voices`` (comma-separated
  ids) with each waveform augmentation of the large corpus alone."""
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  lex = sorted(lexicon_lib.load_lexicon())
  words = [lex[i] for i in rng.permutation(len(lex))[:n]]
  by_id = {v.id: v for v in voices_lib.all_voices()}
  items = []
  for vid in voices.split(","):
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


def real_match(real_dir: str, n: int, voices: str):
  """Prints how close each voice is to real recordings named by word
  (``DIR/*_word.ogg``): MFCC+DTW AP and top-1 of real tokens against the
  voice saying the same words."""
  from awe_jax import dtw  # pylint: disable=g-import-not-at-top
  from awe_jax import metrics  # pylint: disable=g-import-not-at-top
  lex = lexicon_lib.words()
  paths = sorted(glob.glob(os.path.join(real_dir, "*.ogg"))
                 + glob.glob(os.path.join(real_dir, "*.wav")))
  real = {}
  for path in paths:
    word = os.path.splitext(os.path.basename(path))[0].split("_")[-1].lower()
    if word in lex and word not in real:
      real[word] = path
  words = sorted(real)[:n]
  if not words:
    raise errors.DataError(real_dir, "no *.ogg/*.wav named by a CMUdict "
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
  print(f"{n} real words of {real_dir}")
  for vid in voices.split(","):
    voice = by_id[vid]
    clean = voices_lib.synthesise(voice, [(w, 1.0, 1.0) for w in words])
    synth = [feats(voice, w, a, sr) for w, (a, sr) in zip(words, clean)]
    full = scipy.spatial.distance.squareform(dtw.dtw_pdist(real_feats + synth))
    cross = full[:n, n:]   # [real, synthetic]
    ap = metrics.average_precision(cross.ravel(), same.ravel())
    top1 = float(np.mean(cross.argmin(axis=1) == np.arange(n)))
    print(f"{vid:32s} MFCC+DTW real-vs-voice AP {ap:.4f}, top-1 {top1:.3f}")
