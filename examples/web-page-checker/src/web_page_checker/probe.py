"""Fetching pages and judging them: the only part of the workload that touches the network."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

USER_AGENT = "haymaker-web-page-checker/0.1"
# Enough of a page to find the expected text in; a larger page is judged on its beginning.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_REASON_CHARS = 120


@dataclass(frozen=True)
class Expectation:
    status: int = 200
    contains: str = ""  # empty: the text of the page is not checked
    timeout_seconds: float = 10.0
    follow_redirects: bool = True


@dataclass(frozen=True)
class PageCheck:
    url: str
    ok: bool
    status: int | None  # None when no answer came (timeout, refused connection)
    elapsed_ms: int
    reason: str = ""  # why the check failed; empty when it passed
    final_url: str | None = None  # where redirects led, when that is not `url`


Clock = Callable[[], float]


async def check_pages(
    urls: Sequence[str], expect: Expectation, clock: Clock = time.monotonic
) -> list[PageCheck]:
    """Check `urls` concurrently; the result is in the order of `urls`. `clock` times them."""
    async with httpx.AsyncClient(
        timeout=expect.timeout_seconds,
        follow_redirects=expect.follow_redirects,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        return list(await asyncio.gather(*(check_page(client, url, expect, clock) for url in urls)))


async def check_page(
    client: httpx.AsyncClient, url: str, expect: Expectation, clock: Clock = time.monotonic
) -> PageCheck:
    started = clock()
    status: int | None = None
    final_url: str | None = None
    try:
        # httpx's timeout bounds each read; this bounds the whole check, slow trickles included.
        async with asyncio.timeout(expect.timeout_seconds):
            async with client.stream("GET", url) as response:
                status = response.status_code
                if str(response.url) != url:
                    final_url = str(response.url)
                reason = await _judge(response, expect)
    except (TimeoutError, httpx.TimeoutException):
        reason = f"no answer within {expect.timeout_seconds:g} s"
    except httpx.TooManyRedirects:
        reason = "too many redirects"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    elapsed_ms = round((clock() - started) * 1000)
    return PageCheck(
        url=url,
        ok=not reason,
        status=status,
        elapsed_ms=elapsed_ms,
        reason=reason[:MAX_REASON_CHARS],
        final_url=final_url,
    )


async def _judge(response: httpx.Response, expect: Expectation) -> str:
    """Why the page fails the expectation, or an empty string when it passes."""
    if response.status_code != expect.status:
        return f"status {response.status_code}, expected {expect.status}"
    if expect.contains and expect.contains not in await _text(response):
        return f"text {expect.contains!r} not found"
    return ""


async def _text(response: httpx.Response) -> str:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= MAX_BODY_BYTES:
            break
    try:
        return bytes(body[:MAX_BODY_BYTES]).decode(response.charset_encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return bytes(body[:MAX_BODY_BYTES]).decode("utf-8", "replace")
