"""`haymaker workload ...`: the installed workloads, their config schemas, and new ones."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from haymaker_cli.options import JsonOption
from haymaker_cli.output import console, print_json, styled
from haymaker_cli.session import call
from haymaker_cli.workload_new import workload_new

workload_app = typer.Typer(
    help="Installed workloads and their config schemas.", no_args_is_help=True
)


@workload_app.command("list")
def workload_list(as_json: JsonOption = False) -> None:
    """List installed workloads."""
    items = call(lambda client: client.workloads())["items"]
    if as_json:
        print_json(items)
        return
    table = Table("Name", "Version", "Phases", "Description")
    for item in items:
        table.add_row(
            item["name"], item["version"], " → ".join(item["phases"]), item["description"]
        )
    console.print(table)


workload_app.command("new")(workload_new)


def _number(value: Any) -> str:
    """A bound as the manifest wrote it: 1, not 1.0 (JSON Schema numbers arrive as floats)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@workload_app.command("info")
def workload_info(name: str, as_json: JsonOption = False) -> None:
    """Show a workload's config schema."""
    manifest = call(lambda client: client.workload(name))
    if as_json:
        print_json(manifest)
        return
    description = manifest.get("description", "")
    console.print(styled((manifest["name"], "bold"), f" {manifest['version']}: {description}"))
    table = Table("Key", "Type", "Default", "Range", "Description")
    for key, spec in manifest.get("config_schema", {}).items():
        bounds = ""
        if "min" in spec or "max" in spec:
            bounds = f"{_number(spec.get('min'))}..{_number(spec.get('max'))}"
        if "enum" in spec:
            bounds = ", ".join(map(str, spec["enum"]))
        table.add_row(
            key, spec["type"], json.dumps(spec.get("default")), bounds, spec.get("description", "")
        )
    console.print(table)
