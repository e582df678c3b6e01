"""http_fetch against a real aiohttp site on 127.0.0.1: text, limits, redirects and the
rules that keep it off private and metadata addresses."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from haymaker.tools import ToolContext, ToolLimits, ToolOutcome
from haymaker.tools.builtin.http_fetch import http_fetch, make_http_fetch
from haymaker.tools.builtin.netpolicy import FetchRefused, HostPolicy, non_public_reason
from tests.support.http_site import Site, TableResolver, serve

SECRET = "sk-live-very-secret-token"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serve() as running:
        yield running


def context(*allowed: str, **limits: Any) -> ToolContext:
    return ToolContext(
        deployment_id="dep-fetch", allowed_hosts=allowed, limits=ToolLimits(**limits)
    )


async def fetch(ctx: ToolContext, url: str, tool=http_fetch, **arguments: Any) -> ToolOutcome:
    return await tool.call({"url": url, **arguments}, ctx, source="local")


# --- what comes back -------------------------------------------------------------------


async def test_html_comes_back_as_text_with_its_links(site: Site):
    ctx = context("127.0.0.1")
    outcome = await fetch(ctx, f"{site.url}/page")
    assert not outcome.is_error
    header, body = outcome.content.split("\n\n", 1)
    assert header.splitlines() == [
        f"HTTP 200 OK · text/html · {outcome.data['bytes_read']} bytes",
        f"URL: {site.url}/page",
        "Title: Test page",
    ]
    assert body == (
        f"Hello world\n\nRead about us [{site.url}/about] or the top.\n\n- first\n- second"
    )
    for hidden in ("script text", "color: red", "enable scripts"):
        assert hidden not in outcome.content
    assert outcome.data == {
        "url": f"{site.url}/page",
        "status": 200,
        "content_type": "text/html",
        "bytes_read": outcome.data["bytes_read"],
        "body_truncated": False,
        "redirects": [],
    }
    assert ctx.logs == [
        ("info", f"http_fetch: GET 127.0.0.1: HTTP 200, {outcome.data['bytes_read']} bytes")
    ]


async def test_other_content_types_and_head(site: Site):
    ctx = context("127.0.0.1")
    as_json = await fetch(ctx, f"{site.url}/json")
    assert as_json.content.endswith('\n\n{"items": [1, 2]}')
    assert "· application/json ·" in as_json.content
    binary = await fetch(ctx, f"{site.url}/binary")
    assert binary.content.endswith("\n\n(binary content, not shown)")
    head = await fetch(ctx, f"{site.url}/page", method="HEAD")
    assert head.content.startswith("HTTP 200 OK · text/html · 0 bytes")
    assert "Hello" not in head.content
    assert site.requests[-1][0] == "/page"


async def test_an_http_error_status_is_an_error_result(site: Site):
    outcome = await fetch(context("127.0.0.1"), f"{site.url}/missing")
    assert outcome.is_error
    assert outcome.content.startswith("HTTP 404 Not Found · text/html")
    assert outcome.content.endswith("\n\nNo such page")
    assert outcome.data["status"] == 404


async def test_reading_stops_at_the_size_limit(site: Site):
    # /endless never ends: only stopping at the limit lets these calls return
    outcome = await fetch(context("127.0.0.1"), f"{site.url}/endless", max_bytes=1000)
    assert outcome.data["bytes_read"] == 1000
    assert outcome.data["body_truncated"]
    assert "1000 bytes (stopped reading at the size limit)" in outcome.content
    capped = await fetch(
        context("127.0.0.1", fetch_max_bytes=5000), f"{site.url}/endless", max_bytes=10**9
    )
    assert capped.data["bytes_read"] == 5000


async def test_long_text_is_capped_for_the_model_and_kept_whole(site: Site):
    ctx = context("127.0.0.1", max_content_chars=500)
    outcome = await fetch(ctx, f"{site.url}/endless", max_bytes=3000)
    assert outcome.truncated
    assert outcome.content.endswith(
        "\n[truncated: showing 500 of " + f"{len(outcome.text)} characters]"
    )
    assert outcome.full_content.count("all work") > outcome.content.count("all work")


async def test_a_slow_server_times_out(site: Site):
    outcome = await fetch(context("127.0.0.1", fetch_timeout_seconds=0.2), f"{site.url}/slow")
    assert outcome == ToolOutcome(
        content="failed: no complete answer within 0.2 seconds", is_error=True
    )


async def test_redirects_are_followed_and_bounded(site: Site):
    ctx = context("127.0.0.1", fetch_max_redirects=2)
    outcome = await fetch(ctx, f"{site.url}/redirect?to=/page")
    assert outcome.data["url"] == f"{site.url}/page"
    assert outcome.data["redirects"] == [f"{site.url}/redirect?to=/page"]
    assert f"Redirected from: {site.url}/redirect?to=/page" in outcome.content
    looping = await fetch(ctx, f"{site.url}/loop")
    assert (looping.is_error, looping.content) == (True, "failed: more than 2 redirects")
    assert site.paths().count("/loop") == 3


@pytest.mark.parametrize(
    ("url", "content"),
    [
        ("http://[::1/", "failed: the URL is not valid"),
        ("http://host:99999/", "failed: the URL is not valid"),
        ("https://", "refused: the URL has no host"),
        ("//example.com/a", "refused: only http and https URLs can be fetched"),
    ],
)
async def test_malformed_urls_are_error_results(url: str, content: str):
    assert await fetch(context(), url) == ToolOutcome(content=content, is_error=True)


async def test_network_failures_are_error_results():
    outcome = await fetch(context("127.0.0.1"), "http://127.0.0.1:9/")  # discard: nobody there
    assert outcome == ToolOutcome(content="failed: could not connect to 127.0.0.1", is_error=True)
    unknown = await fetch(
        context(), "http://nowhere.test/", make_http_fetch(resolver=lambda: TableResolver({}))
    )
    assert unknown == ToolOutcome(content="failed: could not resolve nowhere.test", is_error=True)


# --- where it may not go ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("{site}/page", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/page", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://[::1]:{port}/page", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/page", "a loopback address (embedded in an IPv6"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://168.63.129.16/machine", "168.63.129.16 is a cloud metadata address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata service"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
        ("ftp://example.com/file", "only http and https"),
        ("http://user:hunter2@example.com/", "may not carry a user name or password"),
    ],
)
async def test_private_loopback_and_metadata_targets_are_refused(site: Site, url: str, reason: str):
    target = url.format(site=site.url, port=site.port)
    outcome = await fetch(context(), target)
    assert outcome.is_error
    assert outcome.content.startswith("refused: ")
    assert reason in outcome.content
    assert "hunter2" not in outcome.content
    assert site.requests == []


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "017700000001"])
async def test_a_numeric_host_that_spells_loopback_is_refused(site: Site, host: str):
    outcome = await fetch(context(), f"http://{host}:{site.port}/page")
    assert outcome.content == f"refused: {host} is not an IP address in its usual form"
    assert site.requests == []


async def test_allowed_hosts_limit_the_hosts(site: Site):
    outcome = await fetch(context("example.com", "*.example.org"), f"{site.url}/page")
    assert outcome.content == "refused: 127.0.0.1 is not among the allowed hosts"
    assert site.requests == []


def resolving(**table: list[str]):
    resolver = TableResolver(
        {name.replace("_", "."): addresses for name, addresses in table.items()}
    )
    return resolver, make_http_fetch(resolver=lambda: resolver)


async def test_the_connection_goes_to_the_address_that_was_checked(site: Site):
    """site.test exists only in the test's resolver: reaching the site proves the vetted
    answer is the one connected to; a name with any private address is refused whole."""
    resolver, tool = resolving(
        site_test=["127.0.0.1"], rebind_example_org=["93.184.216.34", "127.0.0.1"]
    )
    ctx = context("site.test", "*.example.org")
    reached = await fetch(ctx, f"http://site.test:{site.port}/page", tool)
    assert not reached.is_error
    assert site.paths() == ["/page"]
    rebound = await fetch(ctx, f"http://rebind.example.org:{site.port}/page", tool)
    assert rebound.content == (
        "refused: rebind.example.org resolves to 127.0.0.1, a loopback address; "
        "list the host in allowed_hosts to allow it"
    )
    assert site.paths() == ["/page"]
    assert resolver.asked == ["site.test", "rebind.example.org"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/page", "127.0.0.1 is not among the allowed hosts"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not among the allowed"),
        (
            "http://loop.example.org:{port}/page",
            "loop.example.org resolves to 127.0.0.1, a loopback",
        ),
        (
            "http://imds.example.org/latest/",
            "imds.example.org resolves to 169.254.169.254, a cloud",
        ),
    ],
)
async def test_every_redirect_is_checked(site: Site, target: str, reason: str):
    _, tool = resolving(
        site_test=["127.0.0.1"],
        loop_example_org=["127.0.0.1"],
        imds_example_org=["169.254.169.254"],
    )
    ctx = context("site.test", "*.example.org")
    to = target.format(port=site.port)
    outcome = await fetch(ctx, f"http://site.test:{site.port}/redirect?to={to}", tool)
    assert outcome.is_error
    assert reason in outcome.content
    assert site.paths() == [f"/redirect?to={to}"]


async def test_a_listed_host_may_not_reach_metadata_through_its_name(site: Site):
    _, tool = resolving(sneaky_test=["169.254.169.254"])
    outcome = await fetch(context("sneaky.test"), "http://sneaky.test/latest/", tool)
    assert outcome.content == "refused: sneaky.test resolves to a cloud metadata address"


async def test_secret_headers_reach_only_their_origin_and_are_never_shown(site: Site, caplog):
    _, tool = resolving(site_test=["127.0.0.1"], other_test=["127.0.0.1"])
    ctx = context("site.test", "other.test")
    headers = {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET}
    with caplog.at_level(logging.DEBUG):
        hop = f"http://other.test:{site.port}/page"
        moved = await fetch(
            ctx, f"http://site.test:{site.port}/redirect?to={hop}", tool, headers=headers
        )
        refused = await fetch(
            ctx, f"http://site.test:{site.port}/redirect?to=http://10.0.0.1/", tool, headers=headers
        )
        failed = await fetch(ctx, "http://site.test:9/", tool, headers=headers)
    assert not moved.is_error
    assert refused.is_error
    assert failed.is_error
    first, second, third = site.requests
    assert first[1]["Authorization"] == f"Bearer {SECRET}"  # sent to the origin it was meant for
    assert "Authorization" not in second[1]  # not carried to another origin
    assert "X-Api-Key" not in second[1]
    assert third[1]["X-Api-Key"] == SECRET
    shown = [moved.model_dump_json(), refused.model_dump_json(), failed.model_dump_json()]
    for text in [*shown, repr(ctx.logs), caplog.text]:
        assert SECRET not in text


async def test_headers_that_would_reroute_the_request_are_refused(site: Site):
    outcome = await fetch(context("127.0.0.1"), f"{site.url}/page", headers={"Host": "evil"})
    assert outcome.content == "refused: the Host header cannot be set"
    assert site.requests == []


# --- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"],
)
def test_public_addresses_pass(address: str):
    assert non_public_reason(ipaddress.ip_address(address)) is None
    HostPolicy().check_address("example.com", ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.2", "192.168.1.1", "172.16.0.1", "100.64.0.1", "169.254.1.1", "fe80::1",
        "fc00::1", "ff02::1", "::", "240.0.0.1", "255.255.255.255", "198.18.0.1",
        "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "64:ff9b::a00:1",
        "100.100.100.200", "192.0.0.192", "169.254.170.2",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str):
    """Including IPv4 hidden in 6to4 (127.0.0.1), Teredo (10.0.0.1) and NAT64 (10.0.0.1)."""
    assert non_public_reason(ipaddress.ip_address(address)) is not None
    with pytest.raises(FetchRefused):
        HostPolicy().check_address("example.com", ipaddress.ip_address(address))


def test_listing_a_host_exactly_trusts_it_and_a_wildcard_does_not():
    policy = HostPolicy(["Intranet.Local.", "*.corp.example", "169.254.169.254"])
    loopback = ipaddress.ip_address("10.0.0.5")
    policy.check_url("http", "intranet.local", False)
    policy.check_address("intranet.local", loopback)
    policy.check_url("https", "api.corp.example", False)
    with pytest.raises(FetchRefused, match="private"):
        policy.check_address("api.corp.example", loopback)
    with pytest.raises(FetchRefused, match="not among the allowed hosts"):
        policy.check_url("https", "corp.example", False)  # *. means subdomains only
    policy.check_url("http", "169.254.169.254", False)  # listed itself: the operator's choice
    HostPolicy(["müller.de"]).check_url("https", "xn--mller-kva.de", False)
