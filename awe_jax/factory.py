"""The model a :mod:`awe_jax.configs` config describes.

It sits above both encoder families (:mod:`awe_jax.models`, the transformer
views, and :mod:`awe_jax.rnn`, the codebase's recurrent ones), so neither
imports the other.
"""
import flax.linen as nn

from awe_jax import rnn
from awe_jax.augment import SpecAugmentConfig
from awe_jax.models import EncoderConfig, MultiView

ENCODERS = ("transformer", "bigru", "bilstm")


def build_model(config, num_phones: int) -> nn.Module:
  """The multi-view model of ``config``.

  ``config.model.encoder`` picks the transformer views
  (:class:`awe_jax.models.MultiView`) or the codebase's recurrent ones
  (:class:`awe_jax.rnn.RNNMultiView`); both have the methods
  ``acoustic(feats [B, T, D], mask [B, T]) -> [B, E]`` and
  ``phones(phones [M, L]) -> [M, E]``.

  Raises:
    ValueError: an unknown encoder (the allowed ones are listed), or
      SpecAugment asked of a recurrent encoder.
  """
  m = config.model
  if m.encoder not in ENCODERS:
    raise ValueError(f"config.model.encoder={m.encoder!r} is not one of: "
                     f"{', '.join(ENCODERS)}")
  spec = SpecAugmentConfig(m.spec_time_masks, m.spec_time_width,
                           m.spec_freq_masks, m.spec_freq_width)
  if m.encoder in ("bigru", "bilstm"):
    if spec.active:
      raise ValueError(f"config.model.spec_*: SpecAugment is implemented for "
                       f"the transformer encoder only, not {m.encoder!r}")
    return rnn.RNNMultiView(
        num_phones=num_phones, acoustic_layers=m.rnn_acoustic_layers,
        phone_layers=m.rnn_phone_layers, hidden=m.rnn_hidden,
        dropout=m.rnn_dropout, embed_dim=m.phone_embed_dim,
        frame_stack=m.frame_stack,
        cell_type=nn.GRUCell if m.encoder == "bigru" else nn.OptimizedLSTMCell)
  common = dict(d_model=m.d_model, d_ff=m.d_ff, dropout=m.dropout,
                pre_ln=m.pre_ln, pe_base=m.pe_base, out_dim=m.out_dim)
  acoustic = EncoderConfig(num_layers=m.acoustic_layers,
                           num_heads=m.acoustic_heads, pool=m.acoustic_pool,
                           frame_stack=m.frame_stack, **common)
  phone = EncoderConfig(num_layers=m.phone_layers, num_heads=m.phone_heads,
                        pool=m.pool, **common)
  return MultiView(acoustic, phone, num_phones, spec)
