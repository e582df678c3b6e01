"""JSON in and out of HTTP functions, and RFC 9457 problem details for every error."""

import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import azure.functions as func
from azure.core.exceptions import ServiceRequestError
from pydantic import BaseModel, ValidationError

from haymaker.errors import BadRequestError, HaymakerError, RateLimitedError
from haymaker.settings import SettingsError

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

logger = logging.getLogger("haymaker.api")

P = ParamSpec("P")
T = TypeVar("T", bound=BaseModel)


def json_response(
    body: BaseModel | dict[str, Any] | list[Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, default=str)
    return func.HttpResponse(text, status_code=status, mimetype=JSON, headers=headers)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return func.HttpResponse(
        json.dumps(body, default=str), status_code=status, mimetype=PROBLEM_JSON, headers=headers
    )


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "key": ".".join(str(part) for part in error["loc"]) or "body",
            "message": "unknown field" if error["type"] == "extra_forbidden" else error["msg"],
        }
        for error in exc.errors()
    ]


def problem_for(exc: Exception) -> func.HttpResponse:
    if isinstance(exc, RateLimitedError):
        return problem(
            exc.status, exc.title, exc.detail, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, HaymakerError):
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors)
    if isinstance(exc, ValidationError):
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['key']}: {e['message']}" for e in errors)
        return problem(422, "Validation failed", detail, errors=errors)
    if isinstance(exc, SettingsError):
        logger.error("a setting is malformed: %s", exc)
        return problem(
            503,
            "Service misconfigured",
            f"the app setting {exc.setting or 'named below'} is missing or malformed: {exc}",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, ServiceRequestError):
        logger.error("storage is not reachable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "storage is not reachable; try again shortly",
            headers={"Retry-After": "5"},
        )
    incident = uuid.uuid4().hex[:12]
    logger.exception("unhandled error (incident %s)", incident)
    return problem(500, "Internal error", f"unexpected error; incident {incident} is in the logs")


def problem_responses(
    handler: Callable[P, Awaitable[func.HttpResponse]],
) -> Callable[P, Awaitable[func.HttpResponse]]:
    """Turn any exception a handler raises into a problem+json response."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except Exception as exc:
            return problem_for(exc)

    return wrapper


def read_body(req: func.HttpRequest, model: type[T]) -> T:
    raw = req.get_body()
    if not raw:
        raise BadRequestError("the request needs a JSON body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequestError("the body must be a JSON object")
    # Strict: JSON types must match the schema (0 is not false, "5" is not 5). A workload's
    # own config stays lenient, as the CLI's `-c key=value` pairs arrive as strings.
    return model.model_validate_json(raw, strict=True)


def query_int(
    req: func.HttpRequest, name: str, default: int | None, *, minimum: int, maximum: int
) -> int | None:
    raw = req.params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"query parameter {name} must be an integer") from None
    if not minimum <= value <= maximum:
        raise BadRequestError(f"query parameter {name} must be between {minimum} and {maximum}")
    return value


def query_str(req: func.HttpRequest, name: str) -> str | None:
    """A query parameter as given: None when absent ("" is a value, and validated as one)."""
    return req.params.get(name)


def query_bool(req: func.HttpRequest, name: str) -> bool:
    raw = req.params.get(name)
    if raw is None:
        return False
    raw = raw.lower()
    if raw in ("0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadRequestError(f"query parameter {name} must be true or false")


def base_url(req: func.HttpRequest) -> str:
    """The request URL without its query string or trailing slash."""
    return req.url.split("?", 1)[0].rstrip("/")
