"""JSON in and out of HTTP functions, and RFC 9457 problem details for every error.

pydantic, azure.core and the settings load only when a request needs them: importing the app
stays cheap (a body or an error of theirs cannot exist before they are loaded anyway)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

import azure.functions as func

from api.auth import SIGN_IN_PATH
from haymaker.errors import BadRequestError, HaymakerError, RateLimitedError, UnauthorizedError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

logger = logging.getLogger("haymaker.api")

T = TypeVar("T", bound="BaseModel")


def json_response(
    body: BaseModel | dict[str, Any] | list[Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    exclude_none: bool = False,
) -> func.HttpResponse:
    from pydantic import BaseModel

    if isinstance(body, BaseModel):
        text = body.model_dump_json(exclude_none=exclude_none)
    else:
        text = json.dumps(body, default=str)
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
    from azure.core.exceptions import ServiceRequestError
    from pydantic import ValidationError

    from haymaker.settings import SettingsError

    if isinstance(exc, RateLimitedError):
        return problem(
            exc.status, exc.title, exc.detail, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, UnauthorizedError):
        # Bearer: the dashboard offers App Service authentication's sign-in on this, and
        # asks for a function key on a 401 without it (the host's own).
        challenge = {"WWW-Authenticate": f'Bearer realm="haymaker", sign_in="{SIGN_IN_PATH}"'}
        return problem(exc.status, exc.title, exc.detail, headers=challenge)
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


def base_url(req: func.HttpRequest) -> str:
    """The request URL without its query string or trailing slash."""
    return req.url.split("?", 1)[0].rstrip("/")
