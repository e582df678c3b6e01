"""The tool layer: @tool's schemas and calls, the context, sources, the registry and the
routing of tool-made resources back to their delete hooks."""

from __future__ import annotations

import hashlib
import logging
import threading
from importlib.metadata import EntryPoint
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from haymaker.llm import ToolCall, ToolSpec
from haymaker.models import Resource
from haymaker.store import Stores
from haymaker.tools import (
    AmbiguousToolError,
    Confirmation,
    Tool,
    Toolbox,
    ToolContext,
    ToolError,
    ToolInfo,
    ToolLimits,
    ToolOutcome,
    ToolRegistry,
    ToolResourceError,
    ToolSource,
    UnknownToolError,
    delete_tool_resource,
    tool,
    tool_resource_ref,
)
from haymaker.tools import registry as registry_module


def context(**fields: Any) -> ToolContext:
    return ToolContext(deployment_id="dep-tools", **fields)


# --- declaring tools -----------------------------------------------------------------


@tool
def search(
    query: Annotated[str, Field(description="Words to look for")],
    ctx: ToolContext,
    limit: Annotated[int, Field(ge=1, le=50, description="How many results")] = 10,
    order: Literal["newest", "best"] = "best",
) -> dict[str, Any]:
    """Search the catalogue.

    Finds items by words."""
    return {"query": query, "limit": limit, "order": order, "deployment": ctx.deployment_id}


def test_annotated_parameters_become_a_clean_schema():
    assert search.name == "search"
    assert search.description == "Search the catalogue.\n\nFinds items by words."
    assert search.spec.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "query": {"type": "string", "description": "Words to look for"},
            "limit": {
                "type": "integer",
                "description": "How many results",
                "minimum": 1,
                "maximum": 50,
                "default": 10,
            },
            "order": {"type": "string", "enum": ["newest", "best"], "default": "best"},
        },
        "required": ["query"],
    }


class Address(BaseModel):
    street: str
    title: str = Field(default="", description="Mr, Ms, Dr...")


class Letter(BaseModel):
    """Send a letter to someone."""

    to: Address
    body: str = Field(max_length=2000, description="What the letter says")
    urgent: bool = False


@tool(name="send_letter", side_effects=True, requires_approval=True)
async def send(letter: Letter) -> str:
    return f"sent to {letter.to.street}: {letter.body}"


def test_a_pydantic_model_is_the_arguments_object():
    schema = send.spec.input_schema
    assert send.name == "send_letter"
    assert send.description == "Send a letter to someone."  # the model's docstring
    assert schema["type"] == "object"
    assert schema["required"] == ["to", "body"]
    assert schema["properties"]["body"] == {
        "type": "string",
        "maxLength": 2000,
        "description": "What the letter says",
    }
    assert schema["properties"]["urgent"] == {"type": "boolean", "default": False}
    # Generated titles are gone; a property that is *called* title stays.
    assert schema["$defs"]["Address"] == {
        "type": "object",
        "properties": {
            "street": {"type": "string"},
            "title": {"type": "string", "default": "", "description": "Mr, Ms, Dr..."},
        },
        "required": ["street"],
    }
    assert "title" not in schema
    # ToolSpec accepts it, so every provider can be offered it
    assert isinstance(send.spec, ToolSpec)


def test_flags_and_info():
    info = send.info("local")
    assert info == ToolInfo(
        spec=send.spec, source="local", side_effects=True, requires_approval=True
    )
    assert search.info("local").side_effects is False


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: tool(name="untyped")(lambda x: x), "needs a type"),
        (lambda: tool(name="has space")(search.fn), "must be 1-64"),
        (lambda: Tool(_star_args), "must be named"),
        (lambda: tool(confirm=lambda call, ctx: None)(search.fn), "side-effecting"),
    ],
)
def test_declarations_that_cannot_work_are_refused(declare, message):
    with pytest.raises((TypeError, ValueError), match=message):
        declare()


def _star_args(*items: str) -> str:
    return ""


# --- calling tools -------------------------------------------------------------------


async def test_calling_validates_and_injects_the_context():
    outcome = await search.call({"query": "hay", "limit": "3"}, context(), source="local")
    assert outcome == ToolOutcome(
        content='{"query": "hay", "limit": 3, "order": "best", "deployment": "dep-tools"}',
        data={"query": "hay", "limit": 3, "order": "best", "deployment": "dep-tools"},
    )


async def test_invalid_arguments_are_an_error_result_without_the_values():
    outcome = await search.call(
        {"query": "hay", "limit": "sk-secret-value", "colour": "red"}, context(), source="local"
    )
    assert outcome.is_error
    assert outcome.content.startswith("invalid arguments for search: ")
    assert "limit: Input should be a valid integer" in outcome.content
    assert "colour: Extra inputs are not permitted" in outcome.content
    assert "sk-secret-value" not in outcome.content

    missing = await send.call({"to": {}}, context(), source="local")
    assert missing.is_error
    assert "to.street: Field required" in missing.content
    assert "body: Field required" in missing.content


async def test_a_pydantic_model_tool_gets_the_validated_model():
    outcome = await send.call(
        {"to": {"street": "1 Lane"}, "body": "hello"}, context(), source="local"
    )
    assert outcome == ToolOutcome(content="sent to 1 Lane: hello")


@tool
def where_am_i() -> str:
    """The thread the tool runs on."""
    return threading.current_thread().name


async def test_sync_tools_run_off_the_event_loop_thread():
    outcome = await where_am_i.call({}, context(), source="local")
    assert outcome.content != threading.current_thread().name
    assert where_am_i() == threading.current_thread().name  # still a plain function


class Reading(BaseModel):
    celsius: float


@tool
async def read_sensor(ctx: ToolContext, fail: str = "") -> Reading | None:
    """A sensor."""
    ctx.log("reading the sensor")
    if fail == "tool":
        raise ToolError("the sensor is offline")
    if fail == "bug":
        raise KeyError("a bug")
    if fail == "none":
        return None
    return Reading(celsius=21.5)


async def test_results_errors_and_log_lines():
    ctx = context()
    assert await read_sensor.call({}, ctx, source="local") == ToolOutcome(
        content='{"celsius": 21.5}', data={"celsius": 21.5}
    )
    assert ctx.logs == [("info", "read_sensor: reading the sensor")]
    assert (await read_sensor.call({"fail": "none"}, ctx, source="local")).content == "(no output)"
    offline = await read_sensor.call({"fail": "tool"}, ctx, source="local")
    assert offline == ToolOutcome(content="the sensor is offline", is_error=True)
    with pytest.raises(KeyError):  # a bug is not the model's to see: the caller decides
        await read_sensor.call({"fail": "bug"}, ctx, source="local")


@tool
def long_text(size: int) -> str:
    """Writes a lot."""
    return "x" * size


async def test_long_content_is_capped_and_kept_whole():
    ctx = context(limits=ToolLimits(max_content_chars=100))
    short = await long_text.call({"size": 100}, ctx, source="local")
    assert short == ToolOutcome(content="x" * 100)
    long = await long_text.call({"size": 250}, ctx, source="local")
    assert long.truncated
    assert long.content == "x" * 100 + "\n[truncated: showing 100 of 250 characters]"
    assert long.full_content == "x" * 250
    assert long.text == "x" * 250
    assert long.to_result("call-1").content == long.content


# --- resources and their delete hook -------------------------------------------------

deleted: list[tuple[Resource, str]] = []


def _delete_file(resource: Resource, ctx: ToolContext) -> None:
    deleted.append((resource, ctx.deployment_id))


@tool(side_effects=True, delete=_delete_file)
def make_file(path: str, ctx: ToolContext) -> str:
    """Creates a file."""
    ctx.add_resource("file", path, size=3)
    return f"created {path}"


@tool(side_effects=True)
def careless(ctx: ToolContext) -> str:
    """Creates something it cannot delete."""
    ctx.add_resource("thing", "one")
    return "done"


async def test_resources_name_their_tool_and_cleanup_reaches_its_delete_hook(stores: Stores):
    registry = ToolRegistry([make_file])
    ctx = context()
    plain = await registry.call("make_file", {"path": "a.txt"}, ctx)
    assert [resource.name for resource in plain.resources] == ["make_file:file:a.txt"]
    outcome = await registry.call("make_file", {"path": "notes/a.txt"}, ctx)
    [recorded] = outcome.resources
    # "/" may not be in a Table key: the recorded name carries a digest, the data the name
    digest = hashlib.sha256(b"notes/a.txt").hexdigest()[:32]
    assert recorded == Resource(
        kind="tool",
        name=f"make_file:file:~{digest}",
        data={
            "tool": "make_file",
            "source": "local",
            "kind": "file",
            "name": "notes/a.txt",
            "data": {"size": 3},
        },
    )
    # each outcome has its own call's; the context collects them all
    assert ctx.resources == [*plain.resources, *outcome.resources]

    # Recorded with the deployment, read back as cleanup reads it, then routed.
    await stores.resources.put("dep-tools", outcome.resources)
    [stored] = (await stores.resources.page("dep-tools")).items
    deleted.clear()
    assert await delete_tool_resource(stored, [ToolRegistry([search]), registry], context())
    assert deleted == [(Resource(kind="file", name="notes/a.txt", data={"size": 3}), "dep-tools")]

    workload_own = Resource(kind="queue", name="q1")
    assert tool_resource_ref(workload_own) is None
    assert not await delete_tool_resource(workload_own, [registry], context())
    with pytest.raises(ToolResourceError, match="make_file"):
        await delete_tool_resource(stored, [ToolRegistry([search])], context())


@tool(side_effects=True, delete=_delete_file)
def half_made(path: str, how: str, ctx: ToolContext) -> str:
    """Records a file, then fails before it is done."""
    ctx.add_resource("file", path)
    if how == "tool":
        raise ToolError("the disk is full")
    raise OSError("crashed")


async def test_resources_recorded_before_a_failure_are_kept():
    ctx = context()
    failed = await half_made.call({"path": "a", "how": "tool"}, ctx, source="local")
    assert failed.is_error
    assert [resource.name for resource in failed.resources] == ["half_made:file:a"]
    with pytest.raises(OSError, match="crashed"):
        await half_made.call({"path": "b", "how": "crash"}, ctx, source="local")
    # the caller still learns of "b": it may exist, so cleanup must try to delete it
    assert [resource.name for resource in ctx.resources] == ["half_made:file:a", "half_made:file:b"]


async def test_a_tool_without_a_delete_hook_cannot_record_resources():
    with pytest.raises(RuntimeError, match="no delete hook"):
        await careless.call({}, context(), source="local")


# --- confirming interrupted calls ----------------------------------------------------


def _confirm_charge(call: ToolCall, ctx: ToolContext) -> Confirmation:
    if call.arguments["amount"] == 1:
        return Confirmation.done("charged 1")
    if call.arguments["amount"] == 2:
        return Confirmation.not_done("no such charge")
    return Confirmation.unknown("the bank does not say")


@tool(side_effects=True, confirm=_confirm_charge)
async def charge(amount: int) -> str:
    """Charge the card."""
    return f"charged {amount}"


async def test_confirm_answers_for_interrupted_calls():
    box = await Toolbox.open([ToolRegistry([charge, search, make_file])])

    def call(name: str, **arguments: Any) -> ToolCall:
        return ToolCall(id="c1", name=name, arguments=arguments)

    done = await box.confirm(call("charge", amount=1), context())
    assert done == Confirmation.done(ToolOutcome(content="charged 1"))
    assert (await box.confirm(call("charge", amount=2), context())).status == "not_done"
    assert (await box.confirm(call("charge", amount=3), context())).status == "unknown"
    # side-effect free: safe to run again; side effects but no hook: a person decides
    assert (await box.confirm(call("search", query="x"), context())).status == "not_done"
    assert (await box.confirm(call("make_file", path="p"), context())).status == "unknown"


# --- sources, toolboxes and the registry ---------------------------------------------


class RemoteSource(ToolSource):
    """A source that is not Python functions (as an MCP server will be)."""

    name = "remote"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    async def list_tools(self) -> list[ToolInfo]:
        spec = ToolSpec(name="lookup", description="Looks up", input_schema={"type": "object"})
        return [ToolInfo(spec=spec, source=self.name, side_effects=True)]

    async def call(self, name: str, arguments: Any, ctx: ToolContext) -> ToolOutcome:
        self.calls.append((name, dict(arguments), ctx.call_id))
        return ToolOutcome(content=f"remote {name}")


async def test_a_toolbox_takes_names_from_any_source():
    remote = RemoteSource()
    box = await Toolbox.open([ToolRegistry([search, charge]), remote], ["lookup", "search"])
    assert box.names == ["lookup", "search"]
    assert [spec.name for spec in box.specs()] == ["lookup", "search"]
    assert box.info("lookup").side_effects

    from_remote = await box.run(ToolCall(id="c7", name="lookup", arguments={"q": 1}), context())
    assert from_remote == ToolOutcome(content="remote lookup")
    assert remote.calls == [("lookup", {"q": 1}, "c7")]
    local = await box.run(ToolCall(id="c8", name="search", arguments={"query": "q"}), context())
    assert local.data["query"] == "q"

    # charge exists, but this agent was not given it: the model is told what it has
    refused = await box.run(ToolCall(id="c9", name="charge", arguments={}), context())
    assert refused.is_error
    assert refused.content == "no tool named 'charge' (known tools: lookup, search)"
    broken = ToolCall(id="c10", name="search", arguments_error="not JSON", raw_arguments="{")
    assert (await box.run(broken, context())).is_error


async def test_opening_a_toolbox_with_an_unknown_or_ambiguous_name_fails():
    with pytest.raises(UnknownToolError, match=r"no tool named 'serch' \(known tools: charge, "):
        await Toolbox.open([ToolRegistry([search, charge])], ["serch"])
    twin = Tool(search.fn, name="lookup")
    with pytest.raises(AmbiguousToolError, match="lookup is offered by both local and remote"):
        await Toolbox.open([ToolRegistry([twin]), RemoteSource()], ["lookup"])


def test_the_registry_refuses_name_clashes_and_lists_known_names():
    registry = ToolRegistry([search])
    registry.add(search)  # the same tool again is fine
    with pytest.raises(ValueError, match="two tools are named search"):
        registry.add(Tool(long_text.fn, name="search"))
    with pytest.raises(UnknownToolError, match=r"known tools: search\)"):
        registry.get("nothing")


def test_builtin_and_plugin_tools_are_registered(monkeypatch, caplog):
    group = "haymaker.tools"
    plugins = [
        EntryPoint("shout", "tests.support.tool_plugins:shout", group),
        EntryPoint("broken", "tests.support.nowhere:tool", group),
        EntryPoint("not_a_tool", "tests.support.tool_plugins:not_a_tool", group),
        EntryPoint("yell", "tests.support.tool_plugins:shout", group),  # misnamed
        EntryPoint("http_fetch", "tests.support.tool_plugins:impostor", group),
    ]
    asked: list[str] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        asked.append(group)
        return plugins

    monkeypatch.setattr(registry_module, "entry_points", entry_points)
    registry_module.get_registry.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="haymaker.tools.registry"):
            found = registry_module.get_registry()
    finally:
        registry_module.get_registry.cache_clear()
    assert asked == ["haymaker.tools"]
    assert found.names() == [
        "finish",
        "http_fetch",
        "memory_read",
        "memory_search",
        "memory_write",
        "shout",
    ]
    assert found.get("http_fetch").fn.__module__ == "haymaker.tools.builtin.http_fetch"
    logged = [record.getMessage() for record in caplog.records]
    assert logged == [
        "tool plugin broken could not be loaded",
        "tool plugin not_a_tool could not be loaded",
        "tool plugin yell could not be loaded",
        "tool plugin http_fetch clashes with another tool",
    ]


async def test_finish_declares_the_result():
    from haymaker.tools import FINISH_TOOL, get_registry

    outcome = await get_registry().call(
        FINISH_TOOL, {"summary": "found 3", "result": {"count": 3}}, context()
    )
    assert outcome == ToolOutcome(
        content="finished", data={"summary": "found 3", "result": {"count": 3}}
    )
    assert (await get_registry().call(FINISH_TOOL, {}, context())).is_error


def test_importing_the_package_loads_no_http_or_storage_code():
    import subprocess
    import sys

    code = (
        "import sys, haymaker.tools; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'azure') "
        "or m.startswith(('haymaker.store', 'haymaker.tools.builtin.http'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
