"""Review app: exports round trip, threshold maths, the JSON API, safety
(paths, malformed input, concurrent labelling) on a tiny archive."""
import csv
import datetime as dt
import io
import json
import logging
import os
import shutil
import threading
import urllib.request
import zipfile

import numpy as np
import pytest
import scipy.signal
import soundfile
from werkzeug.serving import make_server

from anomaly_jax.aco import __main__ as aco_main
from anomaly_jax.aco import fmt, training
from anomaly_jax.aco.archive import Archive
from anomaly_jax.aco.review import app as app_lib
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import exports, labels as labels_lib, media
from anomaly_jax.aco.review import retrain, simulate, use
from anomaly_jax.aco.store import FileResult, Store
from jaxtk.errors import DataError
import review_fixture


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return review_fixture.make(str(tmp_path_factory.mktemp("review")))


@pytest.fixture
def client(tiny):
  archive, workdir = tiny
  app = app_lib.create_app(workdir, archive)
  yield app.test_client()
  s = labels_lib.Labels(os.path.join(workdir, det_lib.STORE))
  s.db.execute("DELETE FROM labels")
  s.db.commit()
  s.close()


def test_precision_by_rank_and_threshold_by_hand():
  # Ranks 1..6 labelled T T F T ? F: precision 1, 1, 2/3, 3/4, 3/4, 3/5.
  dets = [det_lib.Det(i + 1, i, i + 1, i, 10.0 - i, f"f{i}")
          for i in range(6)]
  answers = ["true", "true", "false", "true", None, "false"]
  latest = {d.key: {"label": a} for d, a in zip(dets, answers) if a}
  p = use.precision_by_rank(dets, latest)
  np.testing.assert_allclose(p["precision"], [1, 1, 2 / 3, .75, .75, .6])
  np.testing.assert_array_equal(p["reviewed"], [1, 2, 3, 4, 4, 5])
  t = use.threshold_for_precision(dets, latest, 0.75)
  assert (t["threshold"], t["rank"], t["true"], t["reviewed"]) == (7.0, 4, 3,
                                                                     4)
  assert use.threshold_for_precision(dets, latest, 1.0)["threshold"] == 9.0
  assert use.threshold_for_precision(dets, {}, 0.5)["threshold"] == np.inf
  with pytest.raises(ValueError, match="not in"):
    use.threshold_for_precision(dets, latest, 0.0)


def test_simulated_reviewer_answers_from_ground_truth(tiny):
  archive, workdir = tiny
  dets = det_lib.load(workdir, archive)
  got = simulate.answers(dets, archive)
  assert [g[0] for g in got] == ["true" if d.planted else "false"
                                 for d in dets]
  for d, (_, kinds) in zip(dets, got):
    planted = set(d.planted.split(", ")) - {"ship"}
    assert planted == set(kinds.split(",")) or not d.planted


def test_snippet_samples_equal_the_archive_reader_across_files(tiny, tmp_path):
  archive, _ = tiny
  m = media.Media(archive, str(tmp_path))
  first = Archive(archive).all_files()[0]
  t0 = det_lib.unix(fmt.parse_name(first)[0])
  det = det_lib.Det(1, t0 + 27.0, t0 + 28.0, t0 + 27.5, 1.0, "x")
  x, rate = m.load(det, pad=4.0)  # 23..32 s: across into the second file
  clip = Archive(archive).load(det_lib.utc(t0 + 23.0),
                               dt.timedelta(seconds=9.0))
  ref = np.nan_to_num(clip.float()).astype(np.float64)
  sos = scipy.signal.butter(2, 2.0, "highpass", fs=rate, output="sos")
  ref = scipy.signal.sosfiltfilt(sos, ref - ref.mean())
  assert rate == 8000 and x.shape == ref.shape == (72000,)
  np.testing.assert_allclose(x, ref, atol=1e-7)


def test_exports_parse_back_and_import_restores_labels(tiny, tmp_path):
  archive, workdir = tiny
  dets = det_lib.load(workdir, archive)
  files = det_lib.files(workdir)
  tl = exports.Timeline(files, dets)
  store = labels_lib.Labels(str(tmp_path / "a.sqlite"))
  for d in dets:
    store.add(d, "true" if d.planted else "false", d.planted or "noise",
              note='a\t"b"', reviewer="me")
  latest = store.latest()
  out = exports.export("raven", dets, latest, tl, archive)
  (name, raven_text), = out.items()
  (tmp_path / name).write_text(raven_text)
  rows = exports.read_raven(str(tmp_path / name))
  assert list(rows[0])[:10] == list(exports.RAVEN_HEAD + exports.MULTI_HEAD)
  assert len(rows) == len(dets)
  for r, d in zip(rows, dets):
    f, i = tl.locate(d)
    assert r["File Offset (s)"] == pytest.approx(d.start - f.start, abs=1e-4)
    # Begin Time counts on the 30-s files laid end to end.
    assert r["Begin Time (s)"] == pytest.approx(30.0 * i + d.start - f.start,
                                                abs=1e-4)
    assert r["End Time (s)"] - r["Begin Time (s)"] == pytest.approx(
        d.end - d.start, abs=2e-4)
    assert os.path.isfile(r["Begin Path"]) and r["High Freq (Hz)"] == "4000"
    assert r["Note"] == 'a "b"' and r["Label"] == latest[d.key]["label"]
  confirmed = exports.export("raven", dets, latest, tl, archive, "confirmed")
  n_true = sum(bool(d.planted) for d in dets)
  assert next(iter(confirmed.values())).count("\n") == 1 + n_true
  per_file = exports.export("raven-files", dets, latest, tl, archive)
  assert sum(t.count("\n") - 1 for t in per_file.values()) == len(dets)
  first = [n for n in per_file if n.startswith("2016-11-30--05.00")][0]
  assert first.endswith(".Table.1.selections.txt")
  aud = exports.export("audacity", dets, latest, tl, archive)
  line = aud[first.replace(".Table.1.selections.txt", ".labels.txt")]
  a, b, text = line.splitlines()[0].split("\t")
  assert float(b) > float(a) >= 0 and text.startswith("#")
  table = list(csv.DictReader(io.StringIO(next(iter(exports.export(
      "csv", dets, latest, tl, archive).values())))))
  assert [int(r["rank"]) for r in table] == [d.id for d in dets]
  # Both kinds of Raven table come back as the same labels.
  for path in (tmp_path / name, tmp_path / first):
    if path != tmp_path / name:
      path.write_text(per_file[first])
    back = labels_lib.Labels(str(tmp_path / f"{path.name}.sqlite"))
    got = exports.import_raven(str(path), dets, back, reviewer="raven")
    assert got["unmatched"] == 0 and got["matched"] > 0
    for k, v in back.latest().items():
      assert (v["label"], v["kind"]) == (latest[k]["label"], latest[k]["kind"])
    back.close()
  bad = tmp_path / "bad.txt"
  bad.write_text(raven_text.replace("\ttrue\t", "\tyes\t").replace(
      "\tfalse\t", "\tyes\t"))
  with pytest.raises(DataError, match=r"row 1: label='yes'"):
    exports.import_raven(str(bad), dets, store)
  store.close()


def test_api_lists_filters_labels_and_renders(client, tiny):
  r = client.get("/")
  assert r.status_code == 200 and b"app.js" in r.data
  rows = client.get("/api/detections").json["rows"]
  assert [x["score"] for x in rows] == sorted((x["score"] for x in rows),
                                              reverse=True)
  got = client.get("/api/detections?min_score=7.2&max_score=8.6").json
  assert [x["score"] for x in got["rows"]] == [8.5, 8.0, 7.5]
  assert client.get("/api/detections?start=2016-11-30T20:00").json[
      "total"] == sum(x["peak"] >= "2016-11-30T20" for x in rows)
  kind = rows[0]["planted"]
  assert all(kind in x["planted"] for x in client.get(
      f"/api/detections?kind={kind}").json["rows"])
  r = client.post("/api/labels", json={"id": 2, "key": rows[1]["key"],
                                       "label": "false", "kind": "noise",
                                       "reviewer": "ann"})
  assert r.status_code == 201 and r.json["label"] == "false"
  one = client.get("/api/detections/2").json
  assert one["label"] == "false" and len(one["history"]) == 1
  assert client.get("/api/detections?label=false").json["total"] == 1
  assert client.get("/api/detections?label=none").json["total"] == len(rows) - 1
  s = client.get("/api/summary?target=0.5").json
  assert s["counts"] == {"true": 0, "false": 1, "unsure": 0}
  png = client.get("/api/detections/1/spectrogram.png?pad=2")
  assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
  wav = client.get("/api/detections/1/audio.wav?pad=2&speed=10")
  assert wav.status_code == 200 and wav.mimetype == "audio/wav"
  x, rate = soundfile.read(io.BytesIO(wav.data))
  # 8 kHz x10 = 80 kHz, resampled to 48 kHz; (span + 2 x 2 s) / 10 long.
  span = rows[0]["seconds"] + 4.0
  assert rate == 48000 and x.size == pytest.approx(span / 10 * 48000, rel=1e-3)
  assert 0.85 < np.abs(x).max() <= 0.91
  zipped = client.get("/api/export/audacity?which=all")
  assert zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()


@pytest.mark.parametrize("method,url,body,code", [
    ("get", "/api/detections/abc", None, 404),
    ("get", "/api/detections/-1", None, 404),
    ("get", "/api/detections/99", None, 404),
    ("get", "/api/detections/1/audio.wav?speed=3", None, 400),
    ("get", "/api/detections/1/audio.wav?pad=-1", None, 400),
    ("get", "/api/detections/1/spectrogram.png?pad=nan", None, 400),
    ("get", "/api/detections?min_score=abc", None, 400),
    ("get", "/api/detections?start=yesterday", None, 400),
    ("get", "/api/detections?label=maybe", None, 400),
    ("get", "/api/detections?limit=0", None, 400),
    ("get", "/api/export/pdf", None, 400),
    ("get", "/api/export/raven?which=some", None, 400),
    ("get", "/api/summary?target=2", None, 400),
    ("post", "/api/labels", "not json", 400),
    ("post", "/api/labels", [1, "true"], 400),
    ("post", "/api/labels", {"id": "1", "label": "true"}, 400),
    ("post", "/api/labels", {"id": True, "label": "true"}, 400),
    ("post", "/api/labels", {"id": 1.0, "label": "true"}, 400),
    ("post", "/api/labels", {"id": 99, "label": "true"}, 404),
    ("post", "/api/labels", {"id": 1, "label": "yes"}, 400),
    ("post", "/api/labels", {"id": 1, "label": "true", "kind": "a\tb"}, 400),
    ("post", "/api/labels", {"id": 1, "label": "true", "note": "x" * 3000},
     400),
    ("post", "/api/labels", {"id": 1, "label": "true", "reviewer": 7}, 400),
    ("post", "/api/labels", {"id": 1, "key": "other@1", "label": "true"},
     409),
    ("get", "/files/archive/../run/events.csv", None, 404),
    ("get", "/files/archive/%2e%2e/run/events.csv", None, 404),
    ("get", "/files/workdir//etc/passwd", None, 404),
    ("get", "/files/workdir/%2Fetc%2Fpasswd", None, 404),
    ("get", "/files/elsewhere/events.csv", None, 404),
])
def test_malformed_requests_get_4xx_and_store_nothing(client, tiny, method,
                                                      url, body, code):
  kw = {}
  if isinstance(body, str):
    kw = {"data": body, "content_type": "application/json"}
  elif body is not None:
    kw = {"json": body}
  r = getattr(client, method)(url, follow_redirects=True, **kw)
  assert r.status_code == code, r.data
  assert "error" in r.json
  s = labels_lib.Labels(os.path.join(tiny[1], det_lib.STORE))
  assert s.all() == []
  s.close()


def test_serves_only_files_inside_the_roots(client, tiny):
  archive, workdir = tiny
  assert client.get("/files/workdir/events.csv").status_code == 200
  assert client.get("/files/archive/events.csv").status_code == 200
  os.symlink("/etc/passwd", os.path.join(workdir, "link.txt"))
  os.symlink(os.path.dirname(archive), os.path.join(archive, "up"))
  try:
    assert client.get("/files/workdir/link.txt").status_code == 404
    assert client.get("/files/archive/up/run/events.csv").status_code == 404
  finally:
    os.remove(os.path.join(workdir, "link.txt"))
    os.remove(os.path.join(archive, "up"))
  r = client.get("/api/detections", headers={"Host": "evil.example:8765"})
  assert r.status_code == 403


def test_two_clients_labelling_at_once_lose_nothing(client, tiny):
  archive, workdir = tiny
  server = make_server("127.0.0.1", 0, app_lib.create_app(workdir, archive),
                       threaded=True)
  th = threading.Thread(target=server.serve_forever, daemon=True)
  th.start()
  url = f"http://127.0.0.1:{server.server_port}/api/labels"
  errors = []

  def reviewer(name):
    for i in range(20):
      body = json.dumps({"id": 1 + i % 6, "label": "unsure",
                         "note": f"{name}-{i}", "reviewer": name}).encode()
      req = urllib.request.Request(url, body,
                                   {"Content-Type": "application/json"})
      try:
        with urllib.request.urlopen(req, timeout=30) as r:
          assert r.status == 201
      except Exception as e:  # pylint: disable=broad-except
        errors.append(e)

  ts = [threading.Thread(target=reviewer, args=(n,)) for n in ("a", "b")]
  for t in ts:
    t.start()
  for t in ts:
    t.join()
  server.shutdown()
  assert not errors
  s = labels_lib.Labels(os.path.join(workdir, det_lib.STORE))
  notes = sorted(r["note"] for r in s.all())
  s.close()
  assert notes == sorted(f"{n}-{i}" for n in "ab" for i in range(20))


def test_labels_survive_a_rescan_and_a_retraining(tiny, tmp_path, caplog):
  _, workdir = tiny
  path = str(tmp_path / "scores.sqlite")
  shutil.copy(os.path.join(workdir, det_lib.STORE), path)
  det = det_lib.load(workdir)[0]
  s = labels_lib.Labels(path)
  s.add(det, "true", "fin")
  s.close()
  store = Store(path)
  n_windows = len(store.windows()["t"])
  again = store.files()[0]
  store.add(FileResult(again["path"], again["start"], 30.0,
                       again["start"] + np.arange(0.5, 30.0, 0.5),
                       {"score": np.zeros(59)}))
  assert len(store.windows()["t"]) == n_windows  # replaced, not duplicated
  store.close()
  with caplog.at_level(logging.WARNING):
    training.clear_store(path)  # what --mode=train does to the old index
  assert "labels (1 rows)" in caplog.text
  store = Store(path)
  assert store.files() == [] and store.detections() == []
  store.close()
  s = labels_lib.Labels(path)
  assert [r["label"] for r in s.all()] == ["true"]
  s.close()


def test_retrain_settings_are_checked_up_front(tiny, capsys):
  with pytest.raises(ValueError, match="np, vae, gmm_nll, ae"):
    retrain.RetrainConfig(score="bogus")
  with pytest.raises(ValueError, match="fa_share"):
    retrain.RetrainConfig(fa_share=1.0)
  archive, workdir = tiny
  assert aco_main.main(["review", "--workdir", workdir, "--archive", archive,
                        "--mode=retrain", "--score=bogus"]) == 2
  assert "np, vae" in capsys.readouterr().err
