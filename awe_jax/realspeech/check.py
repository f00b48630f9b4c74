"""The real-speech check: a trained model against words recorded by people.

Reads the best (else latest) checkpoint of a run, embeds the real tokens
(:mod:`awe_jax.realspeech.loader`) and the written words, and scores:

* acoustic AP over the tokens of words said by two or more speakers, for
  the model and for MFCC+DTW (:mod:`awe_jax.dtw`) on the same pairs;
* cross-view retrieval: top-1 / top-5 and cross-view AP of each token
  against the written words of its scope, and against those words plus the
  model's whole training vocabulary as distractors; scopes: every real
  token, and the ``ktuberling`` tokens alone (69 object words).

It is a check only: nothing here is training data, and training never reads
it (checkpoints are picked on the dev split).
"""
import json
import os

import jax
import numpy as np
import scipy.spatial.distance

from awe_jax import configs, data, dtw, evaluate, input_pipeline, kaldi
from awe_jax import metrics, model_card
from awe_jax.factory import build_model
from awe_jax.models import init_params
from awe_jax.realspeech import loader
from jaxtk import parallel
from jaxtk.checkpoint import Checkpoints
from jaxtk.errors import DataError

FEAT_DIM = 39
KS = (1, 5)
RESULT_FILE = "realcheck.json"


def read_config(workdir: str) -> configs.Config:
  """The :class:`awe_jax.configs.Config` a run saved in ``config.json``.

  Raises:
    DataError: the file is missing or has fields the config does not.
  """
  path = os.path.join(workdir, "config.json")
  try:
    with open(path) as f:
      raw = json.load(f)
    model = configs.ModelConfig(**raw.pop("model"))
    return configs.Config(model=model, **raw)
  except (OSError, json.JSONDecodeError) as e:
    raise DataError(path, f"cannot read the run's config: {e}") from e
  except (KeyError, TypeError) as e:
    raise DataError(path, f"not an awe_jax.configs.Config: {e}") from e


def read_vocab(data_dir: str) -> data.Vocab:
  """The training vocabulary (agwe ``vocab.json`` or a Kaldi directory)."""
  if kaldi.is_kaldi_dir(data_dir):
    return kaldi.read_vocab(data_dir)
  return data.read_vocab(os.path.join(data_dir, "vocab.json"))


def restore_params(workdir: str, model, config):
  """Parameters of the best (else latest) checkpoint and its step, or of an
  exported model directory's ``params.msgpack`` (``Embedder.export``)."""
  params = init_params(model, jax.random.PRNGKey(0), FEAT_DIM)
  if os.path.exists(os.path.join(workdir, model_card.PARAMS)):
    return model_card.read_params(workdir, params), model_card.PARAMS
  from awe_jax.train import make_optimizer  # pylint: disable=g-import-not-at-top
  like = {"params": params, "opt": make_optimizer(config).init(params)}
  for name in ("best", "latest"):
    ckpt = Checkpoints(os.path.join(workdir, name))
    step = ckpt.latest_step()
    if step is not None:
      try:
        state, _ = ckpt.restore(like)
      except ValueError as e:
        raise DataError(ckpt.directory, "checkpoint does not fit the config "
                        f"with {FEAT_DIM}-dim MFCC input: {e}") from e
      finally:
        ckpt.close()
      return state["params"], f"{name}/{step}"
    ckpt.close()
  raise DataError(workdir, "no checkpoint in best/ or latest/")


def phone_table(prons: list, vocab: data.Vocab) -> np.ndarray:
  """``[m, L]`` int32 phone ids (0 = padding) of the pronunciations."""
  table = np.zeros((len(prons), max(len(p) for p in prons)), np.int32)
  for i, pron in enumerate(prons):
    bad = [p for p in pron if p not in vocab.phones_to_ids]
    if bad:
      raise DataError(vocab.path, f"phone(s) {bad} of a real-speech word are "
                      "not in the model's phones_to_ids")
    table[i, :len(pron)] = [vocab.phones_to_ids[p] for p in pron]
  return table


def _unit(x) -> np.ndarray:
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def acoustic_scores(feats, embs, words, speakers) -> dict:
  """Acoustic AP of the model and of MFCC+DTW on the same pairs: all pairs
  of the tokens whose word is said by two or more speakers.

  The few hundred real tokens are scored with the NumPy reference
  :func:`awe_jax.metrics.average_precision` (no compilation), on cosine
  distances in ``pdist`` order, the order of :func:`awe_jax.dtw.dtw_pdist`.

  Args:
    feats: N arrays ``[T_i, 39]``.
    embs: ``[N, E]`` acoustic embeddings.
    words, speakers: ``[N]`` labels.
  """
  words, speakers = np.asarray(words), np.asarray(speakers)
  by_word = {}
  for w, s in zip(words, speakers):
    by_word.setdefault(w, set()).add(s)
  sel = np.flatnonzero([len(by_word[w]) >= 2 for w in words])
  if sel.size < 2:
    raise ValueError("no word is said by two or more speakers")
  w = words[sel]
  pos = metrics.same_word_pairs(w)
  cross = pos & ~metrics.same_word_pairs(speakers[sel])
  model_d = scipy.spatial.distance.pdist(_unit(np.asarray(embs)[sel]), "cosine")
  dtw_d = dtw.dtw_pdist([feats[i] for i in sel])
  return {"model_ap": metrics.average_precision(model_d, pos),
          "dtw_ap": metrics.average_precision(dtw_d, pos),
          "tokens": int(sel.size), "words": int(len(set(w))),
          "pairs": int(pos.size), "same_word_pairs": int(pos.sum()),
          "cross_speaker_same_word_pairs": int(cross.sum())}


def retrieval_scores(embs, words, word_embs, word_labels) -> dict:
  """Top-k and cross-view AP of tokens against candidate written words.

  The AP ranks every (token, word) pair by cosine distance in one list, as
  :func:`awe_jax.metrics.crossview_ap`, computed with the NumPy reference.
  """
  word_labels = np.asarray(word_labels)
  topk = metrics.crossview_topk(embs, words, word_embs, word_labels, KS)
  out = {f"top{k}": v for k, v in topk.items()}
  d = 1.0 - _unit(embs) @ _unit(word_embs).T
  out["ap"] = metrics.average_precision(
      d, np.asarray(words)[:, None] == word_labels[None, :])
  out["tokens"], out["words"] = int(len(words)), int(len(word_labels))
  out.update({f"chance_top{k}": k / len(word_labels) for k in KS})
  return out


def evaluator(model, table, segs, config, params):
  """An ``evaluate.Evaluator`` of ``model`` bucketed on the lengths of
  ``segs`` (capped at ``config.max_frames``) and ``params`` replicated on
  the data mesh it uses."""
  lengths = segs.lengths
  if config.max_frames:
    lengths = np.minimum(lengths, config.max_frames)
  boundaries = input_pipeline.bucket_boundaries(lengths, config.num_buckets)
  mesh = parallel.data_mesh()
  ev = evaluate.Evaluator(model, table, boundaries, config.eval_batch_size,
                          mesh, config.max_frames)
  return ev, parallel.replicate(params, mesh)


def run(workdir: str, data_dir: str, realspeech_dir: str | None = None,
        sources=None, out: str | None = None,
        distractor_dir: str | None = None) -> dict:
  """Scores the run in ``workdir`` on real speech; writes the scores as JSON.

  Args:
    workdir: a training run (``config.json``, ``best/`` or ``latest/``).
    data_dir: the data the run was trained on (its vocabulary gives the
      phone ids and the distractor words).
    realspeech_dir: the fetched packages (default
      :func:`awe_jax.realspeech.packages.default_dir`).
    sources: speaker sources to use (default: all).
    out: the JSON file written (default ``workdir/realcheck.json``).
    distractor_dir: another corpus whose vocabulary gives the distractor
      words of the "+ vocabulary" scopes (default: ``data_dir``'s), so that
      models trained on different corpora can be ranked against the same
      candidates.  Its pronunciations must use the model's phones.

  Returns:
    The scores also written to ``out``.
  """
  config = read_config(workdir)
  vocab = read_vocab(data_dir)
  model = build_model(config, vocab.num_phones)
  params, ckpt = restore_params(workdir, model, config)
  kwargs = {"sources": tuple(sources)} if sources else {}
  rs = loader.load(realspeech_dir, **kwargs)
  dvocab = vocab if distractor_dir is None else read_vocab(distractor_dir)
  real_words = sorted(rs.pronunciations)
  distractors = sorted(set(dvocab.word_to_phones) - set(real_words))
  cand_words = real_words + distractors
  prons = ([rs.pronunciations[w] for w in real_words]
           + [dvocab.word_to_phones[w] for w in distractors])
  table = phone_table(prons, vocab)
  word_id = {w: i for i, w in enumerate(cand_words)}
  segs = data.Segments(rs.feats, rs.words,
                       np.asarray([word_id[w] for w in rs.words], np.int32),
                       np.asarray(rs.paths))
  ev, params = evaluator(model, table, segs, config, params)
  embs = ev.acoustic(params, segs)
  word_embs = ev.phones(params, np.arange(len(cand_words)))
  cand_words = np.asarray(cand_words)

  result = {"workdir": workdir, "checkpoint": ckpt, "data_dir": data_dir,
            "distractor_dir": distractor_dir or data_dir,
            "tokens": len(rs), "words": len(real_words),
            "distractors": len(distractors),
            "tokens_per_speaker": {s: int(n) for s, n in zip(
                *np.unique(rs.speakers, return_counts=True))},
            "acoustic": acoustic_scores(rs.feats, embs, rs.words,
                                        rs.speakers)}
  scopes = {"all": np.ones(len(rs), bool)}
  if "ktuberling" in set(rs.speakers.tolist()):
    scopes["ktuberling"] = rs.speakers == "ktuberling"
  for name, mask in scopes.items():
    own = np.isin(cand_words, np.unique(rs.words[mask]))
    extended = own | np.isin(cand_words, list(dvocab.word_to_phones))
    for suffix, cand in (("", own), ("+vocab", extended)):
      result[f"crossview_{name}{suffix}"] = retrieval_scores(
          embs[mask], rs.words[mask], word_embs[cand], cand_words[cand])
  with open(out or os.path.join(workdir, RESULT_FILE), "w") as f:
    json.dump(result, f, indent=1)
  return result


def format_report(r: dict) -> str:
  """The printed table of :func:`run`'s scores."""
  a = r["acoustic"]
  lines = [
      f"real-speech check of {r['workdir']} (checkpoint {r['checkpoint']}); "
      f"distractors: the vocabulary of {r.get('distractor_dir', r['data_dir'])}",
      f"{r['tokens']} tokens, {r['words']} words, speakers: " + ", ".join(
          f"{s} {n}" for s, n in r["tokens_per_speaker"].items()),
      f"acoustic AP, {a['tokens']} tokens of the {a['words']} words said by "
      f">= 2 speakers ({a['pairs']} pairs, {a['same_word_pairs']} same-word, "
      f"{a['cross_speaker_same_word_pairs']} across speakers):",
      f"  model {a['model_ap']:.4f}   MFCC+DTW {a['dtw_ap']:.4f}",
      "cross-view                 tokens  words  top-1  top-5     AP"
      "  (chance top-1, top-5)"]
  for key, label in (("all", "all tokens / real words"),
                     ("all+vocab", "all tokens / + vocabulary"),
                     ("ktuberling", "ktuberling / its words"),
                     ("ktuberling+vocab", "ktuberling / + vocabulary")):
    c = r.get(f"crossview_{key}")
    if c:
      lines.append(f"  {label:<25}{c['tokens']:>5}{c['words']:>7}"
                   f"{c['top1']:>7.3f}{c['top5']:>7.3f}{c['ap']:>7.4f}"
                   f"  ({c['chance_top1']:.4f}, {c['chance_top5']:.4f})")
  return "\n".join(lines)
