"""McpToolSource against a real MCP server (the official SDK's, streamable HTTP, 127.0.0.1):
listing once into a storable listing, calls and their results, tool errors, a slow tool past
its timeout, a server that goes away, credentials that never reach the model or the logs,
and http_fetch's host rules."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from haymaker.errors import ConfigError
from haymaker.integrations.access import ServiceAccess
from haymaker.integrations.credentials import Credentials
from haymaker.integrations.mcp import McpToolSource, McpUnavailable, list_mcp_tools
from haymaker.integrations.models import McpListing, McpServerConfig, ServiceSpec
from haymaker.llm.messages import ToolCall
from haymaker.settings import Settings
from haymaker.tools import Toolbox, ToolContext, ToolLimits
from tests.support.http_site import TableResolver
from tests.support.mcp_server import McpTestServer

TOKEN = "mcp-bearer-0123456789-very-secret"
SERVER_LOGGERS = ("sse_starlette", "mcp.server", "uvicorn", "starlette")


@pytest.fixture(scope="module")
def server() -> Iterator[McpTestServer]:
    running = McpTestServer().start()
    yield running
    running.stop(force=False)


@pytest.fixture
def own_server() -> Iterator[McpTestServer]:
    """A server this test may stop."""
    running = McpTestServer().start()
    yield running
    running.stop()


def settings(**env: str) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})


def access(resolver: Any = None, **env: str) -> ServiceAccess:
    return ServiceAccess(Credentials(settings(**env)), resolver=resolver)


def spec_for(server: McpTestServer, **fields: Any) -> ServiceSpec:
    return ServiceSpec.model_validate(
        {
            "name": "tools",
            "kind": "mcp",
            "url": server.url,
            "allowed_hosts": ["127.0.0.1"],
            **fields,
        }
    )


def context() -> ToolContext:
    return ToolContext(deployment_id="dep-mcp")


async def opened(
    server: McpTestServer, env: dict[str, str] | None = None, **fields: Any
) -> McpToolSource:
    return await McpToolSource.open(spec_for(server, **fields), access(**(env or {})))


# --- listing -----------------------------------------------------------------------------


async def test_the_listing_offers_each_tool_with_its_schema_and_side_effects(server: McpTestServer):
    source = await opened(server)
    infos = {info.name: info for info in await source.list_tools()}
    assert sorted(infos) == ["add", "boom", "echo", "send", "slow", "whoami"]
    add = infos["add"]
    assert add.spec.description == "Add two numbers."
    assert add.spec.input_schema["required"] == ["a", "b"]
    assert add.spec.input_schema["properties"]["a"]["type"] == "integer"
    assert add.source == "tools"
    # read-only only where the server's annotations say so
    assert not infos["echo"].side_effects
    assert infos["send"].side_effects
    assert infos["add"].side_effects
    assert not any(info.requires_approval for info in infos.values())
    by_name = {tool.name: tool for tool in source.listing.tools}
    assert by_name["add"].output_schema is not None  # structured output
    assert by_name["echo"].output_schema is None
    assert source.listing.server.startswith("test-tools")


async def test_a_stored_listing_builds_the_same_source_without_the_server(
    own_server: McpTestServer,
):
    source = await opened(own_server)
    stored = source.listing.model_dump_json()
    own_server.stop()
    again = McpToolSource(McpListing.model_validate_json(stored), access())
    assert await again.list_tools() == await source.list_tools()
    toolbox = await Toolbox.open([again], ["add", "echo"])
    assert [spec.name for spec in toolbox.specs()] == ["add", "echo"]


async def test_an_allow_list_a_prefix_and_read_only_names_shape_the_tools(server: McpTestServer):
    config = McpServerConfig.model_validate(
        {"name": "tools", "url": server.url, "tools": ["add", "send"], "prefix": "t_",
         "read_only": ["add"], "approval": "side_effects", "allowed_hosts": ["127.0.0.1"]}
    )  # fmt: skip
    source = await McpToolSource.open(config.as_spec(), access())
    infos = {info.name: info for info in await source.list_tools()}
    assert sorted(infos) == ["t_add", "t_send"]
    assert not infos["t_add"].side_effects
    assert not infos["t_add"].requires_approval
    assert infos["t_send"].side_effects
    assert infos["t_send"].requires_approval
    outcome = await source.call("t_add", {"a": 1, "b": 2}, context())
    assert outcome.content == "3"


async def test_an_allow_list_naming_a_missing_tool_is_refused(server: McpTestServer):
    with pytest.raises(ConfigError, match=r"offers no tool nope \(it offers: add, boom"):
        await list_mcp_tools(spec_for(server, operations=["add", "nope"]), access())


async def test_a_server_that_is_down_cannot_be_listed():
    dead = ServiceSpec(
        name="gone", kind="mcp", url="http://127.0.0.1:9/mcp", allowed_hosts=["127.0.0.1"]
    )
    with pytest.raises(
        McpUnavailable, match="MCP server gone could not be listed: could not connect"
    ):
        await list_mcp_tools(dead, access())


# --- calls -------------------------------------------------------------------------------


async def test_structured_and_text_results(server: McpTestServer):
    source = await opened(server)
    added = await source.call("add", {"a": 2, "b": 3}, context())
    assert (added.content, added.data, added.is_error) == ("5", {"result": 5}, False)
    echoed = await source.call("echo", {"text": "hi"}, context())
    assert (echoed.content, echoed.data, echoed.is_error) == ("echo: hi", None, False)


async def test_a_tool_error_is_the_tools_result_for_the_model(server: McpTestServer):
    source = await opened(server)
    ctx = context()
    outcome = await source.call("boom", {}, ctx)
    assert outcome.is_error
    assert outcome.content == "Error executing tool boom: it broke on purpose"
    assert outcome.data is None  # an answer, not a failure to get one
    assert ctx.logs == [("info", "boom: error, 46 characters")]


async def test_invalid_arguments_and_unknown_tools_are_never_sent(server: McpTestServer):
    source = await opened(server)
    calls_before = list(server.recorded.calls)
    bad = await source.call("add", {"a": "two", "c": 1}, context())
    assert bad.is_error
    assert bad.content.startswith("invalid arguments for add: ")
    assert "'b' is a required property" in bad.content
    assert "a: must be of type integer" in bad.content
    assert "two" not in bad.content  # never the values sent
    unknown = await source.call("nope", {}, context())
    assert unknown.is_error
    assert "has no tool 'nope'" in unknown.content
    assert server.recorded.calls == calls_before


async def test_a_slow_tool_past_its_timeout_may_have_taken_effect(server: McpTestServer):
    source = await opened(server, timeout_seconds=0.5)
    ctx = context()
    outcome = await source.call("slow", {"seconds": 5}, ctx)
    assert outcome.is_error
    assert outcome.content == (
        "slow gave no answer within 0.5 seconds "
        "(the call may have taken effect: check before repeating it)"
    )
    assert outcome.data == {"failure": "timeout", "sent": True, "retryable": False}
    assert ctx.logs[-1][0] == "warning"


async def test_a_server_that_goes_away_mid_call_and_stays_away(own_server: McpTestServer):
    source = await opened(own_server)

    async def stop_soon() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(own_server.stop)

    stopping = asyncio.create_task(stop_soon())
    mid_call = await source.call("send", {"to": "ops", "body": "hello", "delay": 2}, context())
    await stopping
    assert mid_call.is_error
    assert mid_call.data == {"failure": "disconnected", "sent": True, "retryable": False}
    assert "may have taken effect" in mid_call.content
    assert own_server.sent == []  # it went away before sending
    after = await source.call("send", {"to": "ops", "body": "hello"}, context())
    assert after.is_error
    assert after.content.startswith("MCP server tools is unreachable: could not connect")
    # nothing was sent, so running it again is safe
    assert after.data == {"failure": "unreachable", "sent": False, "retryable": True}


async def test_confirm_tells_read_only_tools_apart(server: McpTestServer):
    source = await opened(server)
    call = ToolCall(id="c1", name="echo", arguments={"text": "x"})
    assert (await source.confirm("echo", call, context())).status == "not_done"
    assert (await source.confirm("send", call, context())).status == "unknown"


async def test_results_are_capped_for_the_model_and_kept_whole(server: McpTestServer):
    source = await opened(server)
    ctx = ToolContext(deployment_id="dep-mcp", limits=ToolLimits(max_content_chars=100))
    outcome = await source.call("echo", {"text": "x" * 500}, ctx)
    assert outcome.truncated
    assert len(outcome.content) < 200
    assert outcome.full_content == "echo: " + "x" * 500


# --- credentials -------------------------------------------------------------------------


async def test_a_bearer_token_from_an_app_setting_goes_only_into_the_request(
    server: McpTestServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    auth = {"type": "bearer", "setting": "SERVICE_TOOLS_TOKEN"}
    source = await opened(server, {"SERVICE_TOOLS_TOKEN": TOKEN}, auth=auth)
    ctx = context()
    outcome = await source.call("whoami", {}, ctx)
    assert server.recorded.headers[-1]["authorization"] == f"Bearer {TOKEN}"
    # the server echoed it: the model sees it scrubbed
    assert outcome.content == "you sent: Bearer [redacted]"
    assert TOKEN not in source.listing.model_dump_json()
    assert TOKEN not in repr(ctx.logs)
    # what this process logged, but for the test server's own logging (it runs here too)
    ours = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGERS)]
    assert ours
    assert not [r for r in ours if TOKEN in r.getMessage()]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "service tools: app setting SERVICE_TOOLS_TOKEN is not set"),
        (
            "@Microsoft.KeyVault(VaultName=kv;SecretName=tools-token)",
            "service tools: app setting SERVICE_TOOLS_TOKEN is a Key Vault reference that did not resolve",
        ),
    ],
)
async def test_a_missing_or_unresolved_secret_is_named_and_nothing_is_sent(
    server: McpTestServer, value: str | None, expected: str
):
    listed = await opened(server)
    spec = ServiceSpec.model_validate(
        {**listed.spec.model_dump(), "auth": {"type": "bearer", "setting": "SERVICE_TOOLS_TOKEN"}}
    )
    env = {"SERVICE_TOOLS_TOKEN": value} if value else {}
    source = McpToolSource(listed.listing.model_copy(update={"spec": spec}), access(**env))
    requests_before = len(server.recorded.headers)
    outcome = await source.call("add", {"a": 1, "b": 1}, context())
    assert outcome.is_error
    assert outcome.content.startswith(expected)
    assert outcome.data == {"failure": "credentials", "sent": False, "retryable": False}
    assert len(server.recorded.headers) == requests_before
    with pytest.raises(McpUnavailable, match="SERVICE_TOOLS_TOKEN"):
        await list_mcp_tools(spec, access(**env))


class FakeCredential:
    """Stands in for azure-identity's credential: hands out a token per scope."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str]] = []

    def factory(self, client_id: str | None) -> FakeCredential:
        self.client_id = client_id
        return self

    async def get_token(self, *scopes: str) -> Any:
        self.asked.append((self.client_id, scopes[0]))
        return type("AccessToken", (), {"token": f"mi-token-for-{scopes[0]}", "expires_on": 0})()


async def test_a_managed_identity_token_for_the_services_scope(server: McpTestServer):
    fake = FakeCredential()
    app_identity = "11111111-2222-3333-4444-555555555555"
    creds = Credentials(settings(AZURE_CLIENT_ID=app_identity), credential_factory=fake.factory)
    spec = spec_for(server, auth={"type": "managed_identity", "scope": "api://tools/.default"})
    source = await McpToolSource.open(spec, ServiceAccess(creds))
    outcome = await source.call("whoami", {}, context())
    assert (
        server.recorded.headers[-1]["authorization"] == "Bearer mi-token-for-api://tools/.default"
    )
    assert outcome.content == "you sent: Bearer [redacted]"
    assert fake.asked[-1] == (app_identity, "api://tools/.default")


# --- host rules --------------------------------------------------------------------------


async def test_loopback_is_refused_unless_listed_and_nothing_is_sent(server: McpTestServer):
    listed = await opened(server)
    strict = listed.spec.model_copy(update={"allowed_hosts": []})
    source = McpToolSource(listed.listing.model_copy(update={"spec": strict}), access())
    requests_before = len(server.recorded.headers)
    outcome = await source.call("add", {"a": 1, "b": 1}, context())
    assert outcome.content == (
        "refused: 127.0.0.1 is a loopback address; list the host in allowed_hosts to allow it"
    )
    assert outcome.data == {"failure": "refused", "sent": False, "retryable": False}
    assert len(server.recorded.headers) == requests_before


async def test_a_name_is_connected_to_only_at_the_addresses_it_was_checked_at(
    server: McpTestServer,
):
    resolver = TableResolver({"tools.test": ["127.0.0.1"], "meta.test": ["169.254.169.254"]})
    url = f"http://tools.test:{server.port}/mcp"
    # listed exactly: trusted on a private address, reached through the vetted lookup
    exact = ServiceSpec(name="named", kind="mcp", url=url, allowed_hosts=["tools.test"])
    source = await McpToolSource.open(exact, access(resolver=lambda: resolver))
    assert (await source.call("add", {"a": 1, "b": 1}, context())).content == "2"
    # listed by a wildcard: a private address is refused
    wildcard = exact.model_copy(update={"allowed_hosts": ["*.test"]})
    with pytest.raises(McpUnavailable, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        await list_mcp_tools(wildcard, access(resolver=lambda: resolver))
    # a metadata address never, even for a host listed exactly
    meta = ServiceSpec(
        name="meta", kind="mcp", url="http://meta.test/mcp", allowed_hosts=["meta.test"]
    )
    with pytest.raises(McpUnavailable, match=r"meta\.test resolves to a cloud metadata address"):
        await list_mcp_tools(meta, access(resolver=lambda: resolver))
