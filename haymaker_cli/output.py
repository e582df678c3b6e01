"""What the CLI prints, and how it follows a deployment: shared by every command group."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from haymaker_cli.client import ApiClient, ApiError

console = Console()
errors = Console(stderr=True)

FINISHED = {"completed", "failed"}


def settled(state: dict[str, Any]) -> bool:
    """Finished, or stopped and meant to stay so."""
    if state["status"] in FINISHED:
        return state.get("desired_status") != "cleaning_up"
    return state["status"] == "stopped" and state.get("desired_status") == "stopped"


def fail(exc: ApiError) -> typer.Exit:
    """Print one line (with a hint where there is one) and give the documented exit code."""
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    errors.print(f"[red]error:[/red] {exc}{hint}", soft_wrap=True, highlight=False)
    return typer.Exit(exc.exit_code)


def confirm(question: str, yes: bool) -> None:
    """Ask before a destructive command, unless --yes; without a terminal, require --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        errors.print(
            f"[red]error:[/red] {question} Add --yes to confirm without a terminal.", soft_wrap=True
        )
        raise typer.Exit(2)
    typer.confirm(question, abort=True)


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{value!r} is not key=value", param_hint=option)
        pairs[key.strip()] = text.strip()
    return pairs


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def show_state(state: dict[str, Any]) -> None:
    console.print(f"Deployment: [bold]{state['deployment_id']}[/bold]")
    console.print(f"  Workload: {state['workload_name']}")
    status = state["status"]
    if state.get("desired_status") not in (status, None) and status not in FINISHED:
        status = f"{status} (→ {state['desired_status']})"
    console.print(f"  Status:   {status}")
    console.print(f"  Phase:    {state['phase']}")
    for label, key in (
        ("Started", "started_at"),
        ("Stopped", "stopped_at"),
        ("Finished", "completed_at"),
        ("Deadline", "deadline"),
    ):
        if state.get(key):
            console.print(f"  {label + ':':9} {state[key]}")
    if state.get("error"):
        console.print(f"  Error:    [red]{state['error']}[/red]")
    for key, value in (state.get("metadata") or {}).items():
        console.print(f"  {key}: {value}")


def wait_until_settled(
    client: ApiClient, deployment_id: str, *, quiet: bool = False
) -> dict[str, Any]:
    """Follow a deployment with a progress bar until it completes, fails or stops."""
    columns = (
        TextColumn("[bold]{task.fields[phase]:<12}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[unit]} done"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:
        task = progress.add_task("deploy", total=None, phase="pending", unit="items")
        while True:
            state = client.status(deployment_id)
            metadata = state.get("metadata") or {}
            done, total, unit = progress_of(metadata) or (0, None, "items")
            if "progress" not in metadata:
                done += int(metadata.get("items_failed", 0))  # a failed item is dealt with too
            if state["status"] == "completed" and total:
                done = total  # every item was dealt with, collected or not
            progress.update(task, phase=state["phase"], total=total, completed=done, unit=unit)
            if settled(state):
                return state
            time.sleep(0.25)


def progress_of(metadata: dict[str, Any]) -> tuple[int, int | None, str] | None:
    """(done, total, unit) as a workload reports it in its metadata: `progress` = {"done": 3,
    "total": 10, "unit": "pages"}, or data-collector's items collected of item_count
    (agent-haymaker's keys)."""
    reported = metadata.get("progress")
    if isinstance(reported, dict) and isinstance(reported.get("done"), int):
        total = reported.get("total")
        unit = reported.get("unit")
        return (
            reported["done"],
            total if isinstance(total, int) else None,
            unit if isinstance(unit, str) and unit else "items",
        )
    if isinstance(metadata.get("item_count"), int):
        return int(metadata.get("items_collected", 0)), metadata["item_count"], "items"
    return None


def print_lines(items: list[dict[str, Any]]) -> None:
    for item in items:
        colour = {"error": "red", "warning": "yellow"}.get(item["level"], "white")
        console.print(
            f"[dim]{str(item['timestamp'])[:19]}[/dim] [{colour}]{item['message']}[/{colour}]",
            highlight=False,
        )
