"""The review web app (Flask): ``create_app(workdir, archive)``, ``serve``.

Routes (JSON unless said):
  GET  /                               the page (static/index.html)
  GET  /api/detections?min_score&max_score&start&end&label&kind&limit&offset
  GET  /api/detections/<id>            one detection and its label history
  GET  /api/detections/<id>/spectrogram.png?pad=
  GET  /api/detections/<id>/audio.wav?pad=&speed=
  POST /api/labels   {id, key?, label, kind?, note?, reviewer?}
  GET  /api/summary?target=             counts, precision by rank, threshold
  GET  /api/timeline                    window score, 10-s maxima
  GET  /api/export/<raven|raven-files|audacity|csv>?which=all|confirmed
  GET  /files/<workdir|archive>/<path>  a file inside one of the two roots

Nothing is fetched from the network; the page is plain HTML/JS.  Bad input
is a 4xx with the reason, never a 500.
"""
import datetime as dt
import io
import math
import os
import threading
import zipfile

import flask
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from anomaly_jax.aco import fmt
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import exports, labels as labels_lib, media, use
from jaxtk.errors import DataError

LOCAL = ("127.0.0.1", "localhost", "[::1]", "::1")
MAX_LIMIT = 5000
LABEL_FILTERS = ("any", "none", "true", "false", "unsure")


class Bad(ValueError):
  """A request parameter that is not acceptable: 400."""


class Detections:
  """The workdir's detections, re-read when a scan rewrites them."""

  def __init__(self, workdir: str, archive: str):
    self.workdir, self.archive = workdir, archive
    self.lock = threading.Lock()
    self.version, self.dets, self.by_id = None, [], {}

  def get(self) -> list[det_lib.Det]:
    v = det_lib.version(self.workdir)
    with self.lock:
      if v != self.version or v is None:
        self.dets = det_lib.load(self.workdir, self.archive)
        self.by_id = {d.id: d for d in self.dets}
        self.version = v
      return self.dets

  def one(self, det_id: int) -> det_lib.Det:
    self.get()
    if det_id not in self.by_id:
      flask.abort(404, f"no detection {det_id}")
    return self.by_id[det_id]


def _float(name: str, value, lo=-math.inf, hi=math.inf):
  if value in (None, ""):
    return None
  try:
    x = float(value)
  except ValueError as e:
    raise Bad(f"{name}={value!r} is not a number") from e
  if not (math.isfinite(x) and lo <= x <= hi):
    raise Bad(f"{name}={value!r} is not in [{lo:g}, {hi:g}]")
  return x


def _time(name: str, value):
  if value in (None, ""):
    return None
  try:
    t = dt.datetime.fromisoformat(value)
  except ValueError as e:
    raise Bad(f"{name}={value!r} is not an ISO date/time "
              "(e.g. 2016-12-01T20:05)") from e
  return det_lib.unix(t.replace(tzinfo=None))


def filtered(dets, latest, args) -> list[det_lib.Det]:
  """``dets`` passing the request's filters (score range, dates, label,
  kind: the label's kind or the planted kind)."""
  lo = _float("min_score", args.get("min_score"))
  hi = _float("max_score", args.get("max_score"))
  t0, t1 = _time("start", args.get("start")), _time("end", args.get("end"))
  lab = args.get("label") or "any"
  if lab not in LABEL_FILTERS:
    raise Bad(f"label={lab!r} is not one of: {', '.join(LABEL_FILTERS)}")
  kind = (args.get("kind") or "").strip().lower()
  out = []
  for d in dets:
    got = latest.get(d.key, {})
    if ((lo is not None and d.score < lo) or (hi is not None and d.score > hi)
        or (t0 is not None and d.peak < t0) or (t1 is not None and d.peak >= t1)
        or (lab == "none" and got) or
        (lab not in ("any", "none") and got.get("label") != lab)):
      continue
    if kind and kind not in (got.get("kind") or "").lower() and kind not in (
        d.planted.lower()):
      continue
    out.append(d)
  return out


def _row(d: det_lib.Det, latest: dict) -> dict:
  got = latest.get(d.key, {})
  try:
    rate = fmt.parse_name(d.path)[1]
  except DataError:
    rate = None
  return d.as_json() | {"rate": rate} | {
      k: got.get(k) for k in ("label", "kind", "note", "reviewer", "time")}


def create_app(workdir: str, archive: str, allowed_hosts=LOCAL) -> flask.Flask:
  """The app over the scan in ``workdir`` and the ``archive`` it scanned.

  Args:
    workdir: the scan's outputs (scores.sqlite).
    archive: the archive root (snippets are rendered from it).
    allowed_hosts: ``Host`` header names accepted (DNS-rebinding guard);
      None accepts any.
  """
  app = flask.Flask(__name__, static_folder="static", static_url_path="/static")
  store_path = os.path.join(workdir, det_lib.STORE)
  dets = Detections(workdir, archive)
  rend = media.Media(media.check_archive(archive),
                     os.path.join(workdir, "review_cache"))
  timeline = {}
  labels_lib.Labels(store_path).close()  # the table exists from the start

  def store() -> labels_lib.Labels:
    if "labels" not in flask.g:
      flask.g.labels = labels_lib.Labels(store_path)
    return flask.g.labels

  @app.teardown_appcontext
  def _close(_):
    s = flask.g.pop("labels", None)
    if s is not None:
      s.close()

  @app.before_request
  def _host():
    host = (flask.request.host or "").rsplit(":", 1)[0]
    if allowed_hosts is not None and host not in allowed_hosts:
      flask.abort(403, f"host {host!r} not served (bound to loopback)")

  @app.errorhandler(Bad)
  @app.errorhandler(labels_lib.LabelError)
  def _bad(e):
    return flask.jsonify(error=str(e)), 400

  @app.errorhandler(media.Refused)
  def _refused(e):
    return flask.jsonify(error=str(e)), 404

  @app.errorhandler(DataError)
  def _data(e):
    return flask.jsonify(error=str(e)), 404

  @app.errorhandler(HTTPException)
  def _http(e):
    return flask.jsonify(error=e.description), e.code

  @app.get("/")
  def index():
    return app.send_static_file("index.html")

  @app.get("/api/config")
  def config():
    return flask.jsonify(workdir=os.path.abspath(workdir),
                         archive=os.path.abspath(archive), fmin=media.FMIN,
                         speeds=media.SPEEDS, max_pad=media.MAX_PAD,
                         labels=labels_lib.LABELS, formats=exports.FORMATS)

  @app.get("/api/detections")
  def list_detections():
    a = flask.request.args
    latest = store().latest()
    rows = filtered(dets.get(), latest, a)
    limit = int(_float("limit", a.get("limit"), 1, MAX_LIMIT) or 200)
    offset = int(_float("offset", a.get("offset"), 0) or 0)
    return flask.jsonify(total=len(rows), offset=offset, rows=[
        _row(d, latest) for d in rows[offset:offset + limit]])

  @app.get("/api/detections/<int:det_id>")
  def one(det_id):
    d = dets.one(det_id)
    return flask.jsonify(_row(d, store().latest()) |
                         {"history": store().history(d.key)})

  def _spec():
    try:
      return media.spec(flask.request.args.get("pad"),
                        flask.request.args.get("speed"))
    except ValueError as e:
      raise Bad(str(e)) from e

  @app.get("/api/detections/<int:det_id>/spectrogram.png")
  def spectrogram(det_id):
    path = rend.spectrogram(dets.one(det_id), _spec())
    # No max-age: ids are ranks, so after a re-scan the same URL may be
    # another detection; the ETag (the cached file's) revalidates it.
    return flask.send_file(path, mimetype="image/png")

  @app.get("/api/detections/<int:det_id>/audio.wav")
  def audio(det_id):
    path = rend.audio(dets.one(det_id), _spec())
    return flask.send_file(path, mimetype="audio/wav")

  @app.post("/api/labels")
  def add_label():
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
      raise Bad("expected a JSON object {id, label, kind?, note?, reviewer?}")
    det_id = body.get("id")
    if type(det_id) is not int:  # pylint: disable=unidiomatic-typecheck
      raise Bad(f"id={det_id!r} is not an integer")
    d = dets.one(det_id)
    if "key" in body and body["key"] != d.key:
      flask.abort(409, f"detection {det_id} is now {d.key}, not "
                  f"{body['key']!r}: reload the list")
    got = store().add(d, body.get("label"), body.get("kind"),
                      body.get("note"), body.get("reviewer"))
    return flask.jsonify(got | {"id": d.id}), 201

  @app.get("/api/summary")
  def summary():
    target = _float("target", flask.request.args.get("target"), 0.01, 1.0)
    ds, latest = dets.get(), store().latest()
    p = use.precision_by_rank(ds, latest)
    step = max(1, len(ds) // 400)
    counts = {k: 0 for k in labels_lib.LABELS}
    for d in ds:
      lab = latest.get(d.key, {}).get("label")
      if lab:
        counts[lab] += 1
    kinds = sorted({d.planted for d in ds if d.planted} |
                   {r["kind"] for r in latest.values() if r["kind"]})
    thr = use.threshold_for_precision(ds, latest, target or 0.9)
    nan = lambda x: None if x is None or not math.isfinite(x) else x
    return flask.jsonify(
        detections=len(ds), counts=counts, kinds=kinds,
        threshold={k: nan(v) if isinstance(v, float) else v
                   for k, v in thr.items()},
        precision={"rank": p["rank"][::step].tolist(),
                   "precision": [nan(x) for x in p["precision"][::step]],
                   "reviewed": p["reviewed"][::step].tolist()})

  @app.get("/api/timeline")
  def get_timeline():
    if not timeline:
      timeline.update(det_lib.window_scores(workdir))
    ds, latest = dets.get(), store().latest()
    return flask.jsonify(windows=timeline, detections=[
        {"id": d.id, "t": d.peak, "score": d.score,
         "label": latest.get(d.key, {}).get("label")} for d in ds])

  @app.get("/api/export/<name>")
  def export(name):
    which = flask.request.args.get("which", "all")
    try:
      files = exports.export(name, dets.get(), store().latest(),
                             exports.Timeline(det_lib.files(workdir),
                                              dets.get()), archive, which)
    except ValueError as e:
      raise Bad(str(e)) from e
    if len(files) == 1 and name in ("raven", "csv"):
      (fname, text), = files.items()
      mime = "text/csv" if name == "csv" else "text/plain"
      return flask.send_file(io.BytesIO(text.encode()), mimetype=mime,
                             as_attachment=True, download_name=fname)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
      for fname, text in files.items():
        z.writestr(fname, text)
    buf.seek(0)
    return flask.send_file(buf, mimetype="application/zip", as_attachment=True,
                           download_name=f"{name}_{which}.zip")

  roots = {"workdir": workdir, "archive": archive}

  @app.get("/files/<root>/<path:rel>")
  def serve_file(root, rel):
    if root not in roots:
      flask.abort(404, f"no root {root!r}: one of {', '.join(roots)}")
    path = media.inside(roots[root], rel)
    if not os.path.isfile(path):
      flask.abort(404, f"no file {rel!r} in the {root}")
    return flask.send_file(path)

  return app


def serve(app: flask.Flask, host: str = "127.0.0.1", port: int = 8765):
  """Serves ``app`` (threaded) until interrupted."""
  server = make_server(host, port, app, threaded=True)
  print(f"review: http://{host}:{server.server_port}/  (Ctrl-C stops)",
        flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()
