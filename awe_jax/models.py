"""Transformer encoders of the two views (Rhodes & Bains, sec. 2-3).

* acoustic view: ``Dense(d_model)`` of MFCC frames + sinusoidal position
  encoding (eq. 5, base 5000) + N encoder layers + pooling;
* phone view: ``Embed`` of phone ids (0 = padding) + the same stack with its
  own depth and heads + pooling.

Every module takes a padding mask; padded positions are never attended to
and never pooled, so padding does not change any embedding.  Training may
pass a packed layout instead (``src``, :mod:`awe_jax.packing`): several
words per row, block-diagonal attention, pooling per word; the embeddings
are the padded model's.  Only the modules live here: nothing about data or
training.
"""
import dataclasses
import functools
from typing import NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from awe_jax import packing
from awe_jax.augment import SpecAugmentConfig, spec_augment
from awe_jax.frames import stack_frames

POOLS = ("mean", "first", "cls")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
  """One view's encoder stack (hashable, so it can be a Module field)."""
  num_layers: int = 6
  num_heads: int = 4
  d_model: int = 256
  d_ff: int = 1024
  dropout: float = 0.1
  pre_ln: bool = False       # False: post-LN as in the paper and [12]
  pe_base: float = 5000.0    # base of the sinusoidal position encoding
  pool: str = "mean"         # "mean" | "first" ("Rep.") | "cls"
  out_dim: int = 0           # > 0: optional output projection to out_dim
  frame_stack: int = 1       # acoustic view: concatenate this many frames
  scale_inputs: bool = True  # multiply projected inputs by sqrt(d_model)


class Packed(NamedTuple):
  """A packed layout of ``num`` padded rows of ``src_len`` positions.

  Attributes:
    word: ``[rows, row_len]`` int, the padded row (word) of each packed
      position, -1 where nothing is.
    pos: ``[rows, row_len]`` int, the position inside that word.
    num: number of padded rows (the pooled output's rows).
    src_len: padded length (the position encoding's table size).
  """
  word: jax.Array
  pos: jax.Array
  num: int
  src_len: int

  @classmethod
  def of(cls, src, num: int, src_len: int) -> "Packed":
    """From the gather index of :func:`awe_jax.packing.pack`."""
    return cls(*packing.segments(src, num, src_len), num, src_len)


def sinusoidal_encoding(length: int, dim: int, base: float = 5000.0) -> np.ndarray:
  """Eq. (5): ``PE[t, 2i] = sin(t / base^(2i/dim))``, ``PE[t, 2i+1] = cos(...)``.

  Returns:
    ``[length, dim]`` float32.
  """
  t = np.arange(length, dtype=np.float64)[:, None]
  two_i = np.arange(0, dim, 2, dtype=np.float64)[None, :]
  angle = t / np.power(base, two_i / dim)
  pe = np.zeros((length, dim), np.float64)
  pe[:, 0::2] = np.sin(angle)
  pe[:, 1::2] = np.cos(angle[:, :dim // 2])
  return pe.astype(np.float32)


class EncoderLayer(nn.Module):
  """Self-attention + ReLU feed-forward, each with residual and LayerNorm.

  Dropout is applied to each sub-layer's output before it is added to the
  sub-layer input (post-LN: ``LN(x + drop(f(x)))``; pre-LN:
  ``x + drop(f(LN(x)))``).
  """
  cfg: EncoderConfig

  @nn.compact
  def __call__(self, x, attn_mask, *, train: bool):
    """x: ``[B, L, d_model]``; attn_mask: ``[B, 1, L, L]`` bool (True =
    query may attend to key)."""
    cfg = self.cfg
    drop = functools.partial(nn.Dropout(cfg.dropout), deterministic=not train)
    attend = nn.MultiHeadDotProductAttention(
        num_heads=cfg.num_heads, qkv_features=cfg.d_model,
        out_features=cfg.d_model, dropout_rate=0.0, deterministic=True,
        name="attention")

    def ff(h):
      h = nn.relu(nn.Dense(cfg.d_ff, name="ff_in")(h))
      return nn.Dense(cfg.d_model, name="ff_out")(h)

    if cfg.pre_ln:
      h = nn.LayerNorm(name="ln_attn")(x)
      x = x + drop(attend(h, h, mask=attn_mask))
      x = x + drop(ff(nn.LayerNorm(name="ln_ff")(x)))
    else:
      x = nn.LayerNorm(name="ln_attn")(x + drop(attend(x, x, mask=attn_mask)))
      x = nn.LayerNorm(name="ln_ff")(x + drop(ff(x)))
    return x


class Encoder(nn.Module):
  """Position encoding, N layers and pooling over already-projected inputs.

  The CLS token (``pool="cls"``) is a learned ``d_model`` vector prepended at
  position 0; positions of the sequence then start at 1.
  """
  cfg: EncoderConfig

  @nn.compact
  def __call__(self, h, mask, *, train: bool, packed: Packed = None):
    """Args:
      h: ``[B, L, d_model]`` projected inputs, or ``[rows, row_len,
        d_model]`` packed ones.
      mask: ``[B, L]`` bool, True at real positions (None when packed).
      packed: the packed layout of ``h`` (mean or first pooling only).

    Returns:
      ``[B, out_dim or d_model]`` float32 embeddings.
    """
    cfg = self.cfg
    if cfg.pool not in POOLS:
      raise ValueError(f"pool must be one of {POOLS}, not {cfg.pool!r}")
    if packed is not None:
      return self._packed(h, packed, train)
    b = h.shape[0]
    if cfg.scale_inputs:
      # As Vaswani et al. (sec. 3.4) scale embeddings: without it the
      # position encoding's near-constant low-frequency dims dominate the
      # mean-pooled output, every embedding starts out nearly parallel and
      # the loss collapses them (the obj1 term drives it).
      h = h * jnp.sqrt(jnp.float32(cfg.d_model))
    if cfg.pool == "cls":
      cls = self.param("cls", nn.initializers.normal(0.02), (cfg.d_model,))
      h = jnp.concatenate([jnp.broadcast_to(cls, (b, 1, cfg.d_model)), h], 1)
      mask = jnp.concatenate([jnp.ones((b, 1), bool), mask], 1)
    h = h + sinusoidal_encoding(h.shape[1], cfg.d_model, cfg.pe_base)[None]
    h = self._layers(h, nn.make_attention_mask(jnp.ones_like(mask), mask),
                     train)
    if cfg.pool == "mean":
      w = mask.astype(h.dtype)[..., None]
      out = (h * w).sum(1) / jnp.maximum(w.sum(1), 1.0)
    else:  # the first position: the CLS token or the first real input
      out = h[:, 0]
    return self._project(out)

  def _layers(self, h, attn_mask, train):
    for i in range(self.cfg.num_layers):
      h = EncoderLayer(self.cfg, name=f"layer_{i}")(h, attn_mask, train=train)
    if self.cfg.pre_ln:
      h = nn.LayerNorm(name="ln_final")(h)
    return h

  def _project(self, out):
    if self.cfg.out_dim:
      out = nn.Dense(self.cfg.out_dim, name="out_proj")(out)
    return out

  def _packed(self, h, packed: Packed, train: bool):
    """The packed layout: each position attends to its own word's real
    positions; pooling sums per word (``segment_sum``)."""
    cfg = self.cfg
    if cfg.pool == "cls":
      raise ValueError("pool='cls' has no packed layout (mean or first)")
    if cfg.scale_inputs:
      h = h * jnp.sqrt(jnp.float32(cfg.d_model))
    pe = sinusoidal_encoding(packed.src_len, cfg.d_model, cfg.pe_base)
    h = h + jnp.take(pe, packed.pos, axis=0)
    word = packed.word
    attn_mask = nn.make_attention_mask(word, word, jnp.equal, dtype=bool)
    h = self._layers(h, attn_mask & (word >= 0)[:, None, None, :], train)
    if cfg.pool == "first":
      word = jnp.where(packed.pos == 0, word, -1)
    ids = jnp.where(word >= 0, word, packed.num).reshape(-1)
    n = packed.num + 1  # the last segment collects the empty positions
    total = jax.ops.segment_sum(h.reshape(-1, h.shape[-1]), ids, n)[:-1]
    count = jax.ops.segment_sum(jnp.ones(ids.shape, h.dtype), ids, n)[:-1]
    return self._project(total / jnp.maximum(count, 1.0)[:, None])


class AcousticEncoder(nn.Module):
  """``f(x)``: feature frames ``[B, T, D]`` with mask ``[B, T]`` -> ``[B, E]``.

  With ``frame_stack`` s > 1, s consecutive frames are concatenated before
  the input projection (``[B, T/s, s*D]``), dividing the attention length by
  s (a common speech-transformer speed-up; the paper uses s = 1).  With
  ``spec.active`` and ``train``, SpecAugment masks (drawn from the
  ``dropout`` rng) are applied to the real frames first.
  """
  cfg: EncoderConfig
  spec: SpecAugmentConfig = SpecAugmentConfig()

  @nn.compact
  def __call__(self, feats, mask, *, train: bool = False, src=None):
    """feats ``[B, T, D]``, mask ``[B, T]``; ``src [rows, row_len]``: the
    packed layout of the stacked positions (:func:`awe_jax.packing.pack`)."""
    chex.assert_rank(feats, 3)
    chex.assert_rank(mask, 2)
    if train and self.spec.active:
      feats = spec_augment(self.make_rng("dropout"), feats, mask, self.spec)
    feats, mask = stack_frames(feats, mask, self.cfg.frame_stack)
    packed = None
    if src is not None:
      packed = Packed.of(src, *mask.shape)
      feats, mask = packing.gather(feats, src), None
    h = nn.Dense(self.cfg.d_model, name="in_proj")(feats)
    return Encoder(self.cfg, name="encoder")(h, mask, train=train, packed=packed)


class PhoneEncoder(nn.Module):
  """``g(c)``: phone ids ``[M, L]`` (0 = padding) -> ``[M, E]``."""
  cfg: EncoderConfig
  num_phones: int  # table size, padding id 0 included

  @nn.compact
  def __call__(self, phones, *, train: bool = False, src=None):
    """``src [rows, row_len]``: a packed layout of ``phones``
    (:func:`awe_jax.packing.pack`)."""
    chex.assert_rank(phones, 2)
    mask, packed = phones > 0, None
    if src is not None:
      packed = Packed.of(src, *phones.shape)
      phones, mask = packing.gather(phones, src), None
    h = nn.Embed(self.num_phones, self.cfg.d_model, name="embed")(phones)
    return Encoder(self.cfg, name="encoder")(h, mask, train=train, packed=packed)


class MultiView(nn.Module):
  """Both views; ``init`` with ``__call__``, embed with ``method=``."""
  acoustic_cfg: EncoderConfig
  phone_cfg: EncoderConfig
  num_phones: int
  spec: SpecAugmentConfig = SpecAugmentConfig()

  def setup(self):
    self.acoustic_net = AcousticEncoder(self.acoustic_cfg, self.spec)
    self.phone_net = PhoneEncoder(self.phone_cfg, self.num_phones)

  def acoustic(self, feats, mask, *, train: bool = False, src=None):
    return self.acoustic_net(feats, mask, train=train, src=src)

  def phones(self, phones, *, train: bool = False, src=None):
    return self.phone_net(phones, train=train, src=src)

  def __call__(self, feats, mask, phones, *, train: bool = False):
    return self.acoustic(feats, mask, train=train), self.phones(phones, train=train)


def init_params(model: nn.Module, rng: jax.Array, feat_dim: int):
  """Parameters from dummy inputs (shapes do not matter beyond feat_dim)."""
  feats = jnp.zeros((2, 4, feat_dim), jnp.float32)
  mask = jnp.ones((2, 4), bool)
  phones = jnp.ones((2, 3), jnp.int32)
  return model.init({"params": rng}, feats, mask, phones)["params"]
