"""The approval commands: approvals (what waits for a decision), approve, reject, decide."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from haymaker_cli.client import ApiClient
from haymaker_cli.options import JsonOption
from haymaker_cli.output import console, error, numbers, print_json, styled
from haymaker_cli.session import call

# Merged into the root command: `haymaker approve`, not `haymaker approvals approve`.
approvals_app = typer.Typer()

CommentOption = Annotated[
    str | None, typer.Option("--message", "-m", help="a comment kept with the decision")
]


def _every_page(client: ApiClient, deployment_id: str | None, status: str) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        if deployment_id:
            page = client.deployment_approvals(deployment_id, continuation=token)
        else:
            page = client.approvals(status=status, limit=200, continuation=token)
        items += page["items"]
        token = page.get("continuation")
        if not token:
            return items


def _when(value: str | None) -> str:
    """`12-01 23:33` (UTC): the table's times, short."""
    return str(value)[5:16].replace("T", " ") if value else "-"


def approvals_table(items: list[dict[str, Any]]) -> Table:
    table = Table(caption="times in UTC")
    for name in ("Deployment", "Key", "Question", "Options", "Asked", "Expires", "Decision"):
        table.add_column(name, no_wrap=name in ("Deployment", "Key", "Asked", "Expires"))
    for item in items:
        decision = item.get("decision")
        if decision:
            by = "on timeout" if decision.get("timed_out") else f"by {decision['decided_by']}"
            outcome = f"{decision['decision']} {by}"
        else:
            outcome = item["status"]
        table.add_row(
            item["deployment_id"],
            item["key"],
            item["question"],
            "/".join(item["options"]),
            _when(item.get("requested_at")),
            _when(item.get("expires_at")),
            outcome,
        )
    return table


@approvals_app.command()
def approvals(
    deployment_id: Annotated[
        str | None,
        typer.Option("--deployment", "-d", help="every request of this deployment instead"),
    ] = None,
    status: Annotated[
        str, typer.Option("--status", "-s", help="pending, decided or cancelled")
    ] = "pending",
    as_json: JsonOption = False,
) -> None:
    """List approvals waiting for a decision (or one deployment's requests and decisions)."""
    items = call(lambda client: _every_page(client, deployment_id, status))
    if as_json:
        print_json(items)
    elif not items:
        console.print("No approvals." if deployment_id else f"No {status} approvals.")
    else:
        console.print(approvals_table(items))
        for item in items:
            if item.get("payload"):
                shown = json.dumps(item["payload"], ensure_ascii=False)
                console.print(styled((f"{item['deployment_id']} {item['key']}: ", "bold"), shown))


def _decide(
    deployment_id: str,
    key: str,
    decision: str,
    comment: str | None,
    raise_limits: dict[str, float] | None,
    as_json: bool,
) -> None:
    approval = call(
        lambda client: client.decide(
            deployment_id, key, decision, comment=comment, raise_limits=raise_limits
        )
    )
    if as_json:
        print_json(approval)
        return
    made = approval["decision"]
    console.print(
        styled(
            f"{approval['deployment_id']} {approval['key']}: ",
            (made["decision"], "bold"),
            f" by {made['decided_by']}",
        )
    )
    if approval.get("raised"):
        limits = ", ".join(f"{name}={value:g}" for name, value in approval["raised"].items())
        console.print(f"  budget raised: {limits}")


@approvals_app.command()
def approve(
    deployment_id: str,
    key: Annotated[str, typer.Argument(help="the approval's key; `budget`: the latest budget one")],
    comment: CommentOption = None,
    raise_limits: Annotated[
        list[str] | None,
        typer.Option("--raise", help="new budget limit LIMIT=VALUE (repeat), e.g. max_cost_usd=5"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve what a deployment waits for (a budget approval needs --raise)."""
    limits = numbers(raise_limits, "--raise")
    if not limits and (key == "budget" or key.startswith("budget-")):
        error(f"approving a budget needs the new limits: {_raise_example(deployment_id)}")
        raise typer.Exit(2)
    _decide(deployment_id, key, "approve", comment, limits, as_json)


def _raise_example(deployment_id: str) -> str:
    """`--raise max_steps=6`, for the limit the deployment ran out of (one status call)."""
    state = call(lambda client: client.status(deployment_id))
    exhausted = str((state.get("metadata") or {}).get("budget_exhausted", "")).split()
    limit = exhausted[0] if exhausted else "max_cost_usd"
    allowed = (state.get("budget") or {}).get(limit) or 5
    return f"--raise LIMIT=VALUE, e.g. --raise {limit}={allowed * 2:g}"


@approvals_app.command()
def reject(
    deployment_id: str,
    key: Annotated[str, typer.Argument(help="the approval's key; `budget`: the latest budget one")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject what a deployment waits for (an exhausted budget: the deployment stops)."""
    _decide(deployment_id, key, "reject", comment, None, as_json)


@approvals_app.command()
def decide(
    deployment_id: str,
    key: str,
    option: Annotated[str, typer.Argument(help="one of the approval's options")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer an approval whose options are not approve/reject."""
    _decide(deployment_id, key, option, comment, None, as_json)
