"""A small client of the Haymaker Functions HTTP API (local host or Azure alike)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:7071"


class ApiError(Exception):
    """An error answer (problem+json) or no answer at all; `exit_code` follows the CLI's
    documented codes."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def exit_code(self) -> int:
        return {400: 2, 422: 2, 404: 3, 409: 4}.get(self.status or 0, 1)

    @property
    def hint(self) -> str | None:
        return {
            401: "check the function key (HAYMAKER_KEY or the profile's key)",
            403: "the caller lacks the role for this operation",
            404: "check the id with `haymaker list`",
            409: "see the current state with `haymaker status ID`",
            429: "slow down; try again shortly",
            503: "try again shortly",
        }.get(self.status or 0)


@dataclass
class ApiClient:
    base_url: str = DEFAULT_URL
    key: str | None = None
    bearer: str | None = None  # App Service authentication (Entra ID)
    timeout: float = 30.0

    @classmethod
    def from_env(cls) -> ApiClient:
        return cls(os.environ.get("HAYMAKER_URL", DEFAULT_URL), os.environ.get("HAYMAKER_KEY"))

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"x-functions-key": self.key} if self.key else {}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        url = f"{self.base_url.rstrip('/')}/api/{path.lstrip('/')}"
        try:
            response = httpx.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except httpx.ConnectError:
            raise ApiError(
                f"cannot reach {self.base_url}: is the host running? try `haymaker dev`"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(f"request to {url} failed: {exc}") from None
        if response.status_code >= 400:
            raise _error(response)
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        return self._request("GET", "health")

    def deploy(
        self,
        workload: str,
        config: dict[str, Any],
        *,
        tags: dict[str, str] | None = None,
        duration_hours: float | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"workload": workload, "config": config, "tags": tags or {}}
        if duration_hours is not None:
            body["duration_hours"] = duration_hours
        return self._request("POST", "deployments", json=body)

    def status(self, deployment_id: str) -> dict[str, Any]:
        return self._request("GET", f"deployments/{deployment_id}")

    def list(
        self,
        *,
        workload: str | None = None,
        status: str | None = None,
        limit: int = 50,
        continuation: str | None = None,
    ) -> dict[str, Any]:
        params = {"limit": limit}
        for name, value in (
            ("workload", workload),
            ("status", status),
            ("continuation", continuation),
        ):
            if value:
                params[name] = value
        return self._request("GET", "deployments", params=params)

    def list_all(self, **filters: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.list(continuation=token, **filters)
            yield from page["items"]
            token = page.get("continuation")
            if not token:
                return

    def logs(
        self, deployment_id: str, *, tail: int | None = None, after: int | None = None
    ) -> dict[str, Any]:
        params = {}
        if tail is not None:
            params["tail"] = tail
        if after is not None:
            params["after"] = after
        return self._request("GET", f"deployments/{deployment_id}/logs", params=params)

    def command(self, deployment_id: str, command: str, **params: Any) -> dict[str, Any]:
        return self._request("POST", f"deployments/{deployment_id}/{command}", params=params)

    def create_schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "schedules", json=body)

    def schedules(
        self, *, workload: str | None = None, limit: int = 50, continuation: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if workload:
            params["workload"] = workload
        if continuation:
            params["continuation"] = continuation
        return self._request("GET", "schedules", params=params)

    def schedule(self, schedule_id: str) -> dict[str, Any]:
        return self._request("GET", f"schedules/{schedule_id}")

    def update_schedule(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self._request("PATCH", f"schedules/{schedule_id}", json=changes)

    def delete_schedule(self, schedule_id: str, *, stop_runs: bool = False) -> dict[str, Any]:
        params = {"stop_runs": "true"} if stop_runs else {}
        return self._request("DELETE", f"schedules/{schedule_id}", params=params)

    def trigger_schedule(self, schedule_id: str) -> dict[str, Any]:
        return self._request("POST", f"schedules/{schedule_id}/trigger")

    def workloads(self) -> dict[str, Any]:
        return self._request("GET", "workloads")

    def workload(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"workloads/{name}")


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        message = f"{body.get('title', 'Error')}: {body['detail']}"
    elif response.status_code == 401:
        message = "unauthorized (HTTP 401)"
    else:
        message = f"HTTP {response.status_code}: {response.text[:200] or response.reason_phrase}"
    return ApiError(message, response.status_code, body)
