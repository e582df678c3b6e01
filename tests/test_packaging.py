"""pyproject's dependencies and extras against the files that install them: requirements.txt
(what Azure installs for the Functions app) is the core plus the `app` extra, and the pins of
requirements-dev.txt (what `make install` installs) satisfy the `cli` and `testing` extras."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests.support.azurite import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    """The requirements a file names itself: no comments, no `-r` includes, and no local
    paths (workload packages installed beside the app, docs/tutorial.md step 7)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith(("-", ".", "/")):
            lines.append(line)
    return lines


def keyed(specs: list[str]) -> dict[str, str]:
    """Requirement strings by distribution name, written the same way."""
    parsed = [Requirement(spec) for spec in specs]
    return {canonical(r.name): str(r) for r in parsed}


def test_requirements_txt_is_the_core_plus_the_app_extra():
    expected = keyed(PROJECT["dependencies"] + EXTRAS["app"])
    assert keyed(requirement_lines(ROOT / "requirements.txt")) == expected


def test_the_core_needs_only_pydantic_and_yaml():
    assert set(keyed(PROJECT["dependencies"])) == {"pydantic", "pyyaml"}


def test_the_cli_extra_leaves_out_the_functions_runtime():
    runtime = set(keyed(EXTRAS["app"]))
    assert not runtime & set(keyed(EXTRAS["cli"]))
    assert set(keyed(EXTRAS["entra"])) == {"azure-identity"}


def test_the_testing_extra_brings_the_app_extra():
    assert "haymaker-functions[app]" in EXTRAS["testing"]


def test_requirements_dev_pins_satisfy_the_cli_and_testing_extras():
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert re.search(r"^-r requirements\.txt$", text, re.M), "the dev install starts from the app's"
    pins = {
        canonical(r.name): r
        for r in map(Requirement, requirement_lines(ROOT / "requirements-dev.txt"))
    }
    wanted = [
        Requirement(spec)
        for spec in EXTRAS["cli"] + EXTRAS["testing"]
        if not spec.startswith("haymaker-functions")
    ]
    for requirement in wanted:
        pin = pins.get(canonical(requirement.name))
        assert pin is not None, f"requirements-dev.txt does not pin {requirement.name}"
        (version,) = [spec.version for spec in pin.specifier if spec.operator == "=="]
        assert requirement.specifier.contains(version), f"{pin} is outside {requirement}"
