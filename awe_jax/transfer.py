"""A trained run scored on another corpus' split: all of its tokens, the
tokens by speakers the run never heard in training, and of those the words
it never saw.

A model trained on the large corpus is compared with the default model on
the embedded corpus' test split this way (``experiments/awe_transfer.py``).
The two corpora deal their Debian voices to the splits independently, so
some embedded test speakers are training speakers of the large corpus: the
"unseen speakers" rows are the fair comparison.  Speakers come from each
corpus' ``manifest.csv`` (for a ``--snapshot`` directory, from the corpus
it was taken from, named in its ``build_info.json``).
"""
import csv
import json
import os

import numpy as np

from awe_jax import data, input_pipeline, metrics
from awe_jax.factory import build_model
from awe_jax.realspeech import check
from jaxtk.errors import DataError

RESULT_FILE = "transfer.json"
SCOPES = ("all", "speakers unseen in training",
          "unseen speakers, unseen words")


def manifest_path(data_dir: str) -> str:
  """The ``manifest.csv`` listing ``data_dir``'s tokens.

  Raises:
    DataError: neither ``data_dir`` nor the source its ``build_info.json``
      names has one.
  """
  own = os.path.join(data_dir, "manifest.csv")
  if os.path.exists(own):
    return own
  info = os.path.join(data_dir, "build_info.json")
  try:
    with open(info) as f:
      source = json.load(f).get("source")
  except (OSError, json.JSONDecodeError) as e:
    raise DataError(data_dir, "no manifest.csv, and no readable "
                    f"build_info.json naming its source: {e}") from e
  path = os.path.join(source or "", "manifest.csv")
  if not source or not os.path.exists(path):
    raise DataError(info, f"its source {source!r} has no manifest.csv")
  return path


def speakers(data_dir: str) -> dict:
  """utt_id -> (split, speaker) from ``data_dir``'s manifest."""
  path = manifest_path(data_dir)
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  if rows and not {"utt_id", "split", "speaker"} <= set(rows[0]):
    raise DataError(path, "needs the columns utt_id, split and speaker")
  return {r["utt_id"]: (r["split"], r["speaker"]) for r in rows}


def run(workdir: str, train_dir: str, eval_dir: str, split: str = "test",
        also_heard: tuple = (), out: str | None = None) -> dict:
  """Scores the best (else latest) checkpoint of ``workdir`` (trained on
  ``train_dir``) on ``eval_dir``'s ``split``; writes ``out`` (default
  ``workdir/transfer.json``).

  ``also_heard``: other training data directories whose training speakers
  and words count as heard too, so that two models trained on different
  corpora are scored on the same tokens (those neither heard).

  Returns:
    ``{"checkpoint", "speakers_unseen", "speakers_heard", <scope>: {"tokens",
    "words", "acoustic_ap", "crossview_ap"}}`` for the ``SCOPES`` with at
    least two tokens; cross-view AP ranks each scope's tokens against the
    written words of that scope.
  """
  config = check.read_config(workdir)
  vocab = check.read_vocab(train_dir)
  ds = input_pipeline.load_dataset(eval_dir)
  if split not in ds.splits:
    raise DataError(eval_dir, f"no split {split!r} (has {sorted(ds.splits)})")
  model = build_model(config, vocab.num_phones)
  params, ckpt = check.restore_params(workdir, model, config)
  heard = sorted({spk for d in (train_dir, *also_heard)
                  for sp, spk in speakers(d).values() if sp == "train"})
  known = set(vocab.word_to_phones)
  for d in also_heard:
    known |= set(check.read_vocab(d).word_to_phones)
  who = speakers(eval_dir)
  segs = ds.splits[split]
  utts = [str(k).rsplit("/", 1)[0] for k in segs.keys]
  missing = sorted(set(utts) - set(who))
  if missing:
    raise DataError(manifest_path(eval_dir), f"{len(missing)} {split} "
                    f"utterances are not in it, e.g. {missing[0]!r}")
  words = sorted(set(segs.words.tolist()))
  table = check.phone_table([ds.vocab.word_to_phones[w] for w in words], vocab)
  word_id = {w: i for i, w in enumerate(words)}
  labels = np.asarray([word_id[w] for w in segs.words], np.int32)
  segs = data.Segments(segs.feats, segs.words, labels, segs.keys)
  ev, params = check.evaluator(model, table, segs, config, params)
  embs = ev.acoustic(params, segs)
  word_embs = ev.phones(params, np.arange(len(words)))
  spk = np.asarray([who[u][1] for u in utts])
  unseen = ~np.isin(spk, heard)
  new_word = ~np.isin(segs.words, sorted(known))
  result = {"workdir": workdir, "checkpoint": ckpt, "train_dir": train_dir,
            "also_heard": list(also_heard), "eval_dir": eval_dir,
            "split": split,
            "speakers_unseen": sorted(set(spk[unseen].tolist())),
            "speakers_heard": sorted(set(spk[~unseen].tolist()))}
  for name, mask in zip(SCOPES, (np.ones(len(spk), bool), unseen,
                                 unseen & new_word)):
    if mask.sum() < 2:
      continue
    ids = np.unique(labels[mask])
    result[name] = {
        "tokens": int(mask.sum()), "words": int(ids.size),
        "acoustic_ap": metrics.acoustic_ap(embs[mask], labels[mask]),
        "crossview_ap": metrics.crossview_ap(embs[mask], labels[mask],
                                             word_embs[ids], ids)}
  with open(out or os.path.join(workdir, RESULT_FILE), "w") as f:
    json.dump(result, f, indent=1)
  return result


def format_report(r: dict) -> str:
  lines = [f"{r['workdir']} ({r['checkpoint']}) on {r['eval_dir']} "
           f"{r['split']}; unseen speakers: {', '.join(r['speakers_unseen'])}",
           f"{'tokens':<32} {'n':>6} {'words':>6} {'acoustic AP':>12} "
           f"{'cross-view AP':>14}"]
  for name in SCOPES:
    if name in r:
      s = r[name]
      lines.append(f"{name:<32} {s['tokens']:>6} {s['words']:>6} "
                   f"{s['acoustic_ap']:>12.4f} {s['crossview_ap']:>14.4f}")
  return "\n".join(lines)
