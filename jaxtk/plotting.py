"""Matplotlib without a display, and one helper for learning curves."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position


def save_curves(path: str, xs, series: dict, *, xlabel: str, ylabel: str,
                title: str = ""):
  """Plots several named curves over the same x values into a PNG."""
  fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
  for name, ys in series.items():
    ax.plot(xs[:len(ys)], ys, marker="o", ms=3, label=name)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:
    ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def save_bars(path: str, labels, series: dict, *, ylabel: str,
              title: str = ""):
  """Grouped bar plot: one group per label, one bar per named series."""
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(labels) + 2), 4), dpi=120)
  width = 0.8 / max(len(series), 1)
  for i, (name, ys) in enumerate(series.items()):
    xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(ys))]
    ax.bar(xs, ys, width, label=name)
  ax.set_xticks(range(len(labels)))
  ax.set_xticklabels(labels, rotation=20, ha="right")
  ax.set_ylabel(ylabel)
  if title:
    ax.set_title(title)
  ax.grid(alpha=0.3, axis="y")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path
