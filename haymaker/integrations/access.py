"""What a service's tool source needs besides the service itself: credentials, the shared
rate limiter, a clock, and (tests only) a resolver for name lookups. One `ServiceAccess`
serves every source of a deployment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from haymaker.clock import Clock, utc_now
from haymaker.errors import RateLimitedError
from haymaker.tools.builtin.netpolicy import HostPolicy
from haymaker.tools.outcome import ToolDeferred, ToolOutcome

if TYPE_CHECKING:
    from haymaker.integrations.credentials import Credentials
    from haymaker.integrations.models import ServiceSpec
    from haymaker.store.ratelimits import RateLimiter
    from haymaker.tools.builtin.http_client import ResolverFactory

RATE_LIMIT_ACTION = "call"


@dataclass(frozen=True)
class ServiceAccess:
    credentials: Credentials
    rate_limiter: RateLimiter | None = None
    clock: Clock = utc_now
    resolver: ResolverFactory | None = None

    async def admit(self, spec: ServiceSpec) -> None:
        """Count one call against the service's rate limit (shared by every deployment);
        ToolDeferred with the end of the current minute when it is used up. Nothing is
        counted or sent when it is refused."""
        if self.rate_limiter is None or spec.rate_limit_per_minute <= 0:
            return
        now = self.clock()
        try:
            await self.rate_limiter.take(
                rate_limit_caller(spec), RATE_LIMIT_ACTION, spec.rate_limit_per_minute, now
            )
        except RateLimitedError as exc:
            raise ToolDeferred(
                f"service {spec.name} allows {spec.rate_limit_per_minute} calls a minute",
                now + timedelta(seconds=exc.retry_after),
            ) from None


def rate_limit_caller(spec: ServiceSpec) -> str:
    """The limiter's caller key: one per service name, whichever deployment calls."""
    return f"service-{spec.name}"


def host_policy(spec: ServiceSpec) -> HostPolicy:
    return HostPolicy(spec.allowed_hosts)


class CallFailure(BaseModel):
    """Why a call got no answer from its service (an error outcome's `data`):

    - `refused`: the host rules forbid the address; nothing was sent.
    - `credentials`: the service's credential is missing; nothing was sent.
    - `unreachable`: no connection, or the session could not start; nothing was sent.
    - `timeout`: no answer in time after the call was sent; it may have taken effect.
    - `disconnected`: the connection broke after the call was sent; it may have taken effect.
    - `protocol`: the service answered with something that is not a result.

    `sent` says whether the service may have received the call; `retryable` whether running
    it again is safe and may help (not sent, or sent but side-effect free)."""

    model_config = ConfigDict(frozen=True)

    failure: str
    sent: bool
    retryable: bool


def failure_outcome(
    message: str, failure: str, *, sent: bool, side_effects: bool, transient: bool = True
) -> ToolOutcome:
    retryable = transient and (not sent or not side_effects)
    if sent and side_effects:
        message += " (the call may have taken effect: check before repeating it)"
    data: dict[str, Any] = CallFailure(failure=failure, sent=sent, retryable=retryable).model_dump()
    return ToolOutcome.error(message, data=data)
