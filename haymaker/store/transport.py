"""How the platform's Table clients reach storage."""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.data.tables.aio import TableServiceClient


def direct_transport(endpoint: str) -> dict[str, Any]:
    """Client options that keep aiohttp from consulting the environment on every request.
    With trust_env on (azure-core's default) it scans the environment for proxies and reads
    ~/.netrc on a worker thread for each call, which measured as about half the CPU of a
    Table operation. The endpoint is fixed, so its proxy (HTTP(S)_PROXY, NO_PROXY) is found
    once here instead; netrc credentials have no use against Table storage."""
    parts = urlsplit(endpoint)
    options: dict[str, Any] = {"use_env_settings": False}
    if parts.hostname and not urllib.request.proxy_bypass(parts.hostname):
        proxy = urllib.request.getproxies().get(parts.scheme)
        if proxy:
            options["proxies"] = {parts.scheme: proxy}
    return options


def service_from_connection_string(connection_string: str) -> TableServiceClient:
    """A Table service client for a connection string, with `direct_transport`."""
    from azure.data.tables.aio import TableServiceClient

    # The endpoint the connection string names, as the SDK reads it (no I/O).
    endpoint = TableServiceClient.from_connection_string(connection_string).url
    return TableServiceClient.from_connection_string(
        connection_string, **direct_transport(endpoint)
    )
