"""The one AWE config, as plain data (frozen dataclasses).

``default()`` is sized so that ``experiments/awe_main.py`` trains and
evaluates on the embedded corpus (~10k tokens) in under 10 minutes on two
CPU cores.  ``paper()`` is the configuration of Rhodes & Bains (acoustic view
6 layers x 4 heads, phone view 4 layers x 16 heads, d_model 256, d_ff 1024,
train until the learning rate falls below 1e-7).  Variants are made with
``dataclasses.replace``.
"""
import dataclasses

from jaxtk import configs as jaxtk_configs


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  d_model: int = 128          # width of both views (the paper: 256)
  d_ff: int = 256             # feed-forward width (the paper: 1024)
  acoustic_layers: int = 2    # N of the acoustic view (the paper: 6)
  acoustic_heads: int = 4     # h of the acoustic view (the paper: 4)
  phone_layers: int = 2       # N of the phone view (the paper's best: 4)
  phone_heads: int = 4        # h of the phone view (the paper's best: 16)
  dropout: float = 0.1        # on every sub-layer output
  pre_ln: bool = False        # post-LN as in the paper; True for pre-LN
  pe_base: float = 5000.0     # base of the sinusoidal position encoding (eq. 5)
  pool: str = "mean"          # phone-view pooling: mean | first ("Rep.") | cls
  acoustic_pool: str = "mean" # acoustic-view pooling (the paper: mean)
  out_dim: int = 0            # > 0 adds the optional output projection
  frame_stack: int = 4        # acoustic frames concatenated per position (paper: 1)
  encoder: str = "transformer"  # transformer | bigru | bilstm (the codebase's RNNs)
  # Training packs several words per row (block-diagonal attention, same
  # embeddings; awe_jax/packing.py) where that saves positions; transformer
  # views with mean or first pooling only (others train padded).
  pack_words: bool = True
  # Recurrent views (encoder bigru/bilstm); defaults are Settle et al.'s.
  rnn_hidden: int = 512       # units per direction
  rnn_acoustic_layers: int = 6
  rnn_phone_layers: int = 2
  rnn_dropout: float = 0.4    # between layers
  phone_embed_dim: int = 64   # phone embedding fed to the phone-view RNN
  # SpecAugment-style masking of the acoustic input, training only (0: off).
  spec_time_masks: int = 0    # time masks per segment
  spec_time_width: int = 0    # maximum frames per time mask
  spec_freq_masks: int = 0    # feature-band masks per segment
  spec_freq_width: int = 0    # maximum feature dims per band


@dataclasses.dataclass(frozen=True)
class Config:
  model: ModelConfig = ModelConfig()
  # Loss (eq. 4, with the codebase's k most offending negatives).
  margin: float = 0.5         # m of the hinge
  topk: int = 16              # initial k; decreases by one per step ...
  min_topk: int = 8           # ... down to this
  semi_hard: bool = True      # ignore negatives closer than the positive (codebase)
  distance: str = "cos"       # "cos": 1 - cos; "cos2": 1 - cos^2 (as printed)
  hinge_each: bool = False    # mean of per-negative hinges (codebase) vs hinge of mean (paper)
  # Optimisation (Adam, as in the paper).
  lr: float = 1e-3            # the paper: 5e-4
  b1: float = 0.9
  b2: float = 0.999
  eps: float = 1e-8
  grad_clip: float = 0.0      # > 0 clips the global gradient norm (codebase: 10)
  warmup_steps: int = 0       # > 0: lr rises linearly from 0 over these steps
  batch_size: int = 256       # word segments per step
  num_buckets: int = 4        # static padded lengths of the acoustic input
  max_frames: int = 0         # > 0 truncates longer segments (0: keep all)
  epochs: int = 40            # hard limit on epochs (default run: ~4 min on 2 cores)
  max_minutes: float = 0      # > 0: stop after the evaluation that crosses this
                              # wall-clock budget (per invocation; resumable)
  eval_every_steps: int = 0   # 0: evaluate dev cross-view AP once per epoch
  # Plateau schedule with revert-to-best (Settle et al.'s ReduceLROnPlateau).
  patience: int = 4           # evaluations without improvement before decay
  decay: float = 0.1          # lr factor at each plateau
  min_lr: float = 1e-7        # stop when the lr falls below this
  seed: int = 0               # parameters, dropout and data order
  eval_batch_size: int = 512  # segments per embedding call at evaluation


def override(config: Config, **overrides) -> Config:
  """``config`` with flat overrides routed by leaf field name
  (:func:`jaxtk.configs.override`; ``None`` values keep the config's own).

  ``min_topk`` is clamped to ``topk`` here, the one place: a ``--topk``
  below the config's ``min_topk`` means a constant k.

  Raises:
    ValueError: a name is a field of neither :class:`ModelConfig` nor
      :class:`Config`.
  """
  config = jaxtk_configs.override(config, **overrides)
  if config.min_topk > config.topk:
    config = dataclasses.replace(config, min_topk=config.topk)
  return config


# What default() adds to plain(): pre-LN and SpecAugment (2 time masks of up
# to 8 frames, 2 bands of up to 6 feature dims), measured in issue 7.
SPEC_AUGMENT = dict(spec_time_masks=2, spec_time_width=8, spec_freq_masks=2,
                    spec_freq_width=6)
ADOPTED = dict(pre_ln=True, **SPEC_AUGMENT)


def default() -> Config:
  """Modest model: the default run finishes in < 10 min on 2 CPU cores.

  Pre-LN layers and SpecAugment masks on top of the plain dataclass
  defaults: measured on the embedded corpus with
  ``experiments/sweep.py --sweep=flags`` and the one-hour comparison (docs/awe.md,
  "Which encoder?"); :func:`plain` is the same model without them.
  """
  return override(plain(), **ADOPTED)


def plain() -> Config:
  """The default model with post-LN and no SpecAugment (the base of the
  options sweep, each of whose rows changes one thing)."""
  return Config()


def large() -> Config:
  """For the ``--size large`` corpus (3,500 word types, 64,000 tokens, neural
  voices, augmentation; docs/voices.md): the default recipe twice as wide,
  with a 4-layer acoustic view, evaluated twice per epoch and run until the
  plateau schedule's learning rate falls below ``min_lr`` (cap: 60 epochs;
  hours on two CPU cores, resumable)."""
  return override(default(), d_model=256, d_ff=512, acoustic_layers=4,
                  epochs=60, eval_every_steps=90)


def paper() -> Config:
  """Rhodes & Bains' test-set model; runs until lr < 1e-7 (cap: 100 epochs)."""
  return Config(
      model=ModelConfig(d_model=256, d_ff=1024, acoustic_layers=6,
                        acoustic_heads=4, phone_layers=4, phone_heads=16,
                        frame_stack=1),
      lr=5e-4, epochs=100)


def codebase() -> Config:
  """Settle et al.'s agwe-recipe: 6-layer BiGRU acoustic view, 64-dim phone
  embedding into a 2-layer BiGRU, 512 units per direction, dropout 0.4,
  gradient clipping at 10, per-negative hinges with semi-hard masking."""
  return Config(
      model=ModelConfig(encoder="bigru", frame_stack=1),
      lr=5e-4, grad_clip=10.0, hinge_each=True, semi_hard=True, epochs=100)


def tiny() -> Config:
  """For tests: d_model 32, one layer per view."""
  return Config(
      model=ModelConfig(d_model=32, d_ff=64, acoustic_layers=1,
                        acoustic_heads=2, phone_layers=1, phone_heads=2,
                        dropout=0.0, frame_stack=1),
      batch_size=32, eval_batch_size=64, topk=4, min_topk=2, epochs=2,
      num_buckets=2)
