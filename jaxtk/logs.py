"""Readable logs for long runs: the libraries' per-checkpoint INFO chatter out."""
from absl import logging


class _QuietLibraries:
  """Drops orbax's INFO lines (dozens per checkpoint); warnings stay."""

  def filter(self, record):
    return record.levelno >= logging.converter.STANDARD_WARNING or (
        "orbax" not in record.pathname)


def quiet_libraries() -> None:
  """Installs the filter on absl's handler (idempotent)."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _QuietLibraries) for f in handler.filters):
    handler.addFilter(_QuietLibraries())
