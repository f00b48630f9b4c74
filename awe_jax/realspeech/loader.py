"""Reads the real recordings into features exactly like the corpus' tokens.

Each recording is resampled to 8 kHz and its leading/trailing silence is
trimmed with the corpus' ``librosa.effects.trim`` at :data:`TRIM_DB` below
the peak; then it goes through the embedded corpus' own chain,
:func:`awe_jax.corpus.degrade.telephone`, with the random parts switched
off (no padding, no added noise: 200 dB SNR; the telephone band-pass,
-20 dBFS and 8-bit mu-law), and :func:`awe_jax.corpus.features.mfcc39`, the
training features.

The corpus trims clean synthetic speech at 40 dB; recordings carry their
own background noise (klettres' ``en`` files: ~1.5 s of it at -45 dB), so
every real recording is trimmed at 25 dB instead.  Chosen without the
model, as the best MFCC+DTW AP on the words said by two or more speakers
(top_db 40: 0.042, 35: 0.047, 30: 0.051, 25: 0.056, 20: 0.050;
cross-speaker pairs only: 0.026, 0.029, 0.030, 0.030, 0.030).
"""
import dataclasses
import functools
import hashlib
import json
import os

import librosa
import numpy as np
import soundfile as sf

from awe_jax.corpus import degrade
from awe_jax.corpus import features
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.realspeech import packages
from awe_jax.realspeech import words as words_lib
from jaxtk.errors import DataError

# The corpus chain with every random draw at its neutral value.
CLEAN = degrade.DegradeParams(snr_db=200.0, gain_db=0.0, pad_start_s=0.0,
                              pad_end_s=0.0, colour=0.0, babble=0.0,
                              noise_seed=0)
TRIM_DB = 25.0   # trim threshold below the peak (module docstring)
MIN_FRAMES = 2   # as awe_jax.data.load_split
# Bump when the chain or the features change, so feature caches are rebuilt.
VERSION = 2


@dataclasses.dataclass
class RealSpeech:
  """The real tokens.

  Attributes:
    feats: N arrays ``[T_i, 39]`` float32.
    words: ``[N]`` CMUdict words.
    speakers: ``[N]`` source names (one speaker each).
    paths: ``[N]`` the recordings.
    pronunciations: word -> tuple of phones given to the phone view.
  """
  feats: list
  words: np.ndarray
  speakers: np.ndarray
  paths: np.ndarray
  pronunciations: dict

  def __len__(self):
    return len(self.feats)

  def select(self, mask) -> "RealSpeech":
    idx = np.flatnonzero(mask)
    return RealSpeech([self.feats[i] for i in idx], self.words[idx],
                      self.speakers[idx], self.paths[idx],
                      self.pronunciations)

  def shared_words(self, min_speakers: int = 2) -> list:
    """Words said by at least ``min_speakers`` different speakers."""
    by_word = {}
    for w, s in zip(self.words, self.speakers):
      by_word.setdefault(w, set()).add(s)
    return sorted(w for w, ss in by_word.items() if len(ss) >= min_speakers)


def read_audio(path: str) -> tuple[np.ndarray, int]:
  """``([S] float32 mono, sample rate)`` of a WAV, Ogg Vorbis or AU file.

  Raises:
    DataError: naming the file when it is missing, unreadable, empty,
      non-finite or silent.
  """
  if not os.path.exists(path):
    raise DataError(path, "recording missing; run `python -m "
                    "awe_jax.realspeech fetch` (scripts/setup.sh does)")
  try:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
  except (sf.LibsndfileError, RuntimeError, ValueError) as e:
    raise DataError(path, f"cannot read audio (expected WAV, Ogg Vorbis or "
                    f"AU): {e}") from e
  audio = audio.mean(axis=1)
  if audio.size == 0:
    raise DataError(path, "the recording has no samples")
  if not np.all(np.isfinite(audio)):
    raise DataError(path, "the recording contains NaN or inf")
  if not np.any(audio):
    raise DataError(path, "the recording is silent (all samples zero)")
  return audio, sr


def token_audio(path: str, trim_db: float = TRIM_DB) -> np.ndarray:
  """``[S]`` 8 kHz audio of one recording as the corpus' tokens sound:
  resampled, trimmed and through the telephone chain (module docstring).

  Raises:
    DataError: naming the file (see :func:`read_audio`).
  """
  audio, sr = read_audio(path)
  x = degrade.resample(audio.astype(np.float64), sr)
  x, _ = librosa.effects.trim(x, top_db=trim_db, frame_length=256,
                              hop_length=64)
  return degrade.telephone(x, degrade.SAMPLE_RATE, CLEAN)


def token_features(path: str, trim_db: float = TRIM_DB) -> np.ndarray:
  """``[T, 39]`` training features of one recording (module docstring).

  Args:
    path: the recording.
    trim_db: leading/trailing audio quieter than this below the peak is cut.

  Raises:
    DataError: naming the file (see :func:`read_audio`), or when fewer than
      2 frames of speech remain.
  """
  x = features.mfcc39(token_audio(path, trim_db), degrade.SAMPLE_RATE)
  if len(x) < MIN_FRAMES:
    raise DataError(path, f"only {len(x)} frame(s) of speech after trimming; "
                    f"expected at least {MIN_FRAMES}")
  return x


@functools.lru_cache(maxsize=1)
def cmudict() -> dict:
  """The whole vendored CMUdict, read once per process."""
  return lexicon_lib.load_pronunciations()


def pronunciation(word: str, lexicon: dict, where: str = "") -> tuple:
  """The phones of ``word`` given to the phone view (CMUdict's first
  pronunciation unless :data:`words.VARIANT` names another).

  Raises:
    DataError: the word is not in the lexicon.
  """
  prons = lexicon.get(word)
  if not prons:
    raise DataError(where or lexicon_lib.CMUDICT_PATH,
                    f"word {word!r} has no CMUdict pronunciation")
  return prons[words_lib.VARIANT.get(word, 0)]


def _cache_path(root: str, src) -> str:
  key = json.dumps([VERSION, TRIM_DB, dataclasses.asdict(CLEAN),
                    src.package.marker,
                    src.base, src.files])
  digest = hashlib.sha1(key.encode()).hexdigest()[:12]
  return os.path.join(root, f"features-{src.name}-{digest}.npz")


def _read_cache(path: str):
  try:
    with np.load(path) as z:
      flat, offsets = z["flat"], z["offsets"]
  except (OSError, KeyError, ValueError):
    return None
  return [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _write_cache(path: str, feats) -> None:
  """Writes the features of one source, replacing its stale caches."""
  offsets = np.concatenate([[0], np.cumsum([len(x) for x in feats])])
  with open(path + ".tmp", "wb") as f:
    np.savez(f, flat=np.concatenate(feats), offsets=offsets)
  os.replace(path + ".tmp", path)
  prefix = os.path.basename(path).rsplit("-", 1)[0] + "-"
  for name in os.listdir(os.path.dirname(path)):
    if name.startswith(prefix) and name != os.path.basename(path):
      os.remove(os.path.join(os.path.dirname(path), name))


def load(root: str | None = None, sources=words_lib.SOURCE_NAMES,
         lexicon: dict | None = None, cache: bool = True) -> RealSpeech:
  """Every listed recording of ``sources``, as training features.

  Args:
    root: the fetched packages (default :func:`packages.default_dir`).
    sources: names from :data:`words.SOURCE_NAMES`.
    lexicon: word -> pronunciations (default: the whole vendored CMUdict).
    cache: read/write each source's features from/to
      ``<root>/features-<source>-<hash>.npz`` (the hash covers
      :data:`VERSION`, the chain, the package and the file list).

  Raises:
    ValueError: an unknown source name.
    DataError: a package not fetched, or a recording missing or unreadable
      (naming the file).
  """
  root = root or packages.default_dir()
  srcs = [words_lib.source(n) for n in sources]
  packages.require(root, sorted({s.package for s in srcs},
                                key=lambda p: p.name))
  lexicon = lexicon or cmudict()
  feats, words, speakers, paths = [], [], [], []
  for s in srcs:
    src_paths = [os.path.join(root, s.package.name, s.base, rel)
                 for rel, _ in s.files]
    cache_path = _cache_path(root, s)
    src_feats = _read_cache(cache_path) if cache else None
    if src_feats is None or len(src_feats) != len(src_paths):
      src_feats = [token_features(p) for p in src_paths]
      if cache:
        _write_cache(cache_path, src_feats)
    feats += src_feats
    paths += src_paths
    words += [w for _, w in s.files]
    speakers += [s.name] * len(s.files)
  prons = {w: pronunciation(w, lexicon) for w in sorted(set(words))}
  return RealSpeech(feats, np.asarray(words), np.asarray(speakers),
                    np.asarray(paths), prons)
