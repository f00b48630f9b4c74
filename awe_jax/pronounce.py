"""Pronunciations of written words in the 39 ARPAbet phones.

Order of look-up: a user lexicon (overrides everything), the whole vendored
CMUdict (first pronunciation), then espeak-ng's phonemes (``espeak-ng -q
--ipa --sep=_ -v en-us``) mapped to ARPAbet by :data:`IPA_TO_ARPABET`.  The
mapping is a hand-written table because no installed library converts
espeak-ng's IPA to ARPAbet; :func:`phone_error_rate` measures it against
CMUdict (docs/search.md).
"""
import functools
import subprocess

import numpy as np

from awe_jax.corpus import lexicon as lexicon_lib
from jaxtk.errors import DataError

ESPEAK = ("espeak-ng", "-q", "--ipa", "--sep=_", "-v", "en-us")

# One espeak-ng (en-us) phoneme -> ARPAbet phones.  Stress marks are removed
# first; a phoneme missing here is looked up again without length marks.
IPA_TO_ARPABET = {
    "ə": "AH", "ʌ": "AH", "ɐ": "AH", "æ": "AE", "a": "AE", "ɑ": "AA",
    "ɒ": "AA", "ɔ": "AO", "aʊ": "AW", "aɪ": "AY", "ɛ": "EH", "e": "EH",
    "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "eɪ": "EY", "ɪ": "IH", "ᵻ": "IH",
    "i": "IY", "o": "OW", "oʊ": "OW", "ɔɪ": "OY", "ʊ": "UH", "u": "UW",
    "b": "B", "tʃ": "CH", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G",
    "h": "HH", "x": "HH", "dʒ": "JH", "k": "K", "l": "L", "m": "M", "n": "N",
    "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S", "ʃ": "SH", "t": "T",
    "ɾ": "T", "ʔ": "T", "θ": "TH", "v": "V", "w": "W", "j": "Y", "z": "Z",
    "ʒ": "ZH",
    # r-coloured and syllabic units espeak-ng writes as one phoneme.
    "ɑːɹ": "AA R", "ɑɹ": "AA R", "ɔːɹ": "AO R", "ɔɹ": "AO R", "oːɹ": "AO R",
    "oɹ": "AO R", "ɛɹ": "EH R", "ɪɹ": "IH R", "iɹ": "IH R", "ʊɹ": "UH R",
    "uɹ": "UH R", "aɪɚ": "AY ER", "aɪə": "AY AH", "aʊɚ": "AW ER",
    "iə": "IY AH", "n̩": "AH N", "l̩": "AH L", "m̩": "AH M", "əl": "AH L",
    "ɚː": "ER",
}
STRESS = "ˈˌ"


def ipa_to_arpabet(ipa: str, word: str = "") -> tuple:
  """Maps espeak-ng's ``_``-separated IPA of one word to ARPAbet.

  Args:
    ipa: e.g. ``"h_ə_l_ˈoʊ"`` (word breaks as spaces are allowed).
    word: named in the error.

  Returns:
    Tuple of phones from :data:`awe_jax.corpus.lexicon.PHONES`.

  Raises:
    DataError: an espeak-ng phoneme has no entry in the table.
  """
  out = []
  for ph in ipa.replace(" ", "_").split("_"):
    ph = "".join(c for c in ph if c not in STRESS and c != "\u200d")
    if not ph:
      continue
    arpa = IPA_TO_ARPABET.get(ph) or IPA_TO_ARPABET.get(ph.replace("ː", ""))
    if arpa is None:
      raise DataError("espeak-ng", f"phoneme {ph!r} of {word!r} has no "
                      "ARPAbet mapping in awe_jax.pronounce.IPA_TO_ARPABET",
                      field=word)
    out += arpa.split()
  return tuple(out)


def espeak_ipa(words) -> list:
  """espeak-ng's IPA (``_``-separated) of each word, one process for all.

  Raises:
    DataError: espeak-ng is not installed or fails.
  """
  words = list(words)
  if not words:
    return []
  try:
    res = subprocess.run(ESPEAK, input="\n".join(words) + "\n", text=True,
                         capture_output=True, check=True, timeout=600)
  except (OSError, subprocess.SubprocessError) as e:
    raise DataError("espeak-ng", f"cannot run {' '.join(ESPEAK)}: {e}; "
                    "install it with apt-get install espeak-ng") from e
  lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
  if len(lines) != len(words):
    raise DataError("espeak-ng", f"expected one line per word for "
                    f"{len(words)} words, got {len(lines)}")
  return lines


@functools.lru_cache(maxsize=1)
def _cmudict():
  return lexicon_lib.load_pronunciations()


def normalise_word(word: str) -> str:
  return word.strip().lower()


class Pronouncer:
  """User lexicon, then CMUdict, then espeak-ng.

  Args:
    user_lexicon: word -> phones (a sequence or a space-separated string),
      or the path of a CMUdict-format file; overrides everything.
    espeak: fall back to espeak-ng for words in neither lexicon.
  """

  def __init__(self, user_lexicon=None, *, espeak: bool = True):
    if isinstance(user_lexicon, str):
      user_lexicon = lexicon_lib.load_lexicon(user_lexicon)
    self.user = {normalise_word(w): tuple(p.split() if isinstance(p, str) else p)
                 for w, p in (user_lexicon or {}).items()}
    self.espeak = espeak
    self.source = {}   # word -> "user" | "cmudict" | "espeak-ng"

  def __call__(self, words) -> list:
    """Phones of each word (a list of tuples, same order).

    Raises:
      DataError: a word has no pronunciation (empty, or not in the lexicons
        with espeak-ng off).
    """
    words = [normalise_word(w) for w in words]
    out, todo = {}, []
    for w in words:
      if not w:
        raise DataError("<words>", "empty word: expected a written word")
      if w in self.user:
        out[w], self.source[w] = self.user[w], "user"
      elif w in _cmudict():
        out[w], self.source[w] = _cmudict()[w][0], "cmudict"
      elif self.espeak:
        todo.append(w)
      else:
        raise DataError("<words>", f"no pronunciation for {w!r}: not in the "
                        "user lexicon or CMUdict (espeak-ng is off)", field=w)
    todo = sorted(set(todo))
    for w, ipa in zip(todo, espeak_ipa(todo)):
      phones = ipa_to_arpabet(ipa, w)
      if not phones:
        raise DataError("espeak-ng", f"no phonemes for {w!r}", field=w)
      out[w], self.source[w] = phones, "espeak-ng"
    return [out[w] for w in words]


def edit_distance(a, b) -> int:
  """Levenshtein distance of two sequences (hand-written: a few lines; no
  installed library does it on phone lists)."""
  prev = np.arange(len(b) + 1)
  for i, x in enumerate(a, 1):
    cur = np.empty_like(prev)
    cur[0] = i
    for j, y in enumerate(b, 1):
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
    prev = cur
  return int(prev[-1])


def phone_error_rate(words, *, cmudict=None) -> float:
  """espeak-ng -> ARPAbet against CMUdict: total edits to the nearest
  CMUdict pronunciation over the total CMUdict phones (first variant).

  Args:
    words: words that CMUdict has.
  """
  cmudict = cmudict or _cmudict()
  words = list(words)
  hyps = [ipa_to_arpabet(ipa, w) for w, ipa in zip(words, espeak_ipa(words))]
  edits = sum(min(edit_distance(h, r) for r in cmudict[w])
              for w, h in zip(words, hyps))
  return edits / sum(len(cmudict[w][0]) for w in words)


def main(argv=None) -> None:
  """``python -m awe_jax.pronounce``: the mapping's phone error rate."""
  import argparse  # pylint: disable=g-import-not-at-top
  import re  # pylint: disable=g-import-not-at-top
  ap = argparse.ArgumentParser(description="espeak-ng -> ARPAbet phone error "
                               "rate against CMUdict")
  ap.add_argument("--n", type=int, default=1000, help="random CMUdict words")
  ap.add_argument("--seed", type=int, default=0)
  args = ap.parse_args(argv)
  words = sorted(w for w in _cmudict() if re.fullmatch("[a-z]+", w))
  rng = np.random.default_rng(args.seed)
  sample = [words[i] for i in rng.choice(len(words), args.n, replace=False)]
  corpus = sorted(lexicon_lib.load_lexicon())
  print(f"{args.n} random CMUdict words: PER {phone_error_rate(sample):.4f}")
  print(f"the corpus' {len(corpus)} words: PER {phone_error_rate(corpus):.4f}")


if __name__ == "__main__":
  main()
