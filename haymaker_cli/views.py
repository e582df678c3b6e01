"""How deployments look on the terminal: one in full, their log lines, a table of many."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

from haymaker_cli.budget_view import (
    awaiting_text,
    budget_short,
    budget_text,
    decide_hint,
    usage_short,
    usage_text,
)
from haymaker_cli.follow import FINISHED, progress_of
from haymaker_cli.output import console, styled


def show_state(state: dict[str, Any]) -> None:
    console.print(styled("Deployment: ", (state["deployment_id"], "bold")))
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
        console.print(styled("  Error:    ", (str(state["error"]), "red")))
    waiting = awaiting_text(state)
    if waiting:
        console.print(styled("  Waiting:  ", (waiting, "yellow")))
        console.print(f"            {decide_hint(state)}")
    console.print(f"  Usage:    {usage_text(state)}")
    left = budget_text(state)
    if left:
        console.print(f"  Budget:   {left} left")
    for key, value in (state.get("metadata") or {}).items():
        console.print(f"  {key}: {value}")


def print_lines(items: list[dict[str, Any]]) -> None:
    for item in items:
        colour = {"error": "red", "warning": "yellow"}.get(item["level"], "white")
        timestamp = str(item["timestamp"])[:19]
        console.print(styled((timestamp, "dim"), " ", (str(item["message"]), colour)))


def deployments_table(items: list[dict[str, Any]]) -> Table:
    """Usage and budget columns only when some deployment has a budget or called a model:
    plain runs keep the table narrow."""
    budgeted = any(item.get("budget") for item in items)
    metered = budgeted or any((item.get("usage") or {}).get("llm_calls") for item in items)
    table = Table()
    table.add_column("ID", no_wrap=True)
    table.add_column("Workload", no_wrap=True)
    names = ["Status", "Phase", "Progress"]
    names += ["Usage"] if metered else []
    names += ["Budget left"] if budgeted else []
    for name in (*names, "Created"):
        table.add_column(name, no_wrap=name in ("Progress", "Created"))
    for item in items:
        metadata = item.get("metadata") or {}
        reported = progress_of(metadata)
        progress = "" if reported is None else f"{reported[0]}/{reported[1] or '?'}"
        status_text = item["status"]
        if (
            item.get("desired_status") not in (item["status"], None)
            and item["status"] not in FINISHED
        ):
            status_text += f" → {item['desired_status']}"
        if item.get("awaiting_approval"):
            status_text += " (awaiting approval)"
        cells = [item["deployment_id"], item["workload_name"], status_text, item["phase"], progress]
        cells += [usage_short(item)] if metered else []
        cells += [budget_short(item)] if budgeted else []
        table.add_row(*cells, str(item["created_at"])[:16].replace("T", " "))
    return table


def deployments_view(items: list[dict[str, Any]]) -> RenderableType:
    """The table, then one line per deployment waiting for a decision: its question."""
    waiting = [
        styled((item["deployment_id"], "bold"), " ", (awaiting_text(item) or "", "yellow"))
        for item in items
        if item.get("awaiting_approval")
    ]
    return Group(deployments_table(items), *waiting) if waiting else deployments_table(items)
