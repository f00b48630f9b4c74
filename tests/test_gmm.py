"""The log-space GMM: densities vs scipy, EM vs scikit-learn from the same
start, EM recovery, degenerate cases, sample moments."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized
from scipy import stats
from sklearn.mixture import GaussianMixture
import warnings

from anomaly_jax import gmm


def _random_state(rng, k, d):
  a = rng.normal(size=(k, d, d))
  cov = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(d)
  w = rng.dirichlet(np.ones(k))
  return gmm.GMMState(jnp.log(w), jnp.asarray(rng.normal(size=(k, d)) * 2),
                      jnp.linalg.cholesky(jnp.asarray(cov)), jnp.array(0.),
                      jnp.array(0.), jnp.array(0)), w, cov


def _blobs(rng, centres, n=200, scale=0.3):
  return np.concatenate([c + scale * rng.normal(size=(n, len(c)))
                         for c in centres]).astype(np.float32)


class GMMTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_log_density_matches_scipy(self):
    rng = np.random.default_rng(0)
    state, w, cov = _random_state(rng, 3, 5)
    x = rng.normal(size=(50, 5)).astype(np.float32) * 2
    comp = self.variant(gmm.component_log_prob)(state, x)
    for k in range(3):
      ref = stats.multivariate_normal(np.asarray(state.means[k]),
                                      cov[k]).logpdf(x)
      np.testing.assert_allclose(comp[:, k], ref, rtol=1e-4, atol=1e-3)
    mix = np.log(sum(w[k] * stats.multivariate_normal(
        np.asarray(state.means[k]), cov[k]).pdf(x) for k in range(3)))
    np.testing.assert_allclose(self.variant(gmm.log_prob)(state, x), mix,
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(self.variant(gmm.nll)(state, x), -mix,
                               rtol=1e-4, atol=1e-3)

  def test_em_recovers_separated_clusters(self):
    rng = np.random.default_rng(1)
    centres = np.array([[0., 0.], [8., 0.], [0., 8.]])
    x = _blobs(rng, centres)
    state = gmm.fit(jax.random.key(0), x, 3, max_iter=100, tol=1e-5)
    got = np.asarray(state.means)
    for c in centres:
      self.assertLess(np.min(np.linalg.norm(got - c, axis=1)), 0.1)
    np.testing.assert_allclose(np.exp(state.log_weights), 1 / 3, atol=0.02)
    np.testing.assert_allclose(np.asarray(state.covariances)[:, 0, 0], 0.09,
                               rtol=0.3)

  def test_update_step_increases_likelihood(self):
    rng = np.random.default_rng(2)
    x = jnp.asarray(_blobs(rng, np.array([[0., 0., 0.], [3., 3., 3.]])))
    state = gmm.init(jax.random.key(1), x, 4)
    lls = []
    for _ in range(6):
      state = gmm.update(state, x)
      lls.append(float(state.log_likelihood))
    self.assertTrue(np.all(np.diff(lls) >= -1e-4), lls)

  @parameterized.named_parameters(
      ("toy_2d", "toy"), ("latent_64d", "d64"), ("duplicated", "dup"),
      ("collapsed_component", "collapse"))
  def test_never_nan(self, case):
    rng = np.random.default_rng(3)
    if case == "toy":
      x, k, means = _blobs(rng, np.array([[0., 0.], [1., 1.]]), 50), 5, None
    elif case == "d64":
      x, k, means = rng.normal(size=(300, 64)).astype(np.float32), 4, None
    elif case == "dup":
      x = np.repeat(rng.normal(size=(3, 8)), 40, 0).astype(np.float32)
      k, means = 6, None
    else:  # a component far from all data gets no responsibility at all
      x = rng.normal(size=(200, 4)).astype(np.float32)
      k, means = 3, jnp.asarray([[0.] * 4, [1.] * 4, [1e4] * 4])
    x = jnp.asarray(x)
    state = gmm.init(jax.random.key(0), x, k, means=means)
    state = gmm.fit_from(state, x, max_iter=30, tol=0.0)
    for leaf in jax.tree.leaves(state):
      self.assertTrue(np.all(np.isfinite(np.asarray(leaf))), (case, state))
    self.assertTrue(np.all(np.exp(state.log_weights) > 0))
    self.assertTrue(np.all(np.isfinite(gmm.nll(state, x))))
    self.assertTrue(np.all(np.isfinite(gmm.sample(jax.random.key(1), state,
                                                  7))))

  def test_sample_moments(self):
    rng = np.random.default_rng(4)
    state, w, cov = _random_state(rng, 2, 3)
    z = np.asarray(gmm.sample(jax.random.key(0), state, 40000))
    mu = np.asarray(state.means, np.float64)
    mean = (w[:, None] * mu).sum(0)
    # Mixture covariance: sum_k w_k (Sigma_k + mu_k mu_k^T) - mean mean^T.
    second = np.einsum("k,kij->ij", w, cov + np.einsum("ki,kj->kij", mu, mu))
    full_cov = second - np.outer(mean, mean)
    np.testing.assert_allclose(z.mean(0), mean, atol=0.1)
    scale = np.sqrt(np.outer(np.diag(full_cov), np.diag(full_cov)))
    # Sampling error of a covariance entry ~ scale * sqrt(2 / n) ~ 0.007 scale.
    np.testing.assert_allclose(np.cov(z.T), full_cov, atol=0.04 * scale.max())

  def test_em_matches_sklearn_from_the_same_start(self):
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(3, 4)) * 1.5
    a = rng.normal(size=(3, 4, 4)) / 2
    comp = rng.integers(0, 3, 1500)
    # Overlapping, well-conditioned components: EM still moves at step 10.
    x = (centres[comp] + np.einsum("nde,ne->nd", a[comp],
                                   rng.normal(size=(1500, 4)))
         + 0.5 * rng.normal(size=(1500, 4))).astype(np.float32)
    xj = jnp.asarray(x)
    state0 = gmm.init(jax.random.key(0), xj, 3)
    ours = gmm.fit_from(state0, xj, max_iter=10, tol=0.0)
    w0 = np.exp(np.asarray(state0.log_weights, np.float64))
    sk = GaussianMixture(3, covariance_type="full", tol=0.0, max_iter=10,
                         reg_covar=1e-6, weights_init=w0 / w0.sum(),
                         means_init=np.asarray(state0.means, np.float64),
                         precisions_init=np.linalg.inv(
                             np.asarray(state0.covariances, np.float64)))
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 on purpose
      sk.fit(x.astype(np.float64))
    self.assertEqual(int(ours.n_iter), sk.n_iter_)
    # float32 EM against float64 EM, 10 iterations from the same start
    # (measured differences: 4e-7 in log-likelihood, 1e-6 in parameters).
    self.assertAlmostEqual(float(ours.log_likelihood), sk.lower_bound_,
                           delta=1e-5)
    self.assertAlmostEqual(float(jnp.mean(gmm.log_prob(ours, xj))),
                           sk.score(x.astype(np.float64)), delta=1e-5)
    np.testing.assert_allclose(np.exp(ours.log_weights), sk.weights_, atol=1e-5)
    np.testing.assert_allclose(ours.means, sk.means_, atol=1e-4)
    np.testing.assert_allclose(ours.covariances, sk.covariances_, atol=1e-4)
