"""Kokoro and Piper on one word, the ARPAbet -> Kokoro phoneme map, and the
``--size large`` plan (types, unseen dev/test words and voices)."""
import collections
import dataclasses

import numpy as np
import pytest
import soundfile as sf

from awe_jax import configs
from awe_jax import corpus
from awe_jax.corpus import measure
from awe_jax.corpus import lexicon
from awe_jax.corpus import neural
from awe_jax.corpus import plan
from awe_jax.corpus import voices
from jaxtk.errors import DataError


def _sane_word(audio, sr):
  """0.2-1.5 s long, not clipped, most energy in a voiced band."""
  assert audio.ndim == 1 and audio.dtype == np.float32
  assert 0.2 <= audio.size / sr <= 1.5
  assert 0.01 < np.sqrt(np.mean(audio ** 2)) < 0.5
  spec = np.abs(np.fft.rfft(audio)) ** 2
  f = np.fft.rfftfreq(audio.size, 1 / sr)
  assert spec[(f > 80) & (f < 4000)].sum() > 0.6 * spec.sum()


def test_kokoro_says_one_word():
  audio, sr = neural.kokoro_say("bm_george", "water", speed=1.1)
  assert sr == neural.KOKORO_RATE
  _sane_word(audio, sr)


def test_kokoro_blend_is_the_weighted_mean_of_two_voices():
  a, b = neural.style("af_heart"), neural.style("am_adam")
  np.testing.assert_allclose(neural.style("af_heart+am_adam@0.25"),
                             0.75 * a + 0.25 * b, rtol=1e-6)
  assert a.shape == neural.STYLE_SHAPE


def test_piper_says_one_word_and_length_scale_slows_it():
  short, sr = neural.piper_say("water", length_scale=0.8, noise_scale=0.0,
                               noise_w_scale=0.0)
  long, _ = neural.piper_say("water", length_scale=1.25, noise_scale=0.0,
                             noise_w_scale=0.0)
  assert sr == 22050
  _sane_word(short, sr)
  assert 1.2 < long.size / short.size < 2.0


def test_neural_voices_go_through_synthesise():
  out = voices.synthesise(voices.Voice("piper", voices.PIPER_VOICE, "joe"),
                          [("seven", 1.0, 1.0)])
  (audio, sr), = out
  _sane_word(audio, sr)


def test_kokoro_phonemes_use_cmudict_stress_and_the_model_vocabulary():
  assert neural.kokoro_phonemes("world", ("W", "ER", "L", "D")) == "wˈɜɹld"
  assert neural.kokoro_phonemes("water", british=True) == "wˈɔːtə"
  assert neural.kokoro_phonemes("about") == "əbˈWt"
  vocab = neural.kokoro().tokenizer.vocab
  for british in (False, True):
    for p in lexicon.PHONES:
      word = "x" * 40   # not in CMUdict: stress defaults to primary
      assert set(neural.kokoro_phonemes(word, (p, "AH"), british)) <= set(
          vocab), p


def test_frequent_lexicon_uses_the_39_phones_and_holds_the_selected_words():
  freq = lexicon.load_lexicon(plan.LEXICONS["frequent"])
  sel = lexicon.load_lexicon()
  assert len(freq) == 5000 and set(sel) <= set(freq)
  assert {p for ph in freq.values() for p in ph} <= set(lexicon.PHONES)
  assert all(freq[w] == ph for w, ph in sel.items())


@pytest.fixture(scope="module")
def large_plan():
  # The real LARGE words and voices; fewer tokens so the plan takes ~2 s.
  cfg = dataclasses.replace(plan.LARGE, n_tokens=4000)
  return plan.make_plan(cfg)


def test_large_size_has_thousands_of_types_and_unseen_dev_test_words(
    large_plan):
  assert plan.LARGE.n_types >= 3000 and plan.LARGE.n_tokens >= 60000
  tokens, words = large_plan
  assert sum(len(set(w)) for w in words.values()) >= 3000
  assert len(set().union(*words.values())) == plan.LARGE.n_types
  for split in ("dev", "test"):
    unseen = set(words[split]) - set(words["train"])
    assert len(unseen) == round(plan.LARGE.unseen_share * plan.LARGE.n_types)
    said = {t.word for t in tokens if t.split == split}
    assert unseen & said


def test_large_plan_keeps_dev_test_voices_and_blend_parents_unseen(
    large_plan):
  tokens, _ = large_plan
  spk = collections.defaultdict(set)
  parents = collections.defaultdict(set)
  for t in tokens:
    spk[t.split].add(t.voice.speaker)
    if t.voice.synth == "kokoro":
      parents[t.split] |= set(t.voice.name.split("@")[0].split("+"))
  for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
    assert not spk[a] & spk[b]
    assert not parents[a] & parents[b]
  synths = collections.Counter(t.voice.synth for t in tokens)
  assert set(synths) == set(plan.LARGE.synths)
  assert any("+" in t.voice.name for t in tokens if t.split == "test")
  channels = collections.Counter(t.augment.channel for t in tokens)
  assert len(channels) == len(plan.LARGE.channel_weights)


def test_earlier_sizes_keep_their_digest():
  # The default corpus on disk must not be rebuilt by the large size's code.
  assert plan.DEFAULT.digest() == "95459f1e69505244"
  assert plan.SMALL.digest() == "1cff847d8aab4310"


def test_large_recipe_needs_the_built_large_corpus(tmp_path):
  with pytest.raises(DataError, match="build --size large"):
    corpus.require_corpus("large", data_dir=str(tmp_path))
  assert configs.large().model.d_model > configs.default().model.d_model


def test_bad_channel_or_lexicon_lists_the_allowed_ones():
  with pytest.raises(ValueError, match="gsm.*opus"):
    plan.make_plan(dataclasses.replace(
        plan.SMALL, channel_weights=(("fax", 1.0),)))
  with pytest.raises(ValueError, match="frequent, selected"):
    dataclasses.replace(plan.SMALL, lexicon="all").lexicon_path()


def test_real_match_finds_a_voice_in_its_own_recordings(tmp_path, capsys):
  words = ["water", "seven", "garden", "yellow"]
  voice = voices.Voice("espeak-ng", "en-us", "espeak-default")
  for w, (audio, sr) in zip(words, voices.synthesise(
      voice, [(w, 1.0, 1.0) for w in words])):
    sf.write(str(tmp_path / f"take1_{w}.wav"), audio, sr)
  measure.real_match(str(tmp_path), 69, voice.id)
  out = capsys.readouterr().out
  assert "4 real words" in out
  assert "AP 1.0000, top-1 1.000" in out
