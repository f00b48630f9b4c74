"""Batches of word segments with static shapes.

* layout: a data directory in the agwe layout (:mod:`awe_jax.data`) or a
  Kaldi one (:mod:`awe_jax.kaldi`) is detected automatically;
* bucketing: segment lengths are padded up to one of a few boundaries
  (length quantiles over all splits), so the train step compiles once per
  bucket;
* order: per epoch, segments are shuffled inside their bucket and the
  batches' order is shuffled, both from ``np.random.default_rng([seed,
  epoch])``, so a resumed run sees the same batches;
* unique words: each batch carries its distinct words once (padded to the
  batch size, with a mask) and ``inv``, segment -> row of that array, as the
  codebase's ``ids, inv``.
"""
import dataclasses
import os

import numpy as np

from awe_jax import data, kaldi
from jaxtk.errors import DataError


@dataclasses.dataclass
class Dataset:
  vocab: data.Vocab
  splits: dict          # split -> data.Segments
  layout: str           # "agwe" or "kaldi"
  phone_table: np.ndarray  # [num_words, max_phones] int32 phone ids, 0 = pad

  @property
  def feat_dim(self) -> int:
    return int(self.splits["train"].feats[0].shape[1])


def load_dataset(data_dir: str, splits=data.SPLITS, *, min_frames: int = 2) -> Dataset:
  """Loads ``splits`` from an agwe or Kaldi data directory (auto-detected)."""
  if not os.path.isdir(data_dir):
    raise DataError(data_dir, "data directory does not exist")
  if kaldi.is_kaldi_dir(data_dir):
    vocab, layout = kaldi.read_vocab(data_dir), "kaldi"
    load = kaldi.load_split
  elif os.path.exists(os.path.join(data_dir, "vocab.json")):
    vocab, layout = data.read_vocab(os.path.join(data_dir, "vocab.json")), "agwe"
    load = data.load_split
  else:
    raise DataError(data_dir, "neither the agwe layout (vocab.json, "
                    "mfcc.{split}.hdf5, align.{split}.hdf5) nor the Kaldi one "
                    "({split}/feats.scp, {split}/ctm)")
  segs = {s: load(data_dir, s, vocab, min_frames=min_frames) for s in splits}
  dims = {s: {x.shape[1] for x in v.feats} for s, v in segs.items()}
  if len(set().union(*dims.values())) != 1:
    raise DataError(data_dir, f"feature dimensions differ across splits: {dims}")
  return Dataset(vocab, segs, layout, phone_table(vocab))


def phone_table(vocab: data.Vocab) -> np.ndarray:
  """``[num_words, L]`` int32: row ``words_to_ids[w]`` holds w's phone ids."""
  n = max(vocab.words_to_ids.values()) + 1
  width = max(len(p) for p in vocab.word_to_phones.values())
  table = np.zeros((n, width), np.int32)
  for w, i in vocab.words_to_ids.items():
    ids = vocab.phone_ids(w)
    table[i, :len(ids)] = ids
  return table


def bucket_boundaries(lengths, num_buckets: int, multiple: int = 8) -> np.ndarray:
  """Padded lengths: quantiles of ``lengths`` rounded up to ``multiple``;
  the last covers the longest segment."""
  lengths = np.asarray(lengths)
  qs = np.quantile(lengths, np.arange(1, num_buckets + 1) / num_buckets)
  b = np.unique(-(-np.ceil(qs).astype(int) // multiple) * multiple)
  b[-1] = max(b[-1], -(-int(lengths.max()) // multiple) * multiple)
  return b


def bucket_of(lengths, boundaries) -> np.ndarray:
  return np.searchsorted(boundaries, np.asarray(lengths), side="left")


def padded_length(lens, boundaries) -> int:
  """The padded length of a batch of segments of ``lens`` frames: its
  bucket's boundary (at least the longest segment)."""
  lens = np.asarray(lens)
  b = int(boundaries[min(bucket_of(lens.max(), boundaries), len(boundaries) - 1)])
  return max(b, int(lens.max()))


def epoch_batches(lengths, boundaries, batch_size: int, seed: int, epoch: int):
  """Index arrays of one epoch's batches (the last of a bucket may be short).

  Deterministic in ``(seed, epoch)``.
  """
  rng = np.random.default_rng([seed, epoch])
  buckets = bucket_of(lengths, boundaries)
  batches = []
  for b in range(len(boundaries)):
    idx = np.flatnonzero(buckets == b)
    idx = idx[rng.permutation(len(idx))]
    batches += [idx[s:s + batch_size] for s in range(0, len(idx), batch_size)]
  order = rng.permutation(len(batches))
  return [batches[i] for i in order]


def eval_batches(lengths, boundaries, batch_size: int):
  """Length-sorted batches covering every segment once, in a fixed order."""
  order = np.argsort(np.asarray(lengths), kind="stable")
  return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


def make_batch(segs: data.Segments, idx, boundaries, batch_size: int,
               table: np.ndarray, max_frames: int = 0) -> dict:
  """Pads the segments ``idx`` into one static-shape batch.

  Returns:
    dict of NumPy arrays: ``feats [B, T, D]`` float32, ``mask [B, T]``,
    ``valid [B]`` bool, ``word_ids [B]``, ``inv [B]`` int32 (row of the
    segment's word in ``phones``), ``phones [B, L]`` int32 of the distinct
    words (padding rows are 0), ``word_valid [B]`` bool and
    ``unique_ids [B]`` (-1 for padding).
  """
  idx = np.asarray(idx)
  if len(idx) > batch_size:
    raise ValueError(f"{len(idx)} segments do not fit a batch of {batch_size}")
  lens = np.asarray([len(segs.feats[i]) for i in idx])
  if max_frames:
    lens = np.minimum(lens, max_frames)
  t = padded_length(lens, boundaries)
  d = segs.feats[idx[0]].shape[1]
  feats = np.zeros((batch_size, t, d), np.float32)
  mask = np.zeros((batch_size, t), bool)
  for r, (i, n) in enumerate(zip(idx, lens)):
    feats[r, :n] = segs.feats[i][:n]
    mask[r, :n] = True
  valid = np.zeros(batch_size, bool)
  valid[:len(idx)] = True
  word_ids = np.zeros(batch_size, np.int32)
  word_ids[:len(idx)] = segs.word_ids[idx]
  uniq, inv = np.unique(segs.word_ids[idx], return_inverse=True)
  inv_full = np.zeros(batch_size, np.int32)
  inv_full[:len(idx)] = inv
  phones = np.zeros((batch_size, table.shape[1]), np.int32)
  phones[:len(uniq)] = table[uniq]
  word_valid = np.zeros(batch_size, bool)
  word_valid[:len(uniq)] = True
  unique_ids = np.full(batch_size, -1, np.int32)
  unique_ids[:len(uniq)] = uniq
  return dict(feats=feats, mask=mask, valid=valid, word_ids=word_ids,
              inv=inv_full, phones=phones, word_valid=word_valid,
              unique_ids=unique_ids)


def padding_fraction(lengths, batches, boundaries, batch_size: int,
                     max_frames: int = 0) -> float:
  """Fraction of padded frames over the batches (batch padding included)."""
  lengths = np.asarray(lengths)
  if max_frames:
    lengths = np.minimum(lengths, max_frames)
  real = total = 0
  for idx in batches:
    lens = lengths[idx]
    t = padded_length(lens, boundaries)
    real += int(lens.sum())
    total += batch_size * t
  return 1.0 - real / max(total, 1)
