"""The entries a model turn sends: the goal, and every entry after the range the latest
summary stands in for. Entries the agent's committed cursor has moved past never change (a
step re-run after a crash rewrites only entries from that cursor's `next_index` on), so this
process keeps them, and a turn reads from the table only what is new instead of the whole
transcript again. Kept per transcript (the cursor's `transcript_id`, so a deployment purged
and deployed again under the same id starts afresh), least recently used first out, within
a bound on transcripts and characters. Another instance simply reads what it lacks."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from haymaker.agents.transcript import TranscriptEntry

if TYPE_CHECKING:
    from haymaker.agents.session import AgentSession

MAX_TRANSCRIPTS = 64
MAX_CHARS = 16_000_000  # about what the kept entries' text adds up to, all transcripts
ALL = 10**6  # read limit: a transcript's entries (max_turns is at most 500)


@dataclass
class _Kept:
    goal: TranscriptEntry
    start: int  # the index `entries` begins at
    entries: list[TranscriptEntry]  # contiguous, all below the cursor when kept
    chars: int


class KeptEntries:
    def __init__(self, max_transcripts: int = MAX_TRANSCRIPTS, max_chars: int = MAX_CHARS):
        self.max_transcripts, self.max_chars = max_transcripts, max_chars
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()
        self._chars = 0

    def get(self, key: tuple[str, str], start: int) -> _Kept | None:
        """What is kept of the transcript, if it covers every entry from `start` on."""
        kept = self._kept.get(key)
        if kept is None or kept.start > start:
            return None
        self._kept.move_to_end(key)
        return kept

    def keep(
        self,
        key: tuple[str, str],
        goal: TranscriptEntry,
        start: int,
        entries: list[TranscriptEntry],
        below: int,
    ) -> None:
        """Keep `goal` and the leading run of `entries` (dense, from index `start`) below
        `below`: the next_index of the cursor as last committed."""
        self._drop(key)
        if below <= goal.index:
            return  # not even the goal is committed yet
        sealed = [entry for entry in entries if entry.index < below]
        chars = sum(_size(entry) for entry in (goal, *sealed))
        if chars > self.max_chars // 4:
            return  # one transcript may not crowd out the others
        self._kept[key] = _Kept(goal, start, sealed, chars)
        self._chars += chars
        while len(self._kept) > self.max_transcripts or self._chars > self.max_chars:
            self._drop(next(iter(self._kept)))

    def _drop(self, key: tuple[str, str]) -> None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._chars -= kept.chars


KEPT = KeptEntries()


async def turn_context(session: AgentSession) -> list[TranscriptEntry]:
    """The goal and every entry after the summarised range, in order: from memory what the
    cursor has passed, from the table the rest (an interrupted run's answer included)."""
    cursor, store, deployment_id = session.cursor, session.transcript, session.deployment_id
    upto = cursor.summarised_upto
    start = 1 if upto is None else upto + 1
    key = (deployment_id, cursor.transcript_id) if cursor.transcript_id else None
    kept = KEPT.get(key, start) if key else None
    if kept is None:
        first = await store.read(deployment_id, limit=1)
        if not first:
            return []
        goal, known = first[0], []
    else:
        goal = kept.goal
        known = [entry for entry in kept.entries if entry.index >= start]
    after = known[-1].index if known else start - 1
    entries = known + await store.read(deployment_id, after=after, limit=ALL)
    if key:
        committed = session.ctx.cursor.get("next_index", 0)  # as the step began
        KEPT.keep(key, goal, start, entries, committed)
    return [goal, *entries]


def _size(entry: TranscriptEntry) -> int:
    result = entry.tool_result.content if entry.tool_result else ""
    calls = sum(len(str(call.arguments)) for call in entry.tool_calls)
    return len(entry.content) + len(entry.full_content or "") + len(result) + calls + 200
