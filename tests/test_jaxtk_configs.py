"""jaxtk.configs: flat flags routed to nested frozen dataclasses."""
import dataclasses
import enum

import pytest

from jaxtk import configs


class Score(enum.Enum):
  NP = "np"
  VAE = "vae"


@dataclasses.dataclass(frozen=True)
class Inner:
  lr: float = 1e-3
  score: Score = Score.NP


@dataclasses.dataclass(frozen=True)
class Outer:
  inner: Inner = Inner()
  steps: int = 10


def test_override_routes_by_leaf_name_and_ignores_none():
  c = configs.override(Outer(), lr=0.5, steps=None, score="vae")
  assert c == Outer(inner=Inner(lr=0.5, score=Score.VAE), steps=10)


def test_override_rejects_unknown_field_with_the_fields_listed():
  with pytest.raises(ValueError, match="'lrr'.*fields: lr, score, steps"):
    configs.override(Outer(), lrr=1.0)


def test_enum_value_outside_the_allowed_set_names_them():
  with pytest.raises(ValueError, match=r"score='ae' is not one of: np, vae"):
    configs.override(Outer(), score="ae")
  assert configs.choice("mode", "scan", ("train", "scan")) == "scan"
  with pytest.raises(ValueError, match="mode='sacn'"):
    configs.choice("mode", "sacn", ("train", "scan"))


def test_ambiguous_leaf_names_are_refused():
  @dataclasses.dataclass(frozen=True)
  class Twice:
    a: Inner = Inner()
    b: Inner = Inner()
  with pytest.raises(ValueError, match="appears at a.lr and b.lr"):
    configs.field_paths(Twice())
