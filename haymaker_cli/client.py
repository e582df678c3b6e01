"""A small client of the Haymaker Functions HTTP API (local host or Azure alike): one HTTP
connection pool for its life (close it, or use it as a context manager), and the API's
"not now" answers (429, 503 with Retry-After) waited out within bounds before they are errors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from haymaker_cli.api_error import ApiError
from haymaker_cli.redaction import keep_secret
from haymaker_cli.retry import RETRYABLE, retry_after

DEFAULT_URL = "http://127.0.0.1:7071"


def _header_value(value: str | None, what: str) -> str | None:
    """A credential as a header carries it: surrounding whitespace (a line break from a file)
    dropped; anything else no header can carry refused, without showing the value."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isprintable():
        raise ApiError(
            f"the {what} holds characters an HTTP header cannot carry "
            "(a line break or non-ASCII text inside it?)",
            exit_code=2,
        )
    return value


@dataclass
class ApiClient:
    base_url: str = DEFAULT_URL
    key: str | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)  # App Service authentication (Entra ID)
    timeout: float = 30.0
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    # 429/503 with Retry-After: at most this many retries, waiting at most this long in all.
    max_retries: ClassVar[int] = 3
    max_total_wait: ClassVar[float] = 30.0

    def __post_init__(self) -> None:
        self.key = _header_value(self.key, "function key")
        self.bearer = _header_value(self.bearer, "Entra ID token")
        keep_secret(self.key)
        keep_secret(self.bearer)

    @classmethod
    def from_env(cls) -> ApiClient:
        return cls(os.environ.get("HAYMAKER_URL", DEFAULT_URL), os.environ.get("HAYMAKER_KEY"))

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def http(self) -> httpx.Client:
        """The connection pool, opened on the first request."""
        if self._http is None:
            headers = {"x-functions-key": self.key} if self.key else {}
            if self.bearer:
                headers["Authorization"] = f"Bearer {self.bearer}"
            self._http = httpx.Client(
                base_url=f"{self.base_url.rstrip('/')}/api/", headers=headers, timeout=self.timeout
            )
        return self._http

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path.lstrip("/"), **kwargs)
        waited = 0.0
        for _ in range(self.max_retries):
            delay = retry_after(response.headers.get("Retry-After"))
            if response.status_code not in RETRYABLE or delay is None:
                break
            if waited + delay > self.max_total_wait:
                break
            time.sleep(delay)
            waited += delay
            response = self._send(method, path.lstrip("/"), **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise ApiError(
                f"{response.url} answered HTTP {response.status_code} with a body that is not "
                f"JSON ({kind}): is {self.base_url} the Haymaker API?"
            ) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ApiError(
                f"cannot reach {self.base_url}: is the host running? try `haymaker dev`"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(f"request to {self.base_url}/api/{path} failed: {exc}") from None

    def health(self) -> dict[str, Any]:
        return self._request("GET", "health")

    def deploy(
        self,
        workload: str,
        config: dict[str, Any],
        *,
        tags: dict[str, str] | None = None,
        duration_hours: float | None = None,
        budget: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"workload": workload, "config": config, "tags": tags or {}}
        if duration_hours is not None:
            body["duration_hours"] = duration_hours
        if budget:
            body["budget"] = budget
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
        return every_item(self.list, **filters)

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

    def approvals(
        self, *, status: str = "pending", limit: int = 50, continuation: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"status": status, "limit": limit}
        if continuation:
            params["continuation"] = continuation
        return self._request("GET", "approvals", params=params)

    def deployment_approvals(
        self, deployment_id: str, *, continuation: str | None = None
    ) -> dict[str, Any]:
        params = {"continuation": continuation} if continuation else {}
        return self._request("GET", f"deployments/{deployment_id}/approvals", params=params)

    def decide(
        self,
        deployment_id: str,
        key: str,
        decision: str,
        *,
        comment: str | None = None,
        raise_limits: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"decision": decision}
        if comment is not None:
            body["comment"] = comment
        if raise_limits:
            body["raise"] = raise_limits
        return self._request("POST", f"deployments/{deployment_id}/approvals/{key}", json=body)

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

    def events(self, *, after: int = 0, subject: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"after": after}
        if subject:
            params["subject"] = subject
        return self._request("GET", "events", params=params)

    def create_subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "subscriptions", json=body)

    def subscriptions(self, *, continuation: str | None = None) -> dict[str, Any]:
        params = {"continuation": continuation} if continuation else {}
        return self._request("GET", "subscriptions", params=params)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._request("GET", f"subscriptions/{subscription_id}")

    def dead_letters(self, subscription_id: str) -> dict[str, Any]:
        return self._request("GET", f"subscriptions/{subscription_id}/dead-letters")

    def delete_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._request("DELETE", f"subscriptions/{subscription_id}")

    def workloads(self) -> dict[str, Any]:
        return self._request("GET", "workloads")

    def transcript(
        self, deployment_id: str, *, after: int | None = None, limit: int = 200
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        return self._request("GET", f"deployments/{deployment_id}/transcript", params=params)

    def workload(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"workloads/{name}")

    def register_service(self, body: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
        params = {"replace": "true"} if replace else {}
        return self._request("POST", "services", json=body, params=params)

    def services(self, *, limit: int = 50, continuation: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if continuation:
            params["continuation"] = continuation
        return self._request("GET", "services", params=params)

    def service(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"services/{name}")

    def remove_service(self, name: str) -> dict[str, Any]:
        return self._request("DELETE", f"services/{name}")


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
    wait = retry_after(response.headers.get("Retry-After"))
    return ApiError(message, response.status_code, body, retry_after=wait)


def every_item(page: Callable[..., dict[str, Any]], **filters: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged listing (`page(continuation=..., **filters)`), page after page."""
    token = None
    while True:
        current = page(continuation=token, **filters)
        yield from current["items"]
        token = current.get("continuation")
        if not token:
            return
