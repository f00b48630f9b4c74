"""The agwe-recipe layout: write, read back, and clear errors on bad input."""
import json
import os

import h5py
import numpy as np
import pytest

from awe_jax import data
from jaxtk.errors import DataError


@pytest.fixture
def tiny(tmp_path):
  d = str(tmp_path)
  data.write_vocab(os.path.join(d, "vocab.json"),
                   {"cat": ("K", "AE", "T"), "dog": ("D", "AO", "G")},
                   ["AE", "AO", "D", "G", "K", "T"])
  rng = np.random.default_rng(0)
  utts = {"u1": (rng.normal(size=(10, 39)), ["cat", "dog"], [0, 5], [5, 10]),
          "u2": (rng.normal(size=(4, 39)), ["dog", "cat"], [0, 3], [3, 4])}
  data.write_split(d, "dev", utts)
  return d, utts


def test_round_trip(tiny):
  d, utts = tiny
  vocab = data.read_vocab(os.path.join(d, "vocab.json"))
  segs = data.load_split(d, "dev", vocab)
  # u2's second word is 1 frame long: skipped and counted.
  assert segs.skipped_short == 1
  assert list(segs.words) == ["cat", "dog", "dog"]
  np.testing.assert_allclose(segs.feats[1], utts["u1"][0][5:10], rtol=1e-6)
  assert segs.feats[2].shape == (3, 39)
  assert list(segs.word_ids) == [vocab.words_to_ids[w] for w in segs.words]
  # Phone ids are shifted so that 0 is padding.
  assert vocab.phone_ids("cat").tolist() == [5, 1, 6]
  assert vocab.num_phones == 7


def test_oov_word_is_named(tiny):
  d, _ = tiny
  with h5py.File(os.path.join(d, "align.dev.hdf5"), "a") as f:
    del f["u1/words"]
    f["u1"].create_dataset("words", data=np.array(["cat", "emu"], dtype=object),
                           dtype=h5py.string_dtype())
  vocab = data.read_vocab(os.path.join(d, "vocab.json"))
  with pytest.raises(DataError, match="'emu' is not in"):
    data.load_split(d, "dev", vocab)
  segs = data.load_split(d, "dev", vocab, on_oov="skip")
  assert segs.skipped_oov == 1


def test_unknown_phone_is_named(tmp_path):
  p = tmp_path / "vocab.json"
  p.write_text(json.dumps({"words_to_ids": {"cat": 0},
                           "phones_to_ids": {"K": 0, "AE": 1},
                           "word_to_phones": {"cat": [["K", "AE", "TX"]]}}))
  with pytest.raises(DataError, match=r"\['TX'\] of word 'cat'"):
    data.read_vocab(str(p))


def test_nan_features_are_refused(tiny):
  d, _ = tiny
  with h5py.File(os.path.join(d, "mfcc.dev.hdf5"), "a") as f:
    f["u1"][0, 0] = np.nan
  vocab = data.read_vocab(os.path.join(d, "vocab.json"))
  with pytest.raises(DataError, match=r"mfcc.dev.hdf5 \[u1\]: features contain NaN"):
    data.load_split(d, "dev", vocab)
