"""The model card: what a trained model needs beside its config and
parameters to embed new inputs (phone set, feature settings, the lengths of
its training words).  Training writes it beside the checkpoints; runs made
before it existed get the embedded corpus' values.
"""
import dataclasses
import json
import os

import numpy as np

from awe_jax.corpus import features
from awe_jax.corpus import lexicon as lexicon_lib
from jaxtk.errors import DataError

CARD = "model_card.json"
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
      phones=tuple(sorted(phones_to_ids, key=phones_to_ids.get)),
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
