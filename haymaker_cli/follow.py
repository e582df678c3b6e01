"""Following a deployment until it settles, with a progress bar of what its workload reports."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from haymaker_cli.budget_view import awaiting_text, decide_hint
from haymaker_cli.client import ApiClient
from haymaker_cli.output import console, styled

FINISHED = {"completed", "failed"}


def settled(state: dict[str, Any]) -> bool:
    """Finished, or stopped and meant to stay so."""
    if state["status"] in FINISHED:
        return state.get("desired_status") != "cleaning_up"
    return state["status"] == "stopped" and state.get("desired_status") == "stopped"


def wait_until_settled(
    client: ApiClient, deployment_id: str, *, quiet: bool = False
) -> dict[str, Any]:
    """Follow a deployment with a progress bar until it completes, fails or stops; a
    decision it waits for is shown (it goes on waiting: someone may answer elsewhere)."""
    columns = (
        TextColumn("{task.fields[phase]:<12}", style="bold", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[unit]} done", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:
        task = progress.add_task("deploy", total=None, phase="pending", unit="items")
        shown_wait = None
        while True:
            state = client.status(deployment_id)
            pending = state.get("awaiting_approval")
            if pending and pending["key"] != shown_wait and not quiet:
                # Printed once per request, above the bar, with how to answer it.
                progress.console.print(styled((awaiting_text(state) or "", "yellow")))
                progress.console.print(f"  answer with: {decide_hint(state)}")
            shown_wait = pending["key"] if pending else None
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
