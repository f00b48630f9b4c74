"""Progress bars for long work (corpus builds, scans, epochs)."""
import sys

from tqdm.auto import tqdm


def progress(iterable=None, *, desc: str, total: int | None = None,
             unit: str = "it", disable: bool = False, **kwargs):
  """A tqdm bar on stderr that also reads well in a log file.

  When stderr is not a terminal (``nohup`` logs) the bar is still shown
  (tqdm's ``disable=None`` would hide it), one line per redraw at most
  every 30 s, so the log stays short and says how far a long run got.
  """
  tty = sys.stderr.isatty()
  if not tty:
    kwargs.setdefault("ascii", True)
    kwargs.setdefault("bar_format", "{l_bar}{bar:20}{r_bar}\n")
  return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr,
              mininterval=0.5 if tty else 30.0, maxinterval=30.0 if tty else
              120.0, dynamic_ncols=tty, disable=disable, **kwargs)
