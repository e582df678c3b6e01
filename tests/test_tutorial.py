"""docs/tutorial.md, followed: `haymaker workload new`, then every file it shows and the patch
it gives, in order. The package that makes passes ruff, installs offline and passes exactly
the tests the tutorial's pytest output lists; its other Python snippets come from those files;
the line counts it states are the files'; `.funcignore` ships the package, as step 7 says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.azurite import ROOT
from tests.support.packages import (
    BIN,
    install,
    new_workload,
    passed_exactly,
    run,
    run_own_tests,
)

TUTORIAL = ROOT / "docs" / "tutorial.md"
PACKAGE = "workloads/my-collector"  # where the tutorial makes it, in the checkout
WORKLOAD = Path("src/my_collector/workload.py")
MANIFEST = Path("src/my_collector/workload.yaml")
# A whole file, or a patch to apply in a directory: the fenced block right after its marker.
SHOWN = re.compile(r"<!-- (file|patch): (\S+) -->\n```\w*\n(.*?)\n```\n", re.S)
PYTHON = re.compile(r"```python\n(.*?)\n```\n", re.S)
PASSED = re.compile(r"tests/test_workload\.py::(\S+) PASSED")


def tutorial() -> str:
    return TUTORIAL.read_text(encoding="utf-8")


def stated(pattern: str) -> tuple[int, ...]:
    """The numbers in the sentence of the tutorial that `pattern` (its words, with (\\d+) for
    numbers) matches, wherever its lines break."""
    found = re.search(r"\s+".join(pattern.split()), tutorial())
    assert found, f"the tutorial no longer says: {pattern}"
    return tuple(int(number) for number in found.groups())


def code_lines(path: Path) -> int:
    """Lines that are neither blank nor comments (docstrings count)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory) -> Path:
    """Step 2: the package as `haymaker workload new` makes it."""
    directory = tmp_path_factory.mktemp("scaffold") / PACKAGE
    result = new_workload("my-collector", "--dir", str(directory))
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="module")
def package(scaffold, tmp_path_factory) -> Path:
    """Steps 3-5 on a copy of the scaffold in a checkout of its own."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(scaffold, root / PACKAGE)
    for kind, path, body in SHOWN.findall(tutorial()):
        if kind == "file":
            target = root / path
            assert target.is_file(), f"the tutorial shows {path}, which the scaffold lacks"
            target.write_text(body + "\n", encoding="utf-8")
            continue
        # the tutorial's command, in the checkout: git apply --directory=... llm.patch
        (root / "llm.patch").write_text(body + "\n", encoding="utf-8")
        result = run(["git", "apply", f"--directory={path}", "llm.patch"], cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
    return root / PACKAGE


def test_it_shows_the_manifest_the_workload_the_llm_patch_and_the_tests():
    assert [(kind, path) for kind, path, _ in SHOWN.findall(tutorial())] == [
        ("file", f"{PACKAGE}/{MANIFEST.as_posix()}"),
        ("file", f"{PACKAGE}/{WORKLOAD.as_posix()}"),
        ("patch", PACKAGE),
        ("file", f"{PACKAGE}/tests/test_workload.py"),
    ]


def test_the_code_passes_ruff(package):
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = run([str(BIN / "ruff"), *command], cwd=package)
        assert result.returncode == 0, result.stdout + result.stderr


def test_its_other_python_snippets_are_parts_of_the_files(package):
    files = [path.read_text(encoding="utf-8") for path in package.rglob("*.py")]
    snippets = PYTHON.findall(SHOWN.sub("", tutorial()))
    assert snippets, "the tutorial has no snippet besides the files"
    for snippet in snippets:
        assert any(snippet in text for text in files), snippet


def test_the_package_installs_offline_and_passes_the_tests_shown(
    package, storage_connection, tmp_path
):
    shown = PASSED.findall(tutorial())
    assert len(shown) == 7, shown
    assert re.search(rf"=+ {len(shown)} passed in [\d.]+s =+", tutorial())

    install(package, tmp_path / "site")
    result = run_own_tests(package, tmp_path / "site", storage_connection)
    assert result.returncode == 0, result.stdout + result.stderr
    assert PASSED.findall(result.stdout) == shown, result.stdout
    assert passed_exactly(result.stdout, len(shown)), result.stdout


def test_the_line_counts_it_states_are_the_files(scaffold, package):
    final = (code_lines(package / WORKLOAD), code_lines(package / MANIFEST))
    untouched = (code_lines(scaffold / WORKLOAD), code_lines(scaffold / MANIFEST))
    assert stated(
        r"is \*\*(\d+) lines\*\* of code in `workload.py` and `workload.yaml` \((\d+) and (\d+);"
    ) == (sum(final), *final)
    assert stated(r"untouched scaffold has \*\*(\d+)\*\* \((\d+) and (\d+)\)") == (
        sum(untouched),
        *untouched,
    )
    tests = code_lines(package / "tests/test_workload.py")
    assert stated(r"Its tests are (\d+) more.") == (tests,)


def test_funcignore_ships_the_package_but_not_its_tests(package, tmp_path):
    """Read the way deployments read it (gitignore rules), on the tutorial's files."""
    shutil.copytree(package, tmp_path / PACKAGE)
    root = tmp_path
    assert run(["git", "init", "--quiet", "."], cwd=root).returncode == 0
    files = sorted(path for path in (root / PACKAGE).rglob("*") if path.is_file())
    paths = [path.relative_to(root).as_posix() for path in files]
    command = ["git", "-c", f"core.excludesFile={ROOT / '.funcignore'}", "check-ignore", *paths]
    ignored = run(command, cwd=root).stdout.split()
    assert ignored == [path for path in paths if "/tests/" in path]
    assert f"{PACKAGE}/src/my_collector/workload.py" in paths
