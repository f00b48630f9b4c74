"""Bidirectional recurrent encoders: the Settle et al. codebase architecture.

The codebase (agwe-recipe, ``lib/layer/rnn/rnn.py``) embeds a word as the
concatenated final states of the last layer's forward and backward passes of
a stacked bidirectional GRU/LSTM, with dropout between layers.  Here the
recurrences are ``flax.linen.RNN`` scans, so they are jitted with static
shapes; ``seq_lengths`` makes padding invisible: the forward final state is
the one at each sequence's last valid frame and the backward pass starts
there, so padded frames never change an embedding.
"""
from typing import Type

import flax.linen as nn
import jax.numpy as jnp

from awe_jax.frames import stack_frames


class BiRNN(nn.Module):
  """Stacked bidirectional RNN over padded sequences.

  Attributes:
    num_layers: stacked bidirectional layers.
    hidden: units per direction.
    dropout: dropout between layers (as PyTorch's ``nn.GRU(dropout=...)``).
    cell_type: ``nn.GRUCell`` (codebase default) or ``nn.OptimizedLSTMCell``.
  """
  num_layers: int
  hidden: int
  dropout: float = 0.4
  cell_type: Type[nn.RNNCellBase] = nn.GRUCell

  @nn.compact
  def __call__(self, x, lengths, *, train: bool = False):
    """Encodes ``x``.

    Args:
      x: ``[batch, time, feat]`` padded inputs.
      lengths: ``[batch]`` int valid lengths (>= 1).
      train: enables dropout (needs a ``dropout`` rng).

    Returns:
      ``(outputs [batch, time, 2 * hidden], final [batch, 2 * hidden])``;
      ``final`` concatenates the last layer's forward state at
      ``lengths - 1`` and its backward state at position 0.
    """
    for i in range(self.num_layers):
      if i > 0:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
      fwd = nn.RNN(self.cell_type(self.hidden, name=f"fwd_{i}"))
      bwd = nn.RNN(self.cell_type(self.hidden, name=f"bwd_{i}"))
      carry_f, out_f = fwd(x, seq_lengths=lengths, return_carry=True)
      carry_b, out_b = bwd(x, seq_lengths=lengths, return_carry=True,
                           reverse=True, keep_order=True)
      x = jnp.concatenate([out_f, out_b], axis=-1)
    # An LSTM carry is (c, h); the embedding uses h, as the codebase does.
    h_f = carry_f[1] if isinstance(carry_f, tuple) else carry_f
    h_b = carry_b[1] if isinstance(carry_b, tuple) else carry_b
    return x, jnp.concatenate([h_f, h_b], axis=-1)


class RNNAcousticEncoder(nn.Module):
  """Acoustic view: frames -> BiRNN -> final states (codebase: 6 x 512 GRU)."""
  num_layers: int = 6
  hidden: int = 512
  dropout: float = 0.4
  cell_type: Type[nn.RNNCellBase] = nn.GRUCell

  @nn.compact
  def __call__(self, feats, lengths, *, train: bool = False):
    """``feats [B, T, D]``, ``lengths [B]`` -> ``[B, 2 * hidden]``."""
    _, final = BiRNN(self.num_layers, self.hidden, self.dropout,
                     self.cell_type)(feats, lengths, train=train)
    return final


class RNNPhoneEncoder(nn.Module):
  """Phone view: 64-dim phone embedding -> BiRNN (codebase: 2 x 512 GRU)."""
  num_phones: int
  embed_dim: int = 64
  num_layers: int = 2
  hidden: int = 512
  dropout: float = 0.4
  cell_type: Type[nn.RNNCellBase] = nn.GRUCell

  @nn.compact
  def __call__(self, phones, lengths, *, train: bool = False):
    """``phones [B, L]`` int ids (0 = padding), ``lengths [B]`` -> ``[B, 2H]``."""
    x = nn.Embed(self.num_phones, self.embed_dim)(phones)
    _, final = BiRNN(self.num_layers, self.hidden, self.dropout,
                     self.cell_type)(x, lengths, train=train)
    return final


class RNNMultiView(nn.Module):
  """Both views of the codebase (``MultiViewRNN``), with :class:`MultiView`'s
  interface: ``acoustic(feats, mask)``, ``phones(phones)``."""
  num_phones: int
  acoustic_layers: int = 6
  phone_layers: int = 2
  hidden: int = 512
  dropout: float = 0.4
  embed_dim: int = 64
  frame_stack: int = 1
  cell_type: Type[nn.RNNCellBase] = nn.GRUCell

  def setup(self):
    self.acoustic_net = RNNAcousticEncoder(
        self.acoustic_layers, self.hidden, self.dropout, self.cell_type)
    self.phone_net = RNNPhoneEncoder(
        self.num_phones, self.embed_dim, self.phone_layers, self.hidden,
        self.dropout, self.cell_type)

  def acoustic(self, feats, mask, *, train: bool = False):
    """``[B, T, D]`` frames, ``[B, T]`` mask -> ``[B, 2 * hidden]``."""
    feats, mask = stack_frames(feats, mask, self.frame_stack)
    lengths = jnp.maximum(mask.sum(-1), 1)
    return self.acoustic_net(feats, lengths, train=train)

  def phones(self, phones, *, train: bool = False):
    """``[M, L]`` phone ids (0 = padding) -> ``[M, 2 * hidden]``."""
    lengths = jnp.maximum((phones > 0).sum(-1), 1)
    return self.phone_net(phones, lengths, train=train)

  def __call__(self, feats, mask, phones, *, train: bool = False):
    return self.acoustic(feats, mask, train=train), self.phones(phones, train=train)
