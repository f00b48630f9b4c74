"""The multi-view triplet loss of eq. (4) with the k most offending negatives.

For segment ``i`` with acoustic embedding ``x_i`` and word ``w = inv[i]``
whose phone embedding is ``y_w``, with ``d`` a cosine distance:

* obj0: ``[m + d(x_i, y_w) - mean_k{ d(x_i, y_v) : v != w }]_+``
* obj1: ``[m + d(x_i, y_w) - mean_k{ d(y_w, y_v) : v != w }]_+``
* obj2: ``[m + d(x_i, y_w) - mean_k{ d(y_w, x_j) : inv[j] != w }]_+``

``mean_k`` is the mean over the k most offending (smallest-distance)
negatives inside the batch, as in Settle et al.'s ``MultiViewTripletLoss``;
negatives are never of the same word.  With ``semi_hard`` (the codebase
always does this) negatives of obj0/obj2 closer to the acoustic segment
than that segment's own positive are left out.  Vectorised over the batch:
the unique words are a padded ``[M]`` array with a validity mask, so every
shape is static and one compiled step serves every batch.
"""
import chex
import jax
import jax.numpy as jnp


def cosine_similarity_matrix(a: jax.Array, b: jax.Array) -> jax.Array:
  """``[N, D] x [M, D] -> [N, M]`` cosine similarities."""
  return _unit(a) @ _unit(b).T


def _unit(x):
  # rsqrt(max(|x|^2, eps)): finite gradients at x = 0 (padding rows).
  return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, -1, keepdims=True), 1e-16))


def distance_from_similarity(sim: jax.Array, kind: str = "cos") -> jax.Array:
  """``1 - cos`` (default) or ``1 - cos^2`` (eq. 4 as printed, a typo: it
  makes opposite vectors identical)."""
  if kind == "cos":
    return 1.0 - sim
  if kind == "cos2":
    return 1.0 - sim ** 2
  raise ValueError(f"distance must be 'cos' or 'cos2', not {kind!r}")


def topk_at_step(step, k: int, min_k: int):
  """The codebase's decreasing k: ``max(min_k, k - step)`` (int32 scalar)."""
  return jnp.maximum(min_k, k - jnp.asarray(step, jnp.int32))


def _k_most_offending(dist, neg_mask, k, k_max: int):
  """Smallest ``k`` allowed distances along the last axis.

  Args:
    dist: ``[R, C]`` distances.
    neg_mask: ``[R, C]`` bool, True where the entry is an allowed negative.
    k: int scalar (traced) <= ``k_max``.
    k_max: static bound on k.

  Returns:
    ``(vals [R, K], take [R, K])`` with ``K = min(k_max, C)``: the smallest
    distances and which of them count (within k and allowed).
  """
  k_max = min(k_max, dist.shape[-1])
  neg, _ = jax.lax.top_k(jnp.where(neg_mask, -dist, -jnp.inf), k_max)
  take = (jnp.arange(k_max) < k) & jnp.isfinite(neg)
  return jnp.where(take, -neg, 0.0), take


def _hinge(margin, d_pos, vals, take, hinge_each: bool):
  """``[m + d_pos - mean(vals)]_+`` (or the mean of per-negative hinges)."""
  cnt = take.sum(-1)
  if hinge_each:  # the codebase: relu(m + d_pos - d_neg).mean over k
    h = jnp.where(take, jax.nn.relu(margin + d_pos[:, None] - vals), 0.0)
    out = h.sum(-1) / jnp.maximum(cnt, 1)
  else:
    mean = vals.sum(-1) / jnp.maximum(cnt, 1)
    out = jax.nn.relu(margin + d_pos - mean)
  return jnp.where(cnt > 0, out, 0.0)


def multiview_triplet_loss(x, x_valid, y, y_valid, inv, *, margin: float = 0.5,
                           k=16, k_max: int = 16, semi_hard: bool = True,
                           distance: str = "cos", hinge_each: bool = False):
  """Per-segment loss of eq. (4).

  Args:
    x: ``[B, E]`` acoustic embeddings of the segments.
    x_valid: ``[B]`` bool, False for batch padding.
    y: ``[M, E]`` phone embeddings of the batch's unique words (padded).
    y_valid: ``[M]`` bool, False for padding words.
    inv: ``[B]`` int, the row of ``y`` holding segment i's word.
    margin: m.
    k: number of most offending negatives to average (int or traced).
    k_max: static upper bound on ``k``.
    semi_hard: drop obj0/obj2 negatives closer than the segment's positive.
    distance: ``"cos"`` or ``"cos2"``.
    hinge_each: average per-negative hinges (the codebase) instead of
      taking the hinge of the mean distance (the paper's text).

  Returns:
    ``(loss [B], terms [3, B])``: the summed loss of each segment (0 for
    padding) and obj0, obj1, obj2 separately.
  """
  chex.assert_rank([x, y], 2)
  chex.assert_rank([x_valid, y_valid, inv], 1)
  b, m = x.shape[0], y.shape[0]
  d_xy = distance_from_similarity(cosine_similarity_matrix(x, y), distance)
  d_yy = distance_from_similarity(cosine_similarity_matrix(y, y), distance)
  d_pos = jnp.take_along_axis(d_xy, inv[:, None], axis=1)[:, 0]       # [B]
  other = inv[:, None] != jnp.arange(m)[None, :]                       # [B, M]
  mask_xy = other & y_valid[None, :] & x_valid[:, None]
  if semi_hard:
    mask_xy &= d_xy >= d_pos[:, None]
  # obj0: each segment vs other words' phone embeddings.
  v0, t0 = _k_most_offending(d_xy, mask_xy, k, k_max)
  obj0 = _hinge(margin, d_pos, v0, t0, hinge_each)
  # obj1: each word vs the other words, looked up per segment.
  mask_yy = (~jnp.eye(m, dtype=bool)) & y_valid[None, :]
  v1, t1 = _k_most_offending(d_yy, mask_yy, k, k_max)
  obj1 = _hinge(margin, d_pos, v1[inv], t1[inv], hinge_each)
  # obj2: each word vs segments of other words, looked up per segment.
  v2, t2 = _k_most_offending(d_xy.T, mask_xy.T, k, k_max)
  obj2 = _hinge(margin, d_pos, v2[inv], t2[inv], hinge_each)
  terms = jnp.stack([obj0, obj1, obj2]) * x_valid[None, :]
  chex.assert_shape(terms, (3, b))
  return terms.sum(0), terms
