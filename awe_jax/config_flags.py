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
         "codebase": configs.codebase, "large": configs.large}
# (name, kind, help) of every config field that has a flag; kind is int,
# float, bool or a tuple of the allowed strings.
_FLAGS = (
    ("encoder", factory.ENCODERS, "encoder of both views; bigru/bilstm are "
     "the codebase's architecture (6 + 2 layers, 512 units per direction)"),
    ("phone_layers", int, "phone-view encoder layers (alias --layers)"),
    ("phone_heads", int, "phone-view attention heads (alias --heads)"),
    ("acoustic_layers", int, "acoustic-view encoder layers"),
    ("acoustic_heads", int, "acoustic-view attention heads"),
    ("d_model", int, "model width of both views"),
    ("d_ff", int, "feed-forward width"),
    ("pool", models.POOLS, "phone-view pooling"),
    ("acoustic_pool", models.POOLS, "acoustic-view pooling"),
    ("pre_ln", bool, "pre-LN layers instead of post-LN"),
    ("pack_words", bool, "train on rows packing several words (same "
     "embeddings, less padding; transformer, mean/first pooling)"),
    ("out_dim", int, "optional output projection (0: none)"),
    ("frame_stack", int, "acoustic frames concatenated per position "
     "(1 = the paper)"),
    ("spec_time_masks", int, "SpecAugment time masks per segment (training "
     "only; 0: off)"),
    ("spec_time_width", int, "maximum frames per time mask"),
    ("spec_freq_masks", int, "SpecAugment feature-band masks"),
    ("spec_freq_width", int, "maximum dims per feature band"),
    ("margin", float, "hinge margin m"),
    ("topk", int, "initial k most offending negatives"),
    ("min_topk", int, "final k (k drops by 1 per step; clamped to --topk)"),
    ("batch_size", int, "word segments per step"),
    ("eval_batch_size", int, "segments per embedding call at evaluation"),
    ("lr", float, "initial Adam learning rate"),
    ("grad_clip", float, "clip the global gradient norm (0: off)"),
    ("warmup_steps", int, "linear lr warm-up from 0 (0: off)"),
    ("epochs", int, "maximum number of epochs"),
    ("max_minutes", float, "wall-clock budget: stop after the evaluation "
     "that crosses it (0: none; per invocation, resumable)"),
    ("patience", int, "evaluations without a better dev cross-view AP "
     "before the lr is divided by 10"),
    ("eval_every_steps", int, "0: evaluate dev once per epoch"),
    ("seed", int, "parameters, dropout and data order"),
)
_DEFINE = {int: flags.DEFINE_integer, float: flags.DEFINE_float,
           bool: flags.DEFINE_bool}


def define_config_flags(base_flag: bool = True):
  """Defines one flag per overridable config field (default ``None``: keep
  the base config's value), and ``--config`` (the base) when ``base_flag``."""
  if base_flag:
    flags.DEFINE_enum("config", "default", list(BASES),
                      "base config (awe_jax/configs.py): default (modest "
                      "transformer), paper (Rhodes & Bains), codebase (Settle "
                      "et al.'s BiGRU recipe), large (wider, for the --size large "
                      "corpus); the flags below override it")
  for name, kind, help_text in _FLAGS:
    if isinstance(kind, tuple):
      flags.DEFINE_enum(name, None, list(kind), help_text)
    else:
      _DEFINE[kind](name, None, help_text)
  flags.DEFINE_alias("layers", "phone_layers")
  flags.DEFINE_alias("heads", "phone_heads")


def config_from_flags(base: configs.Config | None = None) -> configs.Config:
  """``base`` (default: the ``--config`` one) with every flag that was set."""
  fv = flags.FLAGS
  if base is None:
    base = BASES[fv.config]()
  return configs.override(base, **{n: fv[n].value for n, _, _ in _FLAGS})
