"""Test-wide set-up: two host CPU devices for the data-parallel tests, and a
compilation cache for the session.

XLA reads the flag once, when jax first initialises its backend, so it is set
here before any test module imports jax (in every pytest-xdist worker too:
each imports this file first).

Many tests compile the same program more than once (a run and its resume,
the same tiny model trained again): a persistent compilation cache in a
fresh directory of this process (never shared, removed at exit) compiles
each once.  Cached executables are XLA's own, so nothing asserted changes.
"""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

_CACHE = tempfile.mkdtemp(prefix="jax-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
jax.config.update("jax_compilation_cache_dir", _CACHE)
# Programs that compile in under 0.1 s (single eager ops) are not worth a
# file each.
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
