"""Embedding audio and written words with a trained model, no data needed.

A model directory holds ``config.json`` (the :class:`awe_jax.configs.Config`),
``model_card.json`` (phone set, feature settings, training bucket lengths and
word-length quantiles; written by training) and the parameters: either
``params.msgpack`` (:meth:`Embedder.export`, e.g. ``models/awe-small``) or a
training workdir's orbax ``best/`` (else ``latest/``) checkpoint.  Runs made
before model cards existed load with the corpus defaults (39 CMUdict phones,
:data:`awe_jax.corpus.features.SETTINGS`).

Every embedding call is jitted with static shapes: segments are padded to
bucket lengths and batches to a fixed size, so a new input length compiles
at most once per bucket.
"""
import dataclasses
import functools
import hashlib
import json
import os

import chex
import flax.serialization
import jax
import jax.numpy as jnp
import librosa
import numpy as np
import soundfile as sf

from awe_jax import configs, pronounce, train
from awe_jax.corpus import features
from awe_jax.model_card import (CARD, PARAMS, ModelCard, read_model_card,
                                read_params)
from awe_jax.factory import build_model
from awe_jax.models import init_params
from jaxtk.checkpoint import Checkpoints
from jaxtk.errors import DataError

MIN_SECONDS = 0.05        # shorter audio is refused
SILENCE_RMS = 1e-4        # quieter audio (RMS of [-1, 1] samples) is refused


def read_config(workdir: str) -> configs.Config:
  path = os.path.join(workdir, "config.json")
  try:
    with open(path) as f:
      raw = json.load(f)
    return dataclasses.replace(configs.Config(**{**raw, "model": configs.ModelConfig()}),
                               model=configs.ModelConfig(**raw["model"]))
  except (OSError, ValueError, TypeError, KeyError) as e:
    raise DataError(path, "expected the config.json of a training run "
                    f"(awe_jax.configs.Config as JSON): {e}") from e


def load_audio(path: str, sr: int = features.SAMPLE_RATE) -> np.ndarray:
  """A sound file as ``[S]`` float32 mono at ``sr`` (channels averaged).

  Raises:
    DataError: the file cannot be read or decoded.
  """
  try:
    y, file_sr = sf.read(path, dtype="float32", always_2d=True)
  except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as e:
    raise DataError(path, f"cannot read audio (expected a WAV/FLAC/OGG file "
                    f"libsndfile reads): {e}") from e
  return to_mono(y, file_sr, sr, path)


def to_mono(audio, sr: int, target_sr: int = features.SAMPLE_RATE,
            name: str = "<array>") -> np.ndarray:
  """``[S]`` or ``[S, channels]`` at ``sr`` -> ``[S']`` mono at ``target_sr``."""
  y = np.asarray(audio, np.float32)
  if y.ndim == 2:
    y = y.mean(axis=1)
  if y.ndim != 1:
    raise DataError(name, f"expected [samples] or [samples, channels] audio, "
                    f"got shape {y.shape}")
  if not np.all(np.isfinite(y)):
    raise DataError(name, "audio contains NaN or inf")
  if sr != target_sr:
    y = librosa.resample(y, orig_sr=sr, target_sr=target_sr).astype(np.float32)
  return y


def check_speech(y: np.ndarray, sr: int, name: str) -> None:
  if len(y) < MIN_SECONDS * sr:
    raise DataError(name, f"audio is {len(y) / sr:.3f} s long; expected at "
                    f"least {MIN_SECONDS} s of speech")
  if np.sqrt(np.mean(np.square(y, dtype=np.float64))) < SILENCE_RMS:
    raise DataError(name, f"audio is silent (RMS below {SILENCE_RMS})")


def normalise_segments(feats, mask):
  """Per-segment mean/std over the real frames, as features.normalise.

  Args:
    feats: ``[B, T, D]`` raw features.
    mask: ``[B, T]`` bool, True at real frames.

  Returns:
    ``[B, T, D]``, 0 at padding.
  """
  w = mask[..., None].astype(feats.dtype)
  n = jnp.maximum(w.sum(1, keepdims=True), 1.0)
  mean = (feats * w).sum(1, keepdims=True) / n
  std = jnp.sqrt((jnp.square(feats - mean) * w).sum(1, keepdims=True) / n)
  return jnp.where(mask[..., None], (feats - mean) / jnp.where(std > 1e-8, std, 1.0), 0.0)


class Embedder:
  """A trained model's two views as jitted, bucketed embedding functions.

  Args:
    config: the model's :class:`awe_jax.configs.Config`.
    card: its :class:`ModelCard`.
    params: its parameters (``state["params"]``).
    batch_size: segments per embedding call.
    pronouncer: word -> phones (default: CMUdict, then espeak-ng).
  """

  def __init__(self, config, card: ModelCard, params, *, batch_size: int = 256,
               pronouncer: pronounce.Pronouncer | None = None):
    self.config, self.card = config, card
    # On the device once: numpy parameters were copied on every call (0.15
    # of a query's 0.43 ms).
    self.params = jax.device_put(params)
    self.batch_size = batch_size
    self.pronouncer = pronouncer or pronounce.Pronouncer()
    self.phone_ids = {p: i + 1 for i, p in enumerate(card.phones)}
    self.sample_rate = int(card.features["sample_rate"])
    self.model, self._acoustic, self._phones = _functions(
        config, len(card.phones) + 1)

  @classmethod
  def load(cls, workdir: str, **kwargs) -> "Embedder":
    """Loads a model directory or a training workdir (module docstring)."""
    if not os.path.isdir(workdir):
      raise DataError(workdir, "model directory does not exist")
    config, card = read_config(workdir), read_model_card(workdir)
    model = build_model(config, len(card.phones) + 1)
    like = init_params(model, jax.random.PRNGKey(0), int(card.features["dim"]))
    if os.path.exists(os.path.join(workdir, PARAMS)):
      params = read_params(workdir, like)
    else:
      params = _restore_orbax(workdir, config, like)
    return cls(config, card, params, **kwargs)

  def export(self, outdir: str) -> None:
    """Writes ``config.json``, ``model_card.json`` and ``params.msgpack``."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
      json.dump(dataclasses.asdict(self.config), f, indent=1)
    with open(os.path.join(outdir, CARD), "w") as f:
      json.dump(dataclasses.asdict(self.card), f, indent=1)
    with open(os.path.join(outdir, PARAMS), "wb") as f:
      f.write(flax.serialization.to_bytes(jax.device_get(self.params)))

  @functools.cached_property
  def model_hash(self) -> str:
    """16 hex digits over the parameters, config and model card."""
    h = hashlib.sha256(flax.serialization.to_bytes(jax.device_get(self.params)))
    h.update(json.dumps([dataclasses.asdict(self.config),
                         dataclasses.asdict(self.card)], sort_keys=True).encode())
    return h.hexdigest()[:16]

  @functools.cached_property
  def dim(self) -> int:
    """Embedding size E."""
    ids = jax.ShapeDtypeStruct((1, 8), jnp.int32)
    return int(jax.eval_shape(self._phones, self.params, ids).shape[1])

  def _rows(self, n: int) -> int:
    """Batch rows for ``n`` inputs: 1 for one (a query: a row of 8 took 3.5x
    its time), 8 for a few, else batch_size."""
    if n == 1:
      return 1
    return min(8, self.batch_size) if n <= 8 else self.batch_size

  def bucket(self, length: int) -> int:
    """The padded length of a segment of ``length`` frames."""
    for b in self.card.boundaries:
      if length <= b:
        return int(b)
    return -(-length // 32) * 32

  def features(self, audio, sr: int | None = None, name: str = "<array>"):
    """Raw (not normalised) ``[T, 39]`` features of a path or an array."""
    if isinstance(audio, (str, os.PathLike)):
      name = str(audio)
      y = load_audio(name, self.sample_rate)
    else:
      if sr is None:
        raise ValueError("sr is required with an audio array")
      y = to_mono(audio, sr, self.sample_rate, name)
    check_speech(y, self.sample_rate, name)
    return features.mfcc_deltas(y, self.sample_rate)

  def embed_features(self, feats) -> np.ndarray:
    """Embeds raw feature segments, each normalised over itself.

    Args:
      feats: N arrays ``[T_i, D]`` (:meth:`features` or slices of it).

    Returns:
      ``[N, E]`` float32.
    """
    lens = np.asarray([len(x) for x in feats])
    out = np.zeros((len(feats), 0), np.float32)
    buckets = np.asarray([self.bucket(n) for n in lens])
    for t in np.unique(buckets):
      idx = np.flatnonzero(buckets == t)
      rows = self._rows(len(idx))
      for s in range(0, len(idx), rows):
        part = idx[s:s + rows]
        x = np.zeros((rows, t, feats[part[0]].shape[1]), np.float32)
        m = np.zeros((rows, t), bool)
        for r, i in enumerate(part):
          x[r, :lens[i]], m[r, :lens[i]] = feats[i], True
        e = np.asarray(self._acoustic(self.params, x, m))[:len(part)]
        if out.shape[1] == 0:
          out = np.zeros((len(feats), e.shape[1]), np.float32)
        out[part] = e
    return out

  def embed_windows(self, feats: np.ndarray, starts, length: int) -> np.ndarray:
    """Embeds fixed-length windows ``feats[s:s + length]`` of one recording.

    Args:
      feats: ``[T, D]`` raw features (:meth:`features`), ``T >= length``.
      starts: ``[N]`` first frames.
      length: frames per window (one static shape per length).

    Returns:
      ``[N, E]`` float32.
    """
    chex.assert_rank(feats, 2)
    view = np.lib.stride_tricks.sliding_window_view(feats, length, axis=0)
    out = []
    mask = np.ones((self.batch_size, length), bool)
    for s in range(0, len(starts), self.batch_size):
      part = np.asarray(starts[s:s + self.batch_size])
      x = np.zeros((self.batch_size, length, feats.shape[1]), np.float32)
      x[:len(part)] = view[part].transpose(0, 2, 1)
      # Dispatch is asynchronous: the next batch is cut while this one runs.
      out.append((self._acoustic(self.params, x, mask), len(part)))
    if not out:
      return np.zeros((0, self.dim), np.float32)
    return np.concatenate([np.asarray(e)[:n] for e, n in out])

  def compile_queries(self) -> None:
    """Compiles the one-recording path for every bucket (a first query of
    each bucket otherwise compiles for about a second)."""
    for b in self.card.boundaries:
      self.embed_features([np.zeros((b, int(self.card.features["dim"])),
                                    np.float32)])

  def embed_audio(self, audio, sr: int | None = None) -> np.ndarray:
    """One recording (a path, or ``[S]``/``[S, C]`` at ``sr``) -> ``[E]``."""
    return self.embed_features([self.features(audio, sr)])[0]

  def embed_segments(self, segments, sr: int | None = None) -> np.ndarray:
    """Recordings (paths or arrays at ``sr``) -> ``[N, E]``."""
    return self.embed_features([self.features(a, sr) for a in segments])

  def phone_sequences(self, words) -> list:
    """Phone ids of each word (:class:`awe_jax.pronounce.Pronouncer`).

    Raises:
      DataError: no pronunciation, or a phone outside the model's set.
    """
    out = []
    for w, phones in zip(words, self.pronouncer(words)):
      bad = [p for p in phones if p not in self.phone_ids]
      if bad:
        raise DataError("<words>", f"phone(s) {bad} of {w!r} are not in the "
                        f"model's phone set {' '.join(self.card.phones)}",
                        field=w)
      out.append([self.phone_ids[p] for p in phones])
    return out

  def embed_words(self, words) -> np.ndarray:
    """Written words -> ``[N, E]`` phone-view embeddings."""
    seqs = self.phone_sequences(list(words))
    width = -(-max(len(s) for s in seqs) // 8) * 8
    out, rows = [], self._rows(len(seqs))
    for s in range(0, len(seqs), rows):
      c = np.zeros((rows, width), np.int32)
      part = seqs[s:s + rows]
      for r, q in enumerate(part):
        c[r, :len(q)] = q
      out.append(np.asarray(self._phones(self.params, c))[:len(part)])
    return np.concatenate(out)


@functools.lru_cache(maxsize=8)
def _functions(config, num_phones: int):
  """The model and its jitted views, shared by every Embedder of one config
  (so loading a model again does not compile again)."""
  model = build_model(config, num_phones)
  acoustic = jax.jit(lambda p, x, m: model.apply(
      {"params": p}, normalise_segments(x, m), m, method="acoustic"))
  phones = jax.jit(lambda p, c: model.apply({"params": p}, c, method="phones"))
  return model, acoustic, phones


def _restore_orbax(workdir: str, config, like_params):
  like = {"params": like_params, "opt": train.make_optimizer(config).init(like_params)}
  for sub in ("best", "latest"):
    d = os.path.join(workdir, sub)
    if os.path.isdir(d):
      ck = Checkpoints(d)
      if ck.latest_step() is not None:
        state, _ = ck.restore(like)
        ck.close()
        return state["params"]
      ck.close()
  raise DataError(workdir, f"no {PARAMS} and no checkpoint in best/ or latest/")
