"""XLA:CPU settings measured on this project's models.

``use_measured_defaults()`` must run before the first JAX computation (the
backend reads ``XLA_FLAGS`` when it starts); the experiment scripts call it
at the top of ``main``.
"""
import os

import jaxlib

# Matmuls by XLA's own kernels instead of YNNPACK fusions: the paper-config
# AWE step on the corpus' longest bucket (256 x 160 frames) 15.6 s -> 10.8 s
# on 2 cores, the shorter buckets unchanged (bench/awe_step.py
# --xla_defaults=off shows the difference).
NO_YNN_DOT = "--xla_cpu_experimental_ynn_fusion_type="
# jaxlib versions on which that was measured; an XLA_FLAGS entry that a
# jaxlib does not know aborts the process, so other versions get nothing.
MEASURED_ON = ("0.10.2",)


def use_measured_defaults() -> bool:
  """Adds the measured XLA:CPU flags to ``XLA_FLAGS`` unless the user set
  that option already or jaxlib is not a measured version.

  Returns:
    Whether anything was added.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  if (jaxlib.__version__ not in MEASURED_ON or
      NO_YNN_DOT.split("=")[0] in flags):
    return False
  os.environ["XLA_FLAGS"] = f"{flags} {NO_YNN_DOT}".strip()
  return True
