"""Webhook subscriptions: create, list, show, delete, and what delivery gave up on. A
subscription's secret is write-only: no answer ever includes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.http import base_url
from api.operation import LOCATION, Operations, Reply, Response

if TYPE_CHECKING:
    import azure.functions as func

    from api.schemas import PageQuery, SubscriptionId, SubscriptionSpec, SubscriptionView
    from haymaker.events.subscriptions import Subscription
    from haymaker.store import Stores

bp = df.Blueprint()
http = Operations(bp, tag="events")


async def _view(stores: Stores, subscription: Subscription, head: int) -> SubscriptionView:
    from api.schemas import SubscriptionView
    from haymaker.events.subscriptions import Delivery

    delivery = await stores.subscriptions.delivery(subscription.sink) or Delivery(cursor=head)
    return SubscriptionView(
        **subscription.model_dump(), delivery=delivery, lag=max(0, head - delivery.cursor)
    )


@http.post(
    "subscriptions",
    "createSubscription",
    role=Role.ADMIN,
    responses={
        201: Response("SubscriptionView", "Created", headers=LOCATION, link="subscription_id")
    },
    problems=(409,),
)
async def create_subscription(body: SubscriptionSpec, req: func.HttpRequest) -> Reply:
    """Subscribe a webhook to lifecycle events (signed with the secret given)."""
    from haymaker.events.webhooks import check_target, webhook_policy
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    await check_target(body.url, webhook_policy(runtime.settings.webhook_hosts))
    stores = runtime.stores()
    head = await stores.feed.head()
    subscription = await stores.subscriptions.create(body, runtime.clock(), head)
    location = f"{base_url(req)}/{subscription.subscription_id}"
    view = await _view(stores, subscription, head)
    return Reply(view, 201, headers={"Location": location})


@http.get(
    "subscriptions",
    "listSubscriptions",
    role=Role.OPERATOR,
    responses={200: Response("SubscriptionList", "A page of subscriptions")},
    problems=(422,),
)
async def list_subscriptions(query: PageQuery) -> Reply:
    """List webhook subscriptions and how their delivery goes."""
    from api.schemas import SubscriptionList
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    page = await stores.subscriptions.list(limit=query.limit, continuation=query.continuation)
    head = await stores.feed.head()
    items = [await _view(stores, subscription, head) for subscription in page.items]
    return Reply(SubscriptionList(items=items, continuation=page.continuation))


@http.get(
    "subscriptions/{subscription_id}",
    "getSubscription",
    role=Role.OPERATOR,
    responses={200: Response("SubscriptionView", "The subscription")},
    problems=(404,),
)
async def get_subscription(subscription_id: SubscriptionId) -> Reply:
    """A webhook subscription and how its delivery goes."""
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    subscription = await stores.subscriptions.get(subscription_id)
    return Reply(await _view(stores, subscription, await stores.feed.head()))


@http.delete(
    "subscriptions/{subscription_id}",
    "deleteSubscription",
    role=Role.ADMIN,
    responses={200: Response("SubscriptionDeleted", "Deleted")},
    problems=(404,),
)
async def delete_subscription(subscription_id: SubscriptionId) -> Reply:
    """Delete a webhook subscription (and its dead letters)."""
    from api.schemas import SubscriptionDeleted
    from haymaker.runtime import get_runtime

    await get_runtime().stores().subscriptions.delete(subscription_id)
    return Reply(SubscriptionDeleted(subscription_id=subscription_id))


@http.get(
    "subscriptions/{subscription_id}/dead-letters",
    "listDeadLetters",
    role=Role.OPERATOR,
    responses={200: Response("DeadLetterPage", "Events delivery gave up on, oldest first")},
    problems=(404, 422),
)
async def list_dead_letters(subscription_id: SubscriptionId, query: PageQuery) -> Reply:
    """Events a subscription's delivery gave up on after retrying."""
    from api.schemas import DeadLetterPage
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    subscription = await stores.subscriptions.get(subscription_id)
    page = await stores.subscriptions.dead_letters(
        subscription.sink, limit=query.limit, continuation=query.continuation
    )
    return Reply(DeadLetterPage(items=page.items, continuation=page.continuation))
