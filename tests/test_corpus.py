"""The embedded spoken-word corpus: lexicon, splits, features, layout, build.

The ``--small`` corpus is built once per session through ``ensure_corpus``
(cached in ``$AWE_JAX_DATA`` or ``<repo>/data``); determinism and resume are
checked on a handful of tokens in a tmp dir.
"""
import csv
import dataclasses
import os
import shutil

from absl import flags
import numpy as np
import pytest
import soundfile as sf

from awe_jax import data as data_lib
from awe_jax.corpus import __main__ as cli
from awe_jax.corpus import build as build_lib
from awe_jax.corpus import ensure_corpus
from awe_jax.corpus import features
from awe_jax.corpus import lexicon
from awe_jax.corpus import plan
from awe_jax.corpus import voices

TINY = dataclasses.replace(plan.SMALL, n_types=12, n_tokens=10,
                           synths=("espeak-ng", "flite"))


def _manifest(d):
  with open(os.path.join(d, "manifest.csv"), newline="") as f:
    return list(csv.DictReader(f))


def _all_feats(d):
  vocab = data_lib.read_vocab(os.path.join(d, "vocab.json"))
  return {s: data_lib.load_split(d, s, vocab) for s in plan.SPLITS}


@pytest.fixture(scope="session")
def small():
  d = ensure_corpus(small=True)
  vocab = data_lib.read_vocab(os.path.join(d, "vocab.json"))
  return d, vocab, _manifest(d)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
  d = str(tmp_path_factory.mktemp("tiny"))
  build_lib.build(TINY, d, jobs=1, quiet=True)
  return d


def test_ensure_corpus_is_cached(small):
  d, _, _ = small
  assert build_lib.is_complete(d, plan.SMALL)
  assert ensure_corpus(small=True) == d


def test_lexicon_phones_are_the_39_arpabet_phones(small):
  _, vocab, _ = small
  assert len(lexicon.PHONES) == 39
  lex = lexicon.load_lexicon()
  assert len(lex) >= 700
  assert all(set(p) <= set(lexicon.PHONES) for p in lex.values())
  assert all(3 <= len(w) <= 10 and 2 <= len(p) <= 9 for w, p in lex.items())
  assert set(vocab.phones_to_ids) == set(lexicon.PHONES)
  for w in vocab.words_to_ids:
    assert vocab.word_to_phones[w] == lex[w]
    assert vocab.phone_ids(w).min() >= 1   # 0 is padding in memory


def test_bad_lexicon_names_file_and_line(tmp_path):
  p = tmp_path / "bad.dict"
  p.write_text("water W AO1 T ER0\nfoo F XX1\n")
  with pytest.raises(data_lib.DataError, match=r"line 2"):
    lexicon.load_lexicon(str(p))


def test_splits_are_disjoint_in_speakers_and_voices(small):
  _, _, rows = small
  spk = {s: {r["speaker"] for r in rows if r["split"] == s} for s in plan.SPLITS}
  voi = {s: {(r["synthesiser"], r["voice"]) for r in rows if r["split"] == s}
         for s in plan.SPLITS}
  for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
    assert not spk[a] & spk[b]
    assert not voi[a] & voi[b]
  assert {r["synthesiser"] for r in rows} == {"espeak-ng", "flite", "festival"}


def test_some_dev_and_test_types_are_unseen_in_training(small):
  _, _, rows = small
  words = {s: {r["word"] for r in rows if r["split"] == s} for s in plan.SPLITS}
  assert words["dev"] - words["train"]
  assert words["test"] - words["train"]
  assert words["dev"] & words["train"]
  assert len(rows) == plan.SMALL.n_tokens


def test_features_have_shape_t_by_39_and_are_normalised(small):
  d, vocab, _ = small
  seg = data_lib.load_split(d, "dev", vocab)
  assert seg.skipped_short == 0
  for x in seg.feats[:50]:
    assert x.ndim == 2 and x.shape[1] == 39 and x.shape[0] >= 2
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-3)


def test_load_split_reads_back_what_was_written(small):
  d, vocab, rows = small
  seg = data_lib.load_split(d, "test", vocab)
  test_rows = {r["utt_id"]: r for r in rows if r["split"] == "test"}
  assert sorted(k.split("/")[0] for k in seg.keys) == sorted(test_rows)
  for key, word, x in list(zip(seg.keys, seg.words, seg.feats))[:10]:
    uid = key.split("/")[0]
    assert word == test_rows[uid]["word"]
    y, sr = sf.read(os.path.join(d, "wav", "test", f"{uid}.wav"),
                    dtype="float32")
    assert sr == 8000
    # To float rounding: a corpus built before features.mfcc_deltas built
    # librosa's constants once reads back within 1e-5.
    np.testing.assert_allclose(x, features.mfcc39(y, sr), rtol=0, atol=1e-4)


def test_build_is_deterministic(tiny, tmp_path):
  other = str(tmp_path / "again")
  build_lib.build(TINY, other, jobs=2, quiet=True)
  assert _manifest(tiny) == _manifest(other)
  a, b = _all_feats(tiny), _all_feats(other)
  for s in plan.SPLITS:
    assert list(a[s].keys) == list(b[s].keys)
    for x, y in zip(a[s].feats, b[s].feats):
      np.testing.assert_array_equal(x, y)


def test_build_resumes_after_interruption(tiny, tmp_path):
  d = str(tmp_path / "resumed")
  shutil.copytree(tiny, d)
  os.remove(os.path.join(d, build_lib.MARKER))
  os.remove(os.path.join(d, "mfcc.dev.hdf5"))
  wavs = sorted(os.listdir(os.path.join(d, "wav", "train")))[:3]
  for w in wavs:
    os.remove(os.path.join(d, "wav", "train", w))
  assert not build_lib.is_complete(d, TINY)
  info = build_lib.build(TINY, d, jobs=1, quiet=True)
  assert info["synthesised"] == 3
  assert build_lib.is_complete(d, TINY)
  a, b = _all_feats(tiny), _all_feats(d)
  for s in plan.SPLITS:
    for x, y in zip(a[s].feats, b[s].feats, strict=True):
      np.testing.assert_array_equal(x, y)


def test_missing_synthesiser_names_it_and_the_apt_line(monkeypatch, tmp_path,
                                                      capsys):
  real = shutil.which
  monkeypatch.setattr(shutil, "which",
                      lambda b: None if b == "flite" else real(b))
  with pytest.raises(voices.SynthesiserMissing,
                     match=r"flite.*\n.*apt-get install -y flite"):
    build_lib.build(TINY, str(tmp_path / "x"), jobs=1, quiet=True)
  with pytest.raises(SystemExit, match="apt-get install"):
    fv = flags.FlagValues()
    cli.define_flags(fv)
    cli.run(fv(["corpus", "build", "--small", "--data_dir",
                str(tmp_path / "y")]), fv)


def test_unknown_voice_is_reported_not_replaced():
  bad = voices.Voice("espeak-ng", "en-us+NoSuchVariant", "x")
  with pytest.raises(voices.SynthesisError, match="NoSuchVariant"):
    voices.check_voices([bad])
  voices.check_voices(voices.all_voices())   # every shipped voice exists


def test_telephone_channel_is_band_limited_8khz():
  from awe_jax.corpus import degrade
  sr = 16000
  t = np.arange(sr) / sr
  # Energy below, inside and above the telephone band.
  clean = (np.sin(2 * np.pi * 100 * t) + np.sin(2 * np.pi * 1000 * t)
           + np.sin(2 * np.pi * 3900 * t)).astype(np.float32)
  p = degrade.DegradeParams(snr_db=40.0, gain_db=0.0, pad_start_s=0.05,
                            pad_end_s=0.05, colour=1.0, babble=0.5,
                            noise_seed=0)
  y = degrade.telephone(clean, sr, p)
  assert y.dtype == np.float32 and np.abs(y).max() <= 1.0
  assert abs(len(y) - 8000 * 1.1) < 50
  spec = np.abs(np.fft.rfft(y)) ** 2
  f = np.fft.rfftfreq(len(y), 1 / 8000)

  def band(lo, hi):
    return spec[(f > lo) & (f < hi)].sum()

  assert band(950, 1050) > 100 * band(50, 150)
  assert band(950, 1050) > 100 * band(3850, 3950)


def test_whole_cmudict_uses_the_39_phones_and_keeps_variants():
  from awe_jax.corpus import lexicon
  prons = lexicon.load_pronunciations()
  assert len(prons) > 120_000
  assert {p for ps in prons.values() for pron in ps for p in pron} == set(
      lexicon.PHONES)
  assert prons["read"] == (("R", "EH", "D"), ("R", "IY", "D"))
  # The corpus' selected entries agree with the whole dictionary.
  for word, pron in lexicon.load_lexicon().items():
    assert pron in prons[word], word


def test_snapshot_of_a_part_built_corpus_has_the_tokens_on_disk(tiny,
                                                                tmp_path):
  part = str(tmp_path / "part")
  shutil.copytree(tiny, part)
  rows = _manifest(part)
  gone = [r for r in rows if r["split"] == "train"][:3]
  for r in gone:
    os.remove(os.path.join(part, "wav", r["split"], r["utt_id"] + ".wav"))
  out = str(tmp_path / "snap")
  info = build_lib.snapshot(TINY, part, out, quiet=True)
  assert info["tokens_on_disk"] == len(rows) - 3
  assert not build_lib.is_complete(out, TINY)
  got = _all_feats(out)
  want = _all_feats(tiny)
  assert len(got["train"]) == len(want["train"]) - 3
  np.testing.assert_array_equal(got["dev"].feats[0], want["dev"].feats[0])


def test_ablation_drops_its_tokens_and_keeps_size_dev_and_test(tiny,
                                                               tmp_path):
  from awe_jax.corpus import ablate  # pylint: disable=g-import-not-at-top
  from jaxtk.errors import DataError  # pylint: disable=g-import-not-at-top
  a = ablate.ABLATIONS
  assert a["no-reverb"].drops({"rt60": "0.350"})
  assert not a["no-reverb"].drops({"rt60": "0.000"})
  assert a["no-codecs"].drops({"channel": "mp3"})
  assert not a["no-codecs"].drops({"channel": "wideband"})
  assert a["no-debian"].drops({"synthesiser": "flite"})
  assert not a["all"].drops({"synthesiser": "flite"})
  rows = _manifest(tiny)
  train = [r for r in rows if r["split"] == "train"]
  flite = {r["utt_id"] for r in train if r["synthesiser"] == "flite"}
  assert 0 < len(flite) < len(train)
  n = len(train) - len(flite) - 2
  out = str(tmp_path / "no-flite")
  ablate.ABLATIONS["no-flite"] = ablate.Ablation(
      "no-flite", "test", ablate.column_in("synthesiser", "flite"))
  try:
    info = ablate.make(tiny, out, "no-flite", n, seed=1)
    with pytest.raises(DataError, match="keeps .* fewer than --n"):
      ablate.make(tiny, str(tmp_path / "x"), "no-flite", len(train))
  finally:
    del ablate.ABLATIONS["no-flite"]
  assert (info["train_tokens"], info["ablation"]) == (n, "no-flite")
  got, want = _all_feats(out), _all_feats(tiny)
  assert len(got["train"]) == n
  kept = {k.split("/")[0] for k in got["train"].keys}
  assert len(kept) == n and not kept & flite
  i = list(want["train"].keys).index(got["train"].keys[0])
  np.testing.assert_array_equal(got["train"].feats[0], want["train"].feats[i])
  for split in ("dev", "test"):
    assert list(got[split].keys) == list(want[split].keys)
  mtime = os.path.getmtime(os.path.join(out, "mfcc.train.hdf5"))
  assert ablate.make(tiny, out, "all", n, seed=1)["ablation"] == "all"
  assert os.path.getmtime(os.path.join(out, "mfcc.train.hdf5")) > mtime
  mtime = os.path.getmtime(os.path.join(out, "mfcc.train.hdf5"))
  ablate.make(tiny, out, "all", n, seed=1)  # complete: kept as it is
  assert os.path.getmtime(os.path.join(out, "mfcc.train.hdf5")) == mtime
  with pytest.raises(DataError, match="unknown ablation"):
    ablate.make(tiny, out, "no-such", n)
