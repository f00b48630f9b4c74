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


def _manifest(corpus_dir: str) -> list:
  path = os.path.join(corpus_dir, "manifest.csv")
  try:
    with open(path, newline="") as f:
      return list(csv.DictReader(f))
  except OSError as e:
    raise DataError(path, f"cannot read the corpus manifest: {e}; build the "
                    "corpus with python -m awe_jax.corpus build") from e


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
  rows = [r for r in _manifest(corpus_dir) if r["split"] == "test"]
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
    y = y[:t]
    rms = np.sqrt(np.mean(np.square(y)))
    snr = rng.uniform(*cfg.snr_db)
    y += (rng.normal(size=len(y)) * rms * 10 ** (-snr / 20)).astype(np.float32)
    sf.write(name, np.clip(y, -1, 1), SR, subtype="PCM_16")
  with open(os.path.join(out_dir, "words.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["file", "word", "start", "end"])
    w.writerows(words)
  with open(done, "w") as f:
    json.dump(dataclasses.asdict(cfg), f)
  return out_dir


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
  rows = _manifest(corpus_dir)
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
