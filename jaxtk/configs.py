"""One way from flat flags to nested frozen-dataclass configs, for every script.

A config is a frozen dataclass whose fields may themselves be dataclasses
(``Config(model=ModelConfig(...))``).  A script defines flags named exactly as
the fields and passes them here; flags left at ``None`` keep the config's own
value, so the library's defaults are the script's defaults.
"""
import dataclasses
import enum
import sys
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


def _replace_tree(obj, tree: dict):
  """``obj`` with ``tree`` ({field: value or subtree}) applied, one
  ``dataclasses.replace`` per dataclass, children first: a config's
  ``__post_init__`` checks see every override at once."""
  changes = {name: _replace_tree(getattr(obj, name), sub)
             if isinstance(sub, dict) else sub for name, sub in tree.items()}
  return dataclasses.replace(obj, **changes)


def override(config, **overrides):
  """``config`` with flat overrides routed by leaf field name.

  ``None`` values are ignored.  A value for an ``enum.Enum`` field may be the
  member or its value (``"np"``), checked with :func:`choice`.

  Raises:
    ValueError: a name is not a leaf field of ``config``, or a value is not
      one of an enum field's allowed values.
  """
  paths = field_paths(config)
  tree = {}
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
    node = tree
    for part in paths[name][:-1]:
      node = node.setdefault(part, {})
    node[paths[name][-1]] = value
  return _replace_tree(config, tree) if tree else config


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


def define_flag(define, name: str, config, help_: str, **kwargs):
  """Defines the flag for leaf field ``name`` of ``config``: default None
  (keep the config's value), the config's value shown in the help.

  Args:
    define: an absl ``flags.DEFINE_*`` function.
    name: a leaf field name of ``config`` (see :func:`field_paths`).
    config: the config whose defaults the script keeps.
    help_: what the flag sets.
    **kwargs: passed on (e.g. ``enum_values`` for ``DEFINE_enum``).
  """
  value = config
  for part in field_paths(config)[name]:
    value = getattr(value, part)
  if isinstance(value, enum.Enum):
    value = value.value
  elif isinstance(value, (tuple, list)):
    value = ",".join(f"{v:g}" if isinstance(v, float) else str(v)
                     for v in value) or "empty"
  elif isinstance(value, float):
    value = f"{value:g}"
  # Listed under the calling script in --help, as if it had defined it.
  caller = sys._getframe(1).f_globals.get("__name__")  # pylint: disable=protected-access
  kwargs.setdefault("module_name",
                    sys.argv[0] if caller == "__main__" else caller)
  define(name, None, help=f"{help_} (default {value})", **kwargs)
