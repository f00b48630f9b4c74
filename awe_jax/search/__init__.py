"""Search spoken recordings by example or by typed word (Settle et al. 2017).

``SearchIndex.create(path, Embedder.load(model_dir))``, then ``.add(paths)``
and ``.query_audio(...)`` / ``.query_word(...)``; the same from the shell with
``python -m awe_jax.search index|add|query`` (docs/search.md).

The names below load on first use (PEP 562), so that ``python -m
awe_jax.search --help`` answers without importing JAX.
"""
import importlib

__all__ = ["Hit", "SearchIndex", "WindowConfig", "nms"]


def __getattr__(name):
  if name in __all__:
    return getattr(importlib.import_module("awe_jax.search.index"), name)
  raise AttributeError(f"module 'awe_jax.search' has no attribute {name!r}")
