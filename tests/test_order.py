"""jaxtk.order: medians by bisection, against numpy."""
import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxtk import order


def _cases():
  rng = np.random.default_rng(0)
  ties = rng.integers(-2, 3, (100, 6)).astype(np.float32)
  ties[0, 0] = -0.0
  yield rng.standard_normal((1, 6)).astype(np.float32)
  yield ties[:2]
  yield rng.standard_normal((7, 6)).astype(np.float32)  # signs mixed
  yield ties
  yield (rng.exponential(size=(100, 6)) * 1e-30).astype(np.float32)
  yield np.array([[np.inf], [-np.inf], [1e38], [-1e38], [0.0]], np.float32)


class MedianTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_equals_numpy_with_and_without_a_mask(self):
    rng = np.random.default_rng(1)
    median = self.variant(order.median)
    kth = self.variant(order.kth_smallest)
    for x in _cases():
      n = x.shape[0]
      got = median(x)
      chex.assert_shape(got, (x.shape[1],))
      chex.assert_type(got, jnp.float32)
      np.testing.assert_array_equal(got, np.median(x, axis=0))
      valid = rng.random(n) < 0.5
      valid[-1] = True
      np.testing.assert_array_equal(median(x, jnp.asarray(valid)),
                                    np.median(x[valid], axis=0))
      k = n // 3
      np.testing.assert_array_equal(kth(x, k), np.sort(x, axis=0)[k])

  def test_no_valid_row_is_nan_and_one_shape_serves_any_count(self):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    f = jax.jit(chex.assert_max_traces(order.median, n=1))
    assert np.isnan(f(x, jnp.zeros(6, bool))).all()
    for m in range(1, 7):  # traced mask: one compilation
      np.testing.assert_array_equal(f(x, jnp.arange(6) < m),
                                    np.median(x[:m], axis=0))
