"""notebooks/awe_colab.ipynb runs top to bottom on CPU with its tiny setting.

The notebook reads ``AWE_COLAB_TINY=1`` (tiny model, one epoch) and
``AWE_COLAB_DATA_DIR`` (here a small synthetic corpus in the agwe layout,
as Switchboard-style features from Drive would be) and skips the Colab-only
install; every other cell runs as on Colab.
"""
import os

import nbclient
import nbformat

import awe_fixture

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "awe_colab.ipynb")


def test_colab_notebook_runs_on_cpu(tmp_path, monkeypatch):
  data = awe_fixture.make_corpus(str(tmp_path / "data"))
  monkeypatch.setenv("AWE_COLAB_TINY", "1")
  monkeypatch.setenv("AWE_COLAB_DATA_DIR", data)
  monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep +
                     os.environ.get("PYTHONPATH", ""))
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  nb = nbformat.read(NOTEBOOK, as_version=4)
  client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                   resources={"metadata": {"path": str(tmp_path)}})
  client.execute()
  outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
  assert "dev: acoustic AP" in outputs and "test: acoustic AP" in outputs
  assert "nearest written word" in outputs
  assert os.path.exists(tmp_path / "runs" / "colab-paper" / "final.json")
