"""Spoken-term-detection metrics of Settle et al. (2017): P@10, P@N, FOM.

A ranked list of hits for one query is labelled against the reference word
occurrences: a hit is correct when its midpoint lies inside an occurrence of
the query word in the same recording.  A second correct hit on an occurrence
already found counts as a false alarm (so NMS matters).  Written by hand: no
installed library scores spoken term detection.
"""
import numpy as np


def label_hits(hits, occurrences) -> tuple:
  """Marks each hit correct or not.

  Args:
    hits: ranked ``(file, start, end)`` triples (or objects with those
      attributes).
    occurrences: ``(file, start, end)`` of every occurrence of the query word.

  Returns:
    ``(correct [H] bool, n_occurrences)``.
  """
  by_file = {}
  for k, (f, s, e) in enumerate(occurrences):
    by_file.setdefault(f, []).append((s, e, k))
  found, correct = set(), []
  for h in hits:
    f, s, e = (h.file, h.start, h.end) if hasattr(h, "file") else h
    mid = 0.5 * (s + e)
    k = next((k for s0, e0, k in by_file.get(f, ()) if s0 <= mid <= e0), None)
    ok = k is not None and k not in found
    if ok:
      found.add(k)
    correct.append(ok)
  return np.asarray(correct, bool), len(occurrences)


def precision_at(correct, n: int) -> float:
  """Fraction correct among the first ``n`` hits (missing hits are wrong)."""
  n = int(n)
  return float(np.sum(correct[:n])) / n if n > 0 else 0.0


def figure_of_merit(correct, n_occurrences: int, hours: float) -> float:
  """NIST FOM: mean detection rate at 1, 2, ..., 10 false alarms per hour.

  At ``k`` FA/h the list is cut just before its ``floor(k * hours) + 1``-th
  false alarm; the detection rate is the correct hits above the cut over
  ``n_occurrences``.
  """
  if n_occurrences == 0:
    return 0.0
  correct = np.asarray(correct, bool)
  fa_before = np.cumsum(~correct) - (~correct)   # false alarms above each hit
  rates = []
  for k in range(1, 11):
    allowed = int(np.floor(k * hours))
    rates.append(np.sum(correct & (fa_before <= allowed)) / n_occurrences)
  return float(np.mean(rates))


def average_precision(correct, n_occurrences: int) -> float:
  """AP of the ranked list against all occurrences (unretrieved ones count
  as misses)."""
  correct = np.asarray(correct, bool)
  if n_occurrences == 0:
    return 0.0
  prec = np.cumsum(correct) / np.arange(1, len(correct) + 1)
  return float(np.sum(prec[correct]) / n_occurrences)


def score_query(hits, occurrences, hours: float) -> dict:
  """P@10, P@N (N = occurrences), FOM and AP of one query."""
  correct, n = label_hits(hits, occurrences)
  return {"p_at_10": precision_at(correct, 10), "p_at_n": precision_at(correct, n),
          "fom": figure_of_merit(correct, n, hours),
          "ap": average_precision(correct, n)}
