"""A simulated reviewer answering from the synthetic archive's ground truth.

For measuring the review loop only: the answers come from
``evaluation.answers`` (the one module that reads the archive's planted
events).  A detection on a planted event is "true" with the event's kind;
one on a ship passage only is "false" with kind "ship"; anything else is
"false".
"""
from anomaly_jax.aco import evaluation
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import labels as labels_lib


def answers(dets: list[det_lib.Det], archive: str) -> list[tuple[str, str]]:
  """(label, kind) for each of ``dets`` (``evaluation.answers``)."""
  return evaluation.answers(dets, archive)


def review_top(workdir: str, archive: str, n: int = 50,
               reviewer: str = "simulated") -> dict:
  """Labels the top ``n`` detections of ``workdir`` from the ground truth.

  Returns:
    {"reviewed", "true", "false"} counts.
  """
  dets = det_lib.load(workdir, archive)[:n]
  store = labels_lib.Labels(f"{workdir}/{det_lib.STORE}")
  try:
    got = answers(dets, archive)
    for d, (label, kind) in zip(dets, got):
      store.add(d, label, kind, reviewer=reviewer, source="simulated")
  finally:
    store.close()
  return {"reviewed": len(got), "true": sum(g[0] == "true" for g in got),
          "false": sum(g[0] == "false" for g in got)}
