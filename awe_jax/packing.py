"""Packing several words into one row, so that padding is not computed.

A padded batch holds one word per row: ``feats [B, T, D]`` (``T`` the
bucket's length) and the distinct words' phone ids ``phones [M, L]``.  An
epoch of the default run pads 26.7 % of its acoustic frames and about 60 %
of its phone positions.  Training packs each batch's words into rows of
``row_len`` positions, first-fit decreasing, and the encoders see
``[rows, row_len]`` instead of ``[B, T]``: attention is block-diagonal (a
position attends to the real positions of its own word only) and mean
pooling sums per word, so every word's embedding is that of the padded
model (tested).  The batch, its words and the loss are unchanged; only the
layout inside the step is.

The layout is one int32 array per view, ``src [rows, row_len]``: the flat
index ``b * T + t`` of the padded position at each packed position, or
``B * T`` where nothing is (:func:`pack`).  The model gathers with it
(:func:`gather`), so SpecAugment and frame stacking still run on the padded
layout first.  Shapes are static: :func:`plan` fixes the number of rows of
each bucket as the most that any batch of the whole run needs (the data
order depends only on ``(seed, epoch)``, so this is known up front), and
the step still compiles once per bucket.
"""
import dataclasses

import jax.numpy as jnp
import numpy as np

from awe_jax import input_pipeline

ROW_MULTIPLE = 4  # packed rows are a multiple of this (1, 2 or 4 devices)
# A view is packed only if that leaves at most this share of its positions:
# packed attention spans row_factor times more keys, and the gather and the
# per-word pooling cost a little.
MAX_PACKED_SHARE = 0.9


def first_fit_decreasing(sizes, row_len: int):
  """Rows of ``row_len`` for items of ``sizes`` (each <= ``row_len``; 0:
  skipped), longest first, each into the first row it fits.

  Returns:
    ``(row [n], offset [n], num_rows)``: item i sits in ``row[i]`` from
    position ``offset[i]`` (-1 for empty items).
  """
  sizes = np.asarray(sizes)
  if sizes.size and sizes.max() > row_len:
    raise ValueError(f"an item of {sizes.max()} positions does not fit rows "
                     f"of {row_len}")
  row = np.full(len(sizes), -1, np.int64)
  offset = np.full(len(sizes), -1, np.int64)
  fill = []  # positions used in each row
  for i in np.argsort(-sizes, kind="stable").tolist():
    s = int(sizes[i])
    if s <= 0:
      break
    r = next((r for r, f in enumerate(fill) if f + s <= row_len), len(fill))
    if r == len(fill):
      fill.append(0)
    row[i], offset[i] = r, fill[r]
    fill[r] += s
  return row, offset, len(fill)


def pack(sizes, src_len: int, row_len: int, rows: int) -> np.ndarray:
  """The gather index of ``len(sizes)`` padded rows of ``src_len`` positions
  packed into ``[rows, row_len]``.

  Args:
    sizes: ``[n]`` real positions of each padded row (a prefix of it).
    src_len: padded length of the source rows.
    row_len: length of the packed rows.
    rows: number of packed rows (at least what the packing needs).

  Returns:
    ``[rows, row_len]`` int32: ``i * src_len + t`` where position t of item i
    sits, ``n * src_len`` at empty positions.
  """
  n = len(sizes)
  row, offset, used = first_fit_decreasing(sizes, row_len)
  if used > rows:
    raise ValueError(f"the words need {used} packed rows, the plan has {rows}")
  src = np.full((rows, row_len), n * src_len, np.int32)
  for i in np.flatnonzero(row >= 0):
    src[row[i], offset[i]:offset[i] + sizes[i]] = i * src_len + np.arange(sizes[i])
  return src


def gather(x, src):
  """Packed ``[rows, row_len, ...]`` from padded ``x [n, src_len, ...]``
  (zeros where ``src`` points past the end)."""
  flat = x.reshape((-1,) + x.shape[2:])
  flat = jnp.concatenate([flat, jnp.zeros((1,) + flat.shape[1:], flat.dtype)])
  return jnp.take(flat, src, axis=0, mode="clip")


def segments(src, n: int, src_len: int):
  """``(word [rows, row_len], pos [rows, row_len])``: the padded row each
  packed position came from (-1 at empty ones) and its position in it."""
  word = jnp.where(src < n * src_len, src // src_len, -1)
  return word, src % src_len


@dataclasses.dataclass(frozen=True)
class Plan:
  """Static packed shapes: ``acoustic`` maps a bucket's padded length T to
  ``(rows, row_len)`` in stacked positions; ``phones`` is ``(rows,
  row_len)`` of the phone view.  None: that view (bucket) stays padded."""
  acoustic: dict
  phones: tuple
  frame_stack: int


def _stacked(n, s):
  return -(-np.asarray(n) // s)


def make_plan(segs, boundaries, batch_size: int, seed: int, epochs: int,
              table: np.ndarray, frame_stack: int, max_frames: int = 0,
              row_factor: int = 2) -> Plan:
  """The packed shapes that every training batch of ``epochs`` epochs fits.

  Args:
    segs: the training split (``lengths``, ``word_ids``).
    boundaries, batch_size, seed, max_frames: as the batches are made
      (:func:`input_pipeline.epoch_batches`, :func:`input_pipeline.make_batch`).
    epochs: epochs of the run.
    table: ``[num_words, L]`` phone ids (0 = padding).
    frame_stack: acoustic frames per position.
    row_factor: packed rows are this many times the padded length (a
      bucket's T / s, the phone table's width), so that words of a bucket
      pack two or more to a row.

  Returns:
    The :class:`Plan`; row counts are the most any batch needs, rounded up
    to :data:`ROW_MULTIPLE`; a view (bucket) that would keep more than
    :data:`MAX_PACKED_SHARE` of its padded positions is not packed.
  """
  lengths = np.asarray(segs.lengths)  # batches are drawn by these ...
  cut = np.minimum(lengths, max_frames) if max_frames else lengths  # ... padded by these
  word_len = (table > 0).sum(1)
  ph_row = row_factor * table.shape[1]
  need, ph_need = {}, 0
  for epoch in range(epochs):
    for idx in input_pipeline.epoch_batches(lengths, boundaries, batch_size,
                                            seed, epoch):
      lens = cut[idx]
      t = input_pipeline.padded_length(lens, boundaries)
      row_len = row_factor * int(_stacked(t, frame_stack))
      rows = first_fit_decreasing(_stacked(lens, frame_stack), row_len)[2]
      need[t] = max(need.get(t, 0), rows)
      words = np.unique(segs.word_ids[idx])
      ph_need = max(ph_need, first_fit_decreasing(word_len[words], ph_row)[2])
  def shape(rows, row_len, padded):
    rows = -(-rows // ROW_MULTIPLE) * ROW_MULTIPLE
    return (rows, row_len) if rows * row_len <= MAX_PACKED_SHARE * padded else None

  ls = lambda t: int(_stacked(t, frame_stack))
  return Plan({t: shape(r, row_factor * ls(t), batch_size * ls(t))
               for t, r in sorted(need.items())},
              shape(ph_need, ph_row, batch_size * table.shape[1]), frame_stack)


def pack_batch(batch: dict, plan: Plan) -> dict:
  """``batch`` (:func:`input_pipeline.make_batch`) with the gather indices
  ``ac_src`` and ``ph_src`` of :func:`pack` added (each only if the plan
  packs that view; a bucket the plan has not seen stays padded)."""
  out = dict(batch)
  t = batch["mask"].shape[1]
  if plan.acoustic.get(t):
    sizes = np.where(batch["valid"],
                     _stacked(batch["mask"].sum(1), plan.frame_stack), 0)
    rows, row_len = plan.acoustic[t]
    out["ac_src"] = pack(sizes, int(_stacked(t, plan.frame_stack)), row_len,
                         rows)
  if plan.phones:
    sizes = np.where(batch["word_valid"], (batch["phones"] > 0).sum(1), 0)
    rows, row_len = plan.phones
    out["ph_src"] = pack(sizes, batch["phones"].shape[1], row_len, rows)
  return out
