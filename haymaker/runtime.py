"""What the app's functions run with: settings, workloads, clock, LLM and stores, built once
per process and handed to the core's services. This is the one place dependencies are
injected: tests and the author test kit replace parts with `use_runtime(...)`, nothing else
reaches for a global override."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from haymaker.clock import Clock, utc_now
from haymaker.settings import Settings

if TYPE_CHECKING:
    from haymaker.events.dispatcher import Dispatcher
    from haymaker.events.nudge import Nudger
    from haymaker.execution import Executor
    from haymaker.lifecycle import DeployPolicy, Lifecycle
    from haymaker.llm.base import LLMClient
    from haymaker.llm.prices import Price
    from haymaker.store import Stores
    from haymaker.workloads.registry import WorkloadRegistry

LLMFactory = Callable[[], "LLMClient"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    registry: WorkloadRegistry
    clock: Clock = utc_now
    # Makes the LLM client a step uses; None: the one the settings select.
    llm_factory: LLMFactory | None = None
    # Makes the Event Grid credential; None: the app's managed identity.
    eventgrid_credential_factory: Callable[[], Any] | None = None

    def stores(self) -> Stores:
        """The running event loop's stores (the SDK's sessions are bound to a loop); a write
        that leaves events in an outbox nudges this runtime's dispatcher."""
        from haymaker.store import get_stores

        stores = get_stores(self.settings.storage)
        nudger = stores.tables.outbox_listener
        if nudger is None:
            from haymaker.events.nudge import Nudger

            nudger = stores.tables.outbox_listener = Nudger(self.dispatcher)
        cast("Nudger", nudger).dispatcher = self.dispatcher
        return stores

    def dispatcher(self) -> Dispatcher:
        """Moves events from the outboxes to the feed and delivers them to every sink."""
        from haymaker.events.delivery import Deliverer, RetryPolicy
        from haymaker.events.dispatcher import Dispatcher
        from haymaker.events.model import event_source

        settings = self.settings
        stores = get_stores_of(self)
        retry = RetryPolicy(
            first_backoff=settings.webhook_backoff_seconds,
            window=timedelta(hours=settings.webhook_retry_hours),
        )
        deliverer = Deliverer(
            stores.feed,
            stores.subscriptions,
            self.clock,
            retry,
            lease_seconds=max(5.0, 3 * settings.webhook_timeout_seconds),
        )
        return Dispatcher(stores, self.sinks, event_source(settings.site_name), deliverer)

    async def sinks(self) -> list[Any]:
        """Where events go: every webhook subscription, and the Event Grid topic if set."""
        from haymaker.events.webhooks import WebhookSink, webhook_policy

        settings = self.settings
        policy = webhook_policy(settings.webhook_hosts)
        targets = await get_stores_of(self).subscriptions.targets()
        sinks: list[Any] = [
            WebhookSink(
                target, policy, timeout_seconds=settings.webhook_timeout_seconds, clock=self.clock
            )
            for target in targets
        ]
        if settings.eventgrid_endpoint:
            from haymaker.events.eventgrid import EventGridSink

            sinks.append(EventGridSink(settings.eventgrid_endpoint, self.eventgrid_credential()))
        return sinks

    def eventgrid_credential(self) -> Any:
        if self.eventgrid_credential_factory is not None:
            return self.eventgrid_credential_factory()
        from haymaker.events.eventgrid import identity_credential

        return identity_credential(self.settings.client_id)

    def llm(self, model: str | None = None) -> LLMClient:
        """The client steps use; `model` overrides the configured model (a test's own
        client answers for every model)."""
        if self.llm_factory is not None:
            return self.llm_factory()
        from haymaker.llm import environment_llm_client

        config = self.settings.llm()
        if model:
            config = config.model_copy(update={"model": model})
        return environment_llm_client(config)

    def executor(self) -> Executor:
        from haymaker.execution import Executor

        return Executor(
            self.stores(),
            self.registry,
            clock=self.clock,
            llm=self.llm,
            prices=self.settings.prices,
            budget_wait=timedelta(hours=self.settings.budget_approval_hours),
            settings=self.settings,
        )

    def lifecycle(self) -> Lifecycle:
        from haymaker.lifecycle import Lifecycle

        return Lifecycle(
            self.stores(), self.registry, clock=self.clock, policy=self.deploy_policy()
        )

    def deploy_policy(self) -> DeployPolicy:
        from haymaker.lifecycle import DeployPolicy

        return DeployPolicy(
            require_llm=self.require_llm,
            default_budget=self.settings.default_budget,
            # A test's own client has no configured model to price.
            model_price=None if self.llm_factory else self.configured_model_price,
        )

    def require_llm(self) -> None:
        """LLMConfigError unless steps that ask for a model will get one."""
        if self.llm_factory is None:
            self.settings.llm()

    def configured_model_price(self) -> Price | None:
        return self.settings.prices.price(self.settings.llm().model)


def get_stores_of(runtime: Runtime) -> Stores:
    from haymaker.store import get_stores

    return get_stores(runtime.settings.storage)


_current: Runtime | None = None


def get_runtime() -> Runtime:
    """The process's runtime, built on first use from the environment (SettingsError if a
    setting is malformed: nothing is cached then, so a fixed setting is read next time)."""
    global _current
    if _current is None:
        from haymaker.workloads.registry import get_registry

        settings = Settings.from_env()
        _current = Runtime(settings=settings, registry=get_registry())
        if settings.tracing != "off":
            from haymaker.tracing.setup import configure

            configure(
                settings.tracing,
                connection_string=settings.appinsights_connection_string,
                client_id=settings.client_id,
            )
    return _current


@contextmanager
def use_runtime(runtime: Runtime | None = None, **changes: Any) -> Iterator[Runtime]:
    """Within the block the app's functions run with `runtime`, or with the current one
    changed by `changes` (e.g. `clock=...`, `llm_factory=...`, `settings=...`)."""
    global _current
    previous = _current
    chosen = runtime or get_runtime()
    _current = replace(chosen, **changes) if changes else chosen
    try:
        yield _current
    finally:
        _current = previous


def reset_runtime() -> None:
    """Forget the runtime: the next use reads the environment again (tests that change it)."""
    global _current
    _current = None
