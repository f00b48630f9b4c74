"""PNGs of the MNIST experiment: ROC curves, reconstructions, pseudo-
anomalies and (for z_dim = 2) the latent space with GMM ellipses."""
import os

import jax
import jax.numpy as jnp
import numpy as np

from anomaly_jax import generator
from anomaly_jax import metrics
from anomaly_jax import train as train_lib
from anomaly_jax import vae
from jaxtk.plotting import plt


def roc_png(path, scores: dict, labels):
  fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
  for k, s in scores.items():
    fpr, tpr = metrics.roc_curve(labels, s)
    ax.plot(fpr, tpr, label=f"{k} (AUC {metrics.auc(labels, s):.3f})")
  ax.plot([0, 1], [0, 1], "k:", lw=0.8)
  ax.set_xlabel("false-positive rate")
  ax.set_ylabel("true-positive rate")
  ax.legend(loc="lower right")
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def _images(ax_row, imgs):
  for ax, im in zip(ax_row, imgs):
    ax.imshow(np.asarray(im).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def recon_png(path, model, params, x, digits, per_digit: int = 3):
  """Rows per digit: input, VAE-tail and NP-tail reconstructions."""
  picks = [i for d in np.unique(digits)
           for i in np.nonzero(digits == d)[0][:per_digit]]
  xs = jnp.asarray(x[picks])
  mu, _ = vae.encode(model, params, xs)
  rows = [xs, vae.decode(model, params, mu, train_lib.VAE),
          vae.decode(model, params, mu, train_lib.NP)]
  fig, axes = plt.subplots(3, len(picks), figsize=(len(picks) * 0.6, 2.2),
                           dpi=120, squeeze=False)
  for r, name in enumerate(("input", "vae", "np")):
    _images(axes[r], rows[r])
    axes[r][0].set_ylabel(name, fontsize=6)
  for j, i in enumerate(picks):
    axes[0][j].set_title(str(digits[i]), fontsize=6)
  fig.tight_layout(pad=0.1)
  fig.savefig(path)
  plt.close(fig)


def samples_png(path, model, params, gmm_state, thr, z_dim, n: int = 32,
                pool=None):
  """Top: unconditioned samples; bottom: GMM-rejected pseudo-anomalies
  (candidates from ``pool`` if given, else N(0, I))."""
  k = jax.random.key(123)
  z0 = generator.unconditioned(k, n, z_dim)
  lat = generator.conditional(k, gmm_state, thr, n=n, z_dim=z_dim,
                              oversample=16, pool=pool)
  z1 = generator.check(lat)
  fig, axes = plt.subplots(2, n, figsize=(n * 0.5, 1.3), dpi=120)
  _images(axes[0], generator.generate(model, params, z0, train_lib.VAE))
  _images(axes[1], generator.generate(model, params, z1, train_lib.VAE))
  axes[0][0].set_ylabel("N(0,I)", fontsize=5)
  axes[1][0].set_ylabel("pseudo-\nanomaly", fontsize=5)
  fig.tight_layout(pad=0.1)
  fig.savefig(path)
  plt.close(fig)


def latent_png(path, mu, digits, gmm_state):
  """2-D latent means coloured by digit, with 2-sigma GMM ellipses."""
  fig, ax = plt.subplots(figsize=(6, 6), dpi=120)
  sc = ax.scatter(mu[:, 0], mu[:, 1], c=digits, cmap="tab10", s=4)
  fig.colorbar(sc, ax=ax)
  t = np.linspace(0, 2 * np.pi, 100)
  circle = np.stack([np.cos(t), np.sin(t)])
  for m, c, lw in zip(np.asarray(gmm_state.means),
                      np.asarray(gmm_state.chol),
                      np.exp(np.asarray(gmm_state.log_weights))):
    e = m[:, None] + 2 * c @ circle
    ax.plot(e[0], e[1], "k-", lw=0.5 + 3 * lw)
  ax.set_title("latent means (held-out) and GMM on typical latents")
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def write_all(workdir, model, trained, s, scores, tc) -> list[str]:
  out = []
  p = os.path.join(workdir, "roc.png")
  roc_png(p, scores, s.label_eval)
  out.append(p)
  p = os.path.join(workdir, "reconstructions.png")
  recon_png(p, model, trained.params, s.x_eval, s.digit_eval)
  out.append(p)
  p = os.path.join(workdir, "pseudo_anomalies.png")
  try:
    pool = (jnp.asarray(train_lib.encode_mu(model, trained.params, s.x_all))
            if tc.proposal == "aggregate" else None)
    samples_png(p, model, trained.params, trained.gmm, trained.nll_threshold,
                tc.z_dim, pool=pool)
    out.append(p)
  except generator.RejectionSamplingError as e:
    print(f"pseudo-anomaly plot skipped: {e}")
  if tc.z_dim == 2:
    p = os.path.join(workdir, "latent.png")
    mu = train_lib.encode_mu(model, trained.params, s.x_eval)
    latent_png(p, mu, s.digit_eval, trained.gmm)
    out.append(p)
  return out
