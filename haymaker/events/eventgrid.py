"""Publishing the feed to an Azure Event Grid custom topic (HAYMAKER_EVENTGRID_ENDPOINT),
with the official SDK (azure-eventgrid, imported on first send) signing in as the app's
managed identity, which the Bicep grants "EventGrid Data Sender" on the topic."""

from __future__ import annotations

from typing import Any

from yarl import URL

from haymaker import tracing
from haymaker.events.delivery import DeliveryFailed

SINK = "eventgrid"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def check_endpoint(endpoint: str) -> None:
    """ValueError unless `endpoint` is https (plain http only to a loopback test topic)."""
    try:
        url = URL(endpoint)
    except ValueError:
        raise ValueError("must be the topic's endpoint URL") from None
    if url.scheme == "https" and url.host:
        return
    if url.scheme == "http" and url.host in LOOPBACK:
        return
    raise ValueError("must be an https URL (the topic's endpoint)")


class EventGridSink:
    name = SINK
    batch_size = 50  # Event Grid takes up to 1 MB per request; events are a few KB
    start_at = 0  # the whole feed (as far as it is kept): nothing before its setup is lost

    def __init__(self, endpoint: str, credential: Any) -> None:
        check_endpoint(endpoint)
        self.endpoint = endpoint
        self._credential = credential
        self._client: Any = None
        # A loopback test topic is plain http: the SDK refuses a bearer token there unless told.
        self._options = {} if URL(endpoint).scheme == "https" else {"enforce_https": False}

    def wants(self, event: dict[str, Any]) -> bool:
        return True

    async def send(self, events: list[dict[str, Any]]) -> None:
        from azure.core.exceptions import AzureError
        from azure.eventgrid.aio import EventGridPublisherClient

        if self._client is None:
            self._client = EventGridPublisherClient(self.endpoint, self._credential)
        with tracing.span(
            "eventgrid.publish",
            kind="producer",
            attributes={
                "messaging.system": "eventgrid",
                "messaging.batch.message_count": len(events),
            },
        ):
            try:
                await self._client.send(events, **self._options)
            except AzureError as exc:
                status = getattr(exc, "status_code", None)
                raise DeliveryFailed(
                    f"Event Grid refused the events ({status or type(exc).__name__})"
                ) from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def identity_credential(client_id: str | None) -> Any:
    from azure.identity.aio import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=client_id)
