"""Review page speed: the page with the top 200 detections, and one
spectrogram or audio snippet rendered from the archive.

  PYTHONPATH=$PWD python bench/review.py --workdir runs/aco [--repeats 5]

Serves the scan in ``--workdir`` on a loopback port (the app as ``review``
runs it, threaded) and times over HTTP:

* page: every request the page makes when it opens (HTML, JS, CSS, config,
  the top ``--n`` detections with their labels, the summary, the score
  timeline), one after the other; the first load (timeline not yet cached)
  and the best and median of ``--repeats`` more;
* spectrogram / audio: one snippet each for ``--snippets`` detections of the
  top ``--n`` (default context 5 s, audio x10), rendered from the archive into
  an empty cache (no snippet is served from cache).

Targets: page < 1 s, a snippet < 300 ms.  Prints the load average: figures
taken while other jobs share the 2 cores are marked "loaded".
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
from werkzeug.serving import make_server

from anomaly_jax.aco import synth
from anomaly_jax.aco.review import app as app_lib
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import media


def _get(url: str) -> int:
  with urllib.request.urlopen(url, timeout=60) as r:
    return len(r.read())


def page_once(base: str, n: int) -> float:
  t0 = time.perf_counter()
  for path in ("", "static/app.js", "static/style.css", "api/config",
               f"api/detections?limit={n}", "api/summary?target=0.9",
               "api/timeline"):
    _get(base + path)
  return time.perf_counter() - t0


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--workdir", default="runs/aco")
  p.add_argument("--archive", default=None, help="default $ACO_ARCHIVE")
  p.add_argument("--n", type=int, default=200)
  p.add_argument("--repeats", type=int, default=5)
  p.add_argument("--snippets", type=int, default=5)
  a = p.parse_args(argv)
  archive = a.archive or synth.default_dir()
  load = os.getloadavg()[0]
  tag = f"loaded: load average {load:.1f} on {os.cpu_count()} cores" if (
      load > 1.0) else f"idle: load average {load:.1f}"
  app = app_lib.create_app(a.workdir, archive)
  server = make_server("127.0.0.1", 0, app, threaded=True)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  base = f"http://127.0.0.1:{server.server_port}/"
  dets = det_lib.load(a.workdir)
  first = page_once(base, a.n)
  times = [page_once(base, a.n) for _ in range(a.repeats)]
  server.shutdown()
  print(f"{len(dets)} detections in {a.workdir}; {tag}")
  print(f"page with the top {min(a.n, len(dets))}: first {first * 1e3:.0f} ms,"
        f" best {min(times) * 1e3:.0f} ms, median "
        f"{statistics.median(times) * 1e3:.0f} ms of {a.repeats} (target "
        "< 1000 ms)")
  step = max(1, min(a.n, len(dets)) // a.snippets)
  picked = dets[:a.n:step][:a.snippets]
  with tempfile.TemporaryDirectory() as cache:
    m = media.Media(archive, cache)
    m.spectrogram(picked[0], media.Spec(pad=1.0))  # imports, first calls
    for what, fn, spec in (
        ("spectrogram", m.spectrogram, media.Spec()),
        ("audio x10", m.audio, media.Spec(speed=10))):
      ts = []
      for d in picked:
        t0 = time.perf_counter()
        fn(d, spec)
        ts.append(time.perf_counter() - t0)
      print(f"{what:>12}: median {statistics.median(ts) * 1e3:.0f} ms, max "
            f"{max(ts) * 1e3:.0f} ms over {len(ts)} detections, uncached "
            "(target < 300 ms)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
