"""Full-covariance Gaussian mixture fitted by EM, entirely in log space.

Optax-style: ``init(rng, x, n_components)`` builds a ``GMMState`` (k-means++
means, covariances from the hard assignment) and ``update(state, x)`` is one
jitted EM iteration; ``fit`` runs ``update`` in a ``lax.while_loop`` until
the mean log-likelihood changes by less than ``tol``.  Written by hand
because neither optax nor jax ships a GMM; the algorithm is the one of
``sklearn.mixture.GaussianMixture`` (covariance_type="full"), which
``bench/gmm_em.py`` and the tests use as the reference.

Fixed against the seed code: component densities were multiplied in
probability space (underflow at latent sizes above ~20), the "mixed NLL"
summed per-component log-likelihoods instead of ``-logsumexp`` over
``log w_k + log N_k``, a pseudo-inverse of a jittered covariance stood in for
a Cholesky solve, and a degenerate update raised a string (``raise "hell"``).
Here nothing leaves log space, covariances have a ``reg_covar`` floor with a
Cholesky fallback, and weights never reach zero.
"""
import functools
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

Array = jax.Array


class GMMState(NamedTuple):
  """Mixture parameters and EM bookkeeping.

  Attributes:
    log_weights: ``[K]`` log mixture weights (finite: weights never zero).
    means: ``[K, D]``.
    chol: ``[K, D, D]`` lower Cholesky factors of the covariances.
    log_likelihood: ``[]`` mean log-likelihood of the data at the last
      E-step (``-inf`` before the first).
    delta: ``[]`` absolute change of ``log_likelihood`` at the last step.
    n_iter: ``[]`` int32 EM iterations done.
  """
  log_weights: Array
  means: Array
  chol: Array
  log_likelihood: Array
  delta: Array
  n_iter: Array

  @property
  def covariances(self) -> Array:  # [K, D, D]
    return self.chol @ jnp.swapaxes(self.chol, -1, -2)


def _prec_chol(chol: Array) -> Array:
  """``L^{-1}`` per component, by triangular solve; ``[K, D, D]``."""
  eye = jnp.broadcast_to(jnp.eye(chol.shape[-1], dtype=chol.dtype), chol.shape)
  return solve_triangular(chol, eye, lower=True)


def component_log_prob(state: GMMState, x: Array) -> Array:
  """``log N(x | mu_k, Sigma_k)``; ``x: [N, D] -> [N, K]``.

  With ``Sigma = L L^T``: ``-0.5 * |L^{-1}(x - mu)|^2 - sum log diag L -
  D/2 log 2 pi``.  ``L^{-1}`` comes from one ``solve_triangular`` per
  component, after which the N-sized work is a matrix product.
  """
  chex.assert_rank(x, 2)
  chex.assert_equal_shape_suffix([x, state.means], 1)
  d = x.shape[-1]
  pc = _prec_chol(state.chol)                                   # [K, D, D]
  # y_nk = L_k^{-1} (x_n - mu_k) = x_n L_k^{-T} - mu_k L_k^{-T}
  y = (jnp.einsum("nd,ked->nke", x, pc)
       - jnp.einsum("kd,ked->ke", state.means, pc)[None])       # [N, K, D]
  maha = jnp.sum(jnp.square(y), -1)
  log_det = jnp.sum(jnp.log(jnp.diagonal(state.chol, axis1=-2, axis2=-1)),
                    -1)
  return -0.5 * maha - log_det[None] - 0.5 * d * jnp.log(2 * jnp.pi)


def log_prob(state: GMMState, x: Array) -> Array:
  """Mixture log-density ``logsumexp_k(log w_k + log N_k)``; ``[N, D] -> [N]``."""
  return logsumexp(component_log_prob(state, x) + state.log_weights, -1)


def nll(state: GMMState, x: Array) -> Array:
  """Mixture negative log-likelihood per point; ``[N, D] -> [N]``."""
  return -log_prob(state, x)


def _safe_cholesky(cov: Array, reg_covar: float) -> Array:
  """Cholesky of ``cov + reg_covar I``; where that fails (a component
  collapsed onto duplicated points, or float32 cancellation made ``cov``
  slightly indefinite) the eigenvalues are clipped to a floor first."""
  d = cov.shape[-1]
  eye = jnp.eye(d, dtype=cov.dtype)
  chol = jnp.linalg.cholesky(cov + reg_covar * eye)
  lam, vec = jnp.linalg.eigh(cov)
  top = jnp.max(jnp.abs(lam), -1, keepdims=True)
  lam = jnp.maximum(lam, 0.0) + reg_covar + 1e-5 * jnp.maximum(top, 1e-3)
  fallback = jnp.linalg.cholesky((vec * lam[..., None, :]) @
                                 jnp.swapaxes(vec, -1, -2))
  ok = jnp.all(jnp.isfinite(chol), axis=(-2, -1), keepdims=True)
  return jnp.where(ok, chol, fallback)


def m_step(x: Array, log_resp: Array, reg_covar: float
           ) -> tuple[Array, Array, Array]:
  """Weights, means and covariance Cholesky factors from responsibilities.

  Args:
    x: ``[N, D]``.
    log_resp: ``[N, K]`` log responsibilities (rows logsumexp to 0).
    reg_covar: added to every covariance diagonal.

  Returns:
    ``(log_weights [K], means [K, D], chol [K, D, D])``.
  """
  resp = jnp.exp(log_resp)
  rsum = jnp.sum(resp, 0)                                             # [K]
  # As sklearn: 10 eps keeps an empty component's weight and divisions finite.
  nk = rsum + 10 * jnp.finfo(x.dtype).eps
  # Moments about the global mean c (one [N, D] centring instead of K, and
  # accurate in float32).  With m = c + s1/nk the weighted scatter about m is
  # second - (2 - rsum/nk) mc mc^T, which is 0 (not -c c^T) for an empty
  # component; its mean falls back to c.
  c = jnp.mean(x, 0)
  xc = x - c
  mc = (resp.T @ xc) / nk[:, None]                                    # [K, D]
  means = c + mc
  second = jnp.einsum("nk,nd,ne->kde", resp, xc, xc) / nk[:, None, None]
  cov = second - (2.0 - rsum / nk)[:, None, None] * (
      mc[:, :, None] * mc[:, None, :])
  cov = 0.5 * (cov + jnp.swapaxes(cov, -1, -2))
  log_weights = jnp.log(nk) - jnp.log(jnp.sum(nk))
  return log_weights, means, _safe_cholesky(cov, reg_covar)


def e_step(state: GMMState, x: Array) -> tuple[Array, Array]:
  """``(mean log-likelihood [], log responsibilities [N, K])``."""
  joint = component_log_prob(state, x) + state.log_weights
  lp = logsumexp(joint, -1, keepdims=True)
  return jnp.mean(lp), joint - lp


def kmeans_plus_plus(rng: Array, x: Array, n_components: int) -> Array:
  """k-means++ seeding: each next centre drawn with probability ~ D^2.

  Returns:
    ``[K, D]`` centres (rows of ``x``).
  """
  n = x.shape[0]
  k0, rng = jax.random.split(rng)
  first = x[jax.random.randint(k0, (), 0, n)]
  centres = jnp.zeros((n_components, x.shape[1]), x.dtype).at[0].set(first)
  d2 = jnp.sum(jnp.square(x - first), -1)

  def body(i, carry):
    centres, d2 = carry
    # log(d2 + tiny): duplicated points give all-zero d2 and still a draw.
    logits = jnp.log(d2 + jnp.finfo(x.dtype).tiny)
    j = jax.random.categorical(jax.random.fold_in(rng, i), logits)
    centres = centres.at[i].set(x[j])
    d2 = jnp.minimum(d2, jnp.sum(jnp.square(x - x[j]), -1))
    return centres, d2

  centres, _ = jax.lax.fori_loop(1, n_components, body, (centres, d2))
  return centres


@functools.partial(jax.jit, static_argnames=("n_components",))
def init(rng: Array, x: Array, n_components: int, reg_covar: float = 1e-6,
         means: Array | None = None) -> GMMState:
  """Initial state from k-means++ (or given ``means``) and hard assignment.

  Args:
    rng: PRNG key.
    x: ``[N, D]`` data.
    n_components: K.
    reg_covar: covariance diagonal floor.
    means: optional ``[K, D]`` initial means (skips k-means++).
  """
  if x.ndim != 2:
    raise ValueError(f"gmm.init: x must be [N, D], got shape {x.shape}")
  if means is None:
    means = kmeans_plus_plus(rng, x, n_components)
  d2 = jnp.sum(jnp.square(x[:, None] - means[None]), -1)            # [N, K]
  hard = jax.nn.one_hot(jnp.argmin(d2, -1), n_components, dtype=x.dtype)
  log_resp = jnp.log(hard + jnp.finfo(x.dtype).tiny)
  log_w, means, chol = m_step(x, log_resp, reg_covar)
  return GMMState(log_w, means, chol, jnp.array(-jnp.inf, x.dtype),
                  jnp.array(jnp.inf, x.dtype), jnp.array(0, jnp.int32))


def _update(state: GMMState, x: Array, reg_covar: float = 1e-6) -> GMMState:
  ll, log_resp = e_step(state, x)
  log_w, means, chol = m_step(x, log_resp, reg_covar)
  return GMMState(log_w, means, chol, ll, jnp.abs(ll - state.log_likelihood),
                  state.n_iter + 1)


update = jax.jit(_update, donate_argnums=(0,))
update.__doc__ = """One EM iteration (E-step then M-step), jitted, state donated.

Args:
  state: current ``GMMState``.
  x: ``[N, D]`` data.
  reg_covar: covariance diagonal floor.

Returns:
  The new state; its ``log_likelihood`` is the mean log-likelihood under
  the *incoming* parameters (as sklearn's lower bound).
"""


@functools.partial(jax.jit, static_argnames=("max_iter",))
def fit_from(state: GMMState, x: Array, max_iter: int = 100, tol: float = 1e-3,
             reg_covar: float = 1e-6) -> GMMState:
  """EM from ``state`` until ``|delta mean LL| < tol`` or ``max_iter``."""
  start = state.n_iter

  def cond(s):
    return (s.n_iter - start < max_iter) & ~(s.delta < tol)

  return jax.lax.while_loop(cond, lambda s: _update(s, x, reg_covar), state)


def fit(rng: Array, x: Array, n_components: int, max_iter: int = 100,
        tol: float = 1e-3, reg_covar: float = 1e-6) -> GMMState:
  """k-means++ init followed by EM; ``x: [N, D]``."""
  x = jnp.asarray(x)
  state = init(rng, x, n_components, reg_covar)
  return fit_from(state, x, max_iter, tol, reg_covar)


def sample(rng: Array, state: GMMState, n: int) -> Array:
  """``n`` draws from the mixture -> ``[n, D]``."""
  kc, kz = jax.random.split(rng)
  comp = jax.random.categorical(kc, state.log_weights, shape=(n,))
  eps = jax.random.normal(kz, (n, state.means.shape[1]), state.means.dtype)
  return state.means[comp] + jnp.einsum("nde,ne->nd", state.chol[comp], eps)
