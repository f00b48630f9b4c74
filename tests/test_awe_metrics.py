"""Blocked on-device AP against sklearn, the NumPy reference and a toy."""
from absl.testing import absltest, parameterized
import numpy as np
from sklearn.metrics import average_precision_score

from awe_jax import metrics


def _unit(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


class APTest(parameterized.TestCase):

  @parameterized.parameters((40, 4, 8), (301, 40, 32))
  def test_acoustic_ap_equals_sklearn(self, n, k, rows):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    y = rng.integers(0, k, n)
    xn = _unit(x.astype(np.float64))
    i, j = np.triu_indices(n, 1)
    d = 1 - np.sum(xn[i] * xn[j], 1)
    ref = average_precision_score(y[i] == y[j], -d)
    self.assertAlmostEqual(metrics.acoustic_ap(x, y, rows=rows), ref, delta=1e-6)
    self.assertAlmostEqual(metrics.average_precision(d, y[i] == y[j]), ref,
                           delta=1e-9)

  @parameterized.parameters((60, 7, 8), (211, 30, 16))
  def test_crossview_ap_equals_sklearn(self, n, m, rows):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 10)).astype(np.float32)
    w = rng.normal(size=(m, 10)).astype(np.float32)
    labels = np.array([f"w{v}" for v in rng.integers(0, m + 2, n)])  # some unseen
    wl = np.array([f"w{v}" for v in range(m)])
    d = 1 - _unit(x.astype(np.float64)) @ _unit(w.astype(np.float64)).T
    ref = average_precision_score((labels[:, None] == wl[None]).ravel(), -d.ravel())
    got = metrics.crossview_ap(x, labels, w, wl, rows=rows)
    self.assertAlmostEqual(got, ref, delta=1e-6)

  def test_toy_by_hand(self):
    # Four segments on a line of angles; words a a b b.
    ang = np.deg2rad([0, 10, 60, 100])
    x = np.stack([np.cos(ang), np.sin(ang)], 1)
    # Pairs by distance: (0,1) 10deg +, (2,3) 40deg +, (1,2) 50deg -,
    # (0,2) 60deg -, (1,3) 90deg -, (0,3) 100deg -: AP = (1/1 + 2/2) / 2 = 1.
    self.assertAlmostEqual(metrics.acoustic_ap(x, ["a", "a", "b", "b"], rows=2), 1.0, 6)
    # Words a b a b: positives (0,2) at rank 4 and (1,3) at rank 5:
    # AP = (1/4 + 2/5) / 2.
    self.assertAlmostEqual(metrics.acoustic_ap(x, ["a", "b", "a", "b"], rows=2),
                           (1 / 4 + 2 / 5) / 2, 6)
    # Cross-view: words a (0 deg) and b (90 deg); segments a@0, b@10, a@60.
    # Ranking: (s0,a) 0+, (s1,a) 10-, (s2,b) 30-, (s2,a) 60+, (s1,b) 80+,
    # (s0,b) 90-: AP = (1/1 + 2/4 + 3/5) / 3.
    seg = np.stack([np.cos(np.deg2rad([0, 10, 60])), np.sin(np.deg2rad([0, 10, 60]))], 1)
    words = np.array([[1, 0], [0, 1]], float)
    self.assertAlmostEqual(
        metrics.crossview_ap(seg, ["a", "b", "a"], words, ["a", "b"], rows=2),
        (1 + 2 / 4 + 3 / 5) / 3, 6)

  def test_ties_follow_sklearn(self):
    x = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    y = np.array([0, 0, 1, 1, 2])
    i, j = np.triu_indices(5, 1)
    xn = _unit(x.astype(np.float64))
    d = 1 - np.sum(xn[i] * xn[j], 1)
    ref = average_precision_score(y[i] == y[j], -d)
    self.assertAlmostEqual(metrics.acoustic_ap(x, y, rows=2), ref, 6)

  def test_collapsed_embeddings(self):
    # Every embedding identical: all distances tie, and AP is the share of
    # positive pairs (sklearn's tie-grouped AP), for both measures.
    rng = np.random.default_rng(7)
    y = rng.integers(0, 4, 30)
    x = np.tile(rng.normal(size=(1, 8)).astype(np.float32), (30, 1))
    i, j = np.triu_indices(30, 1)
    ref = average_precision_score(y[i] == y[j], np.zeros(len(i)))
    self.assertAlmostEqual(ref, np.mean(y[i] == y[j]), 12)
    self.assertAlmostEqual(metrics.acoustic_ap(x, y, rows=8), ref, 6)
    w = np.tile(x[:1], (4, 1))
    self.assertAlmostEqual(metrics.crossview_ap(x, y, w, np.arange(4), rows=8),
                           0.25, 6)

  def test_ties_from_real_float_distances(self):
    """Exact copies of a few float32 vectors: positive and negative pairs
    are mathematically tied, but the positives' distances are computed as
    ``sum(a[i] * a[j])`` and the negatives' by a blocked matmul, which round
    differently (without ``metrics.TIE_TOL`` AP was off by up to 0.02)."""
    rng = np.random.default_rng(11)
    n = 61
    dirs = rng.normal(size=(5, 16)).astype(np.float32)
    which = rng.integers(0, 5, n)
    y = rng.integers(0, 6, n)
    # Reference distances from the 5 x 5 direction matrix: ties are exact.
    du = _unit(dirs.astype(np.float64))
    dd = 1 - du @ du.T
    np.fill_diagonal(dd, 0.0)
    i, j = np.triu_indices(n, 1)
    ref = average_precision_score(y[i] == y[j], -dd[which[i], which[j]])
    self.assertAlmostEqual(metrics.acoustic_ap(dirs[which], y, rows=8), ref, 6)
    wdir = np.array([0, 1, 2, 3, 4, 0])
    refc = average_precision_score((y[:, None] == np.arange(6)[None]).ravel(),
                                   -dd[which][:, wdir].ravel())
    self.assertAlmostEqual(metrics.crossview_ap(dirs[which], y, dirs[wdir],
                                                np.arange(6), rows=8), refc, 6)

  def test_duplicates_past_two_to_the_31_pairs_match_counting(self):
    # 100,000 segments that are 8 distinct (direction, word) rows: 5.0e9
    # pairs, more than 2^31 of them negative, so 32-bit counts would wrap.
    # Four directions at well-separated angles give few distinct distances,
    # and the float64 reference counts pairs per distance.
    ang = np.deg2rad([0, 10, 60, 100])
    dirs = np.stack([np.cos(ang), np.sin(ang)], 1)
    rows = np.repeat(np.arange(4), 2)
    words = np.tile([0, 1], 4)
    mult = np.array([9000, 16000, 11000, 14000, 13000, 12000, 15000, 10000])
    x = np.repeat(dirs[rows], mult, axis=0).astype(np.float32)
    y = np.repeat(words, mult)
    pos, neg = {}, {}
    for r in range(8):
      for s in range(r, 8):
        n_pairs = mult[r] * (mult[r] - 1) // 2 if r == s else mult[r] * mult[s]
        d = round(1 - float(dirs[rows[r]] @ dirs[rows[s]]), 6)
        book = pos if words[r] == words[s] else neg
        book[d] = book.get(d, 0) + n_pairs
    self.assertGreater(sum(neg.values()), 2**31)
    ref, pos_le, all_le = 0.0, 0, 0
    for d in sorted(set(pos) | set(neg)):
      pos_le += pos.get(d, 0)
      all_le += pos.get(d, 0) + neg.get(d, 0)
      ref += pos.get(d, 0) * pos_le / all_le
    ref /= sum(pos.values())
    self.assertAlmostEqual(metrics.acoustic_ap(x, y), ref, delta=1e-9)
    # Cross-view: words 0 and 1 written at 0 and 60 degrees.
    w = dirs[[0, 2]].astype(np.float32)
    dw = {}
    for r in range(8):
      for k in range(2):
        d = round(1 - float(dirs[rows[r]] @ dirs[2 * k]), 6)
        key = (d, words[r] == k)
        dw[key] = dw.get(key, 0) + mult[r]
    ref, pos_le, all_le = 0.0, 0, 0
    for d in sorted({d for d, _ in dw}):
      p = dw.get((d, True), 0)
      pos_le += p
      all_le += p + dw.get((d, False), 0)
      ref += p * pos_le / all_le
    ref /= mult.sum()
    self.assertAlmostEqual(metrics.crossview_ap(x, y, w, [0, 1]), ref,
                           delta=1e-9)

  def test_other_distances_reuse_the_compiled_kernel(self):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 60)
    metrics.acoustic_ap(rng.normal(size=(60, 8)), y)
    before = metrics._negative_histogram._cache_size()  # pylint: disable=protected-access
    for scale in (0.1, 3.0):  # other spans of the positive distances
      metrics.acoustic_ap(rng.normal(size=(60, 8)) + scale, y)
    self.assertEqual(metrics._negative_histogram._cache_size(), before)  # pylint: disable=protected-access

  def test_no_positive_is_zero(self):
    x = np.eye(4, dtype=np.float32)
    self.assertEqual(metrics.acoustic_ap(x, [0, 1, 2, 3]), 0.0)
    with self.assertRaises(ValueError):
      metrics.crossview_ap(x, [0, 1, 2, 3], x[:2], [0, 0])


if __name__ == "__main__":
  absltest.main()
