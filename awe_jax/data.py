"""Word-segment data in the agwe-recipe layout (Settle et al.'s codebase).

One loader serves the embedded corpus and a user's Switchboard features.
A data directory holds, per split ``train``/``dev``/``test``:

* ``mfcc.{split}.hdf5`` (or ``fbank.{split}.hdf5``/``feats.{split}.hdf5``):
  one float dataset ``[T, D]`` per utterance id;
* ``align.{split}.hdf5`` (or ``align-small.{split}.hdf5``): one group per
  utterance id with datasets ``words`` (strings), ``starts`` and ``ends``
  (frame indices; a word is ``feats[start:end]``, as the codebase's
  ``MultiViewDataset_IndividualWords`` slices it);

and one ``vocab.json`` with ``words_to_ids``, ``phones_to_ids`` and
``word_to_phones`` (word -> list of pronunciations, the first is used).
``phones_to_ids`` is 0-based in the file exactly as in the codebase; in
memory every phone id is shifted by +1 so that id 0 is padding.
"""
import dataclasses
import json
import os

import h5py
import numpy as np

from jaxtk.errors import DataError

SPLITS = ("train", "dev", "test")
FEATS_PREFIXES = ("mfcc", "fbank", "feats")
ALIGN_PREFIXES = ("align", "align-small")


@dataclasses.dataclass(frozen=True)
class Vocab:
  """Words, phones and pronunciations; phone ids are 1-based (0 = padding)."""
  words_to_ids: dict
  phones_to_ids: dict       # phone -> id in 1..P (file id + 1)
  word_to_phones: dict      # word -> tuple of phones (first pronunciation)
  path: str = ""

  @property
  def num_phones(self) -> int:
    """Phone-embedding table size, padding included."""
    return len(self.phones_to_ids) + 1

  def phone_ids(self, word: str) -> np.ndarray:
    """``[L]`` int32 phone ids of ``word`` (1-based)."""
    return np.asarray([self.phones_to_ids[p] for p in self.word_to_phones[word]],
                      np.int32)


def read_vocab(path: str) -> Vocab:
  """Reads and checks ``vocab.json``: every phone of every word must be in
  ``phones_to_ids``."""
  try:
    with open(path) as f:
      raw = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise DataError(path, f"cannot read vocabulary: {e}") from e
  for key in ("words_to_ids", "phones_to_ids", "word_to_phones"):
    if key not in raw:
      raise DataError(path, f"missing key {key!r}; expected words_to_ids, "
                      "phones_to_ids and word_to_phones")
  phones = {p: int(i) + 1 for p, i in raw["phones_to_ids"].items()}
  w2p = {}
  for w, prons in raw["word_to_phones"].items():
    pron = prons[0] if prons and isinstance(prons[0], (list, tuple)) else prons
    if not pron:
      raise DataError(path, "word has an empty pronunciation", field=w)
    bad = [p for p in pron if p not in phones]
    if bad:
      raise DataError(path, f"phone(s) {bad} of word {w!r} are not in "
                      "phones_to_ids; add them or fix the pronunciation",
                      field=f"word_to_phones/{w}")
    w2p[w] = tuple(pron)
  missing = [w for w in raw["words_to_ids"] if w not in w2p]
  if missing:
    raise DataError(path, f"{len(missing)} word(s) have no pronunciation, "
                    f"e.g. {missing[:5]}", field="word_to_phones")
  return Vocab({w: int(i) for w, i in raw["words_to_ids"].items()}, phones, w2p,
               path=path)


def write_vocab(path: str, word_to_phones: dict, phones: list[str]) -> None:
  """Writes ``vocab.json`` (0-based ids, as the codebase's files are)."""
  words = sorted(word_to_phones)
  raw = {"words_to_ids": {w: i for i, w in enumerate(words)},
         "phones_to_ids": {p: i for i, p in enumerate(phones)},
         "word_to_phones": {w: [list(word_to_phones[w])] for w in words}}
  with open(path, "w") as f:
    json.dump(raw, f, indent=1, sort_keys=True)


@dataclasses.dataclass
class Segments:
  """All word segments of one split.

  Attributes:
    feats: list of ``[T_i, D]`` float32 arrays.
    words: ``[N]`` word strings.
    word_ids: ``[N]`` int32 ids from ``vocab.words_to_ids``.
    keys: ``[N]`` ``"uid/index"`` strings naming each segment.
    skipped_short: segments dropped for being shorter than ``min_frames``.
    skipped_oov: segments dropped for words outside the vocabulary (only
      with ``on_oov="skip"``).
  """
  feats: list
  words: np.ndarray
  word_ids: np.ndarray
  keys: np.ndarray
  skipped_short: int = 0
  skipped_oov: int = 0

  def __len__(self):
    return len(self.feats)

  @property
  def lengths(self) -> np.ndarray:
    return np.asarray([len(x) for x in self.feats], np.int32)


class SegmentCutter:
  """Cuts word segments out of utterances, checking them; shared by the
  agwe-recipe reader below and the Kaldi reader (:mod:`awe_jax.kaldi`).

  Args:
    vocab: words outside it raise (``on_oov="error"``) or are counted and
      dropped (``"skip"``).
    min_frames: shorter segments are dropped and counted.
    on_oov: ``"error"`` or ``"skip"``.
    end_slack: an end may pass the last frame by this many frames and is
      clipped (CTM times rounded to frames may overshoot by one).
  """

  def __init__(self, vocab: Vocab, min_frames: int, on_oov: str,
               end_slack: int = 0):
    if on_oov not in ("error", "skip"):
      raise ValueError(f"on_oov must be 'error' or 'skip', not {on_oov!r}")
    self.vocab, self.min_frames = vocab, min_frames
    self.on_oov, self.end_slack = on_oov, end_slack
    self.feats, self.words, self.keys = [], [], []
    self.short = self.oov = 0

  def add(self, path: str, uid: str, x: np.ndarray, spans) -> None:
    """Adds the segments ``(word, start, end)`` of utterance ``x [T, D]``;
    ``path`` is the file named in errors."""
    for i, (w, s, e) in enumerate(spans):
      if s < 0 or e > len(x) + self.end_slack or e < s:
        raise DataError(path, f"segment {i} [{s}, {e}) lies outside the "
                        f"{len(x)} frames of the utterance", field=uid)
      e = min(e, len(x))
      if w not in self.vocab.words_to_ids:
        if self.on_oov == "skip":
          self.oov += 1
          continue
        raise DataError(path, f"word {w!r} is not in "
                        f"{self.vocab.path or 'the vocabulary'}; add it to "
                        "vocab.json or load with on_oov='skip'",
                        field=f"{uid}/{i}")
      if e - s < self.min_frames:
        self.short += 1
        continue
      self.feats.append(x[s:e])
      self.words.append(w)
      self.keys.append(f"{uid}/{i}")

  def segments(self, path: str) -> "Segments":
    """All segments added; raises if there is none."""
    if not self.feats:
      raise DataError(path, f"no usable word segment (skipped {self.short} "
                      f"shorter than {self.min_frames} frames, {self.oov} out "
                      "of vocabulary)")
    words = np.asarray(self.words)
    ids = np.asarray([self.vocab.words_to_ids[w] for w in words], np.int32)
    return Segments(self.feats, words, ids, np.asarray(self.keys), self.short,
                    self.oov)


def _find(data_dir: str, prefixes, split: str) -> str:
  for p in prefixes:
    path = os.path.join(data_dir, f"{p}.{split}.hdf5")
    if os.path.exists(path):
      return path
  names = ", ".join(f"{p}.{split}.hdf5" for p in prefixes)
  raise DataError(data_dir, f"no {names} found for split {split!r}")


def _decode(x):
  return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def load_split(data_dir: str, split: str, vocab: Vocab, *, min_frames: int = 2,
               on_oov: str = "error") -> Segments:
  """Loads the word segments of ``split`` from ``data_dir``.

  Args:
    data_dir: directory in the agwe-recipe layout (module docstring).
    split: ``train``, ``dev`` or ``test`` (any name with files works).
    vocab: from :func:`read_vocab`.
    min_frames: shorter segments are skipped and counted (the paper drops
      words shorter than 2 frames).
    on_oov: ``"error"`` (default) raises on a word outside ``vocab``;
      ``"skip"`` drops and counts it.

  Raises:
    DataError: naming the file, the utterance and what is wrong.
  """
  cutter = SegmentCutter(vocab, min_frames, on_oov)
  fpath = _find(data_dir, FEATS_PREFIXES, split)
  apath = _find(data_dir, ALIGN_PREFIXES, split)
  try:
    ff, af = h5py.File(fpath, "r"), h5py.File(apath, "r")
  except OSError as e:
    raise DataError(fpath, f"cannot open HDF5 file: {e}") from e
  with ff, af:
    for uid in af:
      g = af[uid]
      if uid not in ff:
        raise DataError(fpath, f"utterance {uid!r} of {apath} has no features")
      x = np.asarray(ff[uid][()], np.float32)
      if x.ndim != 2:
        raise DataError(fpath, f"expected a [T, D] array, got shape {x.shape}",
                        field=uid)
      if not np.all(np.isfinite(x)):
        raise DataError(fpath, "features contain NaN or inf", field=uid)
      try:
        ws = [_decode(w) for w in g["words"][()]]
        starts = np.asarray(g["starts"][()], np.int64)
        ends = np.asarray(g["ends"][()], np.int64)
      except KeyError as e:
        raise DataError(apath, "expected datasets words, starts, ends",
                        field=uid) from e
      if not len(ws) == len(starts) == len(ends):
        raise DataError(apath, "words, starts and ends differ in length",
                        field=uid)
      cutter.add(apath, uid, x, zip(ws, starts, ends))
  return cutter.segments(apath)


def write_split(data_dir: str, split: str, utterances: dict,
                feats_prefix: str = "mfcc") -> None:
  """Writes one split in the agwe-recipe layout.

  Args:
    utterances: uid -> ``(feats [T, D], words, starts, ends)``.
  """
  os.makedirs(data_dir, exist_ok=True)
  fpath = os.path.join(data_dir, f"{feats_prefix}.{split}.hdf5")
  apath = os.path.join(data_dir, f"align.{split}.hdf5")
  str_dt = h5py.string_dtype("utf-8")
  with h5py.File(fpath + ".tmp", "w") as ff, h5py.File(apath + ".tmp", "w") as af:
    for uid in sorted(utterances):
      x, ws, starts, ends = utterances[uid]
      ff.create_dataset(uid, data=np.asarray(x, np.float32))
      g = af.create_group(uid)
      g.create_dataset("words", data=np.asarray(ws, dtype=object), dtype=str_dt)
      g.create_dataset("starts", data=np.asarray(starts, np.int32))
      g.create_dataset("ends", data=np.asarray(ends, np.int32))
  os.replace(fpath + ".tmp", fpath)
  os.replace(apath + ".tmp", apath)
