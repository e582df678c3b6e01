"""Typed errors of the platform. The HTTP layer maps each kind to one status code."""

from __future__ import annotations

from typing import Any


class HaymakerError(Exception):
    """Base class; `status` is the HTTP status the API answers with."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class BadRequestError(HaymakerError):
    status = 400
    title = "Bad request"


class InvalidKeyError(BadRequestError):
    title = "Invalid identifier"


class ValidationFailedError(HaymakerError):
    status = 422
    title = "Validation failed"


class ConfigError(ValidationFailedError):
    title = "Invalid workload configuration"


class LLMNotConfiguredError(ValidationFailedError):
    title = "LLM not configured"


class PayloadTooLargeError(ValidationFailedError):
    title = "Payload too large"


class NotFoundError(HaymakerError):
    status = 404
    title = "Not found"


class DeploymentNotFoundError(NotFoundError):
    title = "Deployment not found"


class WorkloadNotFoundError(NotFoundError):
    title = "Workload not found"


class ScheduleNotFoundError(NotFoundError):
    title = "Schedule not found"


class ApprovalNotFoundError(NotFoundError):
    title = "Approval not found"


class ConflictError(HaymakerError):
    status = 409
    title = "Conflict"


class IllegalTransitionError(ConflictError):
    title = "Illegal state transition"

    def __init__(self, source: Any, target: Any, reason: str | None = None) -> None:
        detail = f"cannot go from {source} to {target}"
        if reason:
            detail = f"{detail}: {reason}"
        super().__init__(detail)
        self.source = source
        self.target = target


class ApprovalSettledError(ConflictError):
    """The approval was decided (or cancelled) already; `raced`: by a decider who was at it
    at the same time as this one, rather than before it."""

    title = "Approval already settled"

    def __init__(self, detail: str, *, raced: bool = False) -> None:
        super().__init__(detail)
        self.raced = raced


class DeploymentExistsError(ConflictError):
    title = "Deployment already exists"


class ConcurrencyError(ConflictError):
    title = "Concurrent update"


class ServiceUnavailableError(HaymakerError):
    status = 503
    title = "Service unavailable"


class UnauthorizedError(HaymakerError):
    """No credential the app accepts (App Service authentication on, and no signed-in
    caller): answered with `WWW-Authenticate: Bearer`."""

    status = 401
    title = "Sign-in required"


class ForbiddenError(HaymakerError):
    status = 403
    title = "Forbidden"


class RateLimitedError(HaymakerError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
