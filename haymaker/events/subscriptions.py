"""Webhook subscriptions, what their delivery has reached, and what was given up on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, SecretStr, field_validator

from haymaker.events.types import EventType
from haymaker.models import Model

SUBSCRIPTION_ID_PATTERN = r"^sub-[a-f0-9]{10}$"
MAX_SUBSCRIPTIONS = 100


class SubscriptionSpec(Model):
    """What a user asks for: where to POST which events, and the secret to sign them with
    (write-only: never shown again)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://ops.example.com/haymaker",
                    "event_types": ["deployment.failed", "deployment.approval_requested"],
                    "secret": "a-long-random-shared-secret",
                }
            ]
        },
    )

    url: str = Field(min_length=8, max_length=2000, description="https, or an allowed host")
    event_types: list[EventType] = Field(
        default_factory=list, max_length=20, description="empty: every event"
    )
    secret: SecretStr = Field(
        min_length=16, max_length=256, description="HMAC-SHA256 key of the signature header"
    )
    description: str | None = Field(default=None, max_length=200)

    @field_validator("event_types")
    @classmethod
    def _unique(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))


class Subscription(Model):
    """A stored subscription as the API shows it: never its secret."""

    subscription_id: str = Field(pattern=SUBSCRIPTION_ID_PATTERN)
    url: str
    event_types: list[EventType] = Field(default_factory=list)
    description: str | None = None
    created_at: datetime

    @property
    def sink(self) -> str:
        return webhook_sink(self.subscription_id)

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


def webhook_sink(subscription_id: str) -> str:
    return f"webhook-{subscription_id}"


class Delivery(Model):
    """Where one sink (a webhook subscription, or Event Grid) is in the feed."""

    cursor: int = Field(default=0, description="feed position of the last event dealt with")
    delivered: int = 0
    dead_lettered: int = 0
    attempts: int = Field(default=0, description="failed attempts at the event after cursor")
    first_failure_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    last_delivered_at: datetime | None = None
    lease_until: datetime | None = Field(default=None, exclude=True)


class DeadLetter(Model):
    """An event a sink gave up on after retrying for HAYMAKER_WEBHOOK_RETRY_HOURS."""

    seq: int
    event: dict[str, Any]
    attempts: int
    error: str
    dead_lettered_at: datetime
