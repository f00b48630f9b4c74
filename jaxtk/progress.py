"""Progress bars for long work (corpus builds, scans, epochs)."""
import sys

from tqdm.auto import tqdm


def progress(iterable=None, *, desc: str, total: int | None = None,
             unit: str = "it", disable: bool | None = None, **kwargs):
  """A tqdm bar on stderr that also reads well in a log file.

  When stderr is not a terminal the bar is redrawn at most every 30 s, so
  `nohup` logs stay short.
  """
  tty = sys.stderr.isatty()
  return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr,
              mininterval=0.5 if tty else 30.0, dynamic_ncols=True,
              disable=disable, **kwargs)
