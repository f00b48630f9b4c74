"""Embedding a split with both views and scoring it (acoustic and cross-view AP).

The embed functions are jitted once per static input shape; the AP maths
lives in :mod:`awe_jax.metrics`.
"""
import functools

import jax
import numpy as np

from awe_jax import input_pipeline, metrics
from jaxtk import parallel


class Evaluator:
  """Embeds segments and word types of one split and computes the APs.

  Args:
    model: a multi-view module (``acoustic`` and ``phones`` methods).
    table: ``[num_words, L]`` phone ids per word id.
    boundaries: bucket lengths of the acoustic input.
    batch_size: segments per embedding call (divisible by the devices).
    mesh: the data mesh (batches are split over it).
    max_frames: truncation of long segments (0: none).
  """

  def __init__(self, model, table, boundaries, batch_size: int,
               mesh, max_frames: int = 0):
    self.table, self.boundaries = table, boundaries
    self.batch_size, self.mesh, self.max_frames = batch_size, mesh, max_frames
    self._acoustic = jax.jit(functools.partial(
        model.apply, method="acoustic", train=False))
    self._phones = jax.jit(functools.partial(
        model.apply, method="phones", train=False))

  def acoustic(self, params, segs) -> np.ndarray:
    """``[n, E]`` acoustic embeddings of every segment, in segment order."""
    out = None
    for idx in input_pipeline.eval_batches(segs.lengths, self.boundaries,
                                           self.batch_size):
      b = input_pipeline.make_batch(segs, idx, self.boundaries, self.batch_size,
                                    self.table, self.max_frames)
      b = parallel.shard_batch({"feats": b["feats"], "mask": b["mask"]},
                               self.mesh)
      e = np.asarray(self._acoustic({"params": params}, b["feats"], b["mask"]))
      if out is None:
        out = np.zeros((len(segs), e.shape[1]), np.float32)
      out[idx] = e[:len(idx)]
    return out

  def phones(self, params, word_ids) -> np.ndarray:
    """``[m, E]`` phone-view embeddings of ``word_ids``."""
    word_ids = np.asarray(word_ids)
    out = []
    for s in range(0, len(word_ids), self.batch_size):
      ids = word_ids[s:s + self.batch_size]
      ph = np.zeros((self.batch_size, self.table.shape[1]), np.int32)
      ph[:len(ids)] = self.table[ids]
      ph[len(ids):, 0] = 1  # padding rows: any non-empty sequence
      ph = parallel.shard_batch(ph, self.mesh)
      out.append(np.asarray(self._phones({"params": params}, ph))[:len(ids)])
    return np.concatenate(out)

  def __call__(self, params, segs, id_to_word=None) -> tuple[dict, dict]:
    """Scores one split.

    Returns:
      ``(scores, arrays)``: ``{"acoustic_ap", "crossview_ap"}`` and the
      codebase's ``dev-embs.npz`` arrays: ``embs1, ids1, words1`` (segments)
      and ``embs2, ids2, words2`` (the split's distinct written words).
    """
    embs1 = self.acoustic(params, segs)
    ids2 = np.unique(segs.word_ids)
    embs2 = self.phones(params, ids2)
    scores = {"acoustic_ap": metrics.acoustic_ap(embs1, segs.word_ids),
              "crossview_ap": metrics.crossview_ap(embs1, segs.word_ids,
                                                   embs2, ids2)}
    words2 = (np.asarray([id_to_word[i] for i in ids2]) if id_to_word
              else ids2.astype(str))
    arrays = dict(embs1=embs1, ids1=segs.word_ids, words1=segs.words,
                  keys1=segs.keys, embs2=embs2, ids2=ids2, words2=words2)
    return scores, arrays
