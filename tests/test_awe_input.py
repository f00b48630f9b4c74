"""Input pipeline: Kaldi = agwe segments, buckets, deterministic order, batches."""
import os
import tempfile

from absl.testing import absltest
import numpy as np

from awe_jax import data, input_pipeline as ip, kaldi
from jaxtk.errors import DataError
import awe_fixture


def _write(d, name, text):
  with open(os.path.join(d, name), "w") as f:
    f.write(text)


class InputTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = tempfile.mkdtemp()
    cls.agwe = awe_fixture.make_corpus(os.path.join(root, "agwe"), seed=3)
    kdir = os.path.join(root, "kaldi")
    awe_fixture.make_corpus(kdir, seed=3, writer=kaldi.write_split)
    cls.kaldi = kdir

  def test_kaldi_gives_the_same_segments(self):
    a = ip.load_dataset(self.agwe)
    k = ip.load_dataset(self.kaldi)
    self.assertEqual((a.layout, k.layout), ("agwe", "kaldi"))
    for split in data.SPLITS:
      sa, sk = a.splits[split], k.splits[split]
      np.testing.assert_array_equal(sa.words, sk.words)
      np.testing.assert_array_equal(sa.word_ids, sk.word_ids)
      for fa, fk in zip(sa.feats, sk.feats):
        np.testing.assert_allclose(fa, fk, atol=1e-6)

  def test_ctm_seconds_to_frames_and_errors(self):
    d = tempfile.mkdtemp()
    _write(d, "ctm", "u1 1 0.10 0.25 hello\nu1 1 0.35 0.05 a 0.9\n")
    self.assertEqual(kaldi.read_ctm(os.path.join(d, "ctm"))["u1"],
                     [("hello", 10, 35), ("a", 35, 40)])
    _write(d, "bad", "u1 1 zero 0.2 hi\n")
    with self.assertRaisesRegex(DataError, "line 1"):
      kaldi.read_ctm(os.path.join(d, "bad"))
    with self.assertRaisesRegex(DataError, "neither the agwe layout"):
      ip.load_dataset(tempfile.mkdtemp())

  def test_lexicon_vocab(self):
    d = tempfile.mkdtemp()
    _write(d, "lexicon.txt", "hi HH AY\nyou Y UW\nyou Y AH\n")
    v = kaldi.read_vocab(d)
    self.assertEqual(v.word_to_phones["you"], ("Y", "UW"))
    self.assertEqual(v.num_phones, 5)  # 4 phones + padding

  def test_buckets_order_and_batches(self):
    ds = ip.load_dataset(self.agwe)
    tr = ds.splits["train"]
    bounds = ip.bucket_boundaries(tr.lengths, 3)
    self.assertTrue(np.all(bounds % 8 == 0))
    self.assertGreaterEqual(bounds[-1], tr.lengths.max())
    e0 = ip.epoch_batches(tr.lengths, bounds, 16, seed=1, epoch=0)
    again = ip.epoch_batches(tr.lengths, bounds, 16, seed=1, epoch=0)
    e1 = ip.epoch_batches(tr.lengths, bounds, 16, seed=1, epoch=1)
    self.assertTrue(all(np.array_equal(a, b) for a, b in zip(e0, again)))
    self.assertFalse(all(np.array_equal(a, b) for a, b in zip(e0, e1)))
    np.testing.assert_array_equal(np.sort(np.concatenate(e0)), np.arange(len(tr)))
    frac = ip.padding_fraction(tr.lengths, e0, bounds, 16)
    self.assertGreater(frac, 0.0)
    self.assertLess(frac, 0.6)
    b = ip.make_batch(tr, e0[0], bounds, 16, ds.phone_table)
    n = len(e0[0])
    self.assertIn(b["feats"].shape[1], bounds.tolist())
    self.assertEqual(b["feats"].shape, (16, b["feats"].shape[1], 8))
    np.testing.assert_array_equal(b["mask"].sum(1)[:n], tr.lengths[e0[0]])
    # inv points every segment at its word's row of the unique-word array.
    np.testing.assert_array_equal(b["unique_ids"][b["inv"][:n]], tr.word_ids[e0[0]])
    self.assertEqual(b["word_valid"].sum(), len(set(tr.word_ids[e0[0]].tolist())))
    np.testing.assert_array_equal(b["phones"][b["inv"][0]],
                                  ds.phone_table[tr.word_ids[e0[0][0]]])


if __name__ == "__main__":
  absltest.main()
