"""Every command shown in README.md and docs/*.md still runs as written.

Commands come from the ```bash / ```sh blocks.  Each is dry-run: a Python
script or module is imported as ``__main__`` and its flags are parsed by its
own absl/argparse parser without running it (``tests/docs_dryrun.py``), so a
renamed flag, a bad choice or a missing module fails here; a ``make`` target
is checked with ``make -n``; any other program must exist.  Lines that set up
a shell rather than run this project (``cd``, ``export``, ``pip``, ``git``,
``sudo``, ...) are skipped by the rule :data:`SKIP`.
"""
import collections
import concurrent.futures
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"^```(?:bash|sh)[ \t]*\n(.*?)^```", re.M | re.S)
# Programs that change the shell or the environment, not this project.
SKIP = {"cd", "export", "source", ".", "pip", "pip3", "git", "sudo", "apt",
        "apt-get", "wait", "echo", "ls", "cat", "mkdir", "rm", "cp", "mv",
        "curl", "wget", "unset", "set"}
# Wrappers before the real command, with how many arguments each takes.
WRAPPERS = {"nice": {"-n": 1}, "nohup": {}, "time": {}, "taskset": {"-c": 1},
            "env": {}}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
Command = collections.namedtuple("Command", "where tokens")


def doc_files():
  return [os.path.join(ROOT, "README.md"),
          *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]


def commands(text: str, name: str = "") -> list:
  """The commands of the bash/sh blocks of a Markdown text.

  Continuation lines are joined; comments dropped; ``a; b``, ``a && b`` and
  ``a & b`` give two commands; assignments and wrappers (``nice -n 19``,
  ``taskset -c 0``) are stripped; :data:`SKIP` programs are left out.
  """
  out = []
  for block in BLOCK.finditer(text):
    line_no = text[:block.start()].count("\n") + 2
    lines = block.group(1).replace("\\\n", " ").split("\n")
    for offset, line in enumerate(lines):
      line = line.strip()
      if line.startswith("$ "):
        line = line[2:]
      lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
      lex.whitespace_split = True
      lex.commenters = "#"
      part = []
      for tok in [*lex, ";"]:
        if tok and set(tok) <= set(";&|"):
          cmd = _strip(part)
          if cmd and cmd[0] not in SKIP:
            out.append(Command(f"{name}:{line_no + offset}", cmd))
          part = []
        else:
          part.append(tok)
  return out


def _strip(tokens):
  tokens = list(tokens)
  while tokens:
    if ASSIGNMENT.match(tokens[0]):
      tokens.pop(0)
    elif tokens[0] in WRAPPERS:
      opts = WRAPPERS[tokens.pop(0)]
      while tokens and tokens[0] in opts:
        del tokens[:1 + opts[tokens[0]]]
    else:
      break
  return tokens


def _python_target(tokens):
  """``(kind, target, argv)`` of a Python command, or None."""
  if os.path.basename(tokens[0]) not in ("python", "python3"):
    return None
  if tokens[1] == "-m":
    return "module", tokens[2], tokens[3:]
  return "script", tokens[1], tokens[2:]


def _dry_run(kind, target, argvs):
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, "tests", "docs_dryrun.py"), kind,
       target, json.dumps(argvs)], cwd=ROOT, capture_output=True, text=True,
      env=dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu"), timeout=300)
  if proc.returncode:
    return [[[], proc.stderr.strip().splitlines()[-1:]]]
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _make_n(targets):
  proc = subprocess.run(["make", "-n", *targets], cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
  return [] if proc.returncode == 0 else [[targets, proc.stderr.strip()]]


def check(cmds: list) -> list:
  """Failures as ``"where: command: why"`` strings."""
  failures, by_target, jobs = [], collections.defaultdict(list), []
  for c in cmds:
    py = _python_target(c.tokens)
    if py is not None:
      kind, target, argv = py
      if kind == "script" and not os.path.exists(os.path.join(ROOT, target)):
        failures.append(f"{c.where}: {shlex.join(c.tokens)}: no file {target}")
      elif target != "pytest":
        by_target[(kind, target)].append((c, argv))
    elif c.tokens[0] == "make":
      targets = [t for t in c.tokens[1:] if not t.startswith("-") and "=" not in t]
      jobs.append(([c], _make_n, (targets,)))
    elif not (shutil.which(c.tokens[0]) or
              os.path.exists(os.path.join(ROOT, c.tokens[0]))):
      failures.append(f"{c.where}: {shlex.join(c.tokens)}: no program "
                      f"{c.tokens[0]}")
  for (kind, target), runs in by_target.items():
    jobs.append(([c for c, _ in runs], _dry_run,
                 (kind, target, [argv for _, argv in runs])))
  with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    futures = [(cs, pool.submit(fn, *args)) for cs, fn, args in jobs]
    for cs, fut in futures:
      for argv, why in fut.result():
        where = [c.where for c in cs if not argv or c.tokens[-len(argv):] == argv]
        failures.append(f"{', '.join(where) or cs[0].where}: {argv}: {why}")
  return failures


def test_every_documented_command_parses():
  cmds = []
  for path in doc_files():
    with open(path, encoding="utf-8") as f:
      cmds += commands(f.read(), os.path.relpath(path, ROOT))
  assert len(cmds) >= 10, cmds   # the README alone shows more
  failures = check(cmds)
  assert not failures, "\n".join(failures)


def test_extraction_rules():
  text = """
```bash
cd /tmp && export A=1   # set-up: skipped
pip install -e .
PYTHONPATH=$PWD nice -n 19 python experiments/awe_main.py --layers=4 \\
    --heads=16  # joined, comment dropped
python -m awe_jax.corpus build --small & python -m awe_jax.corpus dtw-ap
make run
```
```python
python not_a_shell_block.py
```
"""
  got = [c.tokens for c in commands(text)]
  assert got == [["python", "experiments/awe_main.py", "--layers=4", "--heads=16"],
                 ["python", "-m", "awe_jax.corpus", "build", "--small"],
                 ["python", "-m", "awe_jax.corpus", "dtw-ap"],
                 ["make", "run"]], got


def test_a_renamed_flag_fails():
  bad = commands("```sh\npython experiments/awe_main.py --no_such_flag=1\n"
                 "python experiments/awe_main.py --pool=max\n"
                 "python -m no_such_module\nmake no_such_target\n```\n", "x.md")
  failures = check(bad)
  assert len(failures) == 4, failures
