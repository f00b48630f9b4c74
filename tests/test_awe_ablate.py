"""experiments/awe_ablate.py end to end on the small built corpus (40 of
its training tokens): the ablated corpus, a one-epoch fine-tune from the
shipped default model, the real-speech check, the table; a rerun reads the
finished run instead of training again."""
import json
import os
import subprocess
import sys

from awe_jax.corpus import ensure_corpus
from awe_jax.corpus import lexicon


def test_ablation_driver_trains_scores_and_resumes(tmp_path):
  corpus = ensure_corpus(small=True)
  root = str(tmp_path / "ablate")
  cmd = [sys.executable, os.path.join(lexicon.REPO, "experiments",
                                      "awe_ablate.py"),
         f"--data_dir={corpus}", f"--root={root}", "--ablations=all",
         "--n=40", "--epochs=1",
         f"--init_from={os.path.join(lexicon.REPO, 'models', 'awe-small')}"]
  out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                       cwd=lexicon.REPO)
  table = open(os.path.join(root, "table.md")).read()
  assert table.strip() in out.stdout
  row = table.strip().splitlines()[-1]
  assert row.startswith("| all | 40 |")
  run = os.path.join(root, "all", "run")
  with open(os.path.join(run, "realcheck.json")) as f:
    real = json.load(f)
  assert real["tokens"] == 408 and f"{real['acoustic']['model_ap']:.3f}" in row
  with open(os.path.join(run, "final.json")) as f:
    assert f"{json.load(f)['dev_crossview_ap']:.3f}" in row
  mtime = os.path.getmtime(os.path.join(run, "final.json"))
  again = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         cwd=lexicon.REPO)
  assert row in again.stdout  # the finished run is read, not trained again
  assert os.path.getmtime(os.path.join(run, "final.json")) == mtime
  bad = subprocess.run(cmd[:-3] + ["--n=100000"], capture_output=True,
                       text=True, cwd=lexicon.REPO)
  assert bad.returncode == 1 and "fewer than --n=100000" in bad.stderr
