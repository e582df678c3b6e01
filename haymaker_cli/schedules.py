"""`haymaker schedule ...`: run workloads on NCRONTAB schedules."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haymaker_cli import output
from haymaker_cli.client import every_item
from haymaker_cli.follow import wait_until_settled
from haymaker_cli.session import call
from haymaker_cli.views import show_state

schedule_app = typer.Typer(
    help="Scheduled workloads (NCRONTAB, six fields, seconds first).", no_args_is_help=True
)


def _show(view: dict[str, Any]) -> None:
    console = output.console
    console.print(output.styled("Schedule: ", (view["schedule_id"], "bold")))
    console.print(f"  Workload:   {view['workload_name']}  config {view['workload_config']}")
    console.print(f"  Cron:       {view['cron']} ({view['time_zone']})")
    console.print(
        f"  Enabled:    {view['enabled']}  catch-up {view['catch_up']}  max_active {view['max_active']}"
    )
    console.print(f"  Last slot:  {view.get('last_slot') or '-'}")
    for slot in view.get("next_slots", []):
        console.print(f"  Next:       {slot}")
    if view.get("recent_runs"):
        table = Table("Slot", "Outcome", "Deployment", title="Recent runs")
        for run in view["recent_runs"]:
            table.add_row(
                str(run["slot"])[:19],
                run["outcome"],
                run.get("deployment_id") or run.get("error") or "",
            )
        console.print(table)


@schedule_app.command("create")
def create(
    workload: str,
    cron: Annotated[str, typer.Option("--cron", help='e.g. "0 0 6 * * Mon-Fri"')],
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="key=value")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value")] = None,
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone")] = "UTC",
    duration: Annotated[
        float | None, typer.Option("--duration", "-d", help="hours per run")
    ] = None,
    catch_up: Annotated[str, typer.Option("--catch-up", help="skip or latest")] = "skip",
    max_active: Annotated[int, typer.Option("--max-active")] = 1,
    disabled: Annotated[bool, typer.Option("--disabled")] = False,
    budget: Annotated[
        list[str] | None, typer.Option("--budget", "-b", help="limit=value per run (repeat)")
    ] = None,
) -> None:
    """Create a schedule."""
    body: dict[str, Any] = {
        "workload": workload,
        "config": output.pairs(config, "--config"),
        "tags": output.pairs(tag, "--tag"),
        "cron": cron,
        "time_zone": tz,
        "catch_up": catch_up,
        "max_active": max_active,
        "enabled": not disabled,
    }
    if duration is not None:
        body["duration_hours"] = duration
    if budget:
        body["budget"] = output.numbers(budget, "--budget")
    _show(call(lambda client: client.create_schedule(body)))


@schedule_app.command("list")
def list_schedules(
    workload: Annotated[str | None, typer.Option("--workload", "-w")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List schedules (every page)."""

    items = call(lambda client: list(every_item(client.schedules, workload=workload)))
    if as_json:
        output.print_json(items)
        return
    table = Table("ID", "Workload", "Cron", "Zone", "Enabled", "Next slot")
    for item in items:
        table.add_row(
            item["schedule_id"],
            item["workload_name"],
            item["cron"],
            item["time_zone"],
            str(item["enabled"]),
            str(item.get("next_slot") or "-")[:19],
        )
    output.console.print(table)


@schedule_app.command("show")
def show(schedule_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a schedule, its next five slots and its recent runs."""
    view = call(lambda client: client.schedule(schedule_id))
    output.print_json(view) if as_json else _show(view)


@schedule_app.command("enable")
def enable(schedule_id: str) -> None:
    """Enable a schedule (its next slot is computed from now)."""
    _show(call(lambda client: client.update_schedule(schedule_id, {"enabled": True})))


@schedule_app.command("disable")
def disable(schedule_id: str) -> None:
    """Disable a schedule."""
    _show(call(lambda client: client.update_schedule(schedule_id, {"enabled": False})))


@schedule_app.command("delete")
def delete(
    schedule_id: str,
    stop_runs: Annotated[
        bool, typer.Option("--stop-runs", help="stop its active runs too")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
) -> None:
    """Delete a schedule."""
    output.confirm(
        f"Delete schedule {schedule_id}" + (" and stop its runs?" if stop_runs else "?"), yes
    )
    result = call(lambda client: client.delete_schedule(schedule_id, stop_runs=stop_runs))
    stopped = ", ".join(result["stopped"]) or "none"
    output.console.print(f"Deleted {schedule_id}; runs asked to stop: {stopped}")


@schedule_app.command("trigger")
def trigger(schedule_id: str, wait: Annotated[bool, typer.Option("--wait")] = False) -> None:
    """Run a schedule's workload now."""
    accepted = call(lambda client: client.trigger_schedule(schedule_id))
    output.console.print(output.styled("Deployment started: ", (accepted["deployment_id"], "bold")))
    if wait:
        state = call(lambda client: wait_until_settled(client, accepted["deployment_id"]))
        show_state(state)
        if state["status"] == "failed":
            raise typer.Exit(1)
