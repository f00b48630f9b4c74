"""A small synthetic corpus in the agwe layout whose features depend on the
word (each phone has a mean frame vector; a word's frames follow its
phones, with noise), so a model can learn from it."""
import os

import numpy as np

from awe_jax import data

PHONES = ["AA", "B", "K", "D", "EH", "F", "G", "IY", "L", "M", "N", "S"]


def make_corpus(path, *, num_words=24, per_split=(160, 96, 96), feat_dim=8,
                seed=0, writer=data.write_split):
  rng = np.random.default_rng(seed)
  words = {}
  while len(words) < num_words:
    n = int(rng.integers(2, 5))
    pr = tuple(rng.choice(PHONES, n))
    words.setdefault("w" + "".join(pr).lower(), pr)
  names = sorted(words)
  centers = {p: rng.normal(size=feat_dim) * 2 for p in PHONES}
  os.makedirs(path, exist_ok=True)
  data.write_vocab(f"{path}/vocab.json", words, PHONES)
  for split, n_tok in zip(data.SPLITS, per_split):
    utts = {}
    for u in range(n_tok // 4):
      ws = [names[int(i)] for i in rng.integers(0, num_words, 4)]
      frames, starts, ends = [], [], []
      t = 0
      for w in ws:
        starts.append(t)
        for p in words[w]:
          k = int(rng.integers(2, 5))
          frames.append(centers[p] + 0.5 * rng.normal(size=(k, feat_dim)))
          t += k
        ends.append(t)
      utts[f"{split}{u:04d}"] = (np.concatenate(frames), ws, starts, ends)
    writer(str(path), split, utts)
  return str(path)
