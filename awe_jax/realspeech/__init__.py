"""Real human speech for checking embeddings: words recorded by people in
Debian packages (see ``docs/realspeech.md``).

``python -m awe_jax.realspeech fetch`` downloads and extracts the pinned
packages once (``scripts/setup.sh`` does it); :func:`load` reads them as
training features; ``python -m awe_jax.realcheck`` scores a model on them.
"""
from awe_jax.realspeech.loader import RealSpeech, load
from awe_jax.realspeech.packages import default_dir, fetch

__all__ = ["RealSpeech", "load", "default_dir", "fetch"]
