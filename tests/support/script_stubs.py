"""Run one of scripts/ with its command-line tools (az, gh) replaced by stubs placed first on
PATH: each call is logged, answers come from a table (first matching prefix wins), and any
other call fails loudly (exit 97). Nothing talks to Azure or GitHub."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.support.azurite import ROOT

STUB = """#!{python}
import json, sys
argv = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps([{tool!r}, *argv]) + "\\n")
line = " ".join(argv)
for prefix, out, code in json.load(open({table!r})):
    if line.startswith(prefix):
        sys.stdout.write(out)
        sys.exit(code)
sys.stderr.write("stub {tool}: unexpected call: " + line + "\\n")
sys.exit(97)
"""

# (prefix of the arguments, stdout, exit code)
Answers = list[tuple[str, str, int]]


@dataclass
class ScriptRun:
    code: int
    stdout: str
    stderr: str
    calls: list[list[str]]

    @property
    def commands(self) -> list[list[str]]:
        """The commands --dry-run printed, split as a shell would split them."""
        prefix = "DRY-RUN: "
        return [
            shlex.split(line[len(prefix) :])
            for line in self.stdout.splitlines()
            if line.startswith(prefix)
        ]

    def named(self, *words: str) -> list[list[str]]:
        return [c for c in self.commands if c[: len(words)] == list(words)]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


R = TypeVar("R", bound=ScriptRun)


def run_script(
    script: Path,
    args: tuple[str, ...],
    *,
    workdir: Path,
    stubs: dict[str, Answers | None],
    result: type[R],
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    path: str | None = None,
) -> R:
    """Run `script` with a stub for each tool in `stubs` (None: no stub), in `workdir`'s bin/,
    on `path` (default: the stubs, then this PATH), with this environment plus `env` and
    without the variables in `unset`."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = workdir / "calls.jsonl"
    log.write_text("")
    for tool, answers in stubs.items():
        if answers is None:
            continue
        table = workdir / f"{tool}.json"
        table.write_text(json.dumps(answers))
        stub = bin_dir / tool
        stub.write_text(
            STUB.format(python=sys.executable, log=str(log), tool=tool, table=str(table))
        )
        stub.chmod(0o755)
    environment = {
        **os.environ,
        "PATH": path or f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        **(env or {}),
    }
    for name in unset:
        environment.pop(name, None)
    proc = subprocess.run(
        [shutil.which("bash") or "bash", str(script), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result(proc.returncode, proc.stdout, proc.stderr, calls)
