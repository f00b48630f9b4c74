"""Dry run of one script's or module's command lines (used by test_docs.py).

  python tests/docs_dryrun.py {script,module} TARGET '[["--flag=1"], [...]]'

Runs TARGET as ``__main__`` with ``absl.app.run`` and argparse's
``parse_args`` / ``parse_known_args`` intercepted, so nothing but the
imports and flag definitions executes; then parses each argv with the
intercepted parser.  Prints one JSON list of failures (empty: all parsed).
"""
import argparse
import contextlib
import io
import json
import runpy
import sys

from absl import app
from absl import flags


class _Parsed(Exception):
  pass


_captured = {}
_parse_args = argparse.ArgumentParser.parse_args
_parse_known_args = argparse.ArgumentParser.parse_known_args


def _absl_run(main, argv=None, **kwargs):
  del main, argv, kwargs
  _captured["kind"] = "absl"
  raise _Parsed


def _argparse_parse(self, args=None, namespace=None):
  del args, namespace
  _captured["kind"] = "argparse"
  _captured["parser"] = self
  raise _Parsed


def _parse_one(target, argv):
  """None if ``argv`` parses, else the parser's message."""
  err = io.StringIO()
  try:
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
      if _captured["kind"] == "absl":
        flags.FLAGS.unparse_flags()
        flags.FLAGS([target, *argv])
      else:
        _parse_args(_captured["parser"], argv)
  except flags.Error as e:
    return str(e)
  except SystemExit as e:
    return err.getvalue().strip() or f"exit {e.code}"
  return None


def main():
  kind, target, argvs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
  app.run = _absl_run
  argparse.ArgumentParser.parse_args = _argparse_parse
  argparse.ArgumentParser.parse_known_args = _argparse_parse
  sys.argv = [target]
  try:
    if kind == "module":
      runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
      runpy.run_path(target, run_name="__main__")
  except _Parsed:
    pass
  argparse.ArgumentParser.parse_args = _parse_args
  argparse.ArgumentParser.parse_known_args = _parse_known_args
  if "kind" not in _captured:
    print(json.dumps([[[], f"{target} ran without an absl or argparse parser"]]))
    return
  failures = []
  for argv in argvs:
    msg = _parse_one(target, argv)
    if msg is not None:
      failures.append([argv, msg])
  print(json.dumps(failures))


if __name__ == "__main__":
  main()
