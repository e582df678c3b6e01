"""Microsoft Graph for the simulation: create, find and delete users, send mail, post to a
Teams channel. Plain REST over aiohttp with azure-identity tokens: five endpoints do not
justify msgraph-sdk's size and import time on a Functions cold start.

Throttling (429/503/504) is retried after the server's Retry-After, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import string
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from haymaker import tracing
from haymaker.workloads.m365.patterns import Worker

GRAPH_URL_SETTING = "HAYMAKER_GRAPH_URL"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TokenProvider = Callable[[], Awaitable[str]]


class GraphError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Graph {status}: {message}")
        self.status = status


def identity_tokens() -> TokenProvider:
    """Tokens for Graph from the app's identity (DefaultAzureCredential)."""
    from azure.identity.aio import DefaultAzureCredential

    credential = DefaultAzureCredential()

    async def token() -> str:
        return (await credential.get_token(GRAPH_SCOPE)).token

    return token


class GraphClient:
    def __init__(
        self,
        base_url: str = DEFAULT_GRAPH_URL,
        token_provider: TokenProvider | None = None,
        *,
        max_retries: int = 5,
        max_retry_after: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token_provider or identity_tokens()
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self._session: aiohttp.ClientSession | None = None

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One Graph call (with its throttling retries): a client span of the run's trace."""
        with tracing.span(
            f"graph {method}",
            kind="client",
            attributes={
                "http.request.method": method,
                "server.address": URL(self.base_url).host,
                "url.path": f"/v1.0{path.split('?', 1)[0]}",
            },
        ) as span:
            payload, status = await self._request(method, path, body)
            tracing.set_attributes(span, {"http.response.status_code": status})
            return payload

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[Any, int]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        for attempt in range(self.max_retries + 1):
            headers = {"Authorization": f"Bearer {await self._token()}"}
            async with self._session.request(
                method, f"{self.base_url}/v1.0{path}", json=body, headers=headers
            ) as response:
                throttled = response.status in (429, 503, 504)
                if throttled and attempt < self.max_retries:
                    await asyncio.sleep(self._retry_after(response, attempt))
                    continue
                payload = (
                    await response.json(content_type=None) if response.content_length != 0 else None
                )
                if response.status >= 400:
                    message = ((payload or {}).get("error") or {}).get("message", response.reason)
                    raise GraphError(response.status, str(message))
                return payload, response.status
        raise AssertionError("unreachable")

    def _retry_after(self, response: aiohttp.ClientResponse, attempt: int) -> float:
        try:
            wait = float(response.headers.get("Retry-After", ""))
        except ValueError:
            wait = 2.0**attempt
        return max(0.0, min(wait, self.max_retry_after))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GraphClient] = (
    weakref.WeakKeyDictionary()
)


def default_graph() -> GraphClient:
    """The Graph client for this event loop (HAYMAKER_GRAPH_URL, else graph.microsoft.com)."""
    loop = asyncio.get_running_loop()
    client = _per_loop.get(loop)
    if client is None:
        client = _per_loop[loop] = GraphClient(
            os.environ.get(GRAPH_URL_SETTING) or DEFAULT_GRAPH_URL
        )
    return client


def new_password() -> str:
    """A strong one-time password. It is sent to Graph once and kept nowhere."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*-_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(24))
        classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!@#$%^&*-_")
        if all(any(c in group for c in password) for group in classes):
            return password


class EntraUserManager:
    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    async def ensure_user(self, worker: Worker, deployment_id: str) -> str:
        """Create the worker's user, or find it if an earlier run already did; its object id."""
        body = {
            "accountEnabled": True,
            "displayName": worker.display_name,
            "mailNickname": worker.mail_nickname,
            "userPrincipalName": worker.upn,
            "department": worker.department.value,
            "jobTitle": f"Simulated {worker.department.value} worker",
            "employeeType": "haymaker-simulation",
            "companyName": f"haymaker:{deployment_id}"[:64],
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": new_password()},
        }
        try:
            created = await self.graph.request("POST", "/users", body)
        except GraphError as exc:
            if exc.status != 400 or "already exists" not in str(exc):
                raise
            created = await self.graph.request("GET", f"/users/{worker.upn}")
        return created["id"]

    async def delete_user(self, object_id: str) -> bool:
        """Delete a user; False when it was already gone."""
        try:
            await self.graph.request("DELETE", f"/users/{object_id}")
        except GraphError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def send_mail(self, sender: Worker, recipient: Worker, subject: str, body: str) -> None:
        message = {
            "message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": body},
                "toRecipients": [{"emailAddress": {"address": recipient.upn}}],
            },
            "saveToSentItems": False,
        }
        await self.graph.request("POST", f"/users/{sender.upn}/sendMail", message)

    async def post_channel_message(self, team_id: str, channel_id: str, text: str) -> None:
        await self.graph.request(
            "POST", f"/teams/{team_id}/channels/{channel_id}/messages", {"body": {"content": text}}
        )
