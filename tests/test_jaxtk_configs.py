"""jaxtk.configs: flat flags routed to nested frozen dataclasses."""
import dataclasses
import enum
import functools

from absl import flags
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


def test_all_overrides_are_applied_before_a_configs_checks():
  @dataclasses.dataclass(frozen=True)
  class Checked:
    inner: Inner = Inner()
    steps: int = 10

    def __post_init__(self):
      if self.inner.score == Score.VAE and self.steps < 20:
        raise ValueError("score='vae' needs steps >= 20")

  assert configs.override(Checked(), score="vae", steps=30).steps == 30
  with pytest.raises(ValueError, match="needs steps"):
    configs.override(Checked(), score="vae")


def test_define_flag_keeps_the_config_default_and_shows_it():
  fv = flags.FlagValues()
  configs.define_flag(functools.partial(flags.DEFINE_float, flag_values=fv),
                      "lr", Outer(), "learning rate")
  configs.define_flag(functools.partial(flags.DEFINE_enum, flag_values=fv),
                      "score", Outer(), "ranked", enum_values=["np", "vae"])
  fv(["prog", "--score=vae"])
  assert fv["lr"].value is None and "(default 0.001)" in fv["lr"].help
  assert "(default np)" in fv["score"].help
  assert configs.override(Outer(), lr=fv.lr, score=fv.score) == Outer(
      inner=Inner(score=Score.VAE))
