"""Webhook subscriptions and the delivery state of every sink.

- `<prefix>subscriptions`: PartitionKey "sub", one row per subscription (its secret stored
  here, never returned); PartitionKey "delivery", one row per sink (webhook-<id>,
  eventgrid): its cursor in the feed, retry state and a lease, updated under its ETag so
  one dispatcher at a time delivers to a sink (in order).
- `<prefix>deadletters`: PartitionKey = sink, RowKey = the event's feed key.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from pydantic import SecretStr

from haymaker.errors import ConflictError, NotFoundError
from haymaker.events.subscriptions import (
    MAX_SUBSCRIPTIONS,
    DeadLetter,
    Delivery,
    Subscription,
    SubscriptionSpec,
    webhook_sink,
)
from haymaker.store.feed import event_key
from haymaker.store.tables import Page, Tables, delete_partition, first_page, row_keys

TABLE = "subscriptions"
DEAD_TABLE = "deadletters"
SUBSCRIPTIONS = "sub"
DELIVERIES = "delivery"


class SubscriptionNotFoundError(NotFoundError):
    pass


@dataclass
class WebhookTarget:
    """A subscription with the secret its deliveries are signed with."""

    subscription: Subscription
    secret: SecretStr


@dataclass
class Lease:
    """A sink's delivery state, held by one dispatcher until `state.lease_until`."""

    sink: str
    state: Delivery
    etag: str


class SubscriptionStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def create(self, spec: SubscriptionSpec, now: datetime, feed_head: int) -> Subscription:
        """A new subscription, delivering the events after `feed_head` (those from now on)."""
        table = await self._tables.get(TABLE)
        if len(await row_keys(table, SUBSCRIPTIONS)) >= MAX_SUBSCRIPTIONS:
            raise ConflictError(f"at most {MAX_SUBSCRIPTIONS} subscriptions; delete one first")
        subscription = Subscription(
            subscription_id=f"sub-{secrets.token_hex(5)}",
            url=spec.url,
            event_types=spec.event_types,
            description=spec.description,
            created_at=now,
        )
        await self._put_delivery(subscription.sink, Delivery(cursor=feed_head))
        await table.create_entity(
            {
                "PartitionKey": SUBSCRIPTIONS,
                "RowKey": subscription.subscription_id,
                "url": subscription.url,
                "event_types": json.dumps([str(kind) for kind in subscription.event_types]),
                "description": subscription.description,
                "created_at": now,
                "secret": spec.secret.get_secret_value(),
            }
        )
        return subscription

    async def get(self, subscription_id: str) -> Subscription:
        return (await self._target(subscription_id)).subscription

    async def _target(self, subscription_id: str) -> WebhookTarget:
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(SUBSCRIPTIONS, subscription_id)
        except ResourceNotFoundError:
            raise SubscriptionNotFoundError(f"no subscription {subscription_id}") from None
        return _target(entity)

    async def targets(self) -> list[WebhookTarget]:
        """Every subscription, with its secret (for the dispatcher only)."""
        table = await self._tables.get(TABLE)
        query = table.query_entities("PartitionKey eq @pk", parameters={"pk": SUBSCRIPTIONS})
        return [_target(entity) async for entity in query]

    async def list(self, *, limit: int = 50, continuation: str | None = None) -> Page[Subscription]:
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            "PartitionKey eq @pk",
            {"pk": SUBSCRIPTIONS},
            lambda entity: _target(entity).subscription,
            limit=limit,
            continuation=continuation,
        )

    async def delete(self, subscription_id: str) -> None:
        await self.get(subscription_id)
        table = await self._tables.get(TABLE)
        await table.delete_entity(SUBSCRIPTIONS, subscription_id)
        await table.delete_entity(DELIVERIES, webhook_sink(subscription_id))
        await delete_partition(await self._tables.get(DEAD_TABLE), webhook_sink(subscription_id))

    # -- delivery state ------------------------------------------------------------------------

    async def delivery(self, sink: str) -> Delivery | None:
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(DELIVERIES, sink)
        except ResourceNotFoundError:
            return None
        return _delivery(entity)

    async def _put_delivery(self, sink: str, state: Delivery) -> None:
        table = await self._tables.get(TABLE)
        await table.upsert_entity(_delivery_row(sink, state), mode=UpdateMode.REPLACE)

    async def take_lease(
        self, sink: str, now: datetime, until: datetime, start_at: int | None
    ) -> Lease | None:
        """The sink's delivery state, leased until `until`; None while another holds it. A
        sink seen for the first time starts after feed seq `start_at` (None: it has no
        state yet, so it is not delivered to: a subscription being deleted)."""
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(DELIVERIES, sink)
        except ResourceNotFoundError:
            if start_at is None:
                return None
            state = Delivery(cursor=start_at, lease_until=until)
            try:
                meta = await table.create_entity(_delivery_row(sink, state))
            except ResourceExistsError:
                return None
            return Lease(sink, state, meta["etag"])
        state = _delivery(entity)
        if state.lease_until is not None and state.lease_until > now:
            return None
        state.lease_until = until
        try:
            meta = await table.update_entity(
                _delivery_row(sink, state),
                mode=UpdateMode.REPLACE,
                etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return None
        return Lease(sink, state, meta["etag"])

    async def save(self, lease: Lease) -> bool:
        """Record the lease's state; False if the lease was lost (it expired and another
        dispatcher took the sink over): stop delivering then."""
        table = await self._tables.get(TABLE)
        try:
            meta = await table.update_entity(
                _delivery_row(lease.sink, lease.state),
                mode=UpdateMode.REPLACE,
                etag=lease.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        lease.etag = meta["etag"]
        return True

    async def slowest_cursor(self, head: int) -> int:
        """The feed position every sink has dealt with (`head` when there is none)."""
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": DELIVERIES}, select=["cursor"]
        )
        return min([int(entity["cursor"]) async for entity in query] or [head])

    # -- dead letters --------------------------------------------------------------------------

    async def dead_letter(self, sink: str, letter: DeadLetter) -> None:
        table = await self._tables.get(DEAD_TABLE)
        await table.upsert_entity(
            {
                "PartitionKey": sink,
                "RowKey": event_key(letter.seq),
                "seq": letter.seq,
                "event": json.dumps(letter.event, separators=(",", ":")),
                "attempts": letter.attempts,
                "error": letter.error[:2000],
                "dead_lettered_at": letter.dead_lettered_at,
            },
            mode=UpdateMode.REPLACE,
        )

    async def dead_letters(
        self, sink: str, *, limit: int = 50, continuation: str | None = None
    ) -> Page[DeadLetter]:
        table = await self._tables.get(DEAD_TABLE)
        return await first_page(
            table,
            "PartitionKey eq @pk",
            {"pk": sink},
            lambda entity: DeadLetter(
                seq=entity["seq"],
                event=json.loads(entity["event"]),
                attempts=entity["attempts"],
                error=entity["error"],
                dead_lettered_at=entity["dead_lettered_at"],
            ),
            limit=limit,
            continuation=continuation,
        )


def _target(entity: Any) -> WebhookTarget:
    subscription = Subscription(
        subscription_id=entity["RowKey"],
        url=entity["url"],
        event_types=json.loads(entity.get("event_types") or "[]"),
        description=entity.get("description"),
        created_at=entity["created_at"],
    )
    return WebhookTarget(subscription, SecretStr(entity["secret"]))


def _delivery_row(sink: str, state: Delivery) -> dict[str, Any]:
    row = {"PartitionKey": DELIVERIES, "RowKey": sink, **state.model_dump()}
    row["lease_until"] = state.lease_until
    return {key: value for key, value in row.items() if value is not None}


def _delivery(entity: Any) -> Delivery:
    data = {key: entity[key] for key in entity if key not in ("PartitionKey", "RowKey")}
    return Delivery.model_validate(data)
