"""The model card: what a trained model needs beside its config and
parameters to embed new inputs (phone set, feature settings, the lengths of
its training words).  Training writes it beside the checkpoints; runs made
before it existed get the embedded corpus' values.
"""
import dataclasses
import json
import os

import flax.serialization
import jax
import numpy as np

from awe_jax.corpus import features
from awe_jax.corpus import lexicon as lexicon_lib
from jaxtk.errors import DataError

CARD = "model_card.json"
PARAMS = "params.msgpack"  # an exported model's parameters (Embedder.export)
# Word lengths (frames) when a run has no model card: the embedded corpus.
DEFAULT_QUANTILES = {"5": 43, "25": 55, "50": 66, "75": 78, "95": 100}


@dataclasses.dataclass(frozen=True)
class ModelCard:
  """What a model needs beside its config to embed new inputs."""
  phones: tuple                  # phone symbols; phone id = index + 1
  features: dict                 # awe_jax.corpus.features.SETTINGS
  boundaries: tuple = (56, 72, 80, 160)   # training bucket lengths (frames)
  length_quantiles: dict = dataclasses.field(
      default_factory=lambda: dict(DEFAULT_QUANTILES))  # % -> frames


def phone_order(phones_to_ids: dict) -> tuple:
  """The phones by id (``Vocab.phones_to_ids``): a model card's ``phones``."""
  return tuple(sorted(phones_to_ids, key=phones_to_ids.get))


def write_model_card(workdir: str, phones_to_ids: dict, lengths,
                     boundaries) -> ModelCard:
  """Writes ``model_card.json`` at training time.

  Args:
    phones_to_ids: phone -> 1-based id (``Vocab.phones_to_ids``).
    lengths: ``[N]`` frames of the training segments.
    boundaries: the training bucket lengths.
  """
  lengths = np.asarray(lengths)
  card = ModelCard(
      phones=phone_order(phones_to_ids),
      features=dict(features.SETTINGS),
      boundaries=tuple(int(b) for b in boundaries),
      length_quantiles={str(q): int(np.percentile(lengths, q))
                        for q in (5, 25, 50, 75, 95)})
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, CARD), "w") as f:
    json.dump(dataclasses.asdict(card), f, indent=1)
  return card


def read_model_card(workdir: str) -> ModelCard:
  path = os.path.join(workdir, CARD)
  if not os.path.exists(path):
    return ModelCard(phones=lexicon_lib.PHONES, features=dict(features.SETTINGS))
  try:
    with open(path) as f:
      raw = json.load(f)
    return ModelCard(**{**raw, "phones": tuple(raw["phones"]),
                        "boundaries": tuple(raw["boundaries"])})
  except (OSError, ValueError, TypeError, KeyError) as e:
    raise DataError(path, f"cannot read the model card: {e}") from e


def read_params(model_dir: str, like):
  """The parameters of an exported model directory (its ``PARAMS``),
  restored into the structure of ``like`` and checked against its shapes.

  Raises:
    DataError: the file is missing or unreadable, or holds parameters of
      another structure or shape (another config or input size).
  """
  path = os.path.join(model_dir, PARAMS)
  try:
    with open(path, "rb") as f:
      params = flax.serialization.from_bytes(like, f.read())
  except OSError as e:
    raise DataError(path, f"cannot read: {e} (export a model with "
                    "Embedder.export)") from e
  except (ValueError, KeyError) as e:
    raise DataError(path, f"does not fit this config: {e}") from e
  if (jax.tree_util.tree_map(np.shape, params) !=
      jax.tree_util.tree_map(np.shape, like)):
    raise DataError(path, "parameter shapes differ from this config's "
                    "(another d_model, layers, phone count or input size)")
  return params
