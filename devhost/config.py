"""Host settings: local.settings.json values (as `func start` loads them), host.json, flags."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HUB_OVERRIDE = "AzureFunctionsJobHost__extensions__durableTask__hubName"


def load_local_settings(app_dir: Path) -> dict[str, str]:
    """Put local.settings.json `Values` into the environment without overriding what is
    already set, as the Functions host does (local.settings.example.json stands in while
    there is no local.settings.json). Returns what it read."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        path = app_dir / "local.settings.example.json"
    if not path.exists():
        return {}
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    for key, value in values.items():
        os.environ.setdefault(key, str(value))
    return values


def _host_json(app_dir: Path) -> dict[str, Any]:
    path = app_dir / "host.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@dataclass
class HostConfig:
    app_dir: Path
    port: int = 7071
    host: str = "127.0.0.1"
    function_key: str | None = None
    task_hub: str = "TestHubName"
    route_prefix: str = "api"
    max_activities: int = 10
    max_orchestrations: int = 10
    storage: str = ""

    @classmethod
    def from_app(cls, app_dir: Path, **overrides: Any) -> HostConfig:
        load_local_settings(app_dir)
        host_json = _host_json(app_dir)
        durable = host_json.get("extensions", {}).get("durableTask", {})
        http = host_json.get("extensions", {}).get("http", {})
        storage = os.environ.get("AzureWebJobsStorage", "")
        if not storage:
            raise SystemExit(
                "AzureWebJobsStorage is not set (environment or local.settings.json); "
                "for Azurite use UseDevelopmentStorage=true"
            )
        config = cls(
            app_dir=app_dir,
            task_hub=os.environ.get(HUB_OVERRIDE) or durable.get("hubName", "TestHubName"),
            route_prefix=http.get("routePrefix", "api"),
            max_activities=int(durable.get("maxConcurrentActivityFunctions", 10)),
            max_orchestrations=int(durable.get("maxConcurrentOrchestratorFunctions", 10)),
            storage=storage,
            function_key=os.environ.get("DEVHOST_FUNCTION_KEY") or None,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config
