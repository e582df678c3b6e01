"""Workload packages as a user has them: made by the real `haymaker workload new`, installed
offline outside .venv, and tested by their own tests in a process of their own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from haymaker_cli import app

BIN = Path(sys.executable).parent


def new_workload(name: str, *options: str) -> Result:
    # `--` so that a name such as "-agent" reaches the validation rather than option parsing
    return CliRunner().invoke(app, ["workload", "new", *options, "--", name])


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A subprocess with the environment of a user's shell: none of this pytest's variables."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        command, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=600
    )


def install(package: Path, target: Path, *, dependencies: bool = True) -> None:
    """Install `package` into `target` (to put on PYTHONPATH) with its dependencies, offline,
    built by .venv's setuptools. Offline and with dependencies is what Azure's remote build
    needs too: nothing that is on no index (haymaker comes from the host). A package whose
    dependencies come from PyPI (the host has them already) says `dependencies=False`."""
    with tempfile.TemporaryDirectory() as scratch:
        # Build from a copy: a build leaves build/ and *.egg-info behind.
        ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache")
        source = shutil.copytree(package, Path(scratch) / package.name, ignore=ignore)
        command = [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index"]
        command += ["--quiet", "--target", str(target), str(source)]
        command += [] if dependencies else ["--no-deps"]
        result = run(command, cwd=source)
    assert result.returncode == 0, result.stdout + result.stderr


def run_own_tests(package: Path, site: Path, storage: str) -> subprocess.CompletedProcess[str]:
    """`pytest -v` of the package's tests against the copy installed in `site`, with Table
    storage (for the durable ones) at `storage`."""
    return run(
        [sys.executable, "-m", "pytest", str(package / "tests"), "-v", "-p", "no:cacheprovider"],
        cwd=package,
        env={"PYTHONPATH": str(site), "HAYMAKER_TEST_STORAGE": storage},
    )


def passed_exactly(stdout: str, count: int) -> bool:
    """The summary line says `count` passed and nothing else: none failed, skipped, xfailed or
    deselected."""
    summary = stdout.strip().splitlines()[-1]
    return re.fullmatch(rf"=+ {count} passed(, \d+ warnings?)? in .+ =+", summary) is not None
