"""The archive scan as an Apache Beam pipeline (extra ``[beam]``).

  file paths -> Reshuffle -> ScoreFile (decode, features, detector) -> +
     scored  -> WriteShard      (Parquet, atomic: shards.py)
     damaged -> WriteDeadLetter (JSON with the reason)
  then, in this process: shards.merge -> the SQLite index (one writer).

The detector is loaded once per worker, in ``DoFn.setup``.  Files with a
committed shard or dead-letter record are left out of the pipeline, so a
rerun skips them and a killed run (any signal, any moment) resumes losing
at most the files in flight.  Locally ``DirectRunner`` with
``direct_num_workers`` processes; on a cluster the same pipeline runs on
Flink, Spark or Dataflow (``BeamConfig.runner`` and ``beam_options``; see
docs/aco-beam.md).  The archive, the workdir's detector and the shard
directory must be readable (and the shard directory writable) by every
worker: on a cluster, a shared POSIX mount.
"""
import os
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from anomaly_jax.aco import features, scan, shards
from anomaly_jax.aco.config import BeamConfig, ScoreKey
from anomaly_jax.aco.store import Store

DAMAGED = "damaged"


class ScoreFile(beam.DoFn):
  """Archive-relative path -> ``FileResult`` (damaged ones tagged)."""

  def __init__(self, basedir: str, workdir: str, mel: features.MelConfig,
               score_key: str):
    super().__init__()
    self.basedir, self.workdir = basedir, workdir
    self.mel, self.score_key = mel, ScoreKey(score_key).value
    self.scorer = None

  def setup(self):
    self.scorer = scan.FileScorer.from_workdir(self.workdir, self.mel,
                                               self.score_key)

  def process(self, rel: str):
    r = self.scorer.score_path(os.path.join(self.basedir, rel), rel)
    if r.error is not None:
      yield beam.pvalue.TaggedOutput(DAMAGED, r)
    else:
      yield r


class WriteShard(beam.DoFn):
  """``FileResult`` -> its shard or dead-letter record; yields its path."""

  def __init__(self, shard_dir: str):
    super().__init__()
    self.shard_dir = shard_dir

  def process(self, r):
    yield shards.write(self.shard_dir, r)


def pipeline_options(cfg: BeamConfig) -> PipelineOptions:
  """Beam options: the runner, DirectRunner's workers, ``beam_options``."""
  args = [f"--runner={cfg.runner}"]
  if cfg.runner == "DirectRunner":
    args += [f"--direct_num_workers={cfg.direct_num_workers}",
             f"--direct_running_mode={cfg.direct_running_mode.value}"]
  return PipelineOptions(args + list(cfg.beam_options))


def build(p: beam.Pipeline, todo: list[str], basedir: str, workdir: str,
          shard_dir: str, mel: features.MelConfig, score_key: str):
  """Adds the scan of archive-relative paths ``todo`` to pipeline ``p``."""
  out = (p
         | "Files" >> beam.Create(todo)
         | "Reshuffle" >> beam.Reshuffle()
         | "ScoreFile" >> beam.ParDo(ScoreFile(
             basedir, workdir, mel, score_key)).with_outputs(
                 DAMAGED, main="scored"))
  _ = out.scored | "WriteShard" >> beam.ParDo(WriteShard(shard_dir))
  _ = out[DAMAGED] | "WriteDeadLetter" >> beam.ParDo(WriteShard(shard_dir))


def scan_archive(paths: list[str], basedir: str, workdir: str,
                 mel: features.MelConfig, score_key: str, store: Store,
                 cfg: BeamConfig = BeamConfig(),
                 shard_dir: str | None = None) -> scan.ScanResult:
  """Scans ``paths`` on Beam, then merges the shards into ``store``.

  Args:
    paths: files to scan (under ``basedir``, the archive root).
    workdir: holds the trained detector and ``standardize.npz``.
    mel: feature parameters (those the detector was trained on).
    score_key: the detector output stored as "score".
    store: the SQLite index, written here only (by ``shards.merge``).
    cfg: runner and options.
    shard_dir: default ``<workdir>/shards``.

  Returns:
    Counts of this run (``skipped``: committed before it) and its speed.
  """
  shard_dir = shard_dir or os.path.join(workdir, "shards")
  before = set(shards.committed(shard_dir)) | store.done()
  rels = [os.path.relpath(p, basedir) for p in paths]
  todo = [r for r in rels if r not in before]
  t0 = time.perf_counter()
  if todo:
    with beam.Pipeline(options=pipeline_options(cfg)) as p:
      build(p, todo, basedir, workdir, shard_dir, mel, score_key)
  shards.merge(shard_dir, store)
  res = scan.ScanResult(skipped=len(rels) - len(todo),
                        wall=time.perf_counter() - t0)
  new = set(todo)
  for f in store.files():
    if f["path"] in new:
      res.errors += f["status"] == "error"
      res.scanned += f["status"] == "ok"
      res.audio_seconds += f["seconds"]
  return res
