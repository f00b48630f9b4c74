"""Outputs of a scan: ranked ``events.csv``, score-over-time and top-event
spectrogram PNGs."""
import csv
import datetime as dt

import librosa
import numpy as np

from anomaly_jax.aco import features
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.detect import Detection
from anomaly_jax.aco.fmt import utc
from jaxtk.plotting import plt


def write_events(path: str, dets: list[Detection], matched: list[str]):
  """Ranked detections; ``matched[i]``: kind of the planted event it hits
  ("" for none, or when there is no ground truth)."""
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["rank", "start", "end", "peak", "seconds", "score", "file",
                "planted"])
    for i, (d, m) in enumerate(zip(dets, matched)):
      w.writerow([i + 1, utc(d.start).isoformat(timespec="milliseconds"),
                  utc(d.end).isoformat(timespec="milliseconds"),
                  utc(d.peak_t).isoformat(timespec="milliseconds"),
                  f"{d.end - d.start:.2f}", f"{d.score:.5g}", d.path, m])


def _blocks(t: np.ndarray, gap: float = 600.0):
  """Index ranges of recordings separated by more than ``gap`` seconds."""
  cut = np.flatnonzero(np.diff(t) > gap) + 1
  return list(zip(np.r_[0, cut], np.r_[cut, t.size]))


def plot_scores(path: str, t: np.ndarray, series: dict, thresholds: dict,
                events: np.ndarray, pool: float = 5.0):
  """One panel per recorded block: each score (max over ``pool`` s,
  standardised by its threshold) over time, planted events shaded."""
  blocks = _blocks(t)
  rows = len(blocks)
  fig, axes = plt.subplots(rows, 1, figsize=(10, 1.6 * rows + 0.6), dpi=100,
                           squeeze=False)
  for ax, (lo, hi) in zip(axes[:, 0], blocks):
    tb = t[lo:hi]
    m = ((tb - tb[0]) // pool).astype(int)
    edges = np.r_[0, np.flatnonzero(np.diff(m)) + 1]
    tm = (tb[edges] - tb[0]) / 60.0
    holes = np.flatnonzero(np.diff(tm) > 2 * pool / 60.0)  # missing files
    for name, s in series.items():
      pooled = np.maximum.reduceat(s[lo:hi], edges) / thresholds[name]
      ax.plot(np.insert(tm, holes + 1, np.nan),
              np.insert(pooled, holes + 1, np.nan), lw=0.7, label=name)
    ax.axhline(1.0, color="k", lw=0.5, ls="--")
    for a, b in events:
      if b > tb[0] and a < tb[-1]:
        ax.axvspan((a - tb[0]) / 60, (b - tb[0]) / 60, color="g", alpha=0.2)
    ax.set_ylabel(f"{utc(tb[0]):%m-%d\n%H:%M}", fontsize=8)
    ax.set_xlim(0, (tb[-1] - tb[0]) / 60)
  axes[0, 0].legend(loc="upper right", fontsize=7, ncol=len(series))
  axes[0, 0].set_title("score / threshold at 1 false alarm per hour "
                       "(green: planted events)", fontsize=9)
  axes[-1, 0].set_xlabel("minutes into the block (UTC start on the left)")
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def plot_event(path: str, archive: Archive, det: Detection, rank: int,
               cfg: features.MelConfig, planted: str = "", pad: float = 3.0):
  """Log-mel spectrogram of a detection with ``pad`` s either side."""
  start = utc(det.start - pad)
  dur = dt.timedelta(seconds=max(det.end - det.start + 2 * pad, 8.0))
  clip = archive.load(start, dur)
  x = np.nan_to_num(clip.float())
  x = x - x.mean()
  db = np.asarray(features.logmel(x, cfg)).T
  fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
  ext = (0, x.size / clip.rate, 0, cfg.n_mels)
  ax.imshow(db, origin="lower", aspect="auto", extent=ext, cmap="magma",
            vmin=np.percentile(db, 5), vmax=db.max())
  ax.axvspan(det.start - (det.start - pad), det.end - (det.start - pad),
             color="c", alpha=0.12)
  mel_hz = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin,
                                   fmax=cfg.fmax or cfg.rate / 2)[1:-1]
  ticks = np.arange(0, cfg.n_mels, 8)
  ax.set_yticks(ticks, [f"{mel_hz[i]:.0f}" for i in ticks], fontsize=7)
  ax.set_ylabel("Hz (mel scale)")
  ax.set_xlabel(f"s after {start:%Y-%m-%d %H:%M:%S} UTC")
  ax.set_title(f"#{rank}  peak {utc(det.peak_t):%Y-%m-%d %H:%M:%S.%f}"[:-3] +
               f" UTC  score {det.score:.3g}" +
               (f"  planted: {planted}" if planted else ""), fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path
