"""Webhook deliveries: where they may go, and the signed POST of one event.

Targets follow http_fetch's rules against server-side request forgery (haymaker.tools.builtin
.netpolicy), reused rather than copied: https only, no user:password@, and every address
the host resolves to public (no private, loopback, link-local, shared or metadata address),
checked as each delivery connects (a literal address, and a refused scheme or name, already
when the subscription is made). Hosts listed in
HAYMAKER_WEBHOOK_ALLOWED_HOSTS may use plain http and any address but a cloud metadata one.
Redirects are not followed: a 3xx answer is a failed delivery.

Neither the secret nor the URL's path or query (which often carry a token of their own)
reach a log line, an error message or a span: only the scheme and host do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from haymaker import tracing
from haymaker.errors import ValidationFailedError
from haymaker.events.delivery import DeliveryFailed
from haymaker.events.model import CONTENT_TYPE
from haymaker.events.signature import HEADER, signature
from haymaker.store.subscriptions import WebhookTarget
from haymaker.tools.builtin.netpolicy import FetchRefused, HostPolicy

USER_AGENT = "haymaker-webhooks/1"


def webhook_policy(allowed_hosts: Sequence[str]) -> HostPolicy:
    return HostPolicy(allowed_hosts, exclusive=False)


def where(url: str) -> str:
    """What logs and errors may say of a target: its scheme and host."""
    from yarl import URL

    try:
        target = URL(url)
    except ValueError:
        return "an invalid URL"
    return f"{target.scheme}://{target.raw_host or ''}"


def check_url(url: str, policy: HostPolicy) -> None:
    """FetchRefused unless `url` is an allowed target (before any lookup)."""
    from yarl import URL

    try:
        target = URL(url)
    except ValueError:
        raise FetchRefused("the URL is not valid") from None
    host = target.raw_host or ""
    if target.scheme in ("http", "https") and _loopback_name(host) and not policy.trusts(host):
        raise FetchRefused(f"{host} is a loopback address; list it to allow it")
    if target.scheme != "https" and not (target.scheme == "http" and policy.trusts(host)):
        raise FetchRefused(
            f"webhooks must use https (plain http only to a host in "
            f"HAYMAKER_WEBHOOK_ALLOWED_HOSTS), not {target.scheme or 'no scheme'}"
        )
    policy.check_url(target.scheme, host, bool(target.user or target.password))


async def check_target(url: str, policy: HostPolicy) -> None:
    """A new subscription's URL, by the rules above (ValidationFailedError naming the rule).
    No name is looked up here: what a name resolves to is checked as each delivery connects
    (a refused one fails, is retried and in the end dead-lettered, visibly)."""
    try:
        check_url(url, policy)
    except FetchRefused as exc:
        raise ValidationFailedError(
            f"url: {exc}", errors=[{"key": "url", "message": str(exc)}]
        ) from None


def _loopback_name(host: str) -> bool:
    """localhost and its subdomains always mean this machine (RFC 6761)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


class WebhookSink:
    """One subscription: each event POSTed on its own, in feed order, signed."""

    batch_size = 1
    start_at = None  # its delivery state is made with the subscription

    def __init__(
        self,
        target: WebhookTarget,
        policy: HostPolicy,
        *,
        timeout_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.target = target
        self.name = target.subscription.sink
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self._session: Any = None

    def wants(self, event: dict[str, Any]) -> bool:
        return self.target.subscription.wants(event.get("type", ""))

    async def send(self, events: list[dict[str, Any]]) -> None:
        (event,) = events
        body = json.dumps(event, separators=(",", ":")).encode()
        stamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": f"{CONTENT_TYPE}; charset=utf-8",
            "User-Agent": USER_AGENT,
            HEADER: signature(self.target.secret.get_secret_value(), stamp, body),
        }
        url = self.target.subscription.url
        with tracing.span(
            "webhook.deliver",
            parent=event.get("traceparent"),
            kind="client",
            attributes={
                "http.request.method": "POST",
                "server.address": where(url).split("://", 1)[-1],
                "haymaker.subscription_id": self.target.subscription.subscription_id,
                "cloudevents.event_id": event.get("id"),
                "cloudevents.event_type": event.get("type"),
                "cloudevents.event_subject": event.get("subject"),
            },
        ) as span:
            status = await self._post(url, body, headers)
            tracing.set_attributes(span, {"http.response.status_code": status})
            if not 200 <= status < 300:
                tracing.mark_error(span, str(status))
                raise DeliveryFailed(f"{where(url)} answered HTTP {status}")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        import aiohttp

        from haymaker.tools.builtin.http_client import VettedResolver

        try:
            check_url(url, self.policy)
        except FetchRefused as exc:
            raise DeliveryFailed(f"{where(url)} is refused: {exc}") from None
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=VettedResolver(self.policy, aiohttp.ThreadedResolver()),
                use_dns_cache=False,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxy from the environment: it would skip the checks
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        try:
            async with (
                asyncio.timeout(self.timeout_seconds),
                self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response,
            ):
                await response.read()
                return response.status
        except TimeoutError:
            raise DeliveryFailed(
                f"{where(url)} did not answer within {self.timeout_seconds:g} seconds"
            ) from None
        except FetchRefused as exc:
            raise DeliveryFailed(f"{where(url)} is refused: {exc}") from None
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"{where(url)} failed: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
