"""Search spoken recordings by example or by typed word (Settle et al. 2017).

``SearchIndex.create(path, Embedder.load(model_dir))``, then ``.add(paths)``
and ``.query_audio(...)`` / ``.query_word(...)``; the same from the shell with
``python -m awe_jax.search index|add|query`` (docs/search.md).
"""
from awe_jax.search.index import Hit, SearchIndex, WindowConfig, nms

__all__ = ["Hit", "SearchIndex", "WindowConfig", "nms"]
