"""memory_write, memory_read, memory_search: the agent's durable notes (haymaker.store.memory),
in the scope its context names.

memory_write is not side-effecting for the ledger: it changes only platform state, as an
upsert by key, so running it again after a crash leaves the same note (the last write of a
key wins)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from haymaker.errors import HaymakerError
from haymaker.store.memory import (
    MAX_KEY_CHARS,
    MAX_QUERY_CHARS,
    MAX_SEARCH_RESULTS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TEXT_CHARS,
    MemoryNote,
)
from haymaker.tools.context import ToolContext
from haymaker.tools.function import tool
from haymaker.tools.outcome import ToolError, ToolOutcome

SNIPPET_CHARS = 300

Key = Annotated[
    str,
    Field(
        min_length=1, max_length=MAX_KEY_CHARS, description="The note's name, e.g. 'customer-42'"
    ),
]


def _describe(note: MemoryNote) -> dict[str, object]:
    return {"key": note.key, "tags": note.tags, "updated_at": note.updated_at.isoformat()}


@tool
async def memory_write(
    key: Key,
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)],
    ctx: ToolContext,
    tags: Annotated[
        list[Annotated[str, Field(max_length=MAX_TAG_CHARS)]],
        Field(max_length=MAX_TAGS, description="Words to find the note by"),
    ] = [],  # noqa: B006 - pydantic copies defaults
) -> ToolOutcome:
    """Save a note under a key (replacing any note of that key) to read or search later."""
    store, scope = ctx.memory_access()
    try:
        note = await store.write(scope, key, text, tags)
    except HaymakerError as exc:
        raise ToolError(exc.detail) from None
    return ToolOutcome(
        content=f"saved note {note.key!r} ({len(note.text)} characters)", data=_describe(note)
    )


@tool
async def memory_read(key: Key, ctx: ToolContext) -> ToolOutcome:
    """Read the note saved under a key."""
    store, scope = ctx.memory_access()
    try:
        note = await store.read(scope, key)
    except HaymakerError as exc:
        raise ToolError(exc.detail) from None
    if note is None:
        raise ToolError(f"there is no note {key.strip()!r}; memory_search finds notes by words")
    tags = f" [{', '.join(note.tags)}]" if note.tags else ""
    return ToolOutcome(
        content=f"{note.key}{tags} (saved {note.updated_at:%Y-%m-%d %H:%M} UTC):\n{note.text}",
        data={**_describe(note), "text": note.text},
    )


@tool
async def memory_search(
    query: Annotated[
        str,
        Field(
            max_length=MAX_QUERY_CHARS,
            description="Words every note found must contain (empty: the newest notes)",
        ),
    ],
    ctx: ToolContext,
    limit: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS)] = 10,
) -> ToolOutcome:
    """Find saved notes by words in their key, text or tags; shows the start of each."""
    store, scope = ctx.memory_access()
    try:
        notes = await store.search(scope, query, limit=limit)
    except HaymakerError as exc:
        raise ToolError(exc.detail) from None
    if not notes:
        return ToolOutcome(content="no notes found", data={"notes": []})
    lines = []
    for note in notes:
        snippet = note.text if len(note.text) <= SNIPPET_CHARS else note.text[:SNIPPET_CHARS] + "…"
        tags = f" [{', '.join(note.tags)}]" if note.tags else ""
        lines.append(f"- {note.key}{tags}: {snippet}")
    return ToolOutcome(
        content=f"{len(notes)} notes found (memory_read shows one whole):\n" + "\n".join(lines),
        data={"notes": [_describe(note) for note in notes]},
    )
