"""Synthetic voices: espeak-ng, flite and festival, run as subprocesses,
and the neural voices of :mod:`awe_jax.corpus.neural` (Kokoro, Piper).

A :class:`Voice` is one synthesiser voice.  Its ``speaker`` names the
recorded (or rule-based) speaker behind it, so that splits by speaker keep
e.g. flite's ``slt`` and festival's ``cmu_us_slt_arctic_hts`` on the same
side.  Speaking rate and pitch are relative factors (1.0 = the voice's
default): espeak-ng and flite take them natively; festival voices are
post-processed with librosa (time stretch, pitch shift), because its HTS
voice ignores ``Duration_Stretch`` and the diphone voices have no simple
pitch knob.  Kokoro and Piper take the rate natively (speed, length scale)
and are pitch-shifted with librosa.
"""
import dataclasses
import os
import re
import shutil
import subprocess
import tempfile

import librosa
import numpy as np
import soundfile as sf

from awe_jax.corpus import neural

ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan",
                  "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029")
# espeak-ng voice variants by FILE name (the File column of ``espeak-ng
# --voices=variant``, case-sensitive: espeak-ng silently falls back to the
# plain voice for an unknown name, so :func:`check_voices` verifies them).
# "" is the plain voice.  Novelty variants (robots, whisper) are left out.
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2",
                   "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "klatt4",
                   "Andy", "Annie", "steph", "Alex", "Michael", "robert",
                   "zac", "edward", "grandpa")
# flite voice -> (speaker, default F0 in Hz). ``awb_time`` only says times.
FLITE_VOICES = {"kal": ("kal", 100.0), "kal16": ("kal", 100.0),
                "awb": ("awb", 110.0), "rms": ("rms", 110.0),
                "slt": ("slt", 170.0)}
FESTIVAL_VOICES = {"kal_diphone": "kal", "ked_diphone": "ked",
                   "cmu_us_slt_arctic_hts": "slt"}
# Debian packages that provide each synthesiser and its voices.
DEBIAN_PACKAGES = {
    "espeak-ng": "espeak-ng",
    "flite": "flite",
    "festival": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
}
_BINARY = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "festival"}
DEBIAN_SYNTHS = ("espeak-ng", "flite", "festival")
NEURAL_SYNTHS = ("kokoro", "piper")
PIPER_VOICE = "en_US-joe-medium"
TIMEOUT_S = 120


class SynthesiserMissing(RuntimeError):
  """A synthesiser binary is not on ``PATH``."""


class SynthesisError(RuntimeError):
  """A voice failed to say a word (message names voice, word and stderr)."""


@dataclasses.dataclass(frozen=True)
class Voice:
  synth: str    # "espeak-ng", "flite", "festival", "kokoro" or "piper"
  name: str     # the synthesiser's voice name, e.g. "en-gb-scotland+f3";
                # Kokoro blends are "a+b@w" (see neural.style)
  speaker: str  # who is behind the voice; splits are made by speaker

  @property
  def id(self) -> str:
    return f"{self.synth}:{self.name}"


def all_voices() -> list[Voice]:
  """Every voice the corpus may use, in a fixed order (the Debian voices
  first; Kokoro blends are made per split by the plan)."""
  voices = []
  for v in ESPEAK_VARIANTS:
    for a in ESPEAK_ACCENTS:
      name = f"{a}+{v}" if v else a
      voices.append(Voice("espeak-ng", name, f"espeak-{v or 'default'}"))
  voices += [Voice("flite", n, s) for n, (s, _) in FLITE_VOICES.items()]
  voices += [Voice("festival", n, s) for n, s in FESTIVAL_VOICES.items()]
  voices += [Voice("kokoro", n, n) for n in neural.KOKORO_VOICES]
  voices.append(Voice("piper", PIPER_VOICE, "joe"))
  return voices


def check_synthesisers(synths) -> None:
  """Raises :class:`SynthesiserMissing` naming each missing binary and the
  ``apt-get install`` line that provides it."""
  for s in set(synths) & set(NEURAL_SYNTHS):
    try:
      neural.check(s)
    except neural.AssetError as e:
      raise SynthesiserMissing(f"neural voice {s}: {e}") from e
  missing = sorted({s for s in synths if s in DEBIAN_SYNTHS
                    and shutil.which(_BINARY[s]) is None})
  if missing:
    pkgs = " ".join(DEBIAN_PACKAGES[s] for s in missing)
    raise SynthesiserMissing(
        f"speech synthesiser(s) {', '.join(missing)} not found on PATH; the "
        f"spoken-word corpus needs them. Install with:\n"
        f"  sudo apt-get install -y {pkgs}")


def _listing(cmd) -> str:
  try:
    r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S)
  except (OSError, subprocess.TimeoutExpired) as e:
    raise SynthesisError(f"cannot list voices with {' '.join(cmd)}: {e}") from e
  return r.stdout.decode("utf-8", "replace")


def installed(voice: Voice, listings: dict) -> bool:
  """Whether ``voice`` appears in the synthesiser's own voice listing."""
  if voice.synth == "espeak-ng":
    accent, _, variant = voice.name.partition("+")
    rows = [ln.split() for ln in listings["espeak-ng"].splitlines()[1:]]
    langs = {r[1] for r in rows if len(r) > 4}
    files = {r[4].split("/", 1)[-1] for r in rows if len(r) > 4}
    return accent in langs and (not variant or variant in files)
  if voice.synth == "flite":
    return voice.name in listings["flite"].split()
  if voice.synth == "kokoro":
    return all(n in neural.KOKORO_VOICES for n in re.split(r"[+@]",
                                                          voice.name)[:2])
  if voice.synth == "piper":
    return voice.name == PIPER_VOICE
  return voice.name in listings["festival"].replace("(", " ").replace(
      ")", " ").split()


def check_voices(voices) -> None:
  """Raises :class:`SynthesisError` naming every voice its synthesiser does
  not list (espeak-ng and flite would silently use another voice)."""
  synths = {v.synth for v in voices}
  listings = {}
  if "espeak-ng" in synths:
    listings["espeak-ng"] = (_listing(["espeak-ng", "--voices=en"])
                             + _listing(["espeak-ng", "--voices=variant"]))
  if "flite" in synths:
    listings["flite"] = _listing(["flite", "-lv"])
  if "festival" in synths:
    listings["festival"] = _listing(["festival", "--batch",
                                     "(print (voice.list))"])
  bad = [v.id for v in voices if not installed(v, listings)]
  if bad:
    raise SynthesisError(
        f"voice(s) not installed: {', '.join(bad)}. Check `espeak-ng "
        "--voices=variant`, `flite -lv` and the festival voice packages "
        f"({DEBIAN_PACKAGES['festival']}).")


def _run(cmd, voice, word, **kwargs):
  try:
    r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, **kwargs)
  except (OSError, subprocess.TimeoutExpired) as e:
    raise SynthesisError(f"voice {voice.id} failed on {word!r}: {e}") from e
  if r.returncode:
    err = r.stderr.decode("utf-8", "replace").strip()[-500:]
    raise SynthesisError(f"voice {voice.id} failed on {word!r} (exit "
                         f"{r.returncode}): {' '.join(cmd)}\n{err}")


def _read(path, voice, word):
  try:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
  except (OSError, RuntimeError) as e:
    raise SynthesisError(f"voice {voice.id} wrote no readable WAV for "
                         f"{word!r}: {e}") from e
  audio = audio.mean(axis=1)
  if audio.size == 0 or not np.any(audio):
    raise SynthesisError(f"voice {voice.id} produced silence for {word!r}")
  return audio, sr


def synthesise(voice: Voice, items) -> list:
  """Says each word with ``voice``.

  Args:
    voice: the voice.
    items: sequence of ``(word, rate, pitch)``, relative factors.

  Returns:
    list of ``(audio [S] float32, sample_rate)``, one per item.

  Raises:
    SynthesisError: the voice failed; names the voice, word and stderr.
  """
  if voice.synth in NEURAL_SYNTHS:
    return [_neural(voice, *item) for item in items]
  with tempfile.TemporaryDirectory(prefix="awe-synth-") as tmp:
    paths = [os.path.join(tmp, f"{i}.wav") for i in range(len(items))]
    if voice.synth == "festival":
      _festival(voice, [w for w, _, _ in items], paths, tmp)
    for (word, rate, pitch), path in zip(items, paths):
      if voice.synth == "espeak-ng":
        _run(["espeak-ng", "-v", voice.name, "-s", str(round(175 * rate)),
              "-p", str(int(np.clip(round(50 * pitch), 0, 99))),
              "-w", path, word], voice, word)
      elif voice.synth == "flite":
        f0 = FLITE_VOICES[voice.name][1] * pitch
        _run(["flite", "-voice", voice.name,
              "--setf", f"duration_stretch={1.0 / rate:.4f}",
              "--setf", f"int_f0_target_mean={f0:.1f}",
              "-t", word, "-o", path], voice, word)
    out = []
    for (word, rate, pitch), path in zip(items, paths):
      audio, sr = _read(path, voice, word)
      if voice.synth == "festival":
        audio = librosa.effects.time_stretch(audio, rate=rate)
        audio = librosa.effects.pitch_shift(
            audio, sr=sr, n_steps=12 * np.log2(pitch))
      out.append((audio.astype(np.float32), sr))
  return out


def _neural(voice, word, rate, pitch):
  try:
    if voice.synth == "kokoro":
      audio, sr = neural.kokoro_say(voice.name, word, speed=rate)
    else:
      # Length and noise scales vary per token (seeded by its rate draw).
      rng = np.random.default_rng(round(rate * 1e4))
      audio, sr = neural.piper_say(word, length_scale=1.0 / rate,
                                   noise_scale=rng.uniform(0.4, 1.0),
                                   noise_w_scale=rng.uniform(0.5, 1.1))
  except (ValueError, RuntimeError, KeyError) as e:
    raise SynthesisError(f"voice {voice.id} failed on {word!r}: {e}") from e
  if audio.size == 0 or not np.any(audio):
    raise SynthesisError(f"voice {voice.id} produced silence for {word!r}")
  if pitch != 1.0:
    audio = librosa.effects.pitch_shift(audio, sr=sr,
                                        n_steps=12 * np.log2(pitch))
  return audio.astype(np.float32), sr


def _festival(voice, words, paths, tmp):
  """One festival process says every word (start-up costs ~0.3-1 s)."""
  lines = [f"(voice_{voice.name})"]
  for w, p in zip(words, paths):
    lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{w}")) '
                 f'"{p}" \'riff)')
  script = os.path.join(tmp, "say.scm")
  with open(script, "w") as f:
    f.write("\n".join(lines) + "\n")
  _run(["festival", "--batch", script], voice, " ".join(words[:3]) + " ...")
  for w, p in zip(words, paths):
    if not os.path.exists(p):
      raise SynthesisError(f"voice {voice.id} wrote nothing for {w!r} "
                           "(is its Debian package installed? "
                           f"{DEBIAN_PACKAGES['festival']})")
