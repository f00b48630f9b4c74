"""The real-speech check: word tables, loader, DTW baseline on the same
pairs, retrieval metrics by hand and against sklearn, and the whole check on
a tiny untrained model.  Needs the packages fetched by scripts/setup.sh."""
import json
import os

from absl.testing import parameterized
import jax
import numpy as np
import pytest
import soundfile as sf
from sklearn.metrics import average_precision_score, top_k_accuracy_score

from awe_jax import configs, data, dtw, metrics
from awe_jax.corpus import lexicon as lexicon_lib
from awe_jax.factory import build_model
from awe_jax.models import init_params
from awe_jax.realspeech import check, loader, packages, words
from jaxtk.checkpoint import Checkpoints
from jaxtk.errors import DataError

ROOT = packages.default_dir()


@pytest.fixture(scope="module")
def real():
  """Every real token (features cached by scripts/setup.sh)."""
  return loader.load(ROOT)


def test_every_listed_file_exists_and_every_word_is_in_cmudict():
  lexicon = loader.cmudict()
  for s in words.SOURCES:
    assert packages.is_fetched(ROOT, s.package), s.package.name
    for rel, word in s.files:
      assert os.path.isfile(os.path.join(ROOT, s.package.name, s.base, rel)), rel
      pron = loader.pronunciation(word, lexicon)
      assert pron and set(pron) <= set(lexicon_lib.PHONES), word
  counts = {s.name: len({w for _, w in s.files}) for s in words.SOURCES}
  assert counts["ktuberling"] == 69
  assert counts["klettres-en"] == counts["klettres-en_GB"] - 7 == 42
  assert loader.pronunciation("bow", lexicon) == ("B", "OW")
  assert loader.pronunciation("a.", lexicon) == ("EY",)


def test_loader_features_and_shared_words(real):
  assert len(real) == sum(len(s.files) for s in words.SOURCES) == 408
  assert set(real.speakers) == set(words.SOURCE_NAMES)
  for x in real.feats[::25]:
    assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 39
    assert len(x) >= 2 and np.all(np.isfinite(x))
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-4)
  assert set(real.pronunciations) == set(real.words)
  shared = real.shared_words()
  for w in ("a.", "z.", "zed", "zero", "twenty", "car", "ball", "hotel",
            "star", "o'clock"):
    assert w in shared, w
  assert "umbrella" not in shared
  # Letters: asterisk and both klettres speakers.
  assert set(real.speakers[real.words == "q."]) == {
      "asterisk", "klettres-en", "klettres-en_GB"}


def test_cache_equals_fresh_features(real, tmp_path):
  saytime = real.select(real.speakers == "saytime")
  fresh = [loader.token_features(p) for p in saytime.paths[:3]]
  for a, b in zip(fresh, saytime.feats[:3]):
    np.testing.assert_array_equal(a, b)


def test_bad_recordings_raise_data_error_naming_the_file(tmp_path):
  corrupt = tmp_path / "corrupt.ogg"
  corrupt.write_bytes(b"OggS not really an ogg file")
  with pytest.raises(DataError, match="corrupt.ogg.*cannot read audio"):
    loader.token_features(str(corrupt))
  silent = tmp_path / "silent.wav"
  sf.write(silent, np.zeros(8000, np.float32), 8000)
  with pytest.raises(DataError, match="silent.wav.*silent"):
    loader.token_features(str(silent))
  with pytest.raises(DataError, match="missing.wav.*fetch"):
    loader.token_features(str(tmp_path / "missing.wav"))
  with pytest.raises(DataError, match="not fetched.*realspeech fetch"):
    loader.load(str(tmp_path), sources=("saytime",))
  with pytest.raises(ValueError, match="ktuberling"):
    words.source("nope")


def test_fetch_rejects_a_deb_with_another_hash(tmp_path, monkeypatch):
  def fake_download(pkg, into):
    path = os.path.join(into, "x.deb")
    with open(path, "wb") as f:
      f.write(b"not the pinned package")
    return path
  monkeypatch.setattr(packages, "_download", fake_download)
  with pytest.raises(DataError, match="x.deb.*SHA-256"):
    packages.fetch_one(str(tmp_path), packages.SAYTIME)
  assert not packages.is_fetched(str(tmp_path), packages.SAYTIME)


def test_acoustic_scores_use_the_same_pairs_for_model_and_dtw():
  rng = np.random.default_rng(0)
  ws = np.array(["a", "a", "b", "b", "c", "a"])
  spk = np.array(["s1", "s2", "s1", "s2", "s1", "s1"])   # "c": one speaker
  feats = [rng.standard_normal((int(rng.integers(3, 7)), 4)) for _ in ws]
  embs = rng.standard_normal((len(ws), 5))
  got = check.acoustic_scores(feats, embs, ws, spk)
  sel = [0, 1, 2, 3, 5]
  i, j = np.triu_indices(len(sel), 1)
  pos = ws[sel][i] == ws[sel][j]
  e = embs[sel] / np.linalg.norm(embs[sel], axis=1, keepdims=True)
  ref_model = average_precision_score(pos, np.sum(e[i] * e[j], 1))
  d = [dtw.dtw_distance(feats[sel[a]], feats[sel[b]]) for a, b in zip(i, j)]
  ref_dtw = average_precision_score(pos, -np.asarray(d))
  assert got["model_ap"] == pytest.approx(ref_model, abs=1e-6)
  assert got["dtw_ap"] == pytest.approx(ref_dtw, abs=1e-9)
  # a: tokens 0, 1, 5 (3 pairs, 2 across speakers); b: 2, 3 (1 pair).
  assert (got["tokens"], got["words"], got["pairs"]) == (5, 2, 10)
  assert got["same_word_pairs"] == 4
  assert got["cross_speaker_same_word_pairs"] == 3


class RetrievalTest(parameterized.TestCase):

  def test_ranks_by_hand(self):
    # Words at 0 and 90 degrees; segments at 10, 80 and 30 degrees.
    ang = np.deg2rad([10, 80, 30])
    seg = np.stack([np.cos(ang), np.sin(ang)], 1)
    wrd = np.array([[1.0, 0.0], [0.0, 2.0]])
    d = 1 - seg @ (wrd / np.linalg.norm(wrd, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(
        metrics.crossview_ranks(d, np.array([0, 0, 1])), [1, 2, 2])
    got = metrics.crossview_topk(seg, ["a", "a", "b"], wrd, ["a", "b"],
                                 ks=(1, 2))
    self.assertEqual(got, {1: 1 / 3, 2: 1.0})

  def test_topk_equals_sklearn(self):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    w = rng.normal(size=(9, 6)).astype(np.float32)
    wl = np.array([f"w{i}" for i in range(9)])
    labels = wl[rng.integers(0, 9, 50)]
    got = metrics.crossview_topk(x, labels, w, wl, ks=(1, 3))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    wn = w / np.linalg.norm(w, axis=1, keepdims=True)
    for k in (1, 3):
      ref = top_k_accuracy_score(labels, xn @ wn.T, k=k, labels=wl)
      self.assertAlmostEqual(got[k], ref, places=6)
    with self.assertRaisesRegex(ValueError, "not among"):
      metrics.crossview_topk(x, np.r_[labels[:-1], ["zz"]], w, wl)

  def test_retrieval_scores_chance_and_ap(self):
    seg = np.array([[1.0, 0.0], [0.0, 1.0]])
    out = check.retrieval_scores(seg, ["a", "b"], seg, ["a", "b"])
    self.assertEqual((out["top1"], out["top5"], out["ap"]), (1.0, 1.0, 1.0))
    self.assertEqual((out["chance_top1"], out["words"]), (0.5, 2))


def _tiny_run(tmp_path):
  """A run directory holding an untrained tiny model, and its data dir."""
  config = configs.tiny()
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  vocab_words = {"cat": ("K", "AE", "T"), "ball": ("B", "AO", "L")}
  data.write_vocab(str(data_dir / "vocab.json"), vocab_words,
                   list(lexicon_lib.PHONES))
  workdir = tmp_path / "run"
  workdir.mkdir()
  import dataclasses  # pylint: disable=g-import-not-at-top
  with open(workdir / "config.json", "w") as f:
    json.dump(dataclasses.asdict(config), f)
  model = build_model(config, len(lexicon_lib.PHONES) + 1)
  params = init_params(model, jax.random.PRNGKey(1), 39)
  from awe_jax.train import make_optimizer  # pylint: disable=g-import-not-at-top
  ckpt = Checkpoints(str(workdir / "best"))
  ckpt.save(3, {"params": params, "opt": make_optimizer(config).init(params)})
  ckpt.close()
  return str(workdir), str(data_dir)


def test_check_end_to_end_on_a_tiny_model(tmp_path):
  workdir, data_dir = _tiny_run(tmp_path)
  r = check.run(workdir, data_dir, ROOT, sources=("klettres-en_GB",
                                                  "ktuberling"))
  with open(os.path.join(workdir, check.RESULT_FILE)) as f:
    assert json.load(f) == json.loads(json.dumps(r))
  assert r["checkpoint"] == "best/3"
  assert (r["tokens"], r["words"], r["distractors"]) == (118, 114, 1)  # cat
  assert r["acoustic"]["words"] == 4   # ball, car, ear, well
  k = r["crossview_ktuberling"]
  assert (k["tokens"], k["words"]) == (69, 69)
  assert r["crossview_ktuberling+vocab"]["words"] == 70
  for key in ("crossview_all", "crossview_all+vocab", "crossview_ktuberling"):
    for m in ("top1", "top5", "ap"):
      assert 0.0 <= r[key][m] <= 1.0
    assert r[key]["top1"] <= r[key]["top5"]
  assert 0.0 < r["acoustic"]["dtw_ap"] <= 1.0
  report = check.format_report(r)
  assert "MFCC+DTW" in report and "ktuberling / + vocabulary" in report


def test_transfer_scores_unseen_speakers_apart(tmp_path):
  import csv  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, os.path.dirname(__file__))
  import awe_fixture  # pylint: disable=g-import-not-at-top
  from awe_jax import input_pipeline, transfer  # pylint: disable=g-import-not-at-top
  workdir, train_dir = _tiny_run(tmp_path)
  eval_dir = awe_fixture.make_corpus(tmp_path / "eval", feat_dim=39)
  # The run "heard" speaker a in training; the eval corpus' test split has
  # utterances by a (even) and b (odd).
  with open(os.path.join(train_dir, "manifest.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["utt_id", "split", "speaker"])
    w.writerows([["t1", "train", "a"], ["d1", "dev", "b"]])
  segs = input_pipeline.load_dataset(eval_dir).splits["test"]
  utts = sorted({str(k).rsplit("/", 1)[0] for k in segs.keys})
  with open(os.path.join(eval_dir, "manifest.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["utt_id", "split", "speaker"])
    w.writerows([[u, "test", "ab"[i % 2]] for i, u in enumerate(utts)])
  r = transfer.run(workdir, train_dir, eval_dir)
  assert (r["speakers_unseen"], r["speakers_heard"]) == (["b"], ["a"])
  by_b = sum(str(k).rsplit("/", 1)[0] in utts[1::2] for k in segs.keys)
  assert r["all"]["tokens"] == len(segs.words)
  assert r["speakers unseen in training"]["tokens"] == by_b
  # No eval word is in the two-word training vocabulary.
  assert (r["unseen speakers, unseen words"]["tokens"] == by_b)
  for scope in transfer.SCOPES:
    assert 0.0 < r[scope]["acoustic_ap"] <= 1.0
    assert 0.0 < r[scope]["crossview_ap"] <= 1.0
  with open(os.path.join(workdir, transfer.RESULT_FILE)) as f:
    assert json.load(f)["all"] == json.loads(json.dumps(r["all"]))
  assert "speakers unseen in training" in transfer.format_report(r)
  # Speaker b heard by another model too: no unseen tokens left.
  other = tmp_path / "other"
  other.mkdir()
  data.write_vocab(str(other / "vocab.json"), {"cat": ("K", "AE", "T")},
                   list(lexicon_lib.PHONES))
  with open(other / "manifest.csv", "w") as f:
    f.write("utt_id,split,speaker\nx,train,b\n")
  r2 = transfer.run(workdir, train_dir, eval_dir, also_heard=(str(other),),
                    out=str(tmp_path / "r2.json"))
  assert r2["speakers_unseen"] == [] and r2["speakers_heard"] == ["a", "b"]
  assert "speakers unseen in training" not in r2
  assert r2["all"] == r["all"]
  # A test utterance missing from the manifest is named.
  with open(os.path.join(eval_dir, "manifest.csv"), "w") as f:
    f.write("utt_id,split,speaker\n")
  with pytest.raises(DataError, match="not in it"):
    transfer.run(workdir, train_dir, eval_dir)
  os.remove(os.path.join(train_dir, "manifest.csv"))
  with pytest.raises(DataError, match="build_info.json"):
    transfer.run(workdir, train_dir, eval_dir)


def test_distractors_from_another_corpus_change_only_the_vocab_scopes(
    tmp_path):
  """--distractor_dir: the "+ vocabulary" candidates come from that corpus;
  the real-word scopes and the acoustic AP stay as they were."""
  workdir, data_dir = _tiny_run(tmp_path)
  other = tmp_path / "other"
  other.mkdir()
  data.write_vocab(str(other / "vocab.json"),
                   {"quagmire": ("K", "W", "AE", "G", "M", "AY", "ER"),
                    "vortex": ("V", "AO", "R", "T", "EH", "K", "S"),
                    "ball": ("B", "AO", "L")}, list(lexicon_lib.PHONES))
  src = ("klettres-en_GB", "ktuberling")
  a = check.run(workdir, data_dir, ROOT, sources=src)
  b = check.run(workdir, data_dir, ROOT, sources=src,
                out=str(tmp_path / "b.json"), distractor_dir=str(other))
  assert b["distractor_dir"] == str(other) and b["distractors"] == 2
  assert b["crossview_ktuberling+vocab"]["words"] == 71  # + 2, not ball
  assert a["crossview_ktuberling+vocab"]["words"] == 70  # + cat
  for key in ("acoustic", "crossview_all", "crossview_ktuberling"):
    assert a[key] == b[key]
  assert "distractors: the vocabulary of " + str(other) in (
      check.format_report(b))
  bad = tmp_path / "bad"
  bad.mkdir()
  data.write_vocab(str(bad / "vocab.json"), {"zork": ("Z", "AO", "R", "ZZ")},
                   list(lexicon_lib.PHONES) + ["ZZ"])
  with pytest.raises(DataError, match="not in the model's phones_to_ids"):
    check.run(workdir, data_dir, ROOT, sources=src,
              out=str(tmp_path / "c.json"), distractor_dir=str(bad))


def test_an_exported_model_dir_scores_as_its_checkpoint(tmp_path):
  import shutil  # pylint: disable=g-import-not-at-top
  import flax.serialization  # pylint: disable=g-import-not-at-top
  workdir, data_dir = _tiny_run(tmp_path)
  config = check.read_config(workdir)
  model = build_model(config, len(lexicon_lib.PHONES) + 1)
  params, step = check.restore_params(workdir, model, config)
  assert step == "best/3"
  exported = tmp_path / "exported"
  exported.mkdir()
  shutil.copy(os.path.join(workdir, "config.json"), exported)
  with open(exported / "params.msgpack", "wb") as f:
    f.write(flax.serialization.to_bytes(jax.device_get(params)))
  got, name = check.restore_params(str(exported), model, config)
  assert name == "params.msgpack"
  chex_equal = jax.tree_util.tree_map(np.array_equal, got, params)
  assert all(jax.tree_util.tree_leaves(chex_equal))
  src = ("klettres-en_GB", "ktuberling")
  a = check.run(workdir, data_dir, ROOT, sources=src)
  b = check.run(str(exported), data_dir, ROOT, sources=src)
  assert a["checkpoint"] == "best/3" and b["checkpoint"] == "params.msgpack"
  for key in ("acoustic", "crossview_all", "crossview_ktuberling"):
    assert a[key] == b[key]
  with open(exported / "params.msgpack", "wb") as f:
    f.write(b"\x81\xa1x\x01")  # a msgpack map of the wrong shape
  with pytest.raises(DataError, match="params.msgpack"):
    check.restore_params(str(exported), model, config)
