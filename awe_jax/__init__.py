"""Multi-view acoustic word embeddings with transformer encoders, in JAX."""
