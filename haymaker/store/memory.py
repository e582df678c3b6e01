"""The memory table: an agent's durable notes (PartitionKey = scope, RowKey = the note's key).

A scope is one deployment's own notes (`deployment:<id>`, deleted with the deployment through
`delete_deployment`) or, when an agent's config enables memory, the notes every deployment of
that agent shares (`agent:<name>`, kept until deleted on purpose). Scopes never see each
other's notes. Sizes are bounded so a search can scan a whole scope.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from pydantic import BaseModel, ConfigDict

from haymaker import keys
from haymaker.clock import Clock, utc_now
from haymaker.errors import InvalidKeyError, PayloadTooLargeError
from haymaker.store.tables import Page, Tables, delete_partition, first_page

TABLE = "memory"
MAX_KEY_CHARS = 128
MAX_TEXT_CHARS = 16_000  # a Table string property holds 32K UTF-16 code units
MAX_TAGS = 10
MAX_TAG_CHARS = 40
MAX_NOTES_PER_SCOPE = 500  # a search reads the whole scope: at most ~8 MB
MAX_SEARCH_RESULTS = 50
MAX_QUERY_CHARS = 200
AGENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_AGENT_NAME = re.compile(AGENT_NAME_PATTERN)


class MemoryLimitError(PayloadTooLargeError):
    title = "Memory limit reached"


class MemoryScope(BaseModel):
    """Whose notes: one deployment's, or one agent's across its deployments."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["deployment", "agent"]
    owner: str

    @classmethod
    def deployment(cls, deployment_id: str) -> MemoryScope:
        return cls(kind="deployment", owner=keys.deployment_id(deployment_id))

    @classmethod
    def agent(cls, agent_name: str) -> MemoryScope:
        if not _AGENT_NAME.fullmatch(agent_name):
            raise InvalidKeyError("agent name must be 1-64 of A-Z a-z 0-9 _ . -")
        return cls(kind="agent", owner=agent_name)

    @property
    def partition(self) -> str:
        return f"{self.kind}:{self.owner}"


def memory_scope(
    deployment_id: str, agent_name: str | None = None, *, enable_memory: bool = False
) -> MemoryScope:
    """The scope of an agent's memory tools: the agent's shared notes when its config
    enables memory (`enable_memory`), else the deployment's own."""
    if enable_memory:
        if not agent_name:
            raise ValueError("shared memory needs the agent's name")
        return MemoryScope.agent(agent_name)
    return MemoryScope.deployment(deployment_id)


class MemoryNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    text: str
    tags: list[str]
    updated_at: datetime


def _note(entity: Any) -> MemoryNote:
    return MemoryNote(
        key=entity["RowKey"],
        text=entity["text"],
        tags=json.loads(entity.get("tags") or "[]"),
        updated_at=entity["updated_at"],
    )


def note_key(key: str) -> str:
    key = key.strip()
    if len(key) > MAX_KEY_CHARS:
        raise MemoryLimitError(f"a note's key is at most {MAX_KEY_CHARS} characters")
    return keys.table_key(key, "note key")


def _tags(tags: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    if len(cleaned) > MAX_TAGS:
        raise MemoryLimitError(f"a note has at most {MAX_TAGS} tags")
    if any(len(tag) > MAX_TAG_CHARS for tag in cleaned):
        raise MemoryLimitError(f"a tag is at most {MAX_TAG_CHARS} characters")
    return cleaned


def _matches(note: MemoryNote, terms: list[str]) -> int:
    """How often the terms occur in the note (0 unless every term occurs)."""
    haystack = "\n".join([note.key, note.text, *note.tags]).casefold()
    counts = [haystack.count(term) for term in terms]
    return sum(counts) if all(counts) else 0


class MemoryStore:
    def __init__(self, tables: Tables, clock: Clock = utc_now) -> None:
        self._tables = tables
        self._clock = clock

    async def write(
        self, scope: MemoryScope, key: str, text: str, tags: list[str] | None = None
    ) -> MemoryNote:
        """Create or replace the note `key` (the same write twice leaves the same note).
        MemoryLimitError past a size limit or when a new key would exceed the scope's
        MAX_NOTES_PER_SCOPE."""
        key = note_key(key)
        if len(text) > MAX_TEXT_CHARS:
            raise MemoryLimitError(f"a note's text is at most {MAX_TEXT_CHARS} characters")
        note = MemoryNote(key=key, text=text, tags=_tags(tags or []), updated_at=self._clock())
        table = await self._tables.get(TABLE)
        existing = {
            entity["RowKey"]
            async for entity in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": scope.partition}, select=["RowKey"]
            )
        }
        if key not in existing and len(existing) >= MAX_NOTES_PER_SCOPE:
            raise MemoryLimitError(
                f"this memory holds the most notes allowed ({MAX_NOTES_PER_SCOPE}): "
                "overwrite an existing note instead"
            )
        await table.upsert_entity(
            {
                "PartitionKey": scope.partition,
                "RowKey": key,
                "text": note.text,
                "tags": json.dumps(note.tags),
                "updated_at": note.updated_at,
            },
            mode=UpdateMode.REPLACE,
        )
        return note

    async def read(self, scope: MemoryScope, key: str) -> MemoryNote | None:
        table = await self._tables.get(TABLE)
        try:
            return _note(await table.get_entity(scope.partition, note_key(key)))
        except ResourceNotFoundError:
            return None

    async def search(self, scope: MemoryScope, query: str, *, limit: int = 10) -> list[MemoryNote]:
        """Notes holding every word of `query` (case-insensitive, in key, text or tags),
        most matches first, then the newest; an empty query gives the newest notes."""
        if len(query) > MAX_QUERY_CHARS:
            raise MemoryLimitError(f"a search is at most {MAX_QUERY_CHARS} characters")
        limit = max(1, min(limit, MAX_SEARCH_RESULTS))
        terms = query.casefold().split()
        table = await self._tables.get(TABLE)
        scored = []
        async for entity in table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": scope.partition}
        ):
            note = _note(entity)
            score = _matches(note, terms) if terms else 1
            if score:
                scored.append((score, note.updated_at, note))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [note for _, _, note in scored[:limit]]

    async def page(
        self, scope: MemoryScope, *, limit: int = 100, continuation: str | None = None
    ) -> Page[MemoryNote]:
        return await first_page(
            await self._tables.get(TABLE),
            "PartitionKey eq @pk",
            {"pk": scope.partition},
            _note,
            limit=limit,
            continuation=continuation,
        )

    async def delete(self, scope: MemoryScope, key: str) -> None:
        table = await self._tables.get(TABLE)
        await table.delete_entity(scope.partition, note_key(key))  # a missing note is fine

    async def delete_scope(self, scope: MemoryScope) -> int:
        """Delete every note of `scope`; returns how many. Safe to repeat."""
        return await delete_partition(await self._tables.get(TABLE), scope.partition)

    async def delete_deployment(self, deployment_id: str) -> int:
        """Delete a deployment's own notes (call on cleanup and purge; an agent's shared
        notes are not touched)."""
        return await self.delete_scope(MemoryScope.deployment(deployment_id))
