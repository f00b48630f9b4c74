"""Checksums of files fetched at set-up (models, voices, Debian packages)."""
import hashlib


def sha256_of(path: str) -> str:
  """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()
