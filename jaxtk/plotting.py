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
