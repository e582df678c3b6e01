"""The `haymaker` command: agent-haymaker's lifecycle commands over the HTTP API, against the
local host or a deployed Function App alike.

Exit codes: 0 ok, 1 the operation failed, 2 usage error (bad options, config or input),
3 not found, 4 conflict (not legal in the current state).
"""

from __future__ import annotations

from typing import Annotated

import typer

from haymaker_cli.deployments import deployments_app
from haymaker_cli.dev_command import dev
from haymaker_cli.profiles import profile_app, selected
from haymaker_cli.schedules import schedule_app
from haymaker_cli.workloads import workload_app

app = typer.Typer(
    name="haymaker",
    help="Deploy, run, stop, resume and clean up goal-seeking agent workloads.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(deployments_app)
app.add_typer(workload_app, name="workload")
app.add_typer(schedule_app, name="schedule")
app.add_typer(profile_app, name="profile")
app.command()(dev)


@app.callback()
def options(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", envvar="HAYMAKER_PROFILE", help="named endpoint (see `profile list`)"
        ),
    ] = None,
) -> None:
    """HAYMAKER_URL and HAYMAKER_KEY, when set, override the profile."""
    selected["profile"] = profile


def main() -> None:
    app()
