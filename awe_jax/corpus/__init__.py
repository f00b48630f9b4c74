"""The embedded spoken-word corpus (synthetic telephone speech).

``ensure_corpus()`` returns a directory in the agwe-recipe layout, building
it on first use; ``python -m awe_jax.corpus build`` does the same from the
shell.
"""
from awe_jax.corpus.build import default_dir, ensure_corpus, require_corpus
from awe_jax.corpus.plan import DEFAULT, LARGE, SMALL, CorpusConfig

__all__ = ["default_dir", "ensure_corpus", "require_corpus", "CorpusConfig",
           "DEFAULT", "LARGE", "SMALL"]
