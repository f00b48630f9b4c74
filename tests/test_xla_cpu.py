"""jaxtk.xla_cpu: the measured XLA:CPU flags."""
import os
import subprocess
import sys

import jaxlib

from jaxtk import xla_cpu

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_adds_flag_once_and_keeps_the_users(monkeypatch):
  monkeypatch.setattr(jaxlib, "__version__", xla_cpu.MEASURED_ON[0])
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  assert xla_cpu.use_measured_defaults()
  assert os.environ["XLA_FLAGS"] == (
      "--xla_force_host_platform_device_count=2 " + xla_cpu.NO_YNN_DOT)
  assert not xla_cpu.use_measured_defaults()  # already there
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=dot")
  assert not xla_cpu.use_measured_defaults()  # the user's choice stands
  assert os.environ["XLA_FLAGS"] == "--xla_cpu_experimental_ynn_fusion_type=dot"


def test_other_jaxlib_versions_get_nothing(monkeypatch):
  monkeypatch.setattr(jaxlib, "__version__", "0.0.1")
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  assert not xla_cpu.use_measured_defaults()
  assert "XLA_FLAGS" not in os.environ


def test_installed_jaxlib_accepts_the_flags():
  """An XLA_FLAGS entry jaxlib does not know aborts the process."""
  code = ("from jaxtk import xla_cpu; added = xla_cpu.use_measured_defaults();"
          "import jax.numpy as jnp; x = jnp.ones((64, 64));"
          "print(added, float((x @ x).sum()))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=dict(os.environ, XLA_FLAGS="",
                                           PYTHONPATH=REPO), check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  added = jaxlib.__version__ in xla_cpu.MEASURED_ON
  assert out.stdout.split() == [str(added), str(64.0 ** 3)]
