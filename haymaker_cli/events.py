"""`haymaker events` (the lifecycle event feed, followed with -f) and `haymaker subscription
add|list|show|remove` (webhooks). A subscription's secret is sent once and never shown."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from haymaker_cli import output
from haymaker_cli.client import ApiError, every_item
from haymaker_cli.options import JsonOption, YesOption
from haymaker_cli.redaction import keep_secret
from haymaker_cli.session import call, current_client

subscription_app = typer.Typer(
    help="Webhook subscriptions to lifecycle events (signed, retried, dead-lettered).",
    no_args_is_help=True,
)


def _line(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    where = " ".join(
        f"{name}={data[name]}" for name in ("status", "phase") if data.get(name) is not None
    )
    return f"{str(event.get('time', ''))[:23]:<23}  {event['type']:<30} {event.get('subject', '')}  {where}"


def events(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new events (Ctrl-C stops)")
    ] = False,
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="only this deployment's events")
    ] = None,
    after: Annotated[
        int, typer.Option("--after", min=0, help="start after this cursor (0: the oldest)")
    ] = 0,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="seconds between polls")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="one CloudEvent (JSON) per line")] = False,
) -> None:
    """Lifecycle events (CloudEvents), oldest first."""
    client = current_client()
    cursor = after
    try:
        while True:
            page = client.events(after=cursor, subject=deployment)
            for event in page["items"]:
                if as_json:
                    print(json.dumps(event), flush=True)
                else:
                    output.console.print(_line(event), highlight=False, soft_wrap=True)
            cursor = page["cursor"]
            if page["items"]:
                continue  # more may follow at once
            if not follow:
                return
            time.sleep(interval)
    except ApiError as exc:
        raise output.fail(exc) from None
    except KeyboardInterrupt:
        return


def _show(view: dict[str, Any]) -> None:
    console = output.console
    delivery = view.get("delivery") or {}
    console.print(output.styled("Subscription: ", (view["subscription_id"], "bold")))
    console.print(f"  URL:          {view['url']}")
    console.print(f"  Events:       {', '.join(view.get('event_types') or []) or 'all'}")
    if view.get("description"):
        console.print(f"  Description:  {view['description']}")
    console.print(
        f"  Delivered:    {delivery.get('delivered', 0)}  dead-lettered "
        f"{delivery.get('dead_lettered', 0)}  behind {view.get('lag', 0)}"
    )
    if delivery.get("last_error"):
        console.print(
            f"  Last error:   {delivery['last_error']} ({delivery.get('attempts', 0)} attempts)"
        )


@subscription_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="https URL that receives the POSTs")],
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help="event type (repeat); none: all")
    ] = None,
    secret: Annotated[
        str,
        typer.Option(
            envvar="HAYMAKER_WEBHOOK_SECRET",
            prompt=True,
            hide_input=True,
            help="HMAC key of the signature (16+ characters; or $HAYMAKER_WEBHOOK_SECRET)",
        ),
    ] = "",
    description: Annotated[str | None, typer.Option("--description")] = None,
    as_json: JsonOption = False,
) -> None:
    """Subscribe a webhook to lifecycle events."""
    keep_secret(secret)
    body: dict[str, Any] = {"url": url, "event_types": event or [], "secret": secret}
    if description:
        body["description"] = description
    view = call(lambda client: client.create_subscription(body))
    output.print_json(view) if as_json else _show(view)


@subscription_app.command("list")
def list_subscriptions(as_json: JsonOption = False) -> None:
    """List webhook subscriptions and how their delivery goes."""

    items = call(lambda client: list(every_item(client.subscriptions)))
    if as_json:
        output.print_json(items)
        return
    table = Table("ID", "URL", "Events", "Delivered", "Dead", "Behind", "Last error")
    for item in items:
        delivery = item.get("delivery") or {}
        table.add_row(
            item["subscription_id"],
            item["url"],
            ", ".join(item.get("event_types") or []) or "all",
            str(delivery.get("delivered", 0)),
            str(delivery.get("dead_lettered", 0)),
            str(item.get("lag", 0)),
            delivery.get("last_error") or "",
        )
    output.console.print(table)


@subscription_app.command("show")
def show(subscription_id: str, as_json: JsonOption = False) -> None:
    """Show a subscription and the events its delivery gave up on."""
    view = call(lambda client: client.subscription(subscription_id))
    letters = call(lambda client: client.dead_letters(subscription_id))["items"]
    if as_json:
        output.print_json({**view, "dead_letters": letters})
        return
    _show(view)
    for letter in letters:
        event = letter["event"]
        output.console.print(
            f"  Dead letter:  {event['type']} {event.get('subject', '')} ({letter['error']})"
        )


@subscription_app.command("remove")
def remove(subscription_id: str, yes: YesOption = False) -> None:
    """Delete a webhook subscription."""
    output.confirm(f"Delete subscription {subscription_id}?", yes)
    call(lambda client: client.delete_subscription(subscription_id))
    output.console.print(f"Deleted {subscription_id}")
