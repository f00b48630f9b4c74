"""Search benchmark: AWE index vs subsequence DTW on a one-hour collection.

Builds (once) the collection of awe_jax.search.task from the corpus' test
tokens, indexes it from scratch with the model, then runs the spoken
queries (dev and train voices) with both systems and the typed queries
(seen and unseen words) with the AWE index, and prints indexing speed,
seconds per query (wall and CPU time, one query per call), P@10, P@N, FOM
and MAP, and the issue's targets.  The queries are those of ``--split``
(``test`` by default: the search settings were chosen on ``dev``,
awe_jax.search.task.query_split).

  python bench/search.py                       # models/awe-large, 1 hour
  python bench/search.py --minutes=5 --sdtw_queries=5   # quick look
"""
import argparse
import os
import shutil
import time

import numpy as np


def parse(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--model", default="models/awe-large", help="model directory")
  p.add_argument("--minutes", type=float, default=60.0, help="collection duration")
  p.add_argument("--workdir", default="runs/search-bench",
                 help="index directory (rebuilt)")
  p.add_argument("--queries", type=int, default=100, help="queries per set "
                 "(spoken by dev voices, by train voices, typed seen, typed unseen)")
  p.add_argument("--split", default="test", choices=["dev", "test", "all"],
                 help="query words used (settings were chosen on dev)")
  p.add_argument("--sdtw_queries", type=int, default=0,
                 help="spoken queries also run with S-DTW (0: all)")
  p.add_argument("--top", type=int, default=100, help="hits per query for the metrics")
  p.add_argument("--hop", type=int, default=None, help="window hop in frames "
                 "(default: awe_jax.search.WindowConfig's)")
  p.add_argument("--num_durations", type=int, default=None,
                 help="window durations (default: WindowConfig's)")
  p.add_argument("--feedback", type=int, default=None, help="pseudo-relevance "
                 "feedback hits (default: awe_jax.search.index.FEEDBACK_HITS)")
  return p.parse_args(argv)


def main(args):
  from jaxtk import logs, xla_cpu  # pylint: disable=g-import-not-at-top
  xla_cpu.use_measured_defaults()
  logs.quiet_libraries()
  from awe_jax import corpus  # pylint: disable=g-import-not-at-top
  from awe_jax.corpus import features  # pylint: disable=g-import-not-at-top
  from awe_jax.inference import Embedder, load_audio  # pylint: disable=g-import-not-at-top
  from awe_jax.search import SearchIndex, WindowConfig, index, sdtw, task  # pylint: disable=g-import-not-at-top
  from jaxtk import configs  # pylint: disable=g-import-not-at-top
  cdir = corpus.ensure_corpus()
  root = os.path.dirname(cdir)
  cfg = task.CollectionConfig(minutes=args.minutes)
  coll = task.build_collection(cdir, os.path.join(
      root, f"search-collection-{args.minutes:g}min"), cfg)
  occ = task.read_words(coll)
  qs = task.split_queries(task.queries(cdir, occ, n_spoken=args.queries,
                                        n_typed=args.queries), args.split)
  emb = Embedder.load(args.model)
  shutil.rmtree(args.workdir, ignore_errors=True)
  windows = configs.override(WindowConfig(), hop=args.hop,
                             num_durations=args.num_durations)
  idx = SearchIndex.create(args.workdir, emb, model_dir=args.model,
                           windows=windows)
  fb = index.FEEDBACK_HITS if args.feedback is None else args.feedback
  spoken = qs["spoken_dev"]
  emb.compile_queries()  # compile the query shapes first
  t, cpu = time.perf_counter(), time.process_time()
  idx.add([os.path.join(coll, "audio")])
  t_index, cpu_index = time.perf_counter() - t, time.process_time() - cpu
  hours = idx.seconds() / 3600
  print(f"collection: {idx.seconds() / 60:.1f} min, {sum(map(len, occ.values()))} "
        f"words, {len(occ)} types; index: {len(idx)} windows, durations "
        f"{idx.durations} frames, hop {idx.windows.hop}")
  speed = idx.seconds() / t_index
  print(f"indexing: {t_index:.1f} s = {speed:.0f}x real time; CPU time "
        f"{cpu_index:.1f} s = {idx.seconds() / cpu_index:.0f}x real time per "
        f"core (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
  idx.query_word(qs["typed_seen"][0])  # load vectors, compile
  rows = []

  def timed(fn, items):
    """Scores and median wall and CPU seconds of one query per call."""
    times = []

    def run(q):
      t0, c0 = time.perf_counter(), time.process_time()
      out = fn(q)
      times.append((time.perf_counter() - t0, time.process_time() - c0))
      return out
    scores = task.evaluate(run, items, occ, hours)
    return scores, *np.median(times, axis=0).tolist()

  for split in ("dev", "train"):
    items = qs[f"spoken_{split}"]
    rows.append((f"AWE, spoken by {split} voices", len(items), *timed(
        lambda p: idx.query_audio(p, top=args.top, feedback=fb), items)))
  sub = qs["spoken_dev"] + qs["spoken_train"]
  sub = sub[:args.sdtw_queries or len(sub)]
  rows.append(("AWE, spoken, the S-DTW queries", len(sub), *timed(
      lambda p: idx.query_audio(p, top=args.top, feedback=fb), sub)))
  files = sorted({o[0] for v in occ.values() for o in v})
  docs = {f: features.mfcc39(load_audio(f)) for f in files}
  sdtw.sdtw_search(features.mfcc39(load_audio(sub[0][1])), {files[0]: docs[files[0]]})
  rows.append(("S-DTW over MFCCs, the same queries", len(sub), *timed(
      lambda p: sdtw.sdtw_search(features.mfcc39(load_audio(p)), docs,
                                 top=args.top), sub)))
  for name in ("typed_seen", "typed_unseen"):
    items = [(w, w) for w in qs[name]]
    if items:
      rows.append((f"AWE, typed, {name[6:]} in training", len(items), *timed(
          lambda w: idx.query_word(w, top=args.top, feedback=fb), items)))
  t = time.perf_counter()
  for _ in range(20):
    idx.query_audio(spoken[0][1], top=10, feedback=fb)
  one = (time.perf_counter() - t) / 20
  print(f"one spoken query, top 10, over {idx.seconds() / 60:.0f} min: "
        f"{1000 * one:.1f} ms (features, embedding, search, feedback, NMS)")
  print("\n| queries | n | P@10 | P@N | FOM | MAP | s/query | CPU s/query |")
  print("|---|---|---|---|---|---|---|---|")
  for name, n, s, sec, cpu_sec in rows:
    print(f"| {name} | {n} | {s['p_at_10']:.3f} | {s['p_at_n']:.3f} | "
          f"{s['fom']:.3f} | {s['ap']:.3f} | {sec:.4f} | {cpu_sec:.4f} |")

  (_, _, awe, t_awe, c_awe), (_, _, dtw, t_dtw, c_dtw) = rows[2], rows[3]
  print(f"\nqueries of the {args.split} split; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; targets:")
  print(f"- spoken P@10 AWE {awe['p_at_10']:.3f} >= S-DTW {dtw['p_at_10']:.3f}: "
        f"{_met(awe['p_at_10'] >= dtw['p_at_10'])}")
  print(f"- time per query (one query per call, medians) {t_dtw / t_awe:.0f}x "
        f"less than S-DTW's ({t_awe:.4f} s vs {t_dtw:.3f} s), target 100x: "
        f"{_met(t_dtw >= 100 * t_awe)}; CPU time {c_dtw / c_awe:.0f}x less "
        f"({c_awe:.4f} s vs {c_dtw:.3f} s)")
  print(f"- indexing {speed:.0f}x real time, target 300x: {_met(speed >= 300)}")
  print(f"- one query {1000 * one:.1f} ms, target < 100 ms: {_met(one < 0.1)}")


def _met(ok: bool) -> str:
  return "met" if ok else "NOT met"


if __name__ == "__main__":
  main(parse())
