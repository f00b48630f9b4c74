"""Ablations of a built corpus: the same training set size without one voice
source or one augmentation, to measure what each adds to trained embeddings.

Every ablation draws ``n`` training tokens (seeded) from the tokens it keeps,
so that the runs differ in what they hear, not in how much; dev and test are
the corpus' own, hard-linked (checkpoints are chosen on the same dev set).  The features
are copied from the built corpus' HDF5 files: nothing is re-synthesised.

  python experiments/awe_ablate.py --root=runs/ablate   # make, train, score
"""
import dataclasses
import json
import os
import shutil
from typing import Callable

import h5py
import numpy as np

from awe_jax import data as data_lib
from awe_jax.corpus import plan as plan_lib
from jaxtk.errors import DataError


def column_in(column: str, *values: str) -> Callable[[dict], bool]:
  """A manifest row test: ``row[column]`` is one of ``values``."""
  return lambda row: row[column] in values


@dataclasses.dataclass(frozen=True)
class Ablation:
  """The training tokens left out: those whose manifest row ``drops``."""
  name: str
  about: str
  drops: Callable[[dict], bool] = lambda row: False


ABLATIONS = {a.name: a for a in (
    Ablation("all", "every voice source and augmentation (the reference)"),
    Ablation("no-kokoro", "without the Kokoro voices",
             column_in("synthesiser", "kokoro")),
    Ablation("no-debian", "without the Debian voices (eSpeak NG, Flite, "
             "Festival)", column_in("synthesiser", "espeak-ng", "flite",
                                    "festival")),
    Ablation("no-piper", "without the Piper voice",
             column_in("synthesiser", "piper")),
    Ablation("no-reverb", "without reverberated tokens",
             lambda row: float(row["rt60"]) > 0),
    Ablation("no-codecs", "without GSM, ADPCM, MP3 and Opus tokens",
             column_in("channel", "gsm", "adpcm", "mp3", "opus")),
    Ablation("no-wideband", "without wideband tokens",
             column_in("channel", "wideband")),
)}

INFO_FILE = "ablation.json"


def train_ids(rows: list[dict], ablation: Ablation, n: int, seed: int = 0):
  """``n`` training utterance ids kept by ``ablation``, drawn with ``seed``."""
  kept = sorted(r["utt_id"] for r in rows
                if r["split"] == "train" and not ablation.drops(r))
  if len(kept) < n:
    raise DataError("manifest.csv", f"ablation {ablation.name} keeps "
                    f"{len(kept)} training tokens, fewer than --n={n}")
  pick = np.random.default_rng(seed).permutation(len(kept))[:n]
  return sorted(kept[i] for i in pick)


def _copy_groups(src: str, dst: str, ids) -> None:
  with h5py.File(src, "r") as fin, h5py.File(dst + ".tmp", "w") as fout:
    for uid in ids:
      if uid not in fin:
        raise DataError(src, f"utterance {uid!r} of the manifest is missing")
      fin.copy(fin[uid], fout, name=uid)
  os.replace(dst + ".tmp", dst)


def _link_or_copy(src: str, dst: str) -> None:
  """A hard link (the splits are never written in place), else a copy."""
  if os.path.exists(dst):
    os.remove(dst)
  try:
    os.link(src, dst)
  except OSError:
    shutil.copyfile(src, dst)


def make(data_dir: str, out_dir: str, ablation: str, n: int,
         seed: int = 0) -> dict:
  """Writes the ablated corpus to ``out_dir`` (kept if already complete).

  Returns:
    The description also written to ``out_dir/ablation.json``.

  Raises:
    DataError: unknown ablation, no complete corpus, or too few tokens.
  """
  if ablation not in ABLATIONS:
    raise DataError(ablation, f"unknown ablation; one of {sorted(ABLATIONS)}")
  info_path = os.path.join(out_dir, INFO_FILE)
  want = {"source": os.path.abspath(data_dir), "ablation": ablation, "n": n,
          "seed": seed}
  if os.path.exists(info_path):
    with open(info_path) as f:
      info = json.load(f)
    if {k: info.get(k) for k in want} == want:
      return info
  if not os.path.exists(os.path.join(data_dir, "COMPLETE")):
    raise DataError(data_dir, "not a complete corpus (build it first)")
  a = ABLATIONS[ablation]
  ids = train_ids(plan_lib.read_manifest(data_dir), a, n, seed)
  os.makedirs(out_dir, exist_ok=True)
  for prefix in ("mfcc", "align"):
    _copy_groups(os.path.join(data_dir, f"{prefix}.train.hdf5"),
                 os.path.join(out_dir, f"{prefix}.train.hdf5"), ids)
    for split in ("dev", "test"):
      name = f"{prefix}.{split}.hdf5"
      _link_or_copy(os.path.join(data_dir, name), os.path.join(out_dir, name))
  _link_or_copy(os.path.join(data_dir, "vocab.json"),
                os.path.join(out_dir, "vocab.json"))
  vocab = data_lib.read_vocab(os.path.join(out_dir, "vocab.json"))
  seg = data_lib.load_split(out_dir, "train", vocab)
  info = dict(want, about=a.about, train_tokens=len(seg),
              train_types=len(set(seg.words)))
  with open(info_path + ".tmp", "w") as f:
    json.dump(info, f, indent=1)
  os.replace(info_path + ".tmp", info_path)
  return info
