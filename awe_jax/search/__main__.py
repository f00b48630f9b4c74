"""``python -m awe_jax.search index|add|query``: build, grow and query an index.

  python -m awe_jax.search index --model models/awe-large --index idx rec/
  python -m awe_jax.search add --index idx more.wav
  python -m awe_jax.search query --index idx --word weather --csv hits.csv
  python -m awe_jax.search query --index idx --audio query.wav --plot hit.png
"""
import argparse
import csv
import dataclasses
import json
import sys

from jaxtk.errors import DataError

# Defaults of awe_jax.search.index, repeated here so that --help stays
# instant (tests/test_search.py checks they agree).
HOP, NUM_DURATIONS, FEEDBACK = 10, 1, 5


def parse(argv):
  p = argparse.ArgumentParser(prog="python -m awe_jax.search",
                              description=__doc__.splitlines()[0])
  sub = p.add_subparsers(dest="command", required=True)
  ix = sub.add_parser("index", help="create an index (or open it) and add "
                      "recordings")
  ix.add_argument("--model", required=True, help="model directory "
                  "(models/awe-large, models/awe-small or a training "
                  "workdir)")
  ad = sub.add_parser("add", help="add new recordings (only new files are "
                      "embedded)")
  ad.add_argument("--model", help="default: the one the index was built with")
  for s in (ix, ad):
    s.add_argument("--index", required=True, help="index directory")
    s.add_argument("audio", nargs="+", help="audio files or directories")
  ix.add_argument("--hop", type=int, default=HOP, help="frames (10 ms) "
                  "between window starts")
  ix.add_argument("--num_durations", type=int, default=NUM_DURATIONS,
                  help="window durations spanning the training words' 5-95%% "
                  "lengths (1: their geometric mean)")
  ix.add_argument("--exact_limit", type=int, default=2_000_000, help="exact "
                  "search up to this many windows, HNSW above")
  q = sub.add_parser("query", help="search by example (--audio) or by typed "
                     "word (--word)")
  q.add_argument("--index", required=True, help="index directory")
  q.add_argument("--model", help="default: the one the index was built with")
  which = q.add_mutually_exclusive_group(required=True)
  which.add_argument("--audio", help="a recording of the query word")
  which.add_argument("--word", help="a written word")
  q.add_argument("--top", type=int, default=10, help="hits to return")
  q.add_argument("--feedback", type=int, default=FEEDBACK, help="first hits "
                 "averaged into the query for a second search (0: none)")
  q.add_argument("--csv", help="write the hits as CSV")
  q.add_argument("--json", help="write the hits as JSON")
  q.add_argument("--plot", help="PNG of the best hit's spectrogram and span")
  return p.parse_args(argv)


def main(argv=None) -> int:
  args = parse(argv)
  # Heavy imports after parsing, so that --help is instant.
  from awe_jax.inference import Embedder  # pylint: disable=g-import-not-at-top
  from awe_jax.search.index import SearchIndex, WindowConfig  # pylint: disable=g-import-not-at-top
  try:
    model = args.model or SearchIndex.model_dir(args.index)
    emb = Embedder.load(model)
    if args.command == "index":
      idx = SearchIndex.create(
          args.index, emb, model_dir=model, exact_limit=args.exact_limit,
          windows=WindowConfig(hop=args.hop, num_durations=args.num_durations))
    else:
      idx = SearchIndex(args.index, emb)
    if args.command in ("index", "add"):
      n = idx.add(args.audio, quiet=False)
      print(f"added {n} recording(s); the index holds {len(idx)} windows over "
            f"{idx.seconds() / 60:.1f} min")
      return 0
    kw = dict(top=args.top, feedback=args.feedback)
    hits = (idx.query_audio(args.audio, **kw) if args.audio
            else idx.query_word(args.word, **kw))
  except DataError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  rows = [dataclasses.asdict(h) for h in hits]
  for r, h in enumerate(rows, 1):
    print(f"{r:3d}  {h['file']}  {h['start']:8.2f}  {h['end']:8.2f}  "
          f"{h['distance']:.4f}")
  if args.csv:
    with open(args.csv, "w", newline="") as f:
      w = csv.DictWriter(f, fieldnames=["file", "start", "end", "distance"])
      w.writeheader()
      w.writerows(rows)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=1)
  if args.plot and hits:
    from awe_jax.search.plot import plot_hit  # pylint: disable=g-import-not-at-top
    plot_hit(args.plot, hits[0], emb.sample_rate)
  return 0


if __name__ == "__main__":
  sys.exit(main())
