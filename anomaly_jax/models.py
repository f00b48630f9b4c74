"""Encoders and decoders (Flax Linen); nothing about training or data.

Every encoder maps ``[batch, input_dim]`` to the ``h``-dim interface
``[batch, h_dim]`` and every decoder maps ``[batch, h_dim]`` back to
``[batch, input_dim]`` (images are kept flattened, ``input_dim = 784``).  The
bottleneck (``mu``, ``logvar``: h -> z, ``eta``: z -> h) lives in ``vae.py``.
"""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class DenseEncoder(nn.Module):
  """MLP encoder for feature vectors (e.g. flattened log-mel windows).

  Attributes:
    h_dim: width of the interface layer.
    hidden: widths of the hidden layers.
  """
  h_dim: int
  hidden: Sequence[int] = (256,)

  @nn.compact
  def __call__(self, x):  # [batch, input_dim] -> [batch, h_dim]
    for width in self.hidden:
      x = nn.gelu(nn.Dense(width)(x))
    return nn.gelu(nn.Dense(self.h_dim)(x))


class DenseDecoder(nn.Module):
  """MLP decoder; linear output for standardised features.

  Attributes:
    out_dim: size of the reconstruction.
    hidden: widths of the hidden layers (mirrored from the encoder).
    sigmoid: squash the output to (0, 1) (for pixel intensities).
  """
  out_dim: int
  hidden: Sequence[int] = (256,)
  sigmoid: bool = False

  @nn.compact
  def __call__(self, h):  # [batch, h_dim] -> [batch, out_dim]
    for width in self.hidden:
      h = nn.gelu(nn.Dense(width)(h))
    y = nn.Dense(self.out_dim)(h)
    return nn.sigmoid(y) if self.sigmoid else y


class ConvEncoder(nn.Module):
  """Two stride-2 convolutions for flattened 28x28 images.

  Attributes:
    h_dim: width of the interface layer.
    channels: channels of the two convolutions.
  """
  h_dim: int
  channels: Sequence[int] = (8, 16)

  @nn.compact
  def __call__(self, x):  # [batch, 784] -> [batch, h_dim]
    x = x.reshape(x.shape[0], 28, 28, 1)
    for c in self.channels:  # 28 -> 14 -> 7
      x = nn.gelu(nn.Conv(c, (3, 3), strides=(2, 2), padding="SAME")(x))
    x = x.reshape(x.shape[0], -1)
    return nn.gelu(nn.Dense(self.h_dim)(x))


class ConvDecoder(nn.Module):
  """Mirror of ``ConvEncoder`` ending in a sigmoid.

  Attributes:
    channels: channels of the two transposed convolutions (7 -> 14 -> 28).
  """
  channels: Sequence[int] = (16, 8)

  @nn.compact
  def __call__(self, h):  # [batch, h_dim] -> [batch, 784]
    c0 = self.channels[0]
    x = nn.gelu(nn.Dense(7 * 7 * c0)(h)).reshape(h.shape[0], 7, 7, c0)
    x = nn.gelu(nn.ConvTranspose(self.channels[1], (3, 3), strides=(2, 2),
                                 padding="SAME")(x))
    x = nn.ConvTranspose(1, (3, 3), strides=(2, 2), padding="SAME")(x)
    return nn.sigmoid(x).reshape(h.shape[0], 28 * 28)
