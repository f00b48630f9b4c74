"""Plots of a run: dev learning curves and a 2-D PCA map of both views."""
import collections
import json
import os

import numpy as np

from jaxtk import plotting
from jaxtk.plotting import plt


def plot_curves(path: str, metrics_path: str) -> str | None:
  """Train loss and dev APs per evaluation from ``metrics.jsonl``."""
  if not os.path.exists(metrics_path):
    return None
  rows = eval_rows(metrics_path)
  if not rows:
    return None
  xs = [r["epoch"] for r in rows]
  return plotting.save_curves(
      path, xs, {"dev cross-view AP": [r["dev_crossview_ap"] for r in rows],
                 "dev acoustic AP": [r["dev_acoustic_ap"] for r in rows],
                 "train loss": [r["train_loss"] for r in rows]},
      xlabel="epoch", ylabel="AP / loss", title="AWE learning curves (dev)")


def eval_rows(metrics_path: str) -> list:
  """The evaluation rows of a run's ``metrics.jsonl`` (events left out)."""
  with open(metrics_path) as f:
    rows = [json.loads(l) for l in f if l.strip()]
  return [r for r in rows if "dev_crossview_ap" in r]


def plot_compare(path: str, runs: dict) -> str:
  """Dev acoustic and cross-view AP against wall-clock minutes for several
  runs (``{label: workdir}``): which encoder is ahead at every budget.

  Raises:
    FileNotFoundError: a workdir has no ``metrics.jsonl``.
  """
  fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharex=True)
  for label, workdir in runs.items():
    mpath = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(mpath):
      raise FileNotFoundError(f"{mpath}: no metrics (is {workdir} a run?)")
    rows = eval_rows(mpath)
    t = [r["elapsed"] / 60 for r in rows]
    for ax, key in zip(axes, ("dev_acoustic_ap", "dev_crossview_ap")):
      ax.plot(t, [r[key] for r in rows], marker="o", ms=2, label=label)
  for ax, name in zip(axes, ("acoustic AP", "cross-view AP")):
    ax.set_title(f"dev {name}")
    ax.set_xlabel("wall-clock minutes of training")
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("average precision")
  axes[0].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def pca_2d(x: np.ndarray, *fit_on) -> np.ndarray:
  """Projects ``x [n, E]`` on the first two principal axes of ``fit_on``."""
  ref = np.concatenate(fit_on) if fit_on else x
  mu = ref.mean(0)
  _, _, vt = np.linalg.svd(ref - mu, full_matrices=False)
  return (x - mu) @ vt[:2].T


def plot_pca(path: str, arrays: dict, num_words: int = 12) -> str:
  """Acoustic embeddings (dots) and phone embeddings (stars) of the most
  frequent words, on one PCA map fitted to both views (unit-normalised)."""
  norm = lambda e: e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
  e1, e2 = norm(arrays["embs1"]), norm(arrays["embs2"])
  counts = collections.Counter(arrays["ids1"].tolist())
  top = [w for w, _ in counts.most_common(num_words)]
  sel1 = np.isin(arrays["ids1"], top)
  sel2 = np.isin(arrays["ids2"], top)
  p1 = pca_2d(e1[sel1], e1[sel1], e2[sel2])
  p2 = pca_2d(e2[sel2], e1[sel1], e2[sel2])
  fig, ax = plt.subplots(figsize=(7, 6), dpi=120)
  cmap = plt.get_cmap("tab20")
  ids1, ids2 = arrays["ids1"][sel1], arrays["ids2"][sel2]
  words2 = arrays["words2"][sel2]
  for c, w in enumerate(top):
    m1, m2 = ids1 == w, ids2 == w
    ax.scatter(p1[m1, 0], p1[m1, 1], s=8, alpha=0.5, color=cmap(c % 20))
    if m2.any():
      ax.scatter(p2[m2, 0], p2[m2, 1], s=160, marker="*", color=cmap(c % 20),
                 edgecolor="k", label=str(words2[m2][0]))
  ax.set_title("dev words: acoustic (dots) and phone view (stars), PCA")
  ax.legend(fontsize=7, ncol=2, loc="best")
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def main(argv):
  """``python -m awe_jax.report OUT.png LABEL=WORKDIR [LABEL=WORKDIR ...]``:
  dev AP against training minutes of several runs in one plot."""
  from absl import app  # pylint: disable=g-import-not-at-top
  if len(argv) < 3 or not all("=" in a for a in argv[2:]):
    raise app.UsageError("usage: python -m awe_jax.report OUT.png "
                         "LABEL=WORKDIR [LABEL=WORKDIR ...]")
  print(plot_compare(argv[1], dict(a.split("=", 1) for a in argv[2:])))


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  app.run(main)
