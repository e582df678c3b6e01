"""The deployment commands: deploy, status, list, watch, logs, stop, start and cleanup."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from haymaker_cli import output
from haymaker_cli.client import ApiClient, ApiError
from haymaker_cli.follow import FINISHED, settled, wait_until_settled
from haymaker_cli.options import JsonOption, YesOption
from haymaker_cli.output import console, error, fail, numbers, pairs, print_json, styled
from haymaker_cli.session import call, current_client
from haymaker_cli.views import deployments_view, print_lines, show_state

# Merged into the root command: `haymaker deploy`, not `haymaker deployments deploy`.
deployments_app = typer.Typer()


def _typed_config(client: ApiClient, workload: str, values: dict[str, Any]) -> dict[str, Any]:
    """Type `key=value` strings by the workload's schema and refuse bad ones before deploying."""
    from haymaker.errors import ConfigError
    from haymaker.workloads.manifest import WorkloadManifest

    try:
        manifest = WorkloadManifest.model_validate(client.workload(workload))
    except ApiError as exc:
        raise fail(exc) from None
    try:
        return manifest.validate_config(values)
    except ConfigError as exc:
        error(exc.detail)
        raise typer.Exit(2) from None


@deployments_app.command()
def deploy(
    workload: Annotated[str, typer.Argument(help="workload name, e.g. data-collector")],
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="key=value (repeat)")
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config-file", help="YAML or JSON mapping")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value (repeat)")] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", "-d", help="hours until its deadline")
    ] = None,
    budget: Annotated[
        list[str] | None,
        typer.Option(
            "--budget",
            "-b",
            help="limit=value (repeat): max_llm_tokens, max_cost_usd, max_llm_calls, "
            "max_steps, max_wall_hours",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="show progress until it finishes or stops")
    ] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy a workload."""
    values: dict[str, Any] = {}
    if config_file is not None:
        import yaml

        try:
            loaded = yaml.safe_load(config_file.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--config-file") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter(
                "must hold a mapping of key: value", param_hint="--config-file"
            )
        values.update(loaded)
    values.update(pairs(config, "--config"))
    client = current_client()
    typed = _typed_config(client, workload, values)
    try:
        accepted = client.deploy(
            workload,
            typed,
            tags=pairs(tag, "--tag"),
            duration_hours=duration,
            budget=numbers(budget, "--budget"),
        )
        deployment_id = accepted["deployment_id"]
        if not as_json:
            console.print(styled("Deployment started: ", (deployment_id, "bold")))
        if not wait:
            if as_json:
                print_json(accepted)
            return
        state = wait_until_settled(client, deployment_id, quiet=as_json)
    except ApiError as exc:
        raise fail(exc) from None
    print_json(state) if as_json else show_state(state)
    if state["status"] == "failed":
        raise typer.Exit(1)


@deployments_app.command()
def status(
    deployment_id: str,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    as_json: JsonOption = False,
) -> None:
    """Show a deployment's status."""
    if fmt not in ("text", "json"):
        raise typer.BadParameter("text or json", param_hint="--format")
    state = call(lambda client: client.status(deployment_id))
    print_json(state) if as_json or fmt == "json" else show_state(state)


@deployments_app.command("list")
def list_deployments(
    workload: Annotated[str | None, typer.Option("--workload", "-w")] = None,
    state: Annotated[str | None, typer.Option("--status", "-s")] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", min=1, max=1000, help="page size")] = 50,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    as_json: JsonOption = False,
) -> None:
    """List deployments."""

    def fetch(client: ApiClient) -> list[dict[str, Any]]:
        if all_pages:
            return list(client.list_all(workload=workload, status=state, limit=limit))
        return client.list(workload=workload, status=state, limit=limit)["items"]

    items = call(fetch)
    print_json(items) if as_json else console.print(deployments_view(items))


@deployments_app.command()
def watch(
    workload: Annotated[str | None, typer.Option("--workload", "-w")] = None,
    state: Annotated[str | None, typer.Option("--status", "-s")] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="seconds between refreshes")
    ] = 2.0,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="stop after this many refreshes")
    ] = None,
) -> None:
    """A live table of deployments (Ctrl-C stops it)."""
    client = current_client()
    shown = 0
    try:
        with Live(console=console, auto_refresh=False) as live:
            while count is None or shown < count:
                items = list(client.list_all(workload=workload, status=state, limit=200))
                live.update(deployments_view(items), refresh=True)
                shown += 1
                if count is None or shown < count:
                    time.sleep(interval)
    except ApiError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        return


@deployments_app.command()
def logs(
    deployment_id: str,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="last N lines")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="stream new lines until it ends")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Show a deployment's log lines."""
    client = current_client()

    def emit(items: list[dict[str, Any]]) -> None:
        if as_json:
            for item in items:
                print(json.dumps(item, default=str), flush=True)
        else:
            print_lines(items)

    try:
        page = client.logs(deployment_id, tail=lines)
        cursor = page["cursor"]
        emit(page["items"])
        while follow:
            state = client.status(deployment_id)
            page = client.logs(deployment_id, after=cursor)
            emit(page["items"])
            cursor = page["cursor"]
            if state["status"] in FINISHED and not page["items"]:
                return
            time.sleep(0.5)
    except ApiError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        return


def _command(deployment_id: str, name: str, **params: Any) -> dict[str, Any]:
    return call(lambda client: client.command(deployment_id, name, **params))


@deployments_app.command()
def stop(deployment_id: str, yes: YesOption = False, as_json: JsonOption = False) -> None:
    """Stop a deployment at its next step boundary."""
    output.confirm(f"Stop {deployment_id}?", yes)
    state = _command(deployment_id, "stop")
    print_json(state) if as_json else console.print(
        f"{deployment_id}: {state['status']} → {state['desired_status']}"
    )


@deployments_app.command()
def start(
    deployment_id: str,
    wait: Annotated[
        bool, typer.Option("--wait", help="show progress until it finishes or stops")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Resume a stopped deployment from where it stopped."""
    state = _command(deployment_id, "start")
    if wait:
        state = call(lambda client: wait_until_settled(client, deployment_id, quiet=as_json))
    if as_json:
        print_json(state)
    elif wait:
        show_state(state)
    else:
        console.print(f"{deployment_id}: {state['status']} → running")
    if state["status"] == "failed":
        raise typer.Exit(1)


@deployments_app.command()
def cleanup(
    deployment_id: str,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only list what would be deleted")
    ] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Delete what a deployment created, then complete it (prints the report)."""
    if dry_run:
        _preview_cleanup(deployment_id, as_json)
        return
    output.confirm(f"Clean up {deployment_id}: delete everything it created?", yes)
    state = _run_cleanup(deployment_id)
    _print_cleanup_report(deployment_id, state, as_json)
    if state["status"] == "failed":
        raise typer.Exit(1)


def _preview_cleanup(deployment_id: str, as_json: bool) -> None:
    preview = _command(deployment_id, "cleanup", dry_run="true")
    if as_json:
        print_json(preview)
        return
    console.print(
        f"Cleanup of {deployment_id} would delete {len(preview['would_delete'])} resources:"
    )
    table = Table("Kind", "Name")
    for resource in preview["would_delete"]:
        table.add_row(resource["kind"], resource["name"])
    console.print(table)


def _run_cleanup(deployment_id: str) -> dict[str, Any]:
    """Ask for the cleanup and wait until the deployment has settled; its final state."""
    _command(deployment_id, "cleanup")
    state = call(lambda client: client.status(deployment_id))
    while not (state["status"] in FINISHED and settled(state)):
        time.sleep(0.25)
        state = call(lambda client: client.status(deployment_id))
    return state


def _print_cleanup_report(deployment_id: str, state: dict[str, Any], as_json: bool) -> None:
    report = (state.get("metadata") or {}).get("cleanup") or {}
    if as_json:
        print_json({"deployment_id": deployment_id, "status": state["status"], **report})
        return
    console.print(f"Cleanup report for {deployment_id}:")
    table = Table("Field", "Value")
    for key in ("resources_deleted", "resources_failed"):
        table.add_row(key, str(report.get(key, "")))
    table.add_row("duration_seconds", f"{report.get('duration_seconds', 0):.2f}")
    table.add_row("status", state["status"])
    if state.get("error"):
        table.add_row("error", state["error"])
    console.print(table)
