"""A hit's spectrogram with its span marked."""
import librosa
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from awe_jax.inference import load_audio


def plot_hit(path: str, hit, sr: int = 8000, context: float = 1.0) -> None:
  """Writes a PNG: log spectrogram of ``hit.file`` from ``context`` seconds
  before the hit to ``context`` after, the hit's span shaded."""
  y = load_audio(hit.file, sr)
  t0 = max(0.0, hit.start - context)
  t1 = min(len(y) / sr, hit.end + context)
  seg = y[int(t0 * sr):int(t1 * sr)]
  spec = librosa.amplitude_to_db(np.abs(librosa.stft(seg, n_fft=256, hop_length=64)),
                                 ref=np.max)
  fig, ax = plt.subplots(figsize=(8, 3))
  ax.imshow(spec, origin="lower", aspect="auto", cmap="magma",
            extent=(t0, t1, 0, sr / 2))
  ax.axvspan(hit.start, hit.end, color="cyan", alpha=0.25)
  ax.set(xlabel="time (s)", ylabel="Hz",
         title=f"{hit.file.split('/')[-1]}  {hit.start:.2f}-{hit.end:.2f} s  "
               f"distance {hit.distance:.3f}")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
