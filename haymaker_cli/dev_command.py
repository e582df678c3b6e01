"""`haymaker dev`: Azurite and the local Functions host in the foreground."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from haymaker_cli.output import console, error, styled
from haymaker_cli.signals import STOP_SIGNALS, Stopped, stopping_on


def dev(
    port: Annotated[int, typer.Option("--port", "-p")] = 7071,
    app_dir: Annotated[Path, typer.Option("--app-dir")] = Path("."),
    reset: Annotated[bool, typer.Option("--reset", help="start with empty local storage")] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="logs and Azurite's data (default: APP_DIR/.haymaker)"),
    ] = None,
) -> None:
    """Run Azurite and the local Functions host until Ctrl-C (or SIGTERM, SIGHUP)."""
    # Imported here: it loads devhost, which only this command needs.
    from haymaker_cli.dev import DevError, dashboard_url, dev_environment, require_app_runtime

    try:
        require_app_runtime()
        with (
            stopping_on(STOP_SIGNALS),
            dev_environment(app_dir.resolve(), port, reset=reset, state_dir=state_dir) as url,
        ):
            # One print: a signal arriving meanwhile cannot cut the banner in half.
            console.print(
                styled(
                    "Local host ready at ",
                    (f"{url}/api", "bold"),
                    " (Ctrl-C stops it)\nDashboard: ",
                    (dashboard_url(url), "bold"),
                    f"\n  try: HAYMAKER_URL={url} haymaker deploy data-collector"
                    " -c item_count=50 --wait",
                )
            )
            while True:
                time.sleep(3600)
    except DevError as exc:
        error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        console.print("stopped")
    except Stopped as stop:  # Azurite and the host have stopped: dev_environment's exit
        console.print(f"stopped ({stop})")
        raise typer.Exit(stop.exit_code) from None
