"""Lifecycle events: CloudEvents 1.0 that are never lost.

- haymaker.events.types: the event types, and which one each status transition emits.
- haymaker.events.derive: the events a state change causes, from the record before and after.
- haymaker.store.outbox: the transactional outbox, rows in the changed entity's partition
  written in the same Table transaction as the change.
- haymaker.events.dispatcher: moves outbox rows into the feed (one global order) and hands
  the feed to the sinks (webhooks, Event Grid), each at its own cursor.

See docs/events.md.
"""
