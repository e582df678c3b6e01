"""The HTTP side of http_fetch, on aiohttp (this module is imported only when a fetch runs).

Redirects are followed here, one hop at a time, so each target is checked (HostPolicy); the
connector's resolver checks every address a name resolves to and hands aiohttp only those,
so the connection goes to an address that was checked. Agent-supplied headers go only to
the origin they were sent to, and no error message here ever includes them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from haymaker.tools.builtin.netpolicy import FetchRefused, HostPolicy

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that would change how the request is framed or routed: not the agent's to set.
FORBIDDEN_HEADERS = frozenset(
    {
        "host", "content-length", "transfer-encoding", "connection", "upgrade", "te",
        "trailer", "expect", "proxy-authorization", "proxy-connection", "keep-alive",
    }
)  # fmt: skip
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
DEFAULT_HEADERS = {
    "User-Agent": "haymaker-http-fetch/1",
    "Accept": "text/html,application/xhtml+xml,application/json,text/plain;q=0.9,*/*;q=0.5",
}
CHUNK_BYTES = 64 * 1024

ResolverFactory = Callable[[], AbstractResolver]


class FetchFailed(Exception):
    """The request could not be completed; the message is safe to show the model. `sent` is
    False when no connection was made, so the server cannot have seen the request."""

    def __init__(self, message: str, *, sent: bool = True, timed_out: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timed_out = timed_out


@dataclass
class FetchResponse:
    url: str
    status: int
    reason: str
    content_type: str
    charset: str | None
    body: bytes
    body_truncated: bool
    redirects: list[str] = field(default_factory=list)


class VettedResolver(AbstractResolver):
    """Resolves through `base`, then refuses the name if any address breaks the policy."""

    def __init__(self, policy: HostPolicy, base: AbstractResolver) -> None:
        self._policy = policy
        self._base = base

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._base.resolve(host, port, family)
        for result in results:
            self._policy.check_address(host, ipaddress.ip_address(result["host"]))
        return results

    async def close(self) -> None:
        await self._base.close()


def request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The agent's headers, checked by name (values are never echoed)."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise FetchRefused("a header name is not a valid HTTP token")
        if name.lower() in FORBIDDEN_HEADERS:
            raise FetchRefused(f"the {name} header cannot be set")
        if any(character in value for character in "\r\n\0"):
            raise FetchRefused(f"the value of header {name} contains a line break")
        checked[name] = value
    return checked


async def fetch(
    url: str,
    *,
    method: str,
    headers: Mapping[str, str],
    max_bytes: int,
    policy: HostPolicy,
    max_redirects: int,
    timeout_seconds: float,
    resolver: ResolverFactory | None = None,
    body: bytes | None = None,
) -> FetchResponse:
    """Send `method` to `url` and read at most `max_bytes` of the answer's body. GET and HEAD
    follow up to `max_redirects` redirects; any other method (which may carry `body`) gets
    the redirect itself as its answer, as re-sending a request with effects is not ours to
    decide. FetchRefused when the rules forbid a hop, FetchFailed when the network fails or
    the time runs out."""
    agent_headers = request_headers(headers)
    try:
        target = URL(url)
    except ValueError:
        raise FetchFailed("the URL is not valid") from None
    base = resolver() if resolver is not None else aiohttp.ThreadedResolver()
    connector = aiohttp.TCPConnector(resolver=VettedResolver(policy, base), use_dns_cache=False)
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxy from the environment: it would skip the checks
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            ) as session,
        ):
            return await _follow(
                session, target, method, agent_headers, max_bytes, policy, max_redirects, body
            )
    except TimeoutError:
        raise FetchFailed(
            f"no complete answer within {timeout_seconds:g} seconds", timed_out=True
        ) from None


async def _follow(
    session: aiohttp.ClientSession,
    target: URL,
    method: str,
    agent_headers: dict[str, str],
    max_bytes: int,
    policy: HostPolicy,
    max_redirects: int,
    body: bytes | None,
) -> FetchResponse:
    origin = _origin(target)
    follows = method in ("GET", "HEAD")
    redirects: list[str] = []
    while True:
        policy.check_url(target.scheme, target.raw_host, bool(target.user or target.password))
        # The agent's headers (credentials, say) go only to the origin it sent them to.
        sent = {**DEFAULT_HEADERS, **(agent_headers if _origin(target) == origin else {})}
        async with _request(session, method, target, sent, body) as response:
            location = response.headers.get("Location")
            if follows and response.status in REDIRECT_STATUSES and location:
                if len(redirects) >= max_redirects:
                    raise FetchFailed(f"more than {max_redirects} redirects")
                redirects.append(str(target))
                target = _redirect_target(target, location)
                continue
            body, truncated = (b"", False)
            if method != "HEAD":
                body, truncated = await _read_capped(response, max_bytes, target)
            return FetchResponse(
                url=str(target),
                status=response.status,
                reason=response.reason or "",
                content_type=response.content_type,
                charset=response.charset,
                body=body,
                body_truncated=truncated,
                redirects=redirects,
            )


@asynccontextmanager
async def _request(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    headers: dict[str, str],
    body: bytes | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """session.request with aiohttp's errors turned into messages without request details
    (aiohttp's own exceptions carry the request headers)."""
    try:
        response = await session.request(
            method, url, headers=headers, data=body, allow_redirects=False
        )
    except aiohttp.ClientError as exc:
        connected = not isinstance(exc, aiohttp.ClientConnectorError)
        raise FetchFailed(_describe(exc, url.host or ""), sent=connected) from None
    async with response:
        yield response


def _describe(exc: aiohttp.ClientError, host: str) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not resolve {host}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"the TLS connection to {host} failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {host}"
    if isinstance(exc, aiohttp.InvalidURL):
        return "the URL is not valid"
    return f"the request to {host} failed ({type(exc).__name__})"


async def _read_capped(
    response: aiohttp.ClientResponse, max_bytes: int, url: URL
) -> tuple[bytes, bool]:
    """At most `max_bytes` of the body; True when there was more (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                return b"".join(chunks)[:max_bytes], True
    except aiohttp.ClientError as exc:
        raise FetchFailed(_describe(exc, url.host or "")) from None
    return b"".join(chunks), False


def _redirect_target(current: URL, location: str) -> URL:
    try:
        return current.join(URL(location)).with_fragment(None)
    except ValueError:
        raise FetchFailed("a redirect pointed to an invalid URL") from None


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.raw_host, url.port
