"""Search over people's speech: AWE indexes of several models and S-DTW on a
collection joined from the real-speech check's recordings.

The collection (``awe_jax.search.task.build_real_collection``) holds every
token of the five real speakers once (408 tokens, 288 words, about 6
minutes).  Typed queries: every word of the collection.  Spoken queries:
each token of a word said by two or more speakers, searched for the other
tokens of its word (a hit on the query's own token is dropped: it is in the
collection).  No setting of the search was chosen on this collection.

  python bench/search_real.py --models models/awe-small,models/awe-large
"""
import argparse
import os
import shutil
import time

import numpy as np
import soundfile as sf


def parse(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--models", default="models/awe-small,models/awe-large",
                 help="comma-separated model directories")
  p.add_argument("--collection", default=None, help="collection directory "
                 "(default: <data>/search-collection-real)")
  p.add_argument("--workdir", default="runs/search-real",
                 help="index directories (rebuilt)")
  p.add_argument("--top", type=int, default=100, help="hits per query")
  p.add_argument("--no_sdtw", action="store_true", help="skip S-DTW")
  return p.parse_args(argv)


def main(args):
  from jaxtk import logs, xla_cpu  # pylint: disable=g-import-not-at-top
  xla_cpu.use_measured_defaults()
  logs.quiet_libraries()
  # pylint: disable=g-import-not-at-top
  from awe_jax import corpus
  from awe_jax.corpus import features
  from awe_jax.inference import Embedder, load_audio
  from awe_jax.search import SearchIndex, index, metrics, sdtw, task
  coll = args.collection or os.path.join(
      os.path.dirname(corpus.build.default_dir()), "search-collection-real")
  t0 = time.perf_counter()
  task.build_real_collection(coll)
  occ = task.read_words(coll)
  spoken = task.real_queries(coll)
  hours = sum(sf.info(f).duration for f in {o[0] for v in occ.values()
                                             for o in v}) / 3600
  print(f"collection {coll}: {hours * 60:.1f} min, "
        f"{sum(map(len, occ.values()))} tokens, {len(occ)} words "
        f"({time.perf_counter() - t0:.0f} s); {len(spoken)} spoken queries")

  def score(run, items):
    """Mean P@10, P@N, FOM, AP over ``(word, query, own)`` items."""
    out = []
    for w, q, own in items:
      rel = [o for o in occ[w] if own is None or o != own]
      hits = run(q)
      out.append(metrics.score_query(
          hits if own is None else task.without_own(hits, own), rel, hours))
    return {k: float(np.mean([s[k] for s in out])) for k in out[0]}

  typed = [(w, w, None) for w in sorted(occ)]
  rows = []
  for model in args.models.split(","):
    emb = Embedder.load(model)
    wd = os.path.join(args.workdir, os.path.basename(model.rstrip("/")))
    shutil.rmtree(wd, ignore_errors=True)
    idx = SearchIndex.create(wd, emb, model_dir=model)
    idx.add([os.path.join(coll, "audio")])
    fb = index.FEEDBACK_HITS
    rows.append((model, "spoken", len(spoken), score(
        lambda p: idx.query_audio(p, top=args.top, feedback=fb), spoken)))
    rows.append((model, "typed", len(typed), score(
        lambda w: idx.query_word(w, top=args.top, feedback=fb), typed)))
    idx.close()
  if not args.no_sdtw:
    files = sorted({o[0] for v in occ.values() for o in v})
    docs = {f: features.mfcc39(load_audio(f)) for f in files}
    rows.append(("S-DTW over MFCCs", "spoken", len(spoken), score(
        lambda p: sdtw.sdtw_search(features.mfcc39(load_audio(p)), docs,
                                   top=args.top), spoken)))
  print("\n| system | queries | n | P@10 | P@N | FOM | MAP |")
  print("|---|---|---|---|---|---|---|")
  for name, kind, n, s in rows:
    print(f"| {name} | {kind} | {n} | {s['p_at_10']:.3f} | {s['p_at_n']:.3f} "
          f"| {s['fom']:.3f} | {s['ap']:.3f} |")


if __name__ == "__main__":
  main(parse())
