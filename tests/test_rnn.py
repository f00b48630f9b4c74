"""The codebase's BiGRU/BiLSTM encoders: shapes, dtypes, padding invariance."""
from absl.testing import absltest
from absl.testing import parameterized
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from awe_jax import rnn


class BiRNNTest(parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((nn.GRUCell,), (nn.OptimizedLSTMCell,))
  def test_shapes_and_padding_invariance(self, cell):
    enc = rnn.RNNAcousticEncoder(num_layers=2, hidden=8, cell_type=cell)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 5)).astype(np.float32)
    lengths = np.array([7, 4, 2], np.int32)
    params = enc.init(jax.random.key(0), x, lengths)
    apply = self.variant(lambda p, a, l: enc.apply(p, a, l))
    emb = apply(params, x, lengths)
    chex.assert_shape(emb, (3, 16))
    chex.assert_type(emb, jnp.float32)
    # Padding with garbage, and padding to a longer static shape, changes
    # nothing: the final states come from the valid frames only.
    noisy = x.copy()
    for i, n in enumerate(lengths):
      noisy[i, n:] = 1e3
    longer = np.concatenate([noisy, np.full((3, 5, 5), -7.0, np.float32)], 1)
    np.testing.assert_allclose(apply(params, noisy, lengths), emb, atol=1e-6)
    np.testing.assert_allclose(apply(params, longer, lengths), emb, atol=1e-6)
    # And a sequence alone, unpadded, gives the same embedding.
    alone = apply(params, x[1:2, :4], lengths[1:2])
    np.testing.assert_allclose(alone[0], emb[1], atol=1e-5)

  def test_backward_state_reads_the_sequence_backwards(self):
    # Reversing a sequence swaps the roles of the two directions of a
    # one-layer BiRNN whose directions share weights.
    layer = rnn.BiRNN(num_layers=1, hidden=4, dropout=0.0)
    x = np.random.default_rng(1).normal(size=(1, 5, 3)).astype(np.float32)
    lengths = np.array([5], np.int32)
    params = layer.init(jax.random.key(0), x, lengths)
    p = params["params"]
    tied = {"params": {"fwd_0": p["fwd_0"], "bwd_0": p["fwd_0"]}}
    _, a = layer.apply(tied, x, lengths)
    _, b = layer.apply(tied, x[:, ::-1], lengths)
    np.testing.assert_allclose(a[:, :4], b[:, 4:], atol=1e-6)
    np.testing.assert_allclose(a[:, 4:], b[:, :4], atol=1e-6)

  def test_phone_encoder_shapes(self):
    enc = rnn.RNNPhoneEncoder(num_phones=40, num_layers=2, hidden=6)
    phones = np.array([[3, 4, 5, 0], [7, 0, 0, 0]], np.int32)
    lengths = np.array([3, 1], np.int32)
    params = enc.init(jax.random.key(0), phones, lengths)
    out = enc.apply(params, phones, lengths)
    chex.assert_shape(out, (2, 12))
    # The padded id-0 positions do not matter.
    other = phones.copy()
    other[1, 1:] = 9
    np.testing.assert_allclose(enc.apply(params, other, lengths), out, atol=1e-6)

  def test_dropout_only_in_training(self):
    enc = rnn.RNNAcousticEncoder(num_layers=2, hidden=4, dropout=0.5)
    x = np.ones((2, 4, 3), np.float32)
    lengths = np.array([4, 3], np.int32)
    params = enc.init(jax.random.key(0), x, lengths)
    a = enc.apply(params, x, lengths, train=True, rngs={"dropout": jax.random.key(1)})
    b = enc.apply(params, x, lengths, train=True, rngs={"dropout": jax.random.key(2)})
    assert not np.allclose(a, b)
    # Evaluation uses no dropout: it equals training of the same parameters
    # with dropout 0, whatever rng is passed.
    no_drop = rnn.RNNAcousticEncoder(num_layers=2, hidden=4, dropout=0.0)
    ref = no_drop.apply(params, x, lengths, train=True,
                        rngs={"dropout": jax.random.key(3)})
    for key in (1, 2):
      c = enc.apply(params, x, lengths, rngs={"dropout": jax.random.key(key)})
      np.testing.assert_array_equal(c, ref)


class RNNTrainingTest(absltest.TestCase):
  """``--encoder=bigru`` runs through the same training and evaluation code."""

  def test_bigru_trains_end_to_end(self):
    import dataclasses
    import os
    import tempfile
    from awe_jax import configs, train
    import awe_fixture
    root = tempfile.mkdtemp()
    data_dir = awe_fixture.make_corpus(os.path.join(root, "data"))
    cfg = configs.tiny()
    cfg = dataclasses.replace(
        cfg, epochs=1, grad_clip=10.0, hinge_each=True, num_buckets=1,
        model=dataclasses.replace(cfg.model, encoder="bigru", rnn_hidden=8,
                                  rnn_acoustic_layers=2, rnn_phone_layers=1,
                                  phone_embed_dim=8))
    out = train.train_and_evaluate(cfg, os.path.join(root, "run"), data_dir)
    embs = np.load(os.path.join(root, "run", "dev-embs.npz"))
    self.assertEqual(embs["embs1"].shape[1], 16)  # 2 directions x 8 units
    # The reported APs are those of the saved BiGRU embeddings, recomputed
    # with scikit-learn over every pair (acoustic) and every segment x word
    # pair (cross-view).
    from sklearn.metrics import average_precision_score
    unit = lambda e: e / np.linalg.norm(e, axis=1, keepdims=True)
    e1 = unit(embs["embs1"].astype(np.float64))
    e2 = unit(embs["embs2"].astype(np.float64))
    i, j = np.triu_indices(len(e1), 1)
    acoustic = average_precision_score(
        embs["ids1"][i] == embs["ids1"][j], np.sum(e1[i] * e1[j], 1))
    crossview = average_precision_score(
        (embs["ids1"][:, None] == embs["ids2"][None]).ravel(),
        (e1 @ e2.T).ravel())
    self.assertAlmostEqual(out["dev_acoustic_ap"], acoustic, delta=1e-5)
    self.assertAlmostEqual(out["dev_crossview_ap"], crossview, delta=1e-5)
