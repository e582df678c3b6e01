"""How a resource created by a tool names its tool, and how cleanup finds the tool again.

A tool records `(kind, name, data)`; the deployment keeps it as
`Resource(kind="tool", name="<tool>:<kind>:<name>", data={"tool", "source", "kind", "name",
"data"})`: one kind for every tool (a Resource kind is at most 32 characters, a tool name up
to 64), the tool name first so two tools never clash, the tool's own view kept whole in the
data (the recorded name uses a digest of the tool's name when that is not a legal key). At
cleanup `delete_tool_resource` rebuilds that view and hands it to the tool's source, which
calls the tool's `delete` hook.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from haymaker import keys
from haymaker.errors import InvalidKeyError
from haymaker.models import Resource

if TYPE_CHECKING:
    from haymaker.tools.context import ToolContext
    from haymaker.tools.source import ToolSource

TOOL_RESOURCE_KIND = "tool"
MAX_RECORDED_NAME = 200  # Resource.name's limit


@dataclass(frozen=True)
class ToolResourceRef:
    """A deployment resource that a tool created: which tool, from which source, and the
    resource as the tool recorded it."""

    tool: str
    source: str
    resource: Resource


def tool_resource(tool: str, source: str, kind: str, name: str, data: dict[str, Any]) -> Resource:
    """The deployment resource for what `tool` recorded; ValueError if it cannot be one."""
    try:
        Resource(kind=kind, name=name, data=data)  # cleanup rebuilds this view: it must be valid
    except ValidationError as exc:
        raise ValueError(f"tool {tool} cannot record resource {kind}:{name}: {exc}") from None
    return Resource(
        kind=TOOL_RESOURCE_KIND,
        name=_recorded_name(tool, kind, name),
        data={"tool": tool, "source": source, "kind": kind, "name": name, "data": data},
    )


def _recorded_name(tool: str, kind: str, name: str) -> str:
    """`<tool>:<kind>:<name>`, or with a digest of the name where the name would not make
    a legal key (a `/` in a path, say) or too long a one; the data keeps the real name."""
    plain = f"{tool}:{kind}:{name}"
    if len(plain) <= MAX_RECORDED_NAME:
        try:
            keys.table_key(f"{TOOL_RESOURCE_KIND}:{plain}")
            return plain
        except InvalidKeyError:
            pass
    return f"{tool}:{kind}:~{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def tool_resource_ref(resource: Resource) -> ToolResourceRef | None:
    """Which tool created `resource`, or None if no tool did."""
    if resource.kind != TOOL_RESOURCE_KIND:
        return None
    data = resource.data
    try:
        own = Resource(kind=data["kind"], name=data["name"], data=data.get("data") or {})
        return ToolResourceRef(tool=str(data["tool"]), source=str(data["source"]), resource=own)
    except (KeyError, ValidationError):
        return None


class ToolResourceError(LookupError):
    """A tool resource whose tool cannot be found among the sources given."""


async def delete_tool_resource(
    resource: Resource, sources: Sequence[ToolSource], ctx: ToolContext
) -> bool:
    """Delete `resource` through the tool that created it; False if no tool created it (the
    workload deletes it itself). The agent workload calls this from `delete_resource`.

    The source recorded with the resource answers; if it is not among `sources` (renamed,
    say) the first source offering the tool does. ToolResourceError if none does: the
    resource stays recorded, so cleanup reports it rather than forgetting it."""
    ref = tool_resource_ref(resource)
    if ref is None:
        return False
    ordered = sorted(sources, key=lambda source: source.name != ref.source)
    for source in ordered:
        if await source.has_tool(ref.tool):
            await source.delete_resource(ref.tool, ref.resource, ctx)
            return True
    known = ", ".join(source.name for source in sources) or "none"
    raise ToolResourceError(
        f"resource {resource.name} was created by tool {ref.tool} of source {ref.source}, "
        f"which no source offers (sources: {known})"
    )
