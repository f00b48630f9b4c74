"""Test-wide set-up: two host CPU devices for the data-parallel tests.

XLA reads the flag once, when jax first initialises its backend, so it is set
here before any test module imports jax.
"""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
