"""awe_jax.inference and awe_jax.pronounce: shapes, resampling, stereo,
features as in training, bad inputs, loading, espeak-ng -> ARPAbet."""
import dataclasses
import json
import os
import subprocess

import chex
import jax
import numpy as np
import pytest
import soundfile as sf

from awe_jax import configs, inference, model_card, pronounce, train
from awe_jax.corpus import features, lexicon
from awe_jax.factory import build_model
from awe_jax.models import init_params
from jaxtk.checkpoint import Checkpoints
from jaxtk.errors import DataError


def tiny_embedder(seed=0, phones=lexicon.PHONES):
  cfg = configs.tiny()
  card = model_card.ModelCard(phones=tuple(phones),
                              features=dict(features.SETTINGS))
  params = init_params(build_model(cfg, len(phones) + 1),
                       jax.random.PRNGKey(seed), features.DIM)
  return inference.Embedder(cfg, card, params)


@pytest.fixture(scope="module")
def emb():
  return tiny_embedder()


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("audio") / "hello.wav")  # 22.05 kHz
  subprocess.run(["espeak-ng", "-w", path, "hello"], check=True)
  return path


def test_audio_shapes_resampling_stereo(emb, wav):
  y, sr = sf.read(wav, dtype="float32")
  assert sr != 8000
  a = emb.embed_audio(wav)
  chex.assert_shape(a, (emb.dim,))
  assert a.dtype == np.float32
  np.testing.assert_allclose(emb.embed_audio(y, sr), a, atol=1e-6)
  np.testing.assert_allclose(emb.embed_audio(np.stack([y, y], 1), sr), a, atol=1e-6)
  y16 = inference.librosa.resample(y, orig_sr=sr, target_sr=16000)
  b = emb.embed_audio(y16, 16000)
  assert np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) > 0.98
  chex.assert_shape(emb.embed_segments([wav, y16], sr=16000), (2, emb.dim))


def test_features_exactly_as_training(emb, wav):
  """embed_audio == the model applied to the corpus' mfcc39 of the 8 kHz audio."""
  y = inference.load_audio(wav)
  x = features.mfcc39(y)
  ref = emb.model.apply({"params": emb.params}, x[None], np.ones((1, len(x)), bool),
                        method="acoustic")[0]
  np.testing.assert_allclose(emb.embed_audio(y, 8000), ref, atol=2e-5)


def _librosa_mfcc_deltas(y):
  """The corpus' features as librosa's mfcc and delta compute them."""
  m = inference.librosa.feature.mfcc(
      y=y, sr=8000, n_mfcc=13, n_fft=200, win_length=200, hop_length=80,
      n_mels=40, fmin=20.0, fmax=4000.0)
  d1 = inference.librosa.feature.delta(m, order=1, mode="nearest")
  d2 = inference.librosa.feature.delta(m, order=2, mode="nearest")
  return np.concatenate([m, d1, d2], axis=0).T


@pytest.mark.parametrize("n", [400, 479, 8000, 12345])
def test_mfcc_deltas_match_librosa(wav, n):
  y = np.resize(inference.load_audio(wav), n)   # speech; 12345: repeated
  got = features.mfcc_deltas(y)
  chex.assert_shape(got, (1 + n // 80, 39))
  assert got.dtype == np.float32
  np.testing.assert_allclose(got, _librosa_mfcc_deltas(y), rtol=1e-5, atol=2e-4)


def test_one_query_row_matches_a_batch(emb, wav):
  f = emb.features(wav)
  one = emb.embed_features([f])                  # a batch of 1 row
  two = emb.embed_features([f, f[: len(f) // 2]])   # 8 rows
  np.testing.assert_allclose(one[0], two[0], atol=1e-6)


class NormaliseTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_matches_features_normalise(self):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 4)).astype(np.float32) * 3 + 1
    mask = np.arange(9)[None] < np.array([[9], [5]])
    out = np.asarray(self.variant(inference.normalise_segments)(x, mask))
    chex.assert_shape(out, (2, 9, 4))
    np.testing.assert_allclose(out[0], features.normalise(x[0]), atol=1e-5)
    np.testing.assert_allclose(out[1, :5], features.normalise(x[1, :5]), atol=1e-5)
    assert not out[1, 5:].any()


def test_windows_match_segments(emb, wav):
  f = emb.features(wav)
  w = emb.embed_windows(f, [0, 7], 40)
  s = emb.embed_features([f[0:40], f[7:47]])
  np.testing.assert_allclose(w, s, atol=2e-5)


def test_bad_inputs(emb, tmp_path):
  bad = tmp_path / "bad.wav"
  bad.write_bytes(b"not audio at all")
  with pytest.raises(DataError, match="bad.wav.*cannot read audio"):
    emb.embed_audio(str(bad))
  with pytest.raises(DataError, match="silent"):
    emb.embed_audio(np.zeros(8000, np.float32), 8000)
  with pytest.raises(DataError, match="long; expected at least"):
    emb.embed_audio(np.ones(100, np.float32), 8000)
  with pytest.raises(ValueError, match="sr is required"):
    emb.embed_audio(np.ones(8000, np.float32))
  strict = inference.Embedder(emb.config, emb.card, emb.params,
                              pronouncer=pronounce.Pronouncer(espeak=False))
  with pytest.raises(DataError, match="no pronunciation for 'zyxqwv'"):
    strict.embed_words(["zyxqwv"])
  no_zh = tiny_embedder(phones=[p for p in lexicon.PHONES if p != "ZH"])
  with pytest.raises(DataError, match=r"\['ZH'\] of 'measure'"):
    no_zh.embed_words(["measure"])


def test_words_and_export_load(emb, tmp_path):
  e = emb.embed_words(["cat", "dog", "zyxglorp"])
  chex.assert_shape(e, (3, emb.dim))
  assert emb.pronouncer.source["zyxglorp"] == "espeak-ng"
  emb.export(str(tmp_path / "m"))
  back = inference.Embedder.load(str(tmp_path / "m"))
  assert back.model_hash == emb.model_hash
  np.testing.assert_allclose(back.embed_words(["cat", "dog", "zyxglorp"]), e, atol=1e-6)
  assert tiny_embedder(seed=1).model_hash != emb.model_hash


def test_loads_a_training_run_without_model_card(emb, tmp_path):
  """A workdir of an older run: config.json and an orbax best/ checkpoint."""
  cfg = emb.config
  with open(tmp_path / "config.json", "w") as f:
    json.dump(dataclasses.asdict(cfg), f)
  state = {"params": emb.params, "opt": train.make_optimizer(cfg).init(emb.params)}
  ck = Checkpoints(str(tmp_path / "best"))
  ck.save(3, state, {"step": 3})
  ck.close()
  back = inference.Embedder.load(str(tmp_path))
  assert back.model_hash == emb.model_hash
  with pytest.raises(DataError, match="does not exist"):
    inference.Embedder.load(str(tmp_path / "nope"))


def test_ipa_to_arpabet_hand_cases():
  assert pronounce.ipa_to_arpabet("h_ə_l_ˈoʊ") == ("HH", "AH", "L", "OW")
  assert pronounce.ipa_to_arpabet("tʃ_ˈiː_z") == ("CH", "IY", "Z")
  assert pronounce.ipa_to_arpabet("m_ˈɑːɹ_k_ɪ_ŋ") == ("M", "AA", "R", "K", "IH", "NG")
  assert pronounce.ipa_to_arpabet("b_ˈʌ_ɾ_ɚ") == ("B", "AH", "T", "ER")
  with pytest.raises(DataError, match="'ǂ' of 'click'"):
    pronounce.ipa_to_arpabet("ǂ_a", "click")
  assert pronounce.edit_distance("kitten", "sitting") == 3
  assert pronounce.edit_distance((), ("A",)) == 1


def test_pronouncer_order_and_espeak_per(tmp_path):
  lex = tmp_path / "user.dict"
  lex.write_text("cat K AE1 T S\n")
  p = pronounce.Pronouncer(str(lex))
  assert p(["Cat", "dog", "blorptastic"])[:2] == [("K", "AE", "T", "S"),
                                                ("D", "AO", "G")]
  assert p.source == {"cat": "user", "dog": "cmudict", "blorptastic": "espeak-ng"}
  words = ["hello", "world", "cheese", "strength", "water", "music"]
  assert pronounce.phone_error_rate(words) < 0.15


def test_model_card_round_trip(tmp_path):
  card = model_card.write_model_card(
      str(tmp_path), {"B": 2, "AA": 1}, np.arange(1, 101), np.array([56, 160]))
  assert card.phones == ("AA", "B") and card.boundaries == (56, 160)
  assert card.length_quantiles["50"] == 50
  assert model_card.read_model_card(str(tmp_path)) == card
  assert model_card.read_model_card(str(tmp_path / "none")).phones == lexicon.PHONES


def test_shipped_model_loads_and_embeds():
  emb = inference.Embedder.load(os.path.join(lexicon.REPO, "models", "awe-small"))
  assert emb.card.length_quantiles["95"] == 100
  words = emb.embed_words(["weather", "whether", "elephant"])
  chex.assert_shape(words, (3, emb.dim))
  cos = lambda a, b: np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
  assert cos(words[0], words[1]) > cos(words[0], words[2])  # same phones
