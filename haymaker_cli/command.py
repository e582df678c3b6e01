"""The `haymaker` command: agent-haymaker's lifecycle commands over the HTTP API, against the
local host or a deployed Function App alike.

Exit codes: 0 ok, 1 the operation failed, 2 usage error (bad options, config or input),
3 not found, 4 conflict (not legal in the current state).
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from haymaker_cli import session
from haymaker_cli.approvals import approvals_app
from haymaker_cli.deployments import deployments_app
from haymaker_cli.dev_command import dev
from haymaker_cli.events import events, subscription_app
from haymaker_cli.output import console, error
from haymaker_cli.profiles import profile_app
from haymaker_cli.redaction import redact
from haymaker_cli.schedules import schedule_app
from haymaker_cli.services import service_app
from haymaker_cli.transcripts import transcripts_app
from haymaker_cli.workloads import workload_app

DEBUG = "HAYMAKER_DEBUG"  # set: unexpected errors show their (masked) traceback
DISTRIBUTION = "haymaker-functions"

app = typer.Typer(
    name="haymaker",
    help="Deploy, run, stop, resume and clean up goal-seeking agent workloads.",
    no_args_is_help=True,
    rich_markup_mode=None,
    # main() reports unexpected errors itself; Typer's tracebacks would show local variables
    # (the API client and its key) if asked to, so they are off whichever way the app runs.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(deployments_app)
app.add_typer(approvals_app)
app.add_typer(transcripts_app)
app.add_typer(workload_app, name="workload")
app.add_typer(schedule_app, name="schedule")
app.add_typer(service_app, name="service")
app.add_typer(profile_app, name="profile")
app.add_typer(subscription_app, name="subscription")
app.command()(dev)
app.command()(events)


def installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _print_version(wanted: bool) -> None:
    if wanted:
        console.print(f"{DISTRIBUTION} {installed_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", envvar="HAYMAKER_PROFILE", help="named endpoint (see `profile list`)"
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """HAYMAKER_URL and HAYMAKER_KEY, when set, override the profile."""
    ctx.call_on_close(session.begin(profile).close)


def main() -> None:
    """The `haymaker` entry point: an unexpected error (a bug, or an answer of a shape the CLI
    does not know) is one line with secrets masked, exit 1; HAYMAKER_DEBUG=1 adds the
    traceback, masked too."""
    try:
        app()
    except Exception as exc:
        if os.environ.get(DEBUG):
            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        error(f"unexpected {type(exc).__name__}: {exc} (HAYMAKER_DEBUG=1 shows the traceback)")
        sys.exit(1)
