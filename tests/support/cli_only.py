"""A CLI-only install, simulated in this environment: a subprocess in which the modules of
every installed distribution that `pip install haymaker-functions[cli]` would not bring (the
core and cli extras, with everything they require, read from the installed metadata) fail to
import as missing packages do. The standard library and this project's own packages stay.

A real second virtualenv would need an index to install into; this one is offline and shows
the same thing: what the CLI imports, and what breaks when the Functions runtime is absent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

from haymaker_cli.scaffold import PLATFORM_PACKAGES
from tests.support.azurite import ROOT

# The project's own top-level modules (they ship in haymaker-functions whatever the extras).
OWN_MODULES = PLATFORM_PACKAGES - {"tests"}

# Runs first in the subprocess (as sitecustomize): refuse the modules of BLOCKED.
SITECUSTOMIZE = """
import importlib.abc
import json
import os
import sys

BLOCKED = set(json.loads(os.environ["HAYMAKER_NOT_INSTALLED"]))


class CliOnlyInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, CliOnlyInstall())
"""


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def cli_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["cli"]
    return [Requirement(spec) for spec in specs]


def distributions_of(requirements: list[Requirement]) -> set[str]:
    """The installed distributions these requirements bring, transitively (markers applied,
    no extras of the dependencies beyond those asked for)."""
    found: set[str] = set()
    pending = [(requirement, frozenset(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = _normalized(requirement.name)
        if name in found:
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            continue  # a marker-gated dependency of another platform
        found.add(name)
        for spec in dist.requires or []:
            nested = Requirement(spec)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if nested.marker is None or any(nested.marker.evaluate(e) for e in environments):
                pending.append((nested, frozenset(nested.extras)))
    return found


def missing_modules() -> set[str]:
    """Top-level modules that only distributions outside a CLI-only install provide."""
    wanted = distributions_of(cli_requirements())
    modules = {
        module
        for module, dists in packages_distributions().items()
        if not any(_normalized(dist) in wanted for dist in dists)
    }
    return modules - OWN_MODULES


def cli_only_env(scratch: Path) -> dict[str, str]:
    """Environment variables that make a Python subprocess a CLI-only install."""
    (scratch / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return {
        "PYTHONPATH": str(scratch),
        "HAYMAKER_NOT_INSTALLED": json.dumps(sorted(missing_modules())),
    }


def run_cli_only(
    scratch: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`haymaker ARGS` in a CLI-only install; `env` adds to the caller's environment."""
    code = "import sys; from haymaker_cli import main; sys.argv[0] = 'haymaker'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=scratch,
        env={**os.environ, **cli_only_env(scratch), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
