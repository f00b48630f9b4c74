"""A search task that runs here: a collection of continuous speech made from
the corpus' test tokens, and spoken and typed queries with known answers.

Each recording of the collection joins test-split word tokens (test voices)
with random short pauses or crossfades (negative gaps), over background
noise; a word's time is its token's span less the silent pads the corpus
manifest records, so the reference times are exact.  Spoken queries are
dev-split tokens (dev voices, none of the collection's) of words seen in
training; typed queries are words of the collection seen in training and
words never seen.
"""
import csv
import dataclasses
import json
import os
import zlib

import numpy as np
import soundfile as sf

from awe_jax.corpus import features
from awe_jax.corpus import plan
from awe_jax.inference import load_audio
from awe_jax.search import metrics
from jaxtk.errors import DataError

SR = features.SAMPLE_RATE


@dataclasses.dataclass(frozen=True)
class CollectionConfig:
  minutes: float = 60.0          # total duration
  file_seconds: float = 60.0     # duration of each recording
  gap_s: tuple = (-0.03, 0.3)    # pause between tokens (< 0: crossfade)
  fade_s: float = 0.02           # fade in/out of each token
  snr_db: tuple = (15.0, 30.0)   # background noise against the speech
  seed: int = 0


def _wav(corpus_dir, row):
  return load_audio(os.path.join(corpus_dir, "wav", row["split"],
                                 f"{row['utt_id']}.wav"), SR)


def build_collection(corpus_dir: str, out_dir: str,
                     cfg: CollectionConfig = CollectionConfig()) -> str:
  """Writes ``out_dir/audio/*.wav`` and ``out_dir/words.csv`` (file, word,
  start, end in seconds); returns ``out_dir``.  Skipped when complete."""
  done = os.path.join(out_dir, "collection.json")
  if os.path.exists(done):
    with open(done) as f:
      if json.load(f) == dataclasses.asdict(cfg):
        return out_dir
  rows = [r for r in plan.read_manifest(corpus_dir) if r["split"] == "test"]
  rng = np.random.default_rng(cfg.seed)
  os.makedirs(os.path.join(out_dir, "audio"), exist_ok=True)
  fade = int(cfg.fade_s * SR)
  ramp = np.linspace(0, 1, fade, dtype=np.float32)
  words, order, k = [], rng.permutation(len(rows)), 0
  n_files = int(np.ceil(cfg.minutes * 60 / cfg.file_seconds))
  for fi in range(n_files):
    name = os.path.join(out_dir, "audio", f"rec{fi:03d}.wav")
    y = np.zeros(int((cfg.file_seconds + 5) * SR), np.float32)
    t = int(rng.uniform(0.1, 0.5) * SR)
    while True:
      if k == len(order):
        order, k = rng.permutation(len(rows)), 0
      row = rows[order[k]]
      tok = _wav(corpus_dir, row).copy()
      if t + len(tok) > cfg.file_seconds * SR:
        break
      k += 1
      tok[:fade] *= ramp
      tok[-fade:] *= ramp[::-1]
      y[t:t + len(tok)] += tok
      s = t / SR + float(row["pad_start_s"])
      e = (t + len(tok)) / SR - float(row["pad_end_s"])
      words.append((os.path.abspath(name), row["word"], round(s, 4), round(e, 4)))
      t += len(tok) + int(rng.uniform(*cfg.gap_s) * SR)
    _write_recording(name, y[:t], rng, cfg.snr_db)
  _write_words(out_dir, ["file", "word", "start", "end"], words)
  with open(done, "w") as f:
    json.dump(dataclasses.asdict(cfg), f)
  return out_dir


def _write_recording(name, y, rng, snr_db) -> None:
  """``y`` over white noise at an SNR drawn from ``snr_db``, as 16-bit PCM."""
  rms = np.sqrt(np.mean(np.square(y)))
  snr = rng.uniform(*snr_db)
  y = y + (rng.normal(size=len(y)) * rms * 10 ** (-snr / 20)).astype(np.float32)
  sf.write(name, np.clip(y, -1, 1), SR, subtype="PCM_16")


def _write_words(out_dir, header, rows, name="words.csv") -> None:
  with open(os.path.join(out_dir, name), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)


@dataclasses.dataclass(frozen=True)
class RealCollectionConfig:
  """Recordings joined from the real-speech check's tokens (each once)."""
  file_seconds: float = 60.0     # a recording ends before this
  gap_s: tuple = (0.1, 0.5)      # pause between tokens
  snr_db: tuple = (15.0, 30.0)   # background noise against the speech
  seed: int = 0


def build_real_collection(out_dir: str, realspeech_dir: str | None = None,
                          cfg: RealCollectionConfig = RealCollectionConfig(),
                          sources=None) -> str:
  """Continuous recordings of people's words: every token of the real-speech
  check (``awe_jax.realspeech``; Debian packages, 5 speakers) once, in a
  shuffled order, as the corpus hears them (8 kHz, trimmed, the telephone
  chain: :func:`awe_jax.realspeech.loader.token_audio`), with pauses and
  background noise.  Writes ``out_dir/audio/*.wav``, ``words.csv`` (file,
  word, start, end, speaker) and ``queries/*.wav``, each token alone (the
  spoken queries; ``queries.csv``: wav, word, speaker, and the token's own
  file, start, end in the collection).  Skipped when complete.
  ``sources``: the check's speaker sources (default: all five).
  """
  # pylint: disable=g-import-not-at-top  (the check's packages and librosa)
  from awe_jax.realspeech import loader
  done = os.path.join(out_dir, "collection.json")
  want = dict(dataclasses.asdict(cfg), sources=sorted(sources or []))
  if os.path.exists(done):
    with open(done) as f:
      if json.load(f) == json.loads(json.dumps(want)):
        return out_dir
  rs = loader.load(realspeech_dir, **({"sources": tuple(sources)}
                                      if sources else {}))
  rng = np.random.default_rng(cfg.seed)
  for sub in ("audio", "queries"):
    os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
  words, queries, y, t, fi = [], [], None, 0, -1
  for k, i in enumerate(rng.permutation(len(rs))):
    tok = loader.token_audio(rs.paths[i]).astype(np.float32)
    if len(tok) + SR // 2 > cfg.file_seconds * SR:
      raise DataError(rs.paths[i], f"the token ({len(tok) / SR:.2f} s) does "
                      f"not fit a recording of file_seconds="
                      f"{cfg.file_seconds:g}")
    qpath = os.path.abspath(os.path.join(out_dir, "queries", f"q{k:04d}.wav"))
    sf.write(qpath, tok, SR, subtype="PCM_16")
    if y is None or t + len(tok) > cfg.file_seconds * SR:
      if y is not None:
        _write_recording(name, y[:t], rng, cfg.snr_db)
      fi += 1
      name = os.path.abspath(os.path.join(out_dir, "audio", f"rec{fi:03d}.wav"))
      y = np.zeros(int(cfg.file_seconds * SR), np.float32)
      t = int(rng.uniform(0.1, 0.5) * SR)
    y[t:t + len(tok)] = tok
    span = (name, rs.words[i], round(t / SR, 4), round((t + len(tok)) / SR, 4))
    words.append(span + (rs.speakers[i],))
    queries.append((qpath, rs.words[i], rs.speakers[i]) + span[:1] + span[2:])
    t += len(tok) + int(rng.uniform(*cfg.gap_s) * SR)
  _write_recording(name, y[:t], rng, cfg.snr_db)
  _write_words(out_dir, ["file", "word", "start", "end", "speaker"], words)
  _write_words(out_dir, ["wav", "word", "speaker", "file", "start", "end"],
               queries, "queries.csv")
  with open(done, "w") as f:
    json.dump(want, f)
  return out_dir


def real_queries(out_dir: str, min_speakers: int = 2) -> list:
  """Spoken queries of :func:`build_real_collection`: ``(word, wav, own)``
  for every token of a word said by ``min_speakers`` or more speakers;
  ``own`` is the token's ``(file, start, end)`` in the collection, which a
  search must not be credited for finding (:func:`without_own`)."""
  with open(os.path.join(out_dir, "queries.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
  speakers = {}
  for r in rows:
    speakers.setdefault(r["word"], set()).add(r["speaker"])
  return [(r["word"], r["wav"], (r["file"], float(r["start"]), float(r["end"])))
          for r in rows if len(speakers[r["word"]]) >= min_speakers]


def without_own(hits, own) -> list:
  """``hits`` less those whose midpoint lies in the query's own token."""
  f, s, e = own
  keep = []
  for h in hits:
    hf, hs, he = (h.file, h.start, h.end) if hasattr(h, "file") else h
    if not (hf == f and s <= 0.5 * (hs + he) <= e):
      keep.append(h)
  return keep


def read_words(out_dir: str) -> dict:
  """word -> [(file, start, end)] of the collection."""
  occ = {}
  with open(os.path.join(out_dir, "words.csv"), newline="") as f:
    for r in csv.DictReader(f):
      occ.setdefault(r["word"], []).append(
          (r["file"], float(r["start"]), float(r["end"])))
  return occ


def queries(corpus_dir: str, occurrences: dict, *, n_spoken: int = 100,
            n_typed: int = 100, seed: int = 0) -> dict:
  """Spoken and typed query sets, one query per word.

  Returns:
    ``{"spoken_dev": [(word, wav path)], "spoken_train": [...],
    "typed_seen": [word], "typed_unseen": [word]}``: spoken queries are
    tokens by dev voices or, for words dev lacks, train voices (never the
    collection's test voices), of words seen in training.
  """
  rows = plan.read_manifest(corpus_dir)
  train = {r["word"] for r in rows if r["split"] == "train"}
  rng = np.random.default_rng(seed)
  pick = lambda xs, n: [xs[i] for i in sorted(rng.permutation(len(xs))[:n])]
  out = {}
  taken = set()
  for split in ("dev", "train"):
    toks = {}
    for r in rows:
      if (r["split"] == split and r["word"] in occurrences and r["word"] in train
          and r["word"] not in taken):
        toks.setdefault(r["word"], []).append(r)
    items = []
    for w in sorted(toks):
      r = toks[w][int(rng.integers(len(toks[w])))]
      items.append((w, os.path.join(corpus_dir, "wav", split, f"{r['utt_id']}.wav")))
    out[f"spoken_{split}"] = pick(items, n_spoken)
    taken |= {w for w, _ in out[f"spoken_{split}"]}
  out["typed_seen"] = pick(sorted(w for w in occurrences if w in train), n_typed)
  out["typed_unseen"] = pick(sorted(w for w in occurrences if w not in train), n_typed)
  return out


QUERY_SPLITS = ("dev", "test")


def query_split(word: str) -> str:
  """``"dev"`` or ``"test"``: the half of the query words a word is in.

  Search settings are chosen on the dev queries and reported on the test
  queries (as the dev and evaluation query sets of MediaEval's spoken web
  search share one collection); the halves are fixed by a hash of the word.
  """
  return QUERY_SPLITS[zlib.crc32(word.encode()) % 2]


def split_queries(qs: dict, split: str) -> dict:
  """The queries of :func:`queries` whose words are in ``split``."""
  if split not in QUERY_SPLITS + ("all",):
    raise ValueError(f"split {split!r}: expected one of {QUERY_SPLITS + ('all',)}")
  keep = lambda w: split == "all" or query_split(w) == split
  return {k: [q for q in v if keep(q[0] if isinstance(q, tuple) else q)]
          for k, v in qs.items()}


def evaluate(run_query, items, occurrences: dict, hours: float) -> dict:
  """Mean P@10, P@N, FOM and AP of ``run_query(item) -> hits`` over
  ``items`` = ``[(word, query)]``."""
  scores = [metrics.score_query(run_query(q), occurrences[w], hours)
            for w, q in items]
  return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
