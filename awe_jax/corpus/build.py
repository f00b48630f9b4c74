"""Builds the spoken-word corpus: synthesise, degrade, featurise, store.

A build directory holds the agwe-recipe layout of :mod:`awe_jax.data`
(``vocab.json``, ``mfcc.{split}.hdf5``, ``align.{split}.hdf5``; one utterance
per token, one word per utterance, ``starts=[0]``, ``ends=[T]``), the 8 kHz
degraded WAVs (``wav/{split}/{utt_id}.wav``), ``manifest.csv`` (one row per
token, every random draw) and ``build_info.json`` (config, counts).  A
finished build writes ``COMPLETE`` holding the config hash.  Builds resume:
a WAV on disk whose manifest row is unchanged is not synthesised again, and
features are always computed from the stored WAV, so a resumed build equals
a fresh one.
"""
import contextlib
import csv
import dataclasses
import fcntl
import functools
import json
import multiprocessing
import os
import time

import numpy as np
import soundfile as sf

from awe_jax import data as data_lib
from awe_jax.corpus import degrade
from awe_jax.corpus import features
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.corpus import perturb
from awe_jax.corpus import plan as plan_lib
from awe_jax.corpus import voices as voices_lib
from jaxtk.errors import DataError
from jaxtk.progress import progress

MARKER = "COMPLETE"
CHUNK = 32   # tokens per work item (one festival process each)


def default_dir(small: bool = False, size: str | None = None) -> str:
  """``$AWE_JAX_DATA/corpus[-SIZE]``, else ``<repo>/data/corpus[-SIZE]``
  (``size``: small, default or large; ``small=True`` means small)."""
  size = size or ("small" if small else "default")
  root = (os.environ.get("AWE_JAX_DATA")
          or os.path.join(lexicon_lib.REPO, "data"))
  return os.path.join(root, "corpus" if size == "default" else
                      f"corpus-{size}")


def is_complete(data_dir: str, cfg: plan_lib.CorpusConfig) -> bool:
  try:
    with open(os.path.join(data_dir, MARKER)) as f:
      return f.read().strip() == cfg.digest()
  except OSError:
    return False


def ensure_corpus(small: bool = False, data_dir=None) -> str:
  """The corpus directory, built on first use (later calls are cached).

  Args:
    small: the ``--small`` size (60 types, 600 tokens) instead of the default
      (600 types, 10,000 tokens).
    data_dir: where to build; default :func:`default_dir`.

  Returns:
    The directory, in the agwe-recipe layout read by
    :func:`awe_jax.data.load_split`.
  """
  cfg = plan_lib.SMALL if small else plan_lib.DEFAULT
  data_dir = data_dir or default_dir(small)
  if is_complete(data_dir, cfg):
    return data_dir
  with build_lock(data_dir):
    if not is_complete(data_dir, cfg):
      build(cfg, data_dir)
  return data_dir


def require_corpus(size: str, data_dir=None) -> str:
  """The finished corpus of ``size`` (never built here: the large one takes
  hours, see docs/voices.md).

  Raises:
    DataError: it is not complete; names the command that builds it.
  """
  cfg = plan_lib.SIZES[size]
  data_dir = data_dir or default_dir(size=size)
  if not is_complete(data_dir, cfg):
    raise DataError(os.path.join(data_dir, MARKER), f"the {size} corpus "
                    f"(config {cfg.digest()}) is not built; build or resume it "
                    f"with: python -m awe_jax.corpus build --size {size}")
  return data_dir


@contextlib.contextmanager
def build_lock(data_dir: str):
  """One builder per directory at a time (e.g. a test session and a training
  run); the others wait, then find the build complete."""
  os.makedirs(data_dir, exist_ok=True)
  with open(os.path.join(data_dir, ".lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    yield


def _wav_path(data_dir, tok):
  return os.path.join(data_dir, "wav", tok.split, f"{tok.utt_id}.wav")


def _render_chunk(args):
  """Worker: makes the missing WAVs of one single-voice chunk, then returns
  ``[(utt_id, feats [T, 39])]`` computed from the stored WAVs."""
  data_dir, toks = args
  todo = [t for t in toks if not os.path.exists(_wav_path(data_dir, t))]
  # Festival says a whole chunk in one process (its start-up is slow); the
  # others store each token as soon as it is made, so a stopped build loses
  # at most one token per worker.
  groups = ([todo] if todo and todo[0].voice.synth == "festival"
            else [[t] for t in todo])
  for group in groups:
    clean = voices_lib.synthesise(group[0].voice,
                                  [(t.word, t.rate, t.pitch) for t in group])
    for t, (audio, sr) in zip(group, clean):
      y = render(audio, sr, t)
      path = _wav_path(data_dir, t)
      sf.write(path + ".tmp.wav", y, degrade.SAMPLE_RATE, subtype="PCM_16")
      os.replace(path + ".tmp.wav", path)
  out = []
  for t in toks:
    y, sr = sf.read(_wav_path(data_dir, t), dtype="float32")
    out.append((t.utt_id, features.mfcc39(y, sr)))
  return out, len(todo)


def render(audio, sr, tok):
  """Clean ``[S]`` audio at ``sr`` -> the token's stored 8 kHz ``[S']``: its
  waveform augmentation, then its noise, level and channel."""
  a = tok.augment
  if a.speed != 1.0:
    audio = perturb.speed(audio, a.speed)
  if a.vtlp != 1.0:
    audio = perturb.vtlp(audio, a.vtlp)
  if a.rt60 > 0:
    rng = np.random.default_rng(tok.degrade.noise_seed + 1)
    audio = perturb.reverberate(
        audio, perturb.room_impulse_response(a.rt60, sr, rng))
  if a.channel == perturb.Channel.TELEPHONE.value:
    return degrade.telephone(audio, sr, tok.degrade)
  kind = perturb.Channel(a.channel)
  return degrade.telephone(audio, sr, tok.degrade,
                           band_limit=kind in perturb.BAND_LIMITED,
                           codec=functools.partial(perturb.codec, kind=kind))


def _chunks(tokens):
  by_voice = {}
  for t in tokens:
    by_voice.setdefault(t.voice.id, []).append(t)
  out = []
  for vid in sorted(by_voice):
    ts = by_voice[vid]
    out += [ts[i:i + CHUNK] for i in range(0, len(ts), CHUNK)]
  # Work in a fixed shuffled order, so that a build stopped part-way (the
  # large one takes hours) has a mix of every voice on disk.
  return [out[i] for i in np.random.default_rng(0).permutation(len(out))]


def _drop_stale(data_dir, tokens):
  """Removes WAVs whose manifest row changed (or that the plan lacks)."""
  path = os.path.join(data_dir, "manifest.csv")
  old = {}
  if os.path.exists(path):
    with open(path, newline="") as f:
      old = {r["utt_id"]: {**plan_lib.NO_AUGMENT_ROW, **r}
             for r in csv.DictReader(f)}
  rows = {t.utt_id: t.row() for t in tokens}
  removed = 0
  wav_root = os.path.join(data_dir, "wav")
  for split in os.listdir(wav_root) if os.path.isdir(wav_root) else ():
    for name in os.listdir(os.path.join(wav_root, split)):
      uid = name[:-4] if name.endswith(".wav") else None
      if uid is None or uid not in rows or old.get(uid) != rows[uid]:
        os.remove(os.path.join(wav_root, split, name))
        removed += 1
  return removed


def _write_manifest(data_dir, tokens):
  path = os.path.join(data_dir, "manifest.csv")
  with open(path + ".tmp", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=plan_lib.MANIFEST_FIELDS)
    w.writeheader()
    for t in tokens:
      w.writerow(t.row())
  os.replace(path + ".tmp", path)


def build(cfg: plan_lib.CorpusConfig, data_dir: str, *, jobs: int = 2,
          quiet: bool = False) -> dict:
  """Builds (or resumes) the corpus of ``cfg`` in ``data_dir``.

  Args:
    cfg: sizes, seed and random ranges.
    data_dir: output directory (created).
    jobs: worker processes (1 runs in this process).
    quiet: no progress bar or summary.

  Returns:
    The build summary also written to ``build_info.json``.

  Raises:
    voices.SynthesiserMissing: a synthesiser binary is not installed.
    voices.SynthesisError: a voice is not installed or failed on a word.
  """
  start = time.time()
  voices_lib.check_synthesisers(cfg.synths)
  lexicon = lexicon_lib.load_lexicon(cfg.lexicon_path())
  tokens, split_words = plan_lib.make_plan(cfg, lexicon)
  voices_lib.check_voices(sorted({t.voice for t in tokens}, key=lambda v: v.id))
  marker = os.path.join(data_dir, MARKER)
  if os.path.exists(marker):
    os.remove(marker)
  for split in plan_lib.SPLITS:
    os.makedirs(os.path.join(data_dir, "wav", split), exist_ok=True)
  stale = _drop_stale(data_dir, tokens)
  _write_manifest(data_dir, tokens)
  feats, synthesised = {}, 0
  work = [(data_dir, c) for c in _chunks(tokens)]
  bar = progress(desc="corpus", total=len(tokens), unit="tok", disable=quiet)
  if jobs > 1:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs) as pool:
      for out, n in pool.imap_unordered(_render_chunk, work):
        feats.update(out)
        synthesised += n
        bar.update(len(out))
  else:
    for item in work:
      out, n = _render_chunk(item)
      feats.update(out)
      synthesised += n
      bar.update(len(out))
  bar.close()
  _write_features(data_dir, tokens, feats, lexicon)
  info = {"config": dataclasses.asdict(cfg), "config_hash": cfg.digest(),
          "synthesised": synthesised, "reused_wavs": len(tokens) - synthesised,
          "removed_stale_wavs": stale,
          "splits": _summary(data_dir, tokens, split_words)}
  info["build_seconds"] = round(time.time() - start, 1)
  with open(os.path.join(data_dir, "build_info.json"), "w") as f:
    json.dump(info, f, indent=1)
  with open(marker, "w") as f:
    f.write(cfg.digest() + "\n")
  if not quiet:
    print(format_summary(info, data_dir))
  return info


def _write_features(out_dir, tokens, feats, lexicon):
  """vocab.json (every word of ``tokens``) and one HDF5 pair per split."""
  words = sorted({t.word for t in tokens})
  data_lib.write_vocab(os.path.join(out_dir, "vocab.json"),
                       {w: lexicon[w] for w in words},
                       list(lexicon_lib.PHONES))
  for split in plan_lib.SPLITS:
    utts = {t.utt_id: (feats[t.utt_id], [t.word], [0],
                       [len(feats[t.utt_id])])
            for t in tokens if t.split == split}
    data_lib.write_split(out_dir, split, utts)


def snapshot(cfg: plan_lib.CorpusConfig, data_dir: str, out_dir: str,
             quiet: bool = False) -> dict:
  """Features of the tokens of a part-built corpus whose WAVs are on disk,
  written to ``out_dir`` (agwe layout, no ``COMPLETE`` marker), so that
  training can start while the build goes on.  Reads ``data_dir`` only and
  takes no lock: WAVs appear there atomically.

  Returns:
    The summary also written to ``out_dir/build_info.json``.

  Raises:
    DataError: some split has no token on disk yet.
  """
  lexicon = lexicon_lib.load_lexicon(cfg.lexicon_path())
  tokens, split_words = plan_lib.make_plan(cfg, lexicon)
  present = [t for t in tokens if os.path.exists(_wav_path(data_dir, t))]
  empty = sorted(set(plan_lib.SPLITS) - {t.split for t in present})
  if empty:
    raise DataError(os.path.join(data_dir, "wav"), f"no WAV yet for split(s) "
                    f"{empty}; let the build run longer")
  os.makedirs(out_dir, exist_ok=True)
  feats = {}
  for t in progress(present, desc="features", unit="tok", disable=quiet):
    y, sr = sf.read(_wav_path(data_dir, t), dtype="float32")
    feats[t.utt_id] = features.mfcc39(y, sr)
  _write_features(out_dir, present, feats, lexicon)
  info = {"config_hash": cfg.digest(), "source": data_dir,
          "tokens_on_disk": len(present), "tokens_planned": len(tokens),
          "splits": _summary(out_dir, present, split_words)}
  with open(os.path.join(out_dir, "build_info.json"), "w") as f:
    json.dump(info, f, indent=1)
  if not quiet:
    print(f"{len(present)} of {len(tokens)} tokens of {data_dir} -> {out_dir}")
  return info


def _summary(data_dir, tokens, split_words):
  """Per-split counts, read back through :func:`awe_jax.data.load_split`
  so that skipped (too short) segments are counted, never hidden."""
  vocab = data_lib.read_vocab(os.path.join(data_dir, "vocab.json"))
  train_words = set(split_words["train"])
  out = {}
  for split in plan_lib.SPLITS:
    seg = data_lib.load_split(data_dir, split, vocab)
    lens = seg.lengths
    ts = [t for t in tokens if t.split == split]
    out[split] = {
        "tokens": len(seg), "skipped_short": seg.skipped_short,
        "types": len(set(seg.words)),
        "types_not_in_train": len(set(seg.words) - train_words),
        "voices": len({t.voice.id for t in ts}),
        "speakers": len({t.voice.speaker for t in ts}),
        "mean_frames": round(float(lens.mean()), 1),
        "max_frames": int(lens.max())}
  return out


def format_summary(info: dict, data_dir: str) -> str:
  lines = [f"corpus in {data_dir} ({info['build_seconds']} s; "
           f"{info['synthesised']} tokens synthesised, {info['reused_wavs']} "
           "reused)"]
  for split, s in info["splits"].items():
    lines.append(
        f"  {split:5s} {s['tokens']:6d} tokens ({s['skipped_short']} skipped "
        f"< 2 frames), {s['types']} types ({s['types_not_in_train']} not in "
        f"train), {s['voices']} voices / {s['speakers']} speakers, frames "
        f"mean {s['mean_frames']} max {s['max_frames']}")
  return "\n".join(lines)
