"""The absl flags of the AWE scripts, one per config field, and the one path
from them to a config (:func:`awe_jax.configs.override`).

Every flag is named as the leaf field it sets (``--phone_layers`` sets
``config.model.phone_layers``) and defaults to ``None``, which keeps the base
config's value: the library's defaults are the scripts' defaults.  The
paper's names for the phone view, ``--layers`` and ``--heads``, are absl
aliases of ``--phone_layers`` and ``--phone_heads``.
"""
from absl import flags

from awe_jax import configs
from awe_jax import factory
from awe_jax import models

BASES = {"default": configs.default, "paper": configs.paper,
         "codebase": configs.codebase}
_NAMES = []  # the config fields that have a flag, in definition order


def _define(define, name, help_text, *args):
  define(name, None, *args, help_text)
  _NAMES.append(name)


def define_config_flags(base_flag: bool = True):
  """Defines one flag per overridable config field, and ``--config`` (the
  base) when ``base_flag``."""
  if base_flag:
    flags.DEFINE_enum("config", "default", list(BASES),
                      "base config (awe_jax/configs.py): default (modest "
                      "transformer), paper (Rhodes & Bains), codebase (Settle "
                      "et al.'s BiGRU recipe); the flags below override it")
  _define(flags.DEFINE_enum, "encoder", "encoder of both views; bigru/bilstm "
          "are the codebase's architecture (6 + 2 layers, 512 units per "
          "direction)", list(factory.ENCODERS))
  i, f = flags.DEFINE_integer, flags.DEFINE_float
  _define(i, "phone_layers", "phone-view encoder layers (alias --layers)")
  _define(i, "phone_heads", "phone-view attention heads (alias --heads)")
  flags.DEFINE_alias("layers", "phone_layers")
  flags.DEFINE_alias("heads", "phone_heads")
  _define(i, "acoustic_layers", "acoustic-view encoder layers")
  _define(i, "acoustic_heads", "acoustic-view attention heads")
  _define(i, "d_model", "model width of both views")
  _define(i, "d_ff", "feed-forward width")
  _define(flags.DEFINE_enum, "pool", "phone-view pooling", list(models.POOLS))
  _define(flags.DEFINE_enum, "acoustic_pool", "acoustic-view pooling",
          list(models.POOLS))
  _define(flags.DEFINE_bool, "pre_ln", "pre-LN layers instead of post-LN")
  _define(i, "out_dim", "optional output projection (0: none)")
  _define(i, "frame_stack", "acoustic frames concatenated per position "
          "(1 = the paper)")
  _define(i, "spec_time_masks", "SpecAugment time masks per segment "
          "(training only; 0: off)")
  _define(i, "spec_time_width", "maximum frames per time mask")
  _define(i, "spec_freq_masks", "SpecAugment feature-band masks")
  _define(i, "spec_freq_width", "maximum dims per feature band")
  _define(f, "margin", "hinge margin m")
  _define(i, "topk", "initial k most offending negatives")
  _define(i, "min_topk", "final k (k drops by 1 per step; clamped to --topk)")
  _define(i, "batch_size", "word segments per step")
  _define(i, "eval_batch_size", "segments per embedding call at evaluation")
  _define(f, "lr", "initial Adam learning rate")
  _define(f, "grad_clip", "clip the global gradient norm (0: off)")
  _define(i, "warmup_steps", "linear lr warm-up from 0 (0: off)")
  _define(i, "epochs", "maximum number of epochs")
  _define(f, "max_minutes", "wall-clock budget: stop after the evaluation "
          "that crosses it (0: none; per invocation, resumable)")
  _define(i, "patience", "evaluations without a better dev cross-view AP "
          "before the lr is divided by 10")
  _define(i, "eval_every_steps", "0: evaluate dev once per epoch")
  _define(i, "seed", "parameters, dropout and data order")


def config_from_flags(base: configs.Config | None = None) -> configs.Config:
  """``base`` (default: the ``--config`` one) with every flag that was set."""
  fv = flags.FLAGS
  if base is None:
    base = BASES[fv.config]()
  return configs.override(base, **{n: fv[n].value for n in _NAMES})
