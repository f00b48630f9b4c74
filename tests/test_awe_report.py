"""awe_jax.report: the encoder comparison plot reads runs' metrics."""
import json
import os

import pytest

from awe_jax import report


def _run(root, name, aps):
  d = os.path.join(root, name)
  os.makedirs(d)
  with open(os.path.join(d, "metrics.jsonl"), "w") as f:
    for i, ap in enumerate(aps):
      f.write(json.dumps(dict(step=i, epoch=i, elapsed=60.0 * i, train_loss=1.0,
                              dev_acoustic_ap=ap / 2, dev_crossview_ap=ap)) + "\n")
    f.write(json.dumps(dict(step=99, event="nonfinite_loss")) + "\n")
  return d


def test_compare_plot_and_missing_run(tmp_path):
  runs = {"bigru": _run(tmp_path, "a", [0.1, 0.2]),
          "transformer": _run(tmp_path, "b", [0.1, 0.3, 0.4])}
  out = report.plot_compare(str(tmp_path / "cmp.png"), runs)
  with open(out, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  assert len(report.eval_rows(os.path.join(runs["transformer"], "metrics.jsonl"))) == 3
  with pytest.raises(FileNotFoundError, match="nowhere"):
    report.plot_compare(str(tmp_path / "x.png"), {"x": str(tmp_path / "nowhere")})
