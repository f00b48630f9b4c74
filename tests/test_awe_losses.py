"""Eq. (4) loss: a hand-computed 3-word example and a brute-force reference."""
from absl.testing import absltest, parameterized
import chex
import jax.numpy as jnp
import numpy as np

from awe_jax import losses

S = 1 / np.sqrt(2)
# Words A, B, C with phone embeddings yA = (1, 0), yB = (0, 1), yC = (-1, 0);
# segments x1 (A) = (1, 0), x2 (B) = (1, 1)/sqrt2, x3 (C) = (0, 1); a fourth
# segment and a fourth word row are padding (garbage that must not count).
X = np.array([[1, 0], [S, S], [0, 1], [5, -3]], np.float32)
X_VALID = np.array([1, 1, 1, 0], bool)
Y = np.array([[1, 0], [0, 1], [-1, 0], [0.3, 0.1]], np.float32)
Y_VALID = np.array([1, 1, 1, 0], bool)
INV = np.array([0, 1, 2, 0], np.int32)
D45 = 1 - S  # 0.2929: distance at 45 degrees

# Per segment (rows) and term (obj0, obj1, obj2), worked out by hand
# (see the module docstring of awe_jax.losses), margin 0.5.
HAND = {
    (1, False): [[0, 0, 0.5 - D45], [0.5, 0, 0.5 + D45], [1.5, 0.5, 0]],
    (2, False): [[0, 0, 0], [0, 0, D45], [1.0, 0, 0]],
    # semi-hard drops obj0/obj2 negatives closer than the segment's positive:
    # x3 loses yB for obj0; word B loses x3 for obj2.
    (1, True): [[0, 0, 0.5 - D45], [0.5, 0, 0], [0.5, 0.5, 0]],
}


def brute_force(x, xv, y, yv, inv, margin, k, semi_hard, hinge_each):
  """Loops over segments and words, as literally as eq. (4) reads."""
  def d(a, b):
    return 1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b)
  def term(dpos, negs):
    negs = sorted(negs)[:k]
    if not negs:
      return 0.0
    if hinge_each:
      return float(np.mean([max(0, margin + dpos - n) for n in negs]))
    return max(0.0, margin + dpos - float(np.mean(negs)))
  out = np.zeros((3, len(x)))
  words = [v for v in range(len(y)) if yv[v]]
  for i in range(len(x)):
    if not xv[i]:
      continue
    w = inv[i]
    dpos = d(x[i], y[w])
    n0 = [d(x[i], y[v]) for v in words if v != w]
    if semi_hard:
      n0 = [n for n in n0 if n >= dpos]
    n1 = [d(y[w], y[v]) for v in words if v != w]
    n2 = [d(y[w], x[j]) for j in range(len(x)) if xv[j] and inv[j] != w
          and (not semi_hard or d(y[w], x[j]) >= d(x[j], y[inv[j]]))]
    out[:, i] = [term(dpos, n0), term(dpos, n1), term(dpos, n2)]
  return out


class LossTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((1, False), (2, False), (1, True))
  def test_hand_computed(self, k, semi_hard):
    fn = self.variant(lambda *a: losses.multiview_triplet_loss(
        *a, margin=0.5, k=k, k_max=4, semi_hard=semi_hard))
    per_seg, terms = fn(X, X_VALID, Y, Y_VALID, INV)
    expect = np.zeros((3, 4))
    expect[:, :3] = np.asarray(HAND[(k, semi_hard)]).T
    np.testing.assert_allclose(terms, expect, atol=1e-5)
    np.testing.assert_allclose(per_seg, expect.sum(0), atol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((3, False, False), (3, True, False), (2, True, True),
                            (16, False, True))
  def test_matches_brute_force(self, k, semi_hard, hinge_each):
    rng = np.random.default_rng(k)
    b, m_valid, m = 12, 5, 12
    inv = rng.integers(0, m_valid, b).astype(np.int32)
    inv[:m_valid] = np.arange(m_valid)  # every word has a segment
    x = rng.normal(size=(b, 6)).astype(np.float32)
    y = rng.normal(size=(m, 6)).astype(np.float32)
    xv = np.arange(b) < 10
    yv = np.arange(m) < m_valid
    fn = self.variant(lambda *a: losses.multiview_triplet_loss(
        *a, margin=0.4, k=k, k_max=16, semi_hard=semi_hard,
        hinge_each=hinge_each))
    _, terms = fn(x, xv, y, yv, inv)
    np.testing.assert_allclose(
        terms, brute_force(x, xv, y, yv, inv, 0.4, k, semi_hard, hinge_each),
        atol=1e-5)

  def test_no_same_word_negative(self):
    # Two segments of word A sit exactly on yA; the other words are
    # orthogonal.  A same-word negative (distance 0) would make every term
    # positive; the right negatives are all at distance >= 1.
    x = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32)
    inv = np.array([0, 0, 1, 2], np.int32)
    per_seg, _ = losses.multiview_triplet_loss(
        x, np.ones(4, bool), y, np.array([1, 1, 1, 0], bool), inv, margin=0.5,
        k=1, k_max=1, semi_hard=False)
    np.testing.assert_allclose(per_seg, np.zeros(4), atol=1e-6)

  def test_topk_schedule_and_cos2(self):
    ks = [int(losses.topk_at_step(s, 16, 8)) for s in (0, 1, 7, 8, 100)]
    self.assertEqual(ks, [16, 15, 9, 8, 8])
    sim = jnp.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(losses.distance_from_similarity(sim, "cos2"),
                               [0, 1, 0])
    with self.assertRaises(ValueError):
      losses.distance_from_similarity(sim, "l2")


if __name__ == "__main__":
  absltest.main()
