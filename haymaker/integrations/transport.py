"""http_fetch's host rules for the MCP SDK's HTTP client (httpx2): the URL is checked before
a session opens (`check_endpoint`), and every connection goes only to addresses that
http_fetch's vetted resolver let through, so a name cannot resolve to a private or metadata
address between the check and the connection. The SDK itself follows a redirect only within
the endpoint's origin."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import httpcore2
import httpx2
from yarl import URL

from haymaker.tools.builtin.http_client import VettedResolver
from haymaker.tools.builtin.netpolicy import FetchRefused, HostPolicy

if TYPE_CHECKING:
    from haymaker.tools.builtin.http_client import ResolverFactory


def _base_resolver(resolver: ResolverFactory | None) -> Any:
    import aiohttp

    return resolver() if resolver is not None else aiohttp.ThreadedResolver()


async def check_endpoint(url: str, policy: HostPolicy, resolver: ResolverFactory | None) -> None:
    """FetchRefused (its message safe to show) if the rules forbid `url` or an address its
    host resolves to; a name that does not resolve is left for the connection to report."""
    try:
        target = URL(url)
    except ValueError:
        raise FetchRefused("the URL is not valid") from None
    policy.check_url(target.scheme, target.raw_host, bool(target.user or target.password))
    vetted = VettedResolver(policy, _base_resolver(resolver))
    try:
        await vetted.resolve(target.raw_host or "", target.port or 0, socket.AF_UNSPEC)
    except OSError:
        pass
    finally:
        await vetted.close()


class _VettedBackend(httpcore2.AsyncNetworkBackend):
    """Connects to the addresses the vetted resolver returned for a host, nothing else."""

    def __init__(self, policy: HostPolicy, resolver: ResolverFactory | None) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2 passes it
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        vetted = VettedResolver(self._policy, _base_resolver(self._resolver))
        try:
            results = await vetted.resolve(host, port, socket.AF_UNSPEC)
        except FetchRefused as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        except OSError:
            raise httpcore2.ConnectError(f"could not resolve {host}") from None
        finally:
            await vetted.close()
        failure: Exception = httpcore2.ConnectError(f"could not connect to {host}")
        for result in results:
            try:
                return await self._inner.connect_tcp(
                    result["host"], port, timeout, local_address, socket_options
                )
            except httpcore2.ConnectError as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not reachable from tools")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every session (loading the CA store costs ~25 ms)."""
    return httpx2.create_ssl_context(trust_env=False)


class VettedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport with its connection pool on the vetted backend (no proxy from the
    environment: it would skip the checks)."""

    def __init__(self, policy: HostPolicy, resolver: ResolverFactory | None = None) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        # httpx2 takes no network backend, so the pool it made is replaced by one that has it.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=_ssl_context(), network_backend=_VettedBackend(policy, resolver)
        )


def vetted_client(
    policy: HostPolicy,
    headers: dict[str, str],
    timeout_seconds: float,
    resolver: ResolverFactory | None = None,
) -> httpx2.AsyncClient:
    """An httpx2 client for one MCP session: `headers` (credentials) on every request."""
    return httpx2.AsyncClient(
        transport=VettedTransport(policy, resolver),
        headers=headers,
        timeout=httpx2.Timeout(timeout_seconds),
        trust_env=False,
        follow_redirects=False,
    )
