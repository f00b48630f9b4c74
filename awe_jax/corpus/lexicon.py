"""Word types of the corpus: vendored CMU Pronouncing Dictionary entries.

``third_party/cmudict/selected.dict`` holds 700 entries (provenance and the
selection rule in ``third_party/cmudict/README.md``), one per line:
``word PH PH ...`` in ARPAbet with the stress digits stripped.
"""
import os
import re

from jaxtk.errors import DataError

# The 39 ARPAbet phones of CMUdict (``cmudict.phones``), stress removed.
PHONES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY",
    "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P",
    "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
LEXICON_PATH = os.path.join(REPO, "third_party", "cmudict", "selected.dict")
# The whole dictionary (135,166 entries, 126,052 words), provenance in
# ``third_party/cmudict/README.md``.
CMUDICT_PATH = os.path.join(REPO, "third_party", "cmudict", "cmudict.dict")


def load_lexicon(path: str = LEXICON_PATH) -> dict:
  """Reads a CMUdict-format file, keeping each word's first pronunciation.

  Returns:
    word -> tuple of phones from :data:`PHONES`, in file order.

  Raises:
    DataError: naming the file and line of a phone outside the 39-phone set.
  """
  return {w: prons[0] for w, prons in load_pronunciations(path).items()}


def load_pronunciations(path: str = CMUDICT_PATH) -> dict:
  """Reads a CMUdict-format file with every pronunciation of each word.

  Stress digits, ``# comments`` and alternative-pronunciation suffixes
  (``word(2)``) are stripped.

  Returns:
    word -> tuple of pronunciations in file order, each a tuple of phones
    from :data:`PHONES`.

  Raises:
    DataError: naming the file and line of a phone outside the 39-phone set.
  """
  lexicon = {}
  try:
    f = open(path, encoding="utf-8")
  except OSError as e:
    raise DataError(path, f"cannot read the pronunciation lexicon: {e}") from e
  with f:
    for n, line in enumerate(f, 1):
      fields = line.split("#")[0].split()
      if not fields:
        continue
      word = re.sub(r"\(\d+\)$", "", fields[0])
      phones = tuple(re.sub(r"\d", "", p) for p in fields[1:])
      if not phones:
        raise DataError(path, f"word {word!r} has no phones", field=f"line {n}")
      bad = [p for p in phones if p not in PHONES]
      if bad:
        raise DataError(path, f"phone(s) {bad} are not ARPAbet; expected one "
                        f"of the 39 phones {' '.join(PHONES)}",
                        field=f"line {n}")
      prons = lexicon.setdefault(word, ())
      if phones not in prons:
        lexicon[word] = prons + (phones,)
  if not lexicon:
    raise DataError(path, "the lexicon is empty")
  return lexicon


def words(path: str = CMUDICT_PATH) -> frozenset:
  """The words of a CMUdict-format file (first column, ``(2)`` variants
  folded), read without parsing the phones: a fast membership test."""
  try:
    with open(path, encoding="utf-8") as f:
      return frozenset(line.split(maxsplit=1)[0].split("(")[0] for line in f
                       if line.strip() and not line.startswith("#"))
  except OSError as e:
    raise DataError(path, f"cannot read the pronunciation lexicon: {e}") from e
