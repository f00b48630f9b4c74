"""Sweeps: Rhodes & Bains' Table 1 (layers) and Table 2 (heads), and the
effect of each transformer option on the default config (the rows, the
runner and the table; ``experiments/sweep.py`` is the command line).

The paper's tables start every row from ``configs.paper()`` with the paper's
15 epochs; ``flags`` starts from ``configs.plain()`` (the default model
with post-LN, no SpecAugment) with its 40 epochs and changes one option per
row.  Each row trains in ``<workdir>/<row>`` through
``train.train_and_evaluate``.  Finished rows are recorded in
``<workdir>/results.json`` and skipped on a re-run; an interrupted row
resumes from its checkpoint.  :func:`write_outputs` writes ``table.md`` and
``table.png``.

``max_minutes`` (the script's ``--budget_minutes``) is per row and per
invocation: a row stopped by it is recorded as finished (its wall time says
so); delete its entry in ``results.json`` to train it further.  The wall
time in the table is that of the invocation that finished the row.
"""
import dataclasses
import json
import os
import time
from typing import Callable

from awe_jax import configs

_PAPER_EPOCHS = 15
_AP_KEYS = ("dev_acoustic_ap", "dev_crossview_ap", "test_acoustic_ap",
            "test_crossview_ap")


@dataclasses.dataclass(frozen=True)
class Row:
  label: str       # as printed in the table
  name: str        # subdirectory of the workdir
  overrides: dict  # configs.override keyword arguments


def layers_rows() -> list:
  """Table 1: phone-view layers 1, 4, 8 x pooling mean and first ("Rep.")."""
  return [Row(f"{pool}, {n} layer{'s' * (n > 1)}", f"layers{n}-{pool}",
              dict(phone_layers=n, pool=pool))
          for pool in ("mean", "first") for n in (1, 4, 8)]


def heads_rows() -> list:
  """Table 2: phone-view heads 1, 4, 8, 16, 32 at 4 layers, mean pooling."""
  return [Row(f"{h} head{'s' * (h > 1)}", f"heads{h}",
              dict(phone_layers=4, phone_heads=h, pool="mean"))
          for h in (1, 4, 8, 16, 32)]


def flag_rows() -> list:
  """One transformer option per row, on ``configs.plain()`` (issue 7); the
  last row is the combination ``configs.default()`` adopted."""
  return [
      Row("plain (mean pool, post-LN, 4 stacked frames)", "default", {}),
      Row("CLS pooling, both views", "cls", dict(pool="cls", acoustic_pool="cls")),
      Row("pre-LN", "pre-ln", dict(pre_ln=True)),
      Row("lr warm-up, 300 steps", "warmup", dict(warmup_steps=300)),
      Row("no frame stacking (1 frame per position)", "stack1",
          dict(frame_stack=1)),
      Row("SpecAugment (2 x 8 frames, 2 x 6 MFCC dims)", "specaug",
          dict(configs.SPEC_AUGMENT)),
      Row("d_model 256, d_ff 1024", "wide", dict(d_model=256, d_ff=1024)),
      Row("pre-LN + SpecAugment (configs.default())", "pre-ln-specaug",
          dict(configs.ADOPTED)),
      Row("pre-LN + SpecAugment + warm-up 300", "pre-ln-specaug-warmup",
          dict(configs.ADOPTED, warmup_steps=300)),
  ]


@dataclasses.dataclass(frozen=True)
class Sweep:
  rows: Callable[[], list]
  base: Callable[[], configs.Config]
  epochs: int      # default epoch budget of every row
  title: str       # of the plot


SWEEPS = {
    "layers": Sweep(layers_rows, configs.paper, _PAPER_EPOCHS,
                    "phone-view layers x pooling (paper config)"),
    "heads": Sweep(heads_rows, configs.paper, _PAPER_EPOCHS,
                   "phone-view heads at 4 layers (paper config)"),
    "flags": Sweep(flag_rows, configs.plain, configs.plain().epochs,
                   "one transformer option per row (configs.plain())"),
}


def base_config(sweep: str = "layers", **overrides) -> configs.Config:
  """The sweep's base config with its epochs and flat overrides
  (:func:`awe_jax.configs.override`; ``None`` values keep the base's)."""
  spec = SWEEPS[sweep]
  if overrides.get("epochs") is None:
    overrides["epochs"] = spec.epochs
  return configs.override(spec.base(), **overrides)


def select(rows: list, indices) -> list:
  """The rows at ``indices`` (all if empty)."""
  if not indices:
    return list(rows)
  bad = [i for i in indices if not 0 <= i < len(rows)]
  if bad:
    raise ValueError(f"--rows {bad} out of range: this sweep has rows "
                     f"0..{len(rows) - 1}")
  return [rows[i] for i in indices]


def _load_results(path: str) -> dict:
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def run_sweep(config, rows: list, workdir: str, data_dir: str,
              train_fn=None) -> dict:
  """Trains every unfinished row and returns ``{row name: result}``.

  Args:
    config: the base config; each row applies its overrides to it.
    rows: the rows to run (finished ones in ``results.json`` are skipped).
    workdir: one subdirectory per row, plus ``results.json``.
    data_dir: the corpus.
    train_fn: ``(config, workdir, data_dir) -> scores``; default
      ``train.train_and_evaluate``.

  Raises:
    ValueError: ``results.json`` holds the row with a different config.
  """
  if train_fn is None:
    from awe_jax import train  # pylint: disable=g-import-not-at-top
    train_fn = train.train_and_evaluate
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "results.json")
  results = _load_results(path)
  for row in rows:
    cfg = configs.override(config, **row.overrides)
    cfg_dict = dataclasses.asdict(cfg)
    done = results.get(row.name)
    if done is not None:
      if done["config"] != json.loads(json.dumps(cfg_dict)):
        raise ValueError(
            f"{path}: row {row.name!r} was run with a different config; "
            "use another --workdir or delete the row's entry")
      print(f"[{row.name}] finished earlier, skipped")
      if "epochs" not in done:  # rows recorded before the column existed
        done["epochs"] = _epochs_done(os.path.join(workdir, row.name))
        _save(path, results)
      continue
    print(f"[{row.name}] training {row.label} in {workdir}/{row.name}")
    t0 = time.time()
    scores = train_fn(cfg, os.path.join(workdir, row.name), data_dir)
    results[row.name] = dict(label=row.label, wall_seconds=time.time() - t0,
                             epochs=_epochs_done(os.path.join(workdir, row.name)),
                             config=cfg_dict,
                             **{k: float(scores[k]) for k in _AP_KEYS})
    _save(path, results)
  return results


def _save(path: str, results: dict):
  with open(path + ".tmp", "w") as f:
    json.dump(results, f, indent=1)
  os.replace(path + ".tmp", path)


def _epochs_done(row_dir: str) -> float:
  """Epochs trained when the row stopped (its last evaluation)."""
  from awe_jax import report  # pylint: disable=g-import-not-at-top
  path = os.path.join(row_dir, "metrics.jsonl")
  rows = report.eval_rows(path) if os.path.exists(path) else []
  return float(rows[-1]["epoch"]) if rows else float("nan")


def _wall(seconds: float) -> str:
  m, s = divmod(int(round(seconds)), 60)
  return f"{m} min {s:02d} s"


def format_table(rows: list, results: dict) -> str:
  """Markdown table of the finished rows, in sweep order."""
  lines = ["| row | dev acoustic AP | dev cross-view AP | test acoustic AP "
           "| test cross-view AP | epochs | wall time |",
           "|---|---|---|---|---|---|---|"]
  for row in rows:
    r = results.get(row.name)
    if r is not None:
      aps = " | ".join(f"{r[k]:.4f}" for k in _AP_KEYS)
      ep = r.get("epochs", float("nan"))
      lines.append(f"| {row.label} | {aps} | {ep:.1f} | "
                   f"{_wall(r['wall_seconds'])} |")
  return "\n".join(lines) + "\n"


def write_outputs(sweep: str, rows: list, results: dict, workdir: str) -> str:
  """Writes ``table.md`` and ``table.png``; returns the table."""
  from jaxtk import plotting  # pylint: disable=g-import-not-at-top
  table = format_table(rows, results)
  with open(os.path.join(workdir, "table.md"), "w") as f:
    f.write(f"# Sweep: {sweep}\n\n{table}")
  done = [r for r in rows if r.name in results]
  plotting.save_bars(
      os.path.join(workdir, "table.png"), [r.label for r in done],
      {k.replace("_ap", "").replace("_", " "): [results[r.name][k] for r in done]
       for k in _AP_KEYS}, ylabel="average precision",
      title=SWEEPS[sweep].title)
  return table
