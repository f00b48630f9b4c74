"""Kaldi input: ``feats.scp`` (+ ark) and a word-alignment CTM.

A Kaldi data directory holds one sub-directory per split::

  {data_dir}/{split}/feats.scp     utt -> ark:offset (read with kaldiio)
  {data_dir}/{split}/ctm           utt channel start dur word [conf]
  {data_dir}/vocab.json            as in the agwe layout, or
  {data_dir}/lexicon.txt           word phone phone ...

CTM times are seconds; frames are 10 ms, so a word covers frames
``[round(100 * start), round(100 * (start + dur)))``.  The result is the
same :class:`awe_jax.data.Segments` the agwe loader returns.
"""
import collections
import os

import kaldiio
import numpy as np

from awe_jax import data
from jaxtk.errors import DataError

CTM_NAMES = ("ctm", "word.ctm", "words.ctm", "align.ctm")
FRAME_SHIFT = 0.01


def is_kaldi_dir(data_dir: str) -> bool:
  return os.path.exists(os.path.join(data_dir, "train", "feats.scp"))


def read_lexicon(path: str) -> data.Vocab:
  """A ``word phone phone ...`` lexicon as a :class:`data.Vocab` (the first
  pronunciation of each word is used; phone ids in sorted order, 1-based)."""
  w2p = {}
  try:
    with open(path) as f:
      for n, line in enumerate(f, 1):
        parts = line.split()
        if not parts:
          continue
        if len(parts) < 2:
          raise DataError(path, "expected 'word phone [phone ...]'", field=f"line {n}")
        w2p.setdefault(parts[0], tuple(parts[1:]))
  except OSError as e:
    raise DataError(path, f"cannot read lexicon: {e}") from e
  phones = sorted({p for pr in w2p.values() for p in pr})
  words = sorted(w2p)
  return data.Vocab({w: i for i, w in enumerate(words)},
                    {p: i + 1 for i, p in enumerate(phones)}, w2p, path=path)


def read_vocab(data_dir: str) -> data.Vocab:
  """``vocab.json`` if present, else ``lexicon.txt``."""
  vj = os.path.join(data_dir, "vocab.json")
  if os.path.exists(vj):
    return data.read_vocab(vj)
  lex = os.path.join(data_dir, "lexicon.txt")
  if os.path.exists(lex):
    return read_lexicon(lex)
  raise DataError(data_dir, "no vocab.json or lexicon.txt (word -> phones)")


def read_ctm(path: str) -> dict:
  """utt -> list of ``(word, start_frame, end_frame)`` in file order."""
  out = collections.defaultdict(list)
  try:
    with open(path) as f:
      for n, line in enumerate(f, 1):
        parts = line.split()
        if not parts or parts[0].startswith(";;"):
          continue
        if len(parts) < 5:
          raise DataError(path, "expected 'utt channel start dur word [conf]'",
                          field=f"line {n}")
        try:
          start, dur = float(parts[2]), float(parts[3])
        except ValueError as e:
          raise DataError(path, "start and dur must be numbers (seconds)",
                          field=f"line {n}") from e
        s = int(round(start / FRAME_SHIFT))
        e = int(round((start + dur) / FRAME_SHIFT))
        out[parts[0]].append((parts[4], s, e))
  except OSError as e:
    raise DataError(path, f"cannot read CTM: {e}") from e
  return out


def load_split(data_dir: str, split: str, vocab: data.Vocab, *,
               min_frames: int = 2, on_oov: str = "skip") -> data.Segments:
  """Word segments of ``{data_dir}/{split}`` (see the module docstring).

  Words outside ``vocab`` are skipped and counted by default (Switchboard
  CTMs hold noise and partial words); ``on_oov="error"`` raises instead.
  """
  d = os.path.join(data_dir, split)
  scp = os.path.join(d, "feats.scp")
  ctm_path = next((os.path.join(d, c) for c in CTM_NAMES
                   if os.path.exists(os.path.join(d, c))), None)
  if not os.path.exists(scp):
    raise DataError(scp, f"missing feats.scp for split {split!r}")
  if ctm_path is None:
    raise DataError(d, f"no word CTM ({', '.join(CTM_NAMES)}) for split {split!r}")
  ctm = read_ctm(ctm_path)
  cutter = data.SegmentCutter(vocab, min_frames, on_oov, end_slack=1)
  try:
    reader = kaldiio.load_scp(scp)
  except Exception as e:  # kaldiio raises several types for a bad scp
    raise DataError(scp, f"cannot read: {e}") from e
  for uid in sorted(ctm):
    if uid not in reader:
      raise DataError(scp, f"utterance {uid!r} of {ctm_path} has no features")
    x = np.asarray(reader[uid], np.float32)
    if x.ndim != 2:
      raise DataError(scp, f"expected a [T, D] matrix, got {x.shape}", field=uid)
    cutter.add(ctm_path, uid, x, ctm[uid])
  return cutter.segments(ctm_path)


def write_split(data_dir: str, split: str, utterances: dict) -> None:
  """Writes a Kaldi split (for tests): uid -> ``(feats, words, starts, ends)``
  with frame indices, as :func:`awe_jax.data.write_split` takes."""
  d = os.path.join(data_dir, split)
  os.makedirs(d, exist_ok=True)
  with kaldiio.WriteHelper(f"ark,scp:{d}/feats.ark,{d}/feats.scp") as w:
    for uid in sorted(utterances):
      w(uid, np.asarray(utterances[uid][0], np.float32))
  with open(os.path.join(d, "ctm"), "w") as f:
    for uid in sorted(utterances):
      _, ws, starts, ends = utterances[uid]
      for word, s, e in zip(ws, starts, ends):
        f.write(f"{uid} 1 {s * FRAME_SHIFT:.2f} {(e - s) * FRAME_SHIFT:.2f} {word}\n")
