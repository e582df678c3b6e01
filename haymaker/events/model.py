"""An event as the outbox keeps it, and as it is published: a CloudEvent 1.0 in the
structured JSON format (https://github.com/cloudevents/spec, json-format.md), with the
Distributed Tracing extension (`traceparent`) and the Sequence extension (`sequence`, the
event's place among its subject's events)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from haymaker.models import Model

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"


def new_event_id() -> str:
    return uuid.uuid4().hex


class OutboxEvent(Model):
    """What a state change records: the CloudEvent less its source, which the app's
    settings add when the event is published."""

    id: str = Field(default_factory=new_event_id)
    type: str
    subject: str
    time: datetime
    data: dict[str, Any] = Field(default_factory=dict)
    traceparent: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def cloudevent(self, source: str, sequence: str) -> dict[str, Any]:
        """The published form (JSON-ready)."""
        event: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": DATA_CONTENT_TYPE,
            "sequence": sequence,
            "data": json.loads(json.dumps(self.data, default=str)),
        }
        if self.traceparent:
            event["traceparent"] = self.traceparent
        return event


def event_source(site_name: str) -> str:
    """The CloudEvents `source` of this app's events."""
    return f"/haymaker/{site_name}"
