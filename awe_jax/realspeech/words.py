"""Which recording says which word: the file -> word tables of each source.

Words are CMUdict keys (``awe_jax.corpus.lexicon.load_pronunciations``).
Letter names use CMUdict's dotted keys (``a.`` is "ay", not the article
``a``).  Only recordings of one word with a CMUdict entry are listed; the
rest of each package (phrases, prompts, symbols, phonics sounds such as
klettres' ``aw``, ``ch``, ``th``, and ktuberling's "palm tree", "falling
star" and "moonwalker") is left out.  The tables were written from each
package's file names and its own index (klettres' and ktuberling's
``sounds.xml``/``en.soundtheme``); see ``docs/realspeech.md``.
"""
import dataclasses
import string

from awe_jax.realspeech import packages

_NUMBERS = ("zero one two three four five six seven eight nine ten eleven "
            "twelve thirteen fourteen fifteen sixteen seventeen eighteen "
            "nineteen twenty").split()
_TENS = {30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
         80: "eighty", 90: "ninety"}
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth "
             "tenth eleventh twelfth thirteenth fourteenth fifteenth "
             "sixteenth seventeenth eighteenth nineteenth twentieth").split()
_TENS_ORDINALS = {30: "thirtieth", 40: "fortieth", 50: "fiftieth",
                  60: "sixtieth", 70: "seventieth", 80: "eightieth",
                  90: "ninetieth"}
_DAYS = "sunday monday tuesday wednesday thursday friday saturday".split()
_MONTHS = ("january february march april may june july august september "
           "october november december").split()
_NATO = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo "
         "lima mike november oscar papa quebec romeo sierra tango uniform "
         "victor whiskey x-ray yankee zulu").split()
LETTERS = {c: f"{c}." for c in string.ascii_lowercase}

# Which CMUdict pronunciation (0-based) the phone view is given, where the
# speakers say another than the first.
VARIANT = {"bow": 1}   # ktuberling's bow (ribbon): B OW, not B AW


@dataclasses.dataclass(frozen=True)
class Source:
  """One speaker's recordings inside one package.

  Attributes:
    name: the speaker's name in reports.
    package: the Debian package holding the files.
    base: directory of the files inside the package.
    files: ``((file relative to base, word), ...)``.
  """
  name: str
  package: packages.Package
  base: str
  files: tuple


def _asterisk_files():
  f = [("digits/0.wav", "zero")]
  f += [(f"digits/{n}.wav", w) for n, w in enumerate(_NUMBERS) if n]
  f += [(f"digits/{n}.wav", w) for n, w in _TENS.items()]
  f += [(f"digits/h-{n}.wav", w) for n, w in enumerate(_ORDINALS, 1)]
  f += [(f"digits/h-{n}.wav", w) for n, w in _TENS_ORDINALS.items()]
  for w in ("hundred", "thousand", "million", "billion"):
    f += [(f"digits/{w}.wav", w), (f"digits/h-{w}.wav", w + "th")]
  f += [(f"digits/day-{n}.wav", w) for n, w in enumerate(_DAYS)]
  f += [(f"digits/mon-{n}.wav", w) for n, w in enumerate(_MONTHS)]
  f += [(f"digits/{w}.wav", w) for w in (
      "at", "dollars", "minus", "oh", "pound", "star", "today", "tomorrow",
      "yesterday")]
  f += [("digits/oclock.wav", "o'clock"), ("digits/a-m.wav", "a.m."),
        ("digits/p-m.wav", "p.m.")]
  f += [(f"letters/{c}.wav", w) for c, w in LETTERS.items()]
  f += [(f"letters/{w}.wav", w) for w in (
      "zed", "asterisk", "at", "dash", "dollar", "dot", "equals", "plus",
      "slash", "space")]
  f += [(f"phonetic/{w[0]}_p.wav", w) for w in _NATO]
  f += [("phonetic/9_p.wav", "niner")]
  f += [(f"{w}.wav", w) for w in (
      "activated", "added", "calling", "cancelled", "disabled", "enabled",
      "extension", "for", "goodbye", "hello", "hours", "is", "location",
      "minute", "minutes", "number", "removed", "second", "seconds", "sorry",
      "time", "with", "your")]
  f += [("de-activated.wav", "deactivated")]
  f += [(f"vm-{w}.wav", w) for w in (
      "and", "extension", "first", "for", "from", "goodbye", "last",
      "message", "messages", "minutes", "no", "password", "press",
      "received", "saved")]
  f += [(f"vm-{k}.wav", w) for k, w in (
      ("Family", "family"), ("Friends", "friends"), ("INBOX", "new"),
      ("Old", "old"), ("Urgent", "urgent"), ("Work", "work"))]
  f += [(f"queue-{w}.wav", w) for w in ("minute", "minutes", "seconds")]
  f += [(f"spy-{w}.wav", w) for w in (
      "agent", "console", "jingle", "local", "mobile", "skinny", "zap")]
  return tuple(f)


_KLETTRES_WORDS_EN = ("car dog fix gas gem hot jet key me my no pet saw say "
                      "sit sky").split()
_KLETTRES_WORDS_GB = ("arm ball car dog ear fix gas gem hot hut jet key me my "
                      "no or pet saw say sit sky the well").split()


def _saytime_files():
  f = [(f"{n}.au", w) for n, w in enumerate(_NUMBERS)]
  f += [(f"{n}.au", _TENS[n]) for n in (30, 40, 50)]
  f += [(f"{w}.au", w) for w in (
      "and", "exactly", "hour", "hours", "minute", "minutes", "oh", "second",
      "seconds")]
  f += [("oclock.au", "o'clock"), ("am.au", "a.m."), ("pm.au", "p.m.")]
  return tuple(f)


_KTUBERLING = {
    "": ("ball bow coat ear earring eye eyebrow flower hair hat moustache "
         "mouth nose shoe shorts skirt spectacles stick sunglasses tie "
         "umbrella"),
    "egypt_": ("arch birds boy bridge camel cart column donkey girl grass man "
               "oasis pyramid road well woman"),
    "moon_": ("alien astronaut earth hotel monster planet radar rocket "
              "satellite sign star ufo"),
    "pizzeria_": ("anchovy bacon cheese cucumber mushroom olive onion "
                  "oregano pepper pepperoni pineapple salami tomato"),
    "tv_": "bicycle car cyclist train tree",
}


def _ktuberling_files():
  f = [(f"{prefix}{w}.ogg", w) for prefix, words in _KTUBERLING.items()
       for w in words.split()]
  # The two file names spelled otherwise than the word.
  f += [("egypt_sphynx.ogg", "sphinx"), ("pizzeria_broccolli.ogg", "broccoli")]
  return tuple(sorted(f))


SOURCES = (
    Source("asterisk", packages.ASTERISK,
           "usr/share/asterisk/sounds/en_US_f_Allison", _asterisk_files()),
    Source("klettres-en", packages.KLETTRES, "usr/share/klettres/en",
           tuple([(f"alpha/{c.upper()}.ogg", w) for c, w in LETTERS.items()]
                 + [(f"syllab/{w}.ogg", w) for w in _KLETTRES_WORDS_EN])),
    # British English: the letter z is "zed".
    Source("klettres-en_GB", packages.KLETTRES, "usr/share/klettres/en_GB",
           tuple([(f"alpha/{c}.ogg", "zed" if c == "z" else w)
                  for c, w in LETTERS.items()]
                 + [(f"syllab/{w}.ogg", w) for w in _KLETTRES_WORDS_GB])),
    Source("saytime", packages.SAYTIME, "usr/share/saytime", _saytime_files()),
    Source("ktuberling", packages.KTUBERLING, "usr/share/ktuberling/sounds/en",
           _ktuberling_files()),
)
SOURCE_NAMES = tuple(s.name for s in SOURCES)


def source(name: str) -> Source:
  """The source called ``name``.

  Raises:
    ValueError: listing the allowed names.
  """
  for s in SOURCES:
    if s.name == name:
      return s
  raise ValueError(f"source {name!r} is not one of: {', '.join(SOURCE_NAMES)}")
