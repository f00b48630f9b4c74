"""Corpus configuration and the deterministic plan of every token.

Splits follow Switchboard word discrimination: train/dev/test are disjoint
in speakers (so in voices), and some word types occur only in dev or only
in test.  Every random draw comes from ``numpy.random.default_rng(seed)`` in
a fixed order, so a config always gives the same plan.
"""
import csv
import dataclasses
import hashlib
import json
import os

import numpy as np

from awe_jax.corpus import degrade
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.corpus import perturb
from awe_jax.corpus import voices as voices_lib
from jaxtk import configs
from jaxtk.errors import DataError

SPLITS = ("train", "dev", "test")
# Bump when synthesis, degradation or features change, so caches rebuild.
VERSION = 1
MANIFEST_FIELDS = ("utt_id", "split", "word", "voice", "synthesiser",
                   "speaker", "rate", "pitch", "snr_db", "gain_db",
                   "pad_start_s", "pad_end_s", "noise_colour", "babble",
                   "noise_seed", "speed", "vtlp", "rt60", "channel")
# Manifest values of a token without waveform augmentation (manifests
# written before these columns existed read as these).
NO_AUGMENT_ROW = {"speed": "1.0000", "vtlp": "1.0000", "rt60": "0.000",
                  "channel": "telephone"}


def read_manifest(data_dir: str) -> list[dict]:
  """The rows of ``data_dir/manifest.csv`` (one per token, strings).

  Raises:
    DataError: the file cannot be read.
  """
  path = os.path.join(data_dir, "manifest.csv")
  try:
    with open(path, newline="") as f:
      return list(csv.DictReader(f))
  except OSError as e:
    raise DataError(path, f"cannot read the corpus manifest: {e}; build the "
                    "corpus with python -m awe_jax.corpus build") from e


LEXICONS = {"selected": lexicon_lib.LEXICON_PATH,
            "frequent": os.path.join(os.path.dirname(lexicon_lib.LEXICON_PATH),
                                     "frequent.dict")}


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
  """Everything a build depends on; its hash names a finished build."""
  n_types: int = 600            # word types over all splits
  n_tokens: int = 10000         # spoken tokens over all splits
  token_share: tuple = (0.7, 0.15, 0.15)   # train/dev/test token shares
  unseen_share: float = 0.1     # share of types only in dev (and again test)
  eval_type_share: float = 0.35  # dev (and test) vocabulary / n_types
  seed: int = 0
  synth_weights: tuple = (("espeak-ng", 0.5), ("flite", 0.3),
                          ("festival", 0.2))
  synths: tuple = ("espeak-ng", "flite", "festival")
  rate_range: tuple = (0.7, 1.4)     # relative speaking rate, log-uniform
  pitch_range: tuple = (0.7, 1.4)    # relative pitch, log-uniform
  snr_db_range: tuple = (10.0, 30.0)   # see docs/awe.md: DTW AP vs SNR
  gain_db_range: tuple = (-10.0, 6.0)
  pad_s_range: tuple = (0.0, 0.15)
  colour_range: tuple = (0.0, 2.0)
  # --- added for --size large; at these defaults the digest and the plan
  # of the earlier sizes are unchanged.
  lexicon: str = "selected"     # selected (700 words) | frequent (5,000)
  kokoro_blends: int = 0        # blended Kokoro voices per base voice, per split
  speed_range: tuple = (1.0, 1.0)   # speed perturbation factor, log-uniform
  vtlp_range: tuple = (1.0, 1.0)    # vocal-tract warp factor, uniform
  reverb_share: float = 0.0     # share of tokens in a simulated room
  rt60_range: tuple = (0.2, 0.8)    # their reverberation time, seconds
  channel_weights: tuple = (("telephone", 1.0),)  # perturb.Channel values

  @property
  def augmented(self) -> bool:
    return (self.speed_range != (1.0, 1.0) or self.vtlp_range != (1.0, 1.0)
            or self.reverb_share > 0
            or self.channel_weights != (("telephone", 1.0),))

  def lexicon_path(self) -> str:
    return LEXICONS[configs.choice("lexicon", self.lexicon, sorted(LEXICONS))]

  def channels(self) -> list:
    """``[(perturb.Channel, weight)]`` of ``channel_weights``.

    Raises:
      ValueError: a name is not a channel; lists the allowed ones.
    """
    return [(configs.choice("channel_weights", c, perturb.Channel), w)
            for c, w in self.channel_weights]

  def digest(self) -> str:
    """16 hex digits naming the config, voice list, lexicon and VERSION."""
    with open(self.lexicon_path(), "rb") as f:
      lex = f.read()
    fields = dataclasses.asdict(self)
    for f in dataclasses.fields(self)[dataclasses.fields(self).index(
        _FIRST_ADDED):]:
      if fields[f.name] == f.default:
        del fields[f.name]
    voices = [v.id for v in voices_lib.all_voices()
              if v.synth in voices_lib.DEBIAN_SYNTHS or v.synth in self.synths]
    raw = json.dumps([VERSION, fields, voices], sort_keys=True)
    return hashlib.sha1(raw.encode() + lex).hexdigest()[:16]


_FIRST_ADDED = next(f for f in dataclasses.fields(CorpusConfig)
                    if f.name == "lexicon")


DEFAULT = CorpusConfig()
SMALL = CorpusConfig(n_types=60, n_tokens=600)
# Several thousand word types said by people-like neural voices (28 Kokoro
# voices and their blends, Piper's joe) beside the Debian ones, with every
# waveform augmentation; dev/test keep unseen voices and unseen words.
LARGE = CorpusConfig(
    n_types=3500, n_tokens=64000, lexicon="frequent",
    synths=("espeak-ng", "flite", "festival", "kokoro", "piper"),
    synth_weights=(("kokoro", 0.45), ("piper", 0.1), ("espeak-ng", 0.25),
                   ("flite", 0.1), ("festival", 0.1)),
    kokoro_blends=2, snr_db_range=(5.0, 35.0), speed_range=(0.9, 1.1),
    vtlp_range=(0.9, 1.1), reverb_share=0.3,
    channel_weights=(("telephone", 0.3), ("wideband", 0.3), ("gsm", 0.1),
                     ("adpcm", 0.1), ("mp3", 0.1), ("opus", 0.1)))
SIZES = {"small": SMALL, "default": DEFAULT, "large": LARGE}


@dataclasses.dataclass(frozen=True)
class AugmentParams:
  """Waveform augmentation draws of one token (see :mod:`perturb`)."""
  speed: float = 1.0
  vtlp: float = 1.0
  rt60: float = 0.0       # 0: no reverberation
  channel: str = "telephone"


@dataclasses.dataclass(frozen=True)
class Token:
  utt_id: str
  split: str
  word: str
  voice: voices_lib.Voice
  rate: float
  pitch: float
  degrade: degrade.DegradeParams
  augment: AugmentParams = AugmentParams()

  def row(self) -> dict:
    """The manifest row (strings), in :data:`MANIFEST_FIELDS` order."""
    d = self.degrade
    vals = (self.utt_id, self.split, self.word, self.voice.name,
            self.voice.synth, self.voice.speaker, f"{self.rate:.4f}",
            f"{self.pitch:.4f}", f"{d.snr_db:.2f}", f"{d.gain_db:.2f}",
            f"{d.pad_start_s:.4f}", f"{d.pad_end_s:.4f}", f"{d.colour:.3f}",
            f"{d.babble:.3f}", str(d.noise_seed), f"{self.augment.speed:.4f}",
            f"{self.augment.vtlp:.4f}", f"{self.augment.rt60:.3f}",
            self.augment.channel)
    return dict(zip(MANIFEST_FIELDS, vals))


def split_words(words, cfg: CorpusConfig, rng) -> dict:
  """split -> sorted word list; dev/test each get their own unseen types."""
  words = sorted(words)
  if cfg.n_types > len(words):
    raise ValueError(f"n_types={cfg.n_types} exceeds the {len(words)} words "
                     f"of {lexicon_lib.LEXICON_PATH}")
  chosen = [words[i] for i in rng.permutation(len(words))[:cfg.n_types]]
  n_unseen = max(1, round(cfg.unseen_share * cfg.n_types))
  dev_only, test_only = chosen[:n_unseen], chosen[n_unseen:2 * n_unseen]
  train = chosen[2 * n_unseen:]
  n_seen = max(1, round(cfg.eval_type_share * cfg.n_types) - n_unseen)
  out = {"train": sorted(train)}
  for split, unseen in (("dev", dev_only), ("test", test_only)):
    seen = [train[i] for i in rng.permutation(len(train))[:n_seen]]
    out[split] = sorted(seen + unseen)
  return out


def split_voices(voices, cfg: CorpusConfig, rng) -> dict:
  """split -> voices, disjoint in speakers.  Per synthesiser family
  (espeak-ng variants; the flite/festival speakers; Kokoro's voices; Piper's)
  speakers are shuffled and dealt 70/15/15, with at least one per split
  where there are three.  Then each split gets ``cfg.kokoro_blends`` blends
  per Kokoro voice it holds, each of two of those voices (so a blend never
  shares a voice with another split)."""
  voices = [v for v in voices if v.synth in cfg.synths]
  out = {s: [] for s in SPLITS}
  for family in (("espeak-ng",), ("flite", "festival"), ("kokoro",),
                 ("piper",)):
    speakers = sorted({v.speaker for v in voices if v.synth in family})
    if not speakers:
      continue
    speakers = [speakers[i] for i in rng.permutation(len(speakers))]
    n = len(speakers)
    n_eval = max(1, round(0.15 * n)) if n >= 3 else 0
    dealt = {"dev": speakers[:n_eval], "test": speakers[n_eval:2 * n_eval],
             "train": speakers[2 * n_eval:]}
    for split, spk in dealt.items():
      out[split] += [v for v in voices if v.speaker in spk]
  for split in SPLITS if cfg.kokoro_blends else ():
    base = sorted(v.name for v in out[split] if v.synth == "kokoro")
    for _ in range(cfg.kokoro_blends * len(base) if len(base) > 1 else 0):
      a, b = rng.choice(len(base), 2, replace=False)
      name = f"{base[a]}+{base[b]}@{rng.uniform(0.25, 0.75):.2f}"
      out[split].append(voices_lib.Voice("kokoro", name, name))
  return out


def make_plan(cfg: CorpusConfig, lexicon: dict | None = None,
              voices=None) -> tuple:
  """Plans every token.

  Returns:
    ``(tokens, split_words)``: the list of :class:`Token` (dev/test/train
    order by uid) and split -> word list.
  """
  if lexicon is None:
    lexicon = lexicon_lib.load_lexicon(cfg.lexicon_path())
  voices = voices_lib.all_voices() if voices is None else voices
  cfg.channels()   # fails early on a bad channel name
  rng = np.random.default_rng(cfg.seed)
  words = split_words(lexicon, cfg, rng)
  by_split = split_voices(voices, cfg, rng)
  weights = dict(cfg.synth_weights)
  tokens = []
  for split, share in zip(SPLITS, cfg.token_share):
    n = max(1, round(share * cfg.n_tokens))
    ws = words[split]
    order = [ws[i] for i in rng.permutation(len(ws))]
    vs = by_split[split]
    if not vs:
      raise ValueError(f"no voice left for split {split!r}; enable more "
                       f"synthesisers than {cfg.synths}")
    synths = sorted({v.synth for v in vs})
    pools = {s: [v for v in vs if v.synth == s] for s in synths}
    p = np.asarray([weights.get(s, 0.0) for s in synths]) + 1e-9
    for i in range(n):
      pool = pools[synths[rng.choice(len(synths), p=p / p.sum())]]
      voice = pool[rng.integers(len(pool))]
      word = order[i % len(order)]
      lo, hi = np.log(cfg.rate_range)
      rate = float(np.exp(rng.uniform(lo, hi)))
      lo, hi = np.log(cfg.pitch_range)
      pitch = float(np.exp(rng.uniform(lo, hi)))
      d = degrade.DegradeParams(
          snr_db=float(rng.uniform(*cfg.snr_db_range)),
          gain_db=float(rng.uniform(*cfg.gain_db_range)),
          pad_start_s=float(rng.uniform(*cfg.pad_s_range)),
          pad_end_s=float(rng.uniform(*cfg.pad_s_range)),
          colour=float(rng.uniform(*cfg.colour_range)),
          babble=float(rng.uniform(0.0, 1.0)),
          noise_seed=int(rng.integers(2 ** 31)))
      aug = _draw_augment(cfg, rng) if cfg.augmented else AugmentParams()
      tokens.append(Token(f"{split}-{i:05d}-{word}", split, word, voice,
                          round(rate, 4), round(pitch, 4), d, aug))
  return tokens, words


def _draw_augment(cfg: CorpusConfig, rng) -> AugmentParams:
  names = [c.value for c, _ in cfg.channels()]
  p = np.asarray([w for _, w in cfg.channel_weights], np.float64)
  lo, hi = np.log(cfg.speed_range)
  speed = float(np.exp(rng.uniform(lo, hi)))
  vtlp = float(rng.uniform(*cfg.vtlp_range))
  rt60 = float(rng.uniform(*cfg.rt60_range))
  reverb = rng.uniform() < cfg.reverb_share
  channel = names[rng.choice(len(names), p=p / p.sum())]
  return AugmentParams(round(speed, 4), round(vtlp, 4),
                       round(rt60, 3) if reverb else 0.0, channel)
