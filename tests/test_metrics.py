"""AUC / pAUC / TPR-at-FPR against scikit-learn."""
import numpy as np
import pytest
from sklearn import metrics as skm

from anomaly_jax import metrics


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_pauc_match_sklearn(seed):
  r = np.random.default_rng(seed)
  y = r.integers(0, 2, 300)
  y[:2] = [0, 1]
  s = np.round(r.normal(size=300) + y, 1)  # rounding makes ties
  assert metrics.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
  for mf in (0.05, 0.1, 0.5):
    assert metrics.partial_auc(y, s, mf) == pytest.approx(
        skm.roc_auc_score(y, s, max_fpr=mf), abs=1e-12)


def test_tpr_at_fpr_matches_sklearn_curve():
  r = np.random.default_rng(9)
  y = r.integers(0, 2, 500)
  s = r.normal(size=500) + 1.5 * y
  fpr, tpr, _ = skm.roc_curve(y, s)
  assert metrics.tpr_at_fpr(y, s, 0.05) == pytest.approx(tpr[fpr <= 0.05].max())


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="both positive and negative"):
    metrics.auc([1, 1], [0.1, 0.2])
  with pytest.raises(ValueError, match="NaN"):
    metrics.auc([0, 1], [0.1, np.nan])


def test_infinite_scores_rank_at_the_ends_and_one_class_raises():
  r = np.random.default_rng(3)
  y = r.integers(0, 2, 200)
  y[:2] = [0, 1]
  s = np.round(r.normal(size=200) + y, 1)
  s[r.random(200) < 0.1] = -np.inf   # tied at -inf, as unscored windows
  finite = np.where(np.isinf(s), s[np.isfinite(s)].min() - 1.0, s)
  assert metrics.auc(y, s) == pytest.approx(
      skm.roc_auc_score(y, finite), abs=1e-12)
  with pytest.raises(ValueError, match="both positive and negative"):
    metrics.auc(np.zeros(5), np.arange(5.0))
