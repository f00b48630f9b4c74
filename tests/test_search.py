"""awe_jax.search: NMS, metrics (hand-computed), S-DTW, the index
(incremental, resume after a kill, model check, HNSW), the CLI and the task
end to end on a tiny collection, with a tiny untrained model."""
import csv
import json
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf
from sklearn.metrics import average_precision_score

from awe_jax.inference import to_mono
from awe_jax.search import SearchIndex, WindowConfig, metrics, nearest, nms, sdtw, task
from awe_jax.search import __main__ as cli_module
from awe_jax.search import index as index_lib
from awe_jax.search.__main__ import main as cli
from jaxtk.errors import DataError
from tests.test_inference import tiny_embedder

WORDS = ["weather", "garden", "music", "river", "yellow", "window"]


@pytest.fixture(scope="module")
def emb():
  return tiny_embedder()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
  d = tmp_path_factory.mktemp("rec")
  for i, text in enumerate(["the weather in the garden", "music by the river",
                            "a yellow window"]):
    subprocess.run(["espeak-ng", "-w", str(d / f"r{i}.wav"), text], check=True)
  return [str(d / f"r{i}.wav") for i in range(3)]


def test_nms_hand_case():
  starts = np.array([0.0, 0.1, 1.0, 0.05, 2.0])
  ends = np.array([0.5, 0.6, 1.5, 0.55, 2.5])
  groups = np.array([0, 0, 0, 1, 0])
  # 1 overlaps 0 by 0.4 of 0.5 s; 3 is in another recording; 4 is apart.
  assert nms(starts, ends, groups, [0, 1, 2, 3, 4]) == [0, 2, 3, 4]
  assert nms(starts, ends, groups, [1, 0, 4]) == [1, 4]
  assert nms(starts, ends, groups, [0, 1], max_overlap=0.9) == [0, 1]
  assert nms(starts, ends, groups, [0, 1, 2, 3, 4], limit=2) == [0, 2]
  assert nms(starts, ends, groups, []) == []


def test_similarities_and_top_k_match_numpy():
  rng = np.random.default_rng(0)
  vecs = rng.normal(size=(500, 16)).astype(np.float32)
  q = rng.normal(size=16).astype(np.float32)
  sim = nearest.similarities(vecs, q)
  np.testing.assert_allclose(sim, vecs @ q, rtol=1e-5, atol=1e-5)
  rows = np.array([7, 3, 499])
  np.testing.assert_allclose(nearest.similarities(vecs, q, rows),
                             vecs[rows] @ q, rtol=1e-5, atol=1e-5)
  tied = np.round(sim, 1)                     # many ties
  for x in (sim, tied, np.zeros(5, np.float32)):
    for k in (0, 1, 10, 200, len(x), len(x) + 3):
      assert nearest.top_k(x, k).tolist() == np.argsort(
          -x, kind="stable")[:k].tolist()


def test_window_durations_and_cli_defaults():
  q = {"5": 40, "95": 90}
  assert WindowConfig(num_durations=1).durations(q) == (60,)   # sqrt(40 * 90)
  assert WindowConfig(num_durations=3).durations(q) == (40, 60, 90)
  assert (cli_module.HOP, cli_module.NUM_DURATIONS, cli_module.FEEDBACK) == (
      WindowConfig().hop, WindowConfig().num_durations, index_lib.FEEDBACK_HITS)


def test_query_splits():
  qs = {"typed": ["a", "b", "c", "d"], "spoken": [("a", "x.wav"), ("b", "y.wav")]}
  dev, test = task.split_queries(qs, "dev"), task.split_queries(qs, "test")
  for k in qs:
    assert sorted(dev[k] + test[k]) == sorted(qs[k])
  assert all(task.query_split(w) == "dev" for w in dev["typed"])
  with pytest.raises(ValueError, match="expected one of"):
    task.split_queries(qs, "train")


def test_metrics_hand_computed():
  occ = [("a", 1.0, 2.0), ("a", 5.0, 6.0), ("b", 0.0, 1.0)]
  hits = [("a", 1.1, 1.9), ("a", 1.2, 1.8), ("c", 0, 1), ("b", 0.2, 0.6),
          ("a", 3.0, 3.5)]
  correct, n = metrics.label_hits(hits, occ)
  # The second hit on occurrence 0 is a false alarm.
  assert correct.tolist() == [True, False, False, True, False] and n == 3
  assert metrics.precision_at(correct, 10) == pytest.approx(2 / 10)
  assert metrics.precision_at(correct, n) == pytest.approx(1 / 3)
  # AP: precisions 1/1 and 2/4 at the hits, over 3 occurrences.
  assert metrics.average_precision(correct, n) == pytest.approx((1 + 0.5) / 3)
  # One hour: 1 FA/h keeps hit 0 (1/3); 2 FA/h and above keep hits 0 and 3.
  assert metrics.figure_of_merit(correct, n, 1.0) == pytest.approx(
      (1 / 3 + 9 * 2 / 3) / 10)
  # Half an hour: k FA/h allow floor(k / 2) false alarms.
  assert metrics.figure_of_merit(correct, n, 0.5) == pytest.approx(
      (0 + 1 / 3 + 8 * 2 / 3) / 10)
  scores = metrics.score_query(hits, occ, 1.0)
  assert set(scores) == {"p_at_10", "p_at_n", "fom", "ap"}


def test_average_precision_matches_sklearn_when_all_found():
  rng = np.random.default_rng(0)
  correct = rng.random(30) < 0.3
  scores = -np.arange(30.0)
  assert metrics.average_precision(correct, int(correct.sum())) == pytest.approx(
      average_precision_score(correct, scores))


def test_sdtw_finds_an_embedded_query():
  rng = np.random.default_rng(0)
  doc = rng.normal(size=(60, 5))
  query = doc[20:32] * 2.0  # cosine ignores scale
  cost, start = sdtw.sdtw_costs(query, doc)
  assert cost[31] == pytest.approx(0.0, abs=1e-6) and start[31] == 20
  stretched = np.repeat(query, 2, axis=0)
  cost, start = sdtw.sdtw_costs(stretched, doc)
  assert cost[31] == pytest.approx(0.0, abs=1e-6) and start[31] == 20
  hits = sdtw.sdtw_search(query, {"x": doc, "y": rng.normal(size=(40, 5))}, top=3)
  assert (hits[0].file, hits[0].start, hits[0].end) == ("x", 0.2, 0.32)


def test_index_incremental_resume_model_check(emb, recordings, tmp_path,
                                               monkeypatch):
  path = str(tmp_path / "idx")
  idx = SearchIndex.create(path, emb, windows=WindowConfig(hop=10, num_durations=2))
  calls = []
  real = emb.features

  def crash_on_second(p):
    calls.append(p)
    if len(calls) == 2:
      raise KeyboardInterrupt  # killed while embedding the second file
    return real(p)

  monkeypatch.setattr(emb, "features", crash_on_second)
  with pytest.raises(KeyboardInterrupt):
    idx.add(recordings[:2])
  monkeypatch.undo()
  idx.close()
  # A vectors file left by a kill before its rows were written is replaced.
  n1 = len(SearchIndex(path, emb))
  np.save(os.path.join(path, "vectors", f"{n1:09d}.npy"), np.ones((2, 2)))
  idx = SearchIndex(path, emb)
  assert idx.indexed() == {recordings[0]}
  assert idx.add(recordings[:2]) == 1 and idx.add(recordings[:2]) == 0
  assert idx.add(recordings) == 1
  rows = idx.db.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM windows").fetchone()
  assert rows == (len(idx), 0, len(idx) - 1)
  # The exact window as the query: itself first, at distance ~0.
  f = emb.features(recordings[1])
  d = idx.durations[0]
  q = emb.embed_windows(f, [20], d)[0]
  hit = idx.query_vector(q, top=3, feedback=0)[0]
  assert hit.file == recordings[1] and hit.start == pytest.approx(0.2)
  assert hit.end == pytest.approx(0.2 + d / 100) and hit.distance < 1e-3
  hits = idx.query_word("garden", top=5)
  assert 0 < len(hits) <= 5
  assert [h.distance for h in hits] == sorted(h.distance for h in hits)
  # Feedback = a plain search for the query moved towards its first 2 hits.
  c = idx._load()
  rows = {(c["file_id"][i], c["start"][i], c["end"][i]): i
          for i in range(len(c["vecs"]))}
  paths = {p: f for f, p in c["paths"].items()}
  first = [rows[(paths[h.file], h.start, h.end)] for h in idx.query_vector(
      q, top=2, feedback=0)]
  moved = q / np.linalg.norm(q) + 0.5 * c["vecs"][first].mean(0)
  # (The tiny index has fewer windows than the 200 candidates: the ranking
  # again is a search over all of it.)
  assert len(c["vecs"]) <= 200
  fb = idx.query_vector(q, top=4, feedback=2, feedback_weight=0.5)
  plain = idx.query_vector(moved, top=4, feedback=0)
  assert [(h.file, h.start, h.end) for h in fb] == [
      (h.file, h.start, h.end) for h in plain]
  np.testing.assert_allclose([h.distance for h in fb],
                             [h.distance for h in plain], atol=1e-5)
  with pytest.raises(DataError, match="built with model"):
    SearchIndex(path, tiny_embedder(seed=1))
  # Format 1 (no format row) is migrated; a newer format is refused.
  with idx.db:
    idx.db.execute("DELETE FROM meta WHERE key='format'")
  assert SearchIndex(path, emb).db.execute(
      "SELECT value FROM meta WHERE key='format'").fetchone() == ("2",)
  with idx.db:
    idx.db.execute("UPDATE meta SET value='99' WHERE key='format'")
  with pytest.raises(DataError, match="format 99 is newer"):
    SearchIndex(path, emb)
  with idx.db:
    idx.db.execute("UPDATE meta SET value='2' WHERE key='format'")
  # HNSW above exact_limit finds the same window.
  idx.exact_limit, idx._cache = 10, None
  assert idx.query_vector(q, top=1, feedback=0)[0].start == pytest.approx(0.2)
  assert os.path.exists(os.path.join(path, "hnsw.usearch"))


def test_cli_end_to_end(emb, recordings, tmp_path, capsys):
  model, path = str(tmp_path / "model"), str(tmp_path / "idx")
  emb.export(model)
  assert cli(["index", "--model", model, "--index", path, "--hop", "10",
              "--num_durations", "2",
              recordings[0]]) == 0
  assert cli(["add", "--index", path, os.path.dirname(recordings[0])]) == 0
  assert "added 2 recording(s)" in capsys.readouterr().out
  out = tmp_path / "hits"
  assert cli(["query", "--index", path, "--audio", recordings[2], "--top", "4",
              "--csv", f"{out}.csv", "--json", f"{out}.json",
              "--plot", f"{out}.png"]) == 0
  with open(f"{out}.csv") as f:
    rows = list(csv.DictReader(f))
  with open(f"{out}.json") as f:
    assert [r["file"] for r in json.load(f)] == [r["file"] for r in rows]
  assert len(rows) == 4 and os.path.getsize(f"{out}.png") > 1000
  assert cli(["query", "--index", str(tmp_path / "none"), "--word", "x"]) == 2
  with pytest.raises(SystemExit) as e:
    cli(["--help"])
  assert e.value.code == 0


def test_task_on_a_tiny_corpus(emb, tmp_path):
  """A fake corpus (manifest + WAVs): collection times, queries, evaluation."""
  corpus = tmp_path / "corpus"
  rows = []
  for split, voice in (("train", "en-us"), ("test", "en-us"), ("dev", "en")):
    os.makedirs(corpus / "wav" / split)
    for k, w in enumerate(WORDS if split != "train" else WORDS[:4]):
      uid = f"{split}-{k}-{w}"
      raw = str(corpus / f"{uid}.raw.wav")
      subprocess.run(["espeak-ng", "-v", voice, "-w", raw, w], check=True)
      y, sr = sf.read(raw, dtype="float32")
      y = to_mono(y, sr)
      pad = 0.05
      y = np.concatenate([np.zeros(int(pad * 8000), np.float32), y,
                          np.zeros(int(pad * 8000), np.float32)])
      sf.write(corpus / "wav" / split / f"{uid}.wav", y, 8000)
      rows.append(dict(utt_id=uid, split=split, word=w, pad_start_s=pad,
                       pad_end_s=pad))
  with open(corpus / "manifest.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
  cfg = task.CollectionConfig(minutes=0.2, file_seconds=6.0, snr_db=(30, 30))
  coll = task.build_collection(str(corpus), str(tmp_path / "coll"), cfg)
  occ = task.read_words(coll)
  assert set(occ) <= set(WORDS) and sum(map(len, occ.values())) >= 6
  for word, spans in occ.items():
    for f, s, e in spans:
      y, _ = sf.read(f, dtype="float32", start=int(s * 8000), stop=int(e * 8000))
      assert np.sqrt(np.mean(y ** 2)) > 0.01, (word, s, e)
  qs = task.queries(str(corpus), occ)
  assert {w for w, _ in qs["spoken_dev"]} <= set(WORDS[:4]) and qs["spoken_dev"]
  assert all("/dev/" in p for _, p in qs["spoken_dev"])
  assert qs["spoken_train"] == []   # every seen word has a dev token
  assert set(qs["typed_unseen"]) <= set(WORDS[4:])
  idx = SearchIndex.create(str(tmp_path / "idx"), emb, windows=WindowConfig(hop=10, num_durations=2))
  idx.add([os.path.join(coll, "audio")])
  scores = task.evaluate(lambda p: idx.query_audio(p, top=20), qs["spoken_dev"],
                         occ, idx.seconds() / 3600)
  assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_real_collection_places_each_real_token_once(tmp_path):
  """The collection of people's words (two real-speech sources): every
  token once, at its span (the recording there is the query WAV plus the
  background noise), the spoken queries are the words said by two or more
  speakers, and a hit on the query's own token is not credited."""
  from awe_jax.realspeech import packages  # pylint: disable=g-import-not-at-top
  src = ("klettres-en", "klettres-en_GB")
  cfg = task.RealCollectionConfig(file_seconds=20.0, snr_db=(30.0, 30.0))
  out = str(tmp_path / "real")
  coll = task.build_real_collection(out, packages.default_dir(), cfg, src)
  occ = task.read_words(coll)
  with open(os.path.join(coll, "queries.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == sum(map(len, occ.values())) == 91  # 42 + 49 tokens
  assert {r["speaker"] for r in rows} == set(src)
  by_file = {}
  for r in rows:
    q, sr = sf.read(r["wav"], dtype="float32")
    s, e = float(r["start"]), float(r["end"])
    y, sr2 = sf.read(r["file"], dtype="float32", start=round(s * sr),
                     stop=round(s * sr) + len(q))
    assert sr == sr2 == 8000 and len(y) == len(q)
    assert abs(e - s - len(q) / sr) < 1e-3
    resid = np.sqrt(np.mean((y - q) ** 2)) / np.sqrt(np.mean(q ** 2))
    assert resid < 0.1, (r["word"], resid)   # 30 dB noise + 16-bit
    by_file.setdefault(r["file"], []).append((s, e))
  for spans in by_file.values():  # no two tokens overlap
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
  assert max(e for spans in by_file.values() for _, e in spans) <= 20.0
  spoken = task.real_queries(coll)
  by_speakers = {}
  for r in rows:
    by_speakers.setdefault(r["word"], set()).add(r["speaker"])
  shared = {w for w, ss in by_speakers.items() if len(ss) == 2}
  assert {w for w, _, _ in spoken} == shared and len(spoken) == 2 * len(shared)
  w, wav, own = spoken[0]
  assert own in occ[w]
  other = next(o for o in occ[w] if o != own)
  hits = [index_lib.Hit(own[0], own[1] + 0.05, own[2] - 0.05, 0.1),
          index_lib.Hit(other[0], other[1], other[2], 0.2)]
  assert task.without_own(hits, own) == hits[1:]
  mtime = os.path.getmtime(os.path.join(coll, "words.csv"))
  task.build_real_collection(out, packages.default_dir(), cfg, src)  # kept
  assert os.path.getmtime(os.path.join(coll, "words.csv")) == mtime
  with pytest.raises(DataError, match="does not fit a recording of "
                     "file_seconds=0.5"):
    task.build_real_collection(
        str(tmp_path / "short"), packages.default_dir(),
        task.RealCollectionConfig(file_seconds=0.5), src)
