"""The `haymaker` command: agent-haymaker's lifecycle commands over the HTTP API.

Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 not found, 4 conflict.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from haymaker.cli.client import ApiClient, ApiError
from haymaker.cli.output import (
    FINISHED,
    console,
    errors,
    fail,
    pairs,
    print_json,
    print_lines,
    settled,
    show_state,
    wait_until_settled,
)
from haymaker.cli.schedules import schedule_app

app = typer.Typer(
    name="haymaker",
    help="Deploy, run, stop, resume and clean up goal-seeking agent workloads.",
    no_args_is_help=True,
    add_completion=False,
)
workload_app = typer.Typer(help="Installed workloads.", no_args_is_help=True)
app.add_typer(workload_app, name="workload")
app.add_typer(schedule_app, name="schedule")


def _client() -> ApiClient:
    return ApiClient.from_env()


@app.command()
def deploy(
    workload: Annotated[str, typer.Argument(help="workload name, e.g. data-collector")],
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="key=value")] = None,
    config_file: Annotated[Path | None, typer.Option("--config-file", help="YAML or JSON")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value")] = None,
    duration: Annotated[float | None, typer.Option("--duration", "-d", help="hours")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow until it finishes")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Deploy a workload."""
    values: dict[str, Any] = {}
    if config_file is not None:
        import yaml

        loaded = yaml.safe_load(config_file.read_text())
        if not isinstance(loaded, dict):
            raise typer.BadParameter(
                "must hold a mapping of key: value", param_hint="--config-file"
            )
        values.update(loaded)
    values.update(pairs(config, "--config"))
    client = _client()
    try:
        accepted = client.deploy(
            workload, values, tags=pairs(tag, "--tag"), duration_hours=duration
        )
        deployment_id = accepted["deployment_id"]
        if not as_json:
            console.print(f"Deployment started: [bold]{deployment_id}[/bold]")
        if not wait:
            if as_json:
                print_json(accepted)
            return
        state = wait_until_settled(client, deployment_id, quiet=as_json)
    except ApiError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(state)
    else:
        show_state(state)
    if state["status"] == "failed":
        raise typer.Exit(1)


@app.command()
def status(
    deployment_id: str,
    output: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
) -> None:
    """Show a deployment's status."""
    if output not in ("text", "json"):
        raise typer.BadParameter("text or json", param_hint="--format")
    try:
        state = _client().status(deployment_id)
    except ApiError as exc:
        raise fail(exc) from None
    print_json(state) if output == "json" else show_state(state)


@app.command("list")
def list_deployments(
    workload: Annotated[str | None, typer.Option("--workload", "-w")] = None,
    state: Annotated[str | None, typer.Option("--status", "-s")] = None,
    limit: Annotated[int, typer.Option("--limit", "-l")] = 50,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List deployments."""
    client = _client()
    try:
        if all_pages:
            items = list(client.list_all(workload=workload, status=state, limit=limit))
        else:
            items = client.list(workload=workload, status=state, limit=limit)["items"]
    except ApiError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(items)
        return
    table = Table("ID", "Workload", "Status", "Phase", "Created")
    for item in items:
        table.add_row(
            item["deployment_id"],
            item["workload_name"],
            item["status"],
            item["phase"],
            str(item["created_at"])[:19],
        )
    console.print(table)


@app.command()
def logs(
    deployment_id: str,
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
) -> None:
    """Show a deployment's log lines (follow streams new ones until it ends)."""
    client = _client()
    try:
        page = client.logs(deployment_id, tail=lines)
        cursor = page["cursor"]
        print_lines(page["items"])
        while follow:
            state = client.status(deployment_id)
            page = client.logs(deployment_id, after=cursor)
            print_lines(page["items"])
            cursor = page["cursor"]
            if state["status"] in FINISHED and not page["items"]:
                return
            time.sleep(0.5)
    except ApiError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        return


def _command(deployment_id: str, name: str, wait: bool = False, **params: Any) -> dict[str, Any]:
    client = _client()
    try:
        state = client.command(deployment_id, name, **params)
        if wait:
            state = wait_until_settled(client, deployment_id)
    except ApiError as exc:
        raise fail(exc) from None
    return state


@app.command()
def stop(deployment_id: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Stop a deployment at its next step boundary."""
    state = _command(deployment_id, "stop")
    console.print(f"{deployment_id}: {state['status']} → {state['desired_status']}")


@app.command()
def start(deployment_id: str, wait: Annotated[bool, typer.Option("--wait")] = False) -> None:
    """Resume a stopped deployment."""
    state = _command(deployment_id, "start", wait=wait)
    show_state(state) if wait else console.print(f"{deployment_id}: {state['status']} → running")


@app.command()
def cleanup(
    deployment_id: str,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
) -> None:
    """Delete what a deployment created, then complete it."""
    if dry_run:
        preview = _command(deployment_id, "cleanup", dry_run="true")
        table = Table("Kind", "Name", title=f"Cleanup of {deployment_id} would delete")
        for resource in preview["would_delete"]:
            table.add_row(resource["kind"], resource["name"])
        console.print(table)
        return
    _command(deployment_id, "cleanup")
    client = _client()
    state = client.status(deployment_id)
    while not (state["status"] in FINISHED and settled(state)):
        time.sleep(0.25)
        state = client.status(deployment_id)
    report = (state.get("metadata") or {}).get("cleanup") or {}
    table = Table("Field", "Value", title=f"Cleanup report for {deployment_id}")
    for key in ("resources_deleted", "resources_failed", "duration_seconds"):
        table.add_row(key, str(report.get(key, "")))
    table.add_row("status", state["status"])
    console.print(table)
    if state["status"] == "failed":
        raise typer.Exit(1)


@workload_app.command("list")
def workload_list() -> None:
    """List installed workloads."""
    try:
        items = _client().workloads()["items"]
    except ApiError as exc:
        raise fail(exc) from None
    table = Table("Name", "Version", "Description")
    for item in items:
        table.add_row(item["name"], item["version"], item["description"])
    console.print(table)


@workload_app.command("info")
def workload_info(name: str) -> None:
    """Show a workload's config schema."""
    try:
        manifest = _client().workload(name)
    except ApiError as exc:
        raise fail(exc) from None
    console.print(
        f"[bold]{manifest['name']}[/bold] {manifest['version']}: {manifest.get('description', '')}"
    )
    table = Table("Key", "Type", "Default", "Range", "Description")
    for key, spec in manifest.get("config_schema", {}).items():
        bounds = ""
        if "min" in spec or "max" in spec:
            bounds = f"{spec.get('min', '')}..{spec.get('max', '')}"
        if "enum" in spec:
            bounds = ", ".join(map(str, spec["enum"]))
        table.add_row(
            key, spec["type"], json.dumps(spec.get("default")), bounds, spec.get("description", "")
        )
    console.print(table)


@app.command()
def dev(
    port: Annotated[int, typer.Option("--port", "-p")] = 7071,
    app_dir: Annotated[Path, typer.Option("--app-dir")] = Path("."),
    reset: Annotated[bool, typer.Option("--reset", help="start with empty local storage")] = False,
) -> None:
    """Run Azurite and the local Functions host until Ctrl-C."""
    from haymaker.cli.dev import DevError, dev_environment

    try:
        with dev_environment(app_dir.resolve(), port, reset=reset) as url:
            console.print(f"Local host ready at [bold]{url}/api[/bold] (Ctrl-C stops it)")
            console.print(
                f"  try: HAYMAKER_URL={url} haymaker deploy data-collector -c item_count=50 --wait"
            )
            while True:
                time.sleep(3600)
    except DevError as exc:
        errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("stopped")


def main() -> None:
    app()
