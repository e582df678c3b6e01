"""`haymaker transcript ID [-f]`: an agent's turns, tool calls and results, as they happen."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from haymaker_cli.client import ApiError
from haymaker_cli.follow import FINISHED
from haymaker_cli.output import console, fail, styled
from haymaker_cli.session import current_client

transcripts_app = typer.Typer()

SHOWN_CHARS = 600  # of a tool result or turn; --json has everything


@transcripts_app.command()
def transcript(
    deployment_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="show new entries until the agent ends")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per entry")] = False,
) -> None:
    """Show an agent's transcript: its turns, tool calls with their arguments, tool results
    and the tokens of each turn."""
    client = current_client()
    cursor: int | None = None
    try:
        while True:
            page = client.transcript(deployment_id, after=cursor, limit=1000)
            for entry in page["items"]:
                _show(entry, as_json)
            cursor = page["cursor"]
            if page["items"] and len(page["items"]) == 1000:
                continue  # more are waiting
            if not follow or client.status(deployment_id)["status"] in FINISHED:
                if follow:  # what was written before the end
                    for entry in client.transcript(deployment_id, after=cursor)["items"]:
                        _show(entry, as_json)
                return
            time.sleep(0.5)
    except ApiError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        return


def _show(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(entry, default=str), flush=True)
        return
    head = f"#{entry['index']} turn {entry['turn']} {entry['role']}"
    usage = entry.get("usage")
    if usage:
        head += f" ({usage['input_tokens']} in / {usage['output_tokens']} out tokens)"
    console.print(styled((head, "bold")))
    if entry.get("content"):
        console.print(styled((_cut(entry["content"]), "white")))
    for call in entry.get("tool_calls") or []:
        arguments = json.dumps(call.get("arguments") or {}, default=str)
        console.print(styled(("  -> ", "cyan"), (f"{call['name']}({_cut(arguments)})", "cyan")))
    result = entry.get("tool_result")
    if result:
        colour = "red" if result.get("is_error") else "green"
        label = "error" if result.get("is_error") else "result"
        more = " [cut for the model]" if result.get("truncated") else ""
        console.print(
            styled(
                (f"  <- {result['name']} {label}{more}: ", colour),
                (_cut(result["content"]), "white"),
            )
        )


def _cut(text: str) -> str:
    return (
        text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + f" ... ({len(text)} characters)"
    )
