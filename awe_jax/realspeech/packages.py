"""The Debian packages of the real-speech check: pinned, checked, extracted.

:func:`fetch` runs ``apt-get download`` for each package at its pinned
version, checks the ``.deb``'s SHA-256, extracts it with ``dpkg-deb -x`` and
keeps only the recordings (and the package's copyright file) under
``<root>/<package>/``.  A marker ``<root>/.fetched/<package>`` holding the
version and hash is written last, so an interrupted fetch resumes with the
packages it had not finished.  Nothing is downloaded when the check runs.
"""
import dataclasses
import os
import shutil
import subprocess
import tempfile

from awe_jax.corpus import lexicon as lexicon_lib
from jaxtk import files
from jaxtk.errors import DataError


@dataclasses.dataclass(frozen=True)
class Package:
  """One Debian package of recordings.

  Attributes:
    name: the Debian package name.
    version: the pinned version (Debian 12 "bookworm", main).
    arch: ``all`` or the one architecture whose ``.deb`` hash is pinned.
    sha256: of the ``.deb`` file.
    keep: paths inside the package that are kept after extraction.
  """
  name: str
  version: str
  arch: str
  sha256: str
  keep: tuple

  @property
  def marker(self) -> str:
    return f"{self.version} {self.sha256}\n"


def _doc(name):
  return f"usr/share/doc/{name}/copyright"


ASTERISK = Package(
    "asterisk-core-sounds-en-wav", "1.6.1-1", "all",
    "2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d",
    ("usr/share/asterisk/sounds/en_US_f_Allison",
     _doc("asterisk-core-sounds-en-wav")))
KLETTRES = Package(
    "klettres-data", "4:22.12.3-1", "all",
    "1186d257a19e84230856baea0b0b1ded8be9195080fcdb2588970b5cd937f5a8",
    ("usr/share/klettres/en", "usr/share/klettres/en_GB",
     _doc("klettres-data")))
SAYTIME = Package(
    "saytime", "1.0-35+b1", "amd64",
    "189e502f34ab7e2a9ececc45d781273760cfe11f3719f4176a9f6d472228856a",
    ("usr/share/saytime", _doc("saytime")))
KTUBERLING = Package(
    "ktuberling-data", "4:22.12.3-1", "all",
    "fba44c875bfa31ea488dadd9263e87a4dcaea0bd47d28817f6c0dc6d2af970ed",
    ("usr/share/ktuberling/sounds/en",
     "usr/share/ktuberling/sounds/en.soundtheme", _doc("ktuberling-data")))
PACKAGES = (ASTERISK, KLETTRES, SAYTIME, KTUBERLING)


def default_dir() -> str:
  """``$AWE_JAX_DATA/realspeech``, else ``<repo>/data/realspeech``."""
  root = (os.environ.get("AWE_JAX_DATA")
          or os.path.join(lexicon_lib.REPO, "data"))
  return os.path.join(root, "realspeech")


def _marker_path(root: str, pkg: Package) -> str:
  return os.path.join(root, ".fetched", pkg.name)


def is_fetched(root: str, pkg: Package) -> bool:
  """True when ``pkg`` was extracted into ``root`` at its pinned version."""
  try:
    with open(_marker_path(root, pkg)) as f:
      return f.read() == pkg.marker
  except OSError:
    return False


def _run(cmd, cwd=None):
  try:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True,
                          text=True)
  except FileNotFoundError as e:
    raise RuntimeError(f"{cmd[0]} is not installed: the real-speech check is "
                       "built from Debian packages (apt-get, dpkg-deb)") from e


def _download(pkg: Package, into: str) -> str:
  """``apt-get download`` of the pinned version; returns the ``.deb`` path."""
  cmd = ["apt-get", "download", f"{pkg.name}={pkg.version}"]
  try:
    _run(cmd, cwd=into)
  except subprocess.CalledProcessError as first:
    if os.geteuid() != 0:
      raise RuntimeError(
          f"{' '.join(cmd)} failed: {first.stderr.strip()}\n"
          "Run `sudo apt-get update` and try again.") from first
    _run(["apt-get", "update", "-qq"])
    try:
      _run(cmd, cwd=into)
    except subprocess.CalledProcessError as e:
      raise RuntimeError(f"{' '.join(cmd)} failed: {e.stderr.strip()}") from e
  debs = [f for f in os.listdir(into) if f.endswith(".deb")]
  if len(debs) != 1:
    raise RuntimeError(f"apt-get download left {debs} in {into}")
  return os.path.join(into, debs[0])


def fetch_one(root: str, pkg: Package) -> bool:
  """Fetches one package into ``root`` unless done; True if it was fetched.

  Raises:
    DataError: the downloaded ``.deb``'s SHA-256 is not the pinned one.
    RuntimeError: apt-get or dpkg-deb is missing or failed.
  """
  if is_fetched(root, pkg):
    return False
  os.makedirs(os.path.join(root, ".fetched"), exist_ok=True)
  with tempfile.TemporaryDirectory(dir=root, prefix=f".tmp-{pkg.name}-") as tmp:
    deb = _download(pkg, tmp)
    digest = files.sha256_of(deb)
    if digest != pkg.sha256:
      raise DataError(deb, f"SHA-256 {digest} is not the pinned {pkg.sha256} "
                      f"of {pkg.name} {pkg.version} ({pkg.arch}); the "
                      "archive changed or this is another architecture")
    extracted = os.path.join(tmp, "x")
    _run(["dpkg-deb", "-x", deb, extracted])
    dest = os.path.join(root, pkg.name)
    shutil.rmtree(dest, ignore_errors=True)
    for rel in pkg.keep:
      src = os.path.join(extracted, rel)
      if not os.path.exists(src):
        raise DataError(deb, f"{rel} is not in the package")
      os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
      shutil.move(src, os.path.join(dest, rel))
  with open(_marker_path(root, pkg) + ".tmp", "w") as f:
    f.write(pkg.marker)
  os.replace(_marker_path(root, pkg) + ".tmp", _marker_path(root, pkg))
  return True


def fetch(root: str | None = None, packages=PACKAGES) -> str:
  """Fetches every package not yet in ``root`` (default :func:`default_dir`).

  Returns:
    ``root``.
  """
  root = root or default_dir()
  os.makedirs(root, exist_ok=True)
  for pkg in packages:
    if fetch_one(root, pkg):
      print(f"realspeech: {pkg.name} {pkg.version} -> {root}/{pkg.name}")
  return root


def require(root: str, packages=PACKAGES) -> None:
  """Raises a :class:`DataError` naming the fetch command when a package is
  missing from ``root``."""
  missing = [p.name for p in packages if not is_fetched(root, p)]
  if missing:
    raise DataError(root, f"package(s) {', '.join(missing)} not fetched; run "
                    "`python -m awe_jax.realspeech fetch` (scripts/setup.sh "
                    "does) first")
