"""`haymaker workload new`: a workload package, rendered from the template beside this module.

Template files end in `.tmpl` (so neither ruff nor pytest reads them here), a `PACKAGE`
directory is named after the Python package, and `${name}`, `${package}` and `${class_name}`
are filled in with `string.Template`.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import entry_points
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from string import Template

DISTRIBUTION = "haymaker-functions"

# Names the manifest accepts (WORKLOAD_NAME_PATTERN in haymaker/keys.py), narrowed so that the
# package and class names made from them read well: at least 3 characters, single inner dashes.
MIN_LENGTH, MAX_LENGTH = 3, 40
_SHAPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Top-level packages of haymaker-functions: a workload package of the same name would shadow them.
PLATFORM_PACKAGES = {
    "haymaker",
    "haymaker_cli",
    "haymaker_testing",
    "devhost",
    "api",
    "timers",
    "runs",
    "activities",
    "orchestrators",
    "ui",
    "function_app",
    "tests",
}


class ScaffoldError(Exception):
    """A refusal with a message for the user; `exit_code` follows the CLI's conventions."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Names:
    name: str  # the workload (manifest, entry point and distribution) name: my-agent
    package: str  # the Python package: my_agent
    class_name: str  # MyAgentWorkload

    @classmethod
    def of(cls, name: str) -> Names:
        check_name(name)
        camel = "".join(part[:1].upper() + part[1:] for part in name.split("-"))
        return cls(name, name.replace("-", "_"), f"{camel}Workload")


def check_name(name: str) -> str:
    """Return `name` if it can name a new workload, else raise ScaffoldError (exit code 2)."""

    def refuse(reason: str) -> ScaffoldError:
        return ScaffoldError(f"cannot use {name!r} as a workload name: {reason}", exit_code=2)

    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        raise refuse(f"it must be {MIN_LENGTH}-{MAX_LENGTH} characters long")
    if not name[0].isascii() or not name[0].islower():
        raise refuse("it must start with a lower-case letter")
    if not _SHAPE.fullmatch(name):
        raise refuse(
            "use only lower-case letters, digits and single dashes between them "
            "(no '--', no trailing '-')"
        )
    if name in builtin_names():
        raise refuse("a built-in workload has that name")
    package = name.replace("-", "_")
    if package in PLATFORM_PACKAGES or package in sys.stdlib_module_names:
        raise refuse(f"its package {package!r} would shadow an existing Python module")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise refuse(f"its package {package!r} is a Python keyword")
    return name


def builtin_names() -> set[str]:
    """The names of the workloads haymaker-functions itself declares, read from its entry
    points without importing the workloads (they need the Functions runtime, the CLI not)."""
    from haymaker.workloads.registry import ENTRY_POINT_GROUP

    return {
        entry_point.name
        for entry_point in entry_points(group=ENTRY_POINT_GROUP)
        if entry_point.dist is not None
        and entry_point.dist.name.replace("_", "-").lower() == DISTRIBUTION
    }


def create(name: str, directory: Path) -> list[Path]:
    """Write the package for workload `name` into `directory` (absent or empty); return the
    files written, relative to `directory`."""
    names = Names.of(name)
    if directory.exists() and not (directory.is_dir() and not any(directory.iterdir())):
        raise ScaffoldError(
            f"{directory} already exists and is not an empty directory; choose another with --dir",
            exit_code=4,
        )
    files = render(names)
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [Path(relative) for relative in files]


def render(names: Names) -> dict[str, str]:
    """Every file of the new package: relative POSIX path -> content."""
    values = {"name": names.name, "package": names.package, "class_name": names.class_name}
    root = resources.files(__package__) / "template"
    files = {}
    for relative, source in _walk(root, PurePosixPath()):
        parts = [names.package if part == "PACKAGE" else part for part in relative.parts]
        target = PurePosixPath(*parts)
        files[str(target.with_suffix(""))] = Template(source.read_text("utf-8")).substitute(values)
    return dict(sorted(files.items()))


def _walk(node: Traversable, relative: PurePosixPath) -> list[tuple[PurePosixPath, Traversable]]:
    found = []
    for child in node.iterdir():
        if child.is_dir():
            found += _walk(child, relative / child.name)
        elif child.name.endswith(".tmpl"):
            found.append((relative / child.name, child))
    return found
