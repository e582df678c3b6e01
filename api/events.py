"""The event feed: every lifecycle event in one order, read from a cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.operation import Operations, Reply, Response

if TYPE_CHECKING:
    from api.schemas import EventQuery

bp = df.Blueprint()
http = Operations(bp, tag="events")


@http.get(
    "events",
    "listEvents",
    role=Role.READER,
    responses={200: Response("EventPage", "Events after the cursor, oldest first")},
)
async def list_events(query: EventQuery) -> Reply:
    """Lifecycle events (CloudEvents) after a cursor."""
    from api.schemas import CloudEvent, EventPage
    from haymaker.runtime import get_runtime

    feed = get_runtime().stores().feed
    found = await feed.read(after=query.after, limit=query.limit, subject=query.subject)
    items = [CloudEvent.model_validate(item.event) for item in found]
    cursor = found[-1].seq if found else query.after
    return Reply(EventPage(items=items, cursor=cursor), exclude_none=True)
