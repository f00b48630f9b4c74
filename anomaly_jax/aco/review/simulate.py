"""A simulated reviewer answering from the synthetic archive's ground truth.

For measuring the review loop only: it reads the archive's ``events.csv``
(the planted events), which the scan and the review never do.  A detection
on a planted event is "true" with the event's kind; one on a ship passage
only is "false" with kind "ship"; anything else is "false".
"""
import numpy as np

from anomaly_jax.aco import evaluate, synth
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import labels as labels_lib
from jaxtk.errors import DataError


def answers(dets: list[det_lib.Det], archive: str) -> list[tuple[str, str]]:
  """(label, kind) for each of ``dets`` from the archive's ground truth.

  Raises:
    DataError: the archive has no ``events.csv`` (not a synthetic one).
  """
  rows = [r for r in synth.read_events(archive) if r["recorded"]]
  if not rows:
    raise DataError(archive, "no ground truth (events.csv) in this archive: "
                    "the simulated reviewer needs the synthetic archive")
  span = lambda rs: np.array([[det_lib.unix(r["start"]),
                               det_lib.unix(r["end"])] for r in rs]
                             ).reshape(-1, 2)
  planted = [r for r in rows if r["kind"] != "ship"]
  ov = evaluate.overlaps(dets, span(planted))
  ship = evaluate.overlaps(dets, span([r for r in rows
                                       if r["kind"] == "ship"])).any(axis=1)
  out = []
  for i in range(len(dets)):
    kinds = sorted({planted[j]["kind"] for j in np.flatnonzero(ov[i])})
    if kinds:
      out.append(("true", ",".join(kinds)))
    else:
      out.append(("false", "ship" if ship[i] else ""))
  return out


def review_top(workdir: str, archive: str, n: int = 50,
               reviewer: str = "simulated") -> dict:
  """Labels the top ``n`` detections of ``workdir`` from the ground truth.

  Returns:
    {"reviewed", "true", "false"} counts.
  """
  dets = det_lib.load(workdir)[:n]
  store = labels_lib.Labels(f"{workdir}/{det_lib.STORE}")
  try:
    got = answers(dets, archive)
    for d, (label, kind) in zip(dets, got):
      store.add(d, label, kind, reviewer=reviewer, source="simulated")
  finally:
    store.close()
  return {"reviewed": len(got), "true": sum(g[0] == "true" for g in got),
          "false": sum(g[0] == "false" for g in got)}
