"""`make demo`: start Azurite and the local host, deploy data-collector with item_count 50,
show its progress live, print the final status and last log lines, then stop everything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from haymaker_cli.client import ApiClient, ApiError
from haymaker_cli.dev import DevError, dashboard_url, dev_environment
from haymaker_cli.follow import wait_until_settled
from haymaker_cli.output import console, styled
from haymaker_cli.views import print_lines, show_state

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    port = int(os.environ.get("DEMO_PORT", "7071"))
    try:
        with dev_environment(ROOT, port) as url, ApiClient(url) as client:
            console.rule("Haymaker Functions demo")
            console.print(f"Local host with Azurite at {url}/api")
            console.print(styled("Dashboard (while the demo runs): ", (dashboard_url(url), "bold")))
            accepted = client.deploy(
                "data-collector", {"item_count": 50, "goal": "Collect 50 data items"}
            )
            deployment_id = accepted["deployment_id"]
            console.print(styled("Deployed data-collector as ", (deployment_id, "bold")))
            state = wait_until_settled(client, deployment_id)
            console.rule("Final status")
            show_state(state)
            console.rule("Last log lines")
            print_lines(client.logs(deployment_id, tail=8)["items"])
            return 0 if state["status"] == "completed" else 1
    except (DevError, ApiError) as exc:
        console.print(styled(("demo failed:", "red"), f" {exc}"))
        return 1


if __name__ == "__main__":
    sys.exit(main())
