"""One way from flat flags to nested frozen-dataclass configs, for every script.

A config is a frozen dataclass whose fields may themselves be dataclasses
(``Config(model=ModelConfig(...))``).  A script defines flags named exactly as
the fields and passes them here; flags left at ``None`` keep the config's own
value, so the library's defaults are the script's defaults.
"""
import dataclasses
import enum
from typing import Any


def field_paths(config) -> dict:
  """Maps each leaf field name of ``config`` to its path of field names.

  Raises:
    ValueError: a leaf name appears at two paths (it could not be set by a
      flat flag without ambiguity).
  """
  paths = {}

  def walk(obj, prefix):
    for f in dataclasses.fields(obj):
      value = getattr(obj, f.name)
      if dataclasses.is_dataclass(value) and not isinstance(value, type):
        walk(value, prefix + (f.name,))
      else:
        if f.name in paths:
          raise ValueError(
              f"{type(config).__name__}: field name {f.name!r} appears at "
              f"{'.'.join(paths[f.name])} and {'.'.join(prefix + (f.name,))}")
        paths[f.name] = prefix + (f.name,)

  walk(config, ())
  return paths


def _replace_at(obj, path, value):
  if len(path) == 1:
    return dataclasses.replace(obj, **{path[0]: value})
  child = getattr(obj, path[0])
  return dataclasses.replace(obj, **{path[0]: _replace_at(child, path[1:],
                                                          value)})


def override(config, **overrides):
  """``config`` with flat overrides routed by leaf field name.

  ``None`` values are ignored.  A value for an ``enum.Enum`` field may be the
  member or its value (``"np"``), checked with :func:`choice`.

  Raises:
    ValueError: a name is not a leaf field of ``config``, or a value is not
      one of an enum field's allowed values.
  """
  paths = field_paths(config)
  for name, value in overrides.items():
    if value is None:
      continue
    if name not in paths:
      raise ValueError(f"override {name!r} is not a field of "
                       f"{type(config).__name__}; fields: "
                       f"{', '.join(sorted(paths))}")
    current = config
    for part in paths[name]:
      current = getattr(current, part)
    if isinstance(current, enum.Enum):
      value = choice(name, value, type(current))
    config = _replace_at(config, paths[name], value)
  return config


def choice(name: str, value: Any, allowed):
  """``value`` as a member of the enum ``allowed`` (or checked against a
  sequence of strings).

  Raises:
    ValueError: naming ``name``, the bad value and every allowed value.
  """
  if isinstance(allowed, type) and issubclass(allowed, enum.Enum):
    if isinstance(value, allowed):
      return value
    for member in allowed:
      if value == member.value or value == member.name:
        return member
    options = [str(m.value) for m in allowed]
  else:
    if value in allowed:
      return value
    options = [str(a) for a in allowed]
  raise ValueError(f"{name}={value!r} is not one of: {', '.join(options)}")
