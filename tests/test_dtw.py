"""MFCC+DTW baseline: hand-computed DTW, parallel kernel, AP vs sklearn."""
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from awe_jax import dtw
from awe_jax.metrics import same_word_pairs


def test_dtw_distance_hand_computed_3x2():
  a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
  b = np.array([[1.0, 0.0], [0.0, 1.0]])
  # Cosine distances: d(a0,b0)=0, d(a1,b1)=0, d(a2,b*)=1-1/sqrt(2), else 1.
  # Cheapest path (0,0)->(1,1)->(2,1): cost 1-1/sqrt(2) over 3 cells.
  expected = (1.0 - 1.0 / np.sqrt(2.0)) / 3.0
  assert dtw.dtw_distance(a, b) == pytest.approx(expected, abs=1e-12)
  assert dtw.dtw_distance(b, a) == pytest.approx(expected, abs=1e-12)


def test_dtw_distance_is_zero_for_time_warped_copy():
  rng = np.random.default_rng(0)
  a = rng.standard_normal((5, 4))
  stretched = np.repeat(a, 2, axis=0) * 3.0   # cosine ignores scale
  assert dtw.dtw_distance(a, stretched) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 16))
def test_dtw_distance_is_symmetric_bounded_and_zero_on_itself(n, m, seed):
  rng = np.random.default_rng(seed)
  a, b = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
  d = dtw.dtw_distance(a, b)
  assert 0.0 <= d <= 2.0
  assert d == pytest.approx(dtw.dtw_distance(b, a), abs=1e-12)
  assert dtw.dtw_distance(a, a) == pytest.approx(0.0, abs=1e-12)


def test_pdist_matches_pairwise_reference():
  rng = np.random.default_rng(1)
  feats = [rng.standard_normal((rng.integers(1, 9), 3)) for _ in range(7)]
  got = dtw.dtw_pdist(feats)
  want = [dtw.dtw_distance(feats[i], feats[j])
          for i in range(7) for j in range(i + 1, 7)]
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_dtw_ap_matches_sklearn():
  rng = np.random.default_rng(2)
  words = np.array(["a", "b", "a", "c", "b", "a", "c", "b"])
  protos = {w: rng.standard_normal((6, 5)) for w in set(words)}
  feats = [protos[w] + 0.8 * rng.standard_normal((6, 5)) for w in words]
  d = dtw.dtw_pdist(feats)
  want = average_precision_score(same_word_pairs(words), -d)
  assert dtw.dtw_acoustic_ap(feats, words) == pytest.approx(want, abs=1e-12)


def test_bad_input_raises():
  with pytest.raises(ValueError):
    dtw.dtw_distance(np.zeros((2, 3)), np.zeros((2, 4)))
  with pytest.raises(ValueError):
    dtw.dtw_acoustic_ap([np.ones((2, 3))] * 2, ["a"])
