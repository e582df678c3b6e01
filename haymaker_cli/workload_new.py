"""`haymaker workload new NAME`: create a workload package to edit, test and deploy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from haymaker_cli.output import console, error
from haymaker_cli.scaffold import ScaffoldError, create


def workload_new(
    name: Annotated[str, typer.Argument(help="workload name: a-z, 0-9 and '-', e.g. my-agent")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where to create it (default: ./NAME)")
    ] = None,
) -> None:
    """Create a new workload package (manifest, code, tests) from the template."""
    target = directory if directory is not None else Path(name)
    try:
        files = create(name, target)
    except ScaffoldError as exc:
        error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    shown = _shown(target)
    lines = [f"Created workload {name} in {shown}:"]
    lines += [f"  {shown}/{path.as_posix()}" for path in files]
    lines += [
        "Next:",
        f"  pip install -e {shown}",
        f"  pytest {shown}",
        "  haymaker dev  (in the haymaker-functions checkout), then in another terminal:",
        f"  haymaker deploy {name} --wait",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


def _shown(path: Path) -> str:
    """The path as the user would type it: relative to here when it is below here."""
    relative = os.path.relpath(path.resolve(), Path.cwd())
    return path.as_posix() if relative.startswith("..") else f"./{Path(relative).as_posix()}"
