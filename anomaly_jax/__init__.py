"""Unsupervised acoustic anomaly detection (VAE, GMM, Neyman-Pearson), in JAX."""
