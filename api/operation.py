"""Each HTTP operation declared once, on its handler:

    http = Operations(bp, tag="deployments")

    @http.get(
        "deployments/{deployment_id}",
        "getDeployment",
        role=Role.READER,
        responses={200: Response("DeploymentState", "The deployment")},
        problems=(404,),
    )
    async def get_deployment(deployment_id: DeploymentId) -> Reply:
        '''Status of one deployment.'''

The decorator registers a function for that route and method on the blueprint, and the
declaration feeds both the request pipeline (authorize the role, parse path parameters and the
query into their types, read the body, turn exceptions into problem+json) and the OpenAPI
document (api.openapi). The docstring's first line is the summary.

The handler's parameters say what it takes: each `{name}` of the route, typed by its
annotation; `query`, the query model; `body`, the body model; and, if it needs them, `req`
(the request, for its URL and headers) and `client` (the durable client). Annotations are
names in api.schemas, kept as strings (`from __future__ import annotations` in the handler's
module) and resolved on first use, so importing the app imports neither pydantic nor models.
"""

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partialmethod
from typing import Any, Literal

import azure.durable_functions as df
import azure.functions as func

from api.auth import Role, authorize, host_checks_keys, refuse_cross_site
from api.http import json_response, problem_for, read_body
from haymaker import tracing
from haymaker.errors import BadRequestError, InvalidKeyError

Method = Literal["GET", "POST", "PATCH", "DELETE"]
Handler = Callable[..., Awaitable["Reply"]]

_ROUTE_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INJECTED = frozenset({"query", "body", "req", "client"})

LOCATION = {"Location": "URL of what was created"}


@dataclass(frozen=True)
class Response:
    """A success response: its body is one of `models` (names in api.schemas; none: any
    JSON object). `link` names a body field that is the path parameter of that name of every
    operation taking one; `headers` maps header names to descriptions."""

    models: str | tuple[str, ...] | None
    description: str
    headers: Mapping[str, str] = field(default_factory=dict)
    link: str | None = None

    @property
    def model_names(self) -> tuple[str, ...]:
        if self.models is None:
            return ()
        return (self.models,) if isinstance(self.models, str) else self.models


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a body of a model its operation declares for `status`."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] | None = None
    exclude_none: bool = False


def resolve(annotation: object) -> Any:
    """A handler's annotation or a response's model name, as the type it names."""
    if not isinstance(annotation, str):
        return annotation
    from api import schemas

    try:
        return getattr(schemas, annotation)
    except AttributeError:
        raise TypeError(f"{annotation!r} is not a name in api.schemas") from None


@dataclass(frozen=True, eq=False)
class Operation:
    """One declared operation. The types it names resolve on first use (first request or
    first document), not when it is declared."""

    method: Method
    route: str  # the Functions route template; "/" + route is the document's path
    operation_id: str
    summary: str
    tag: str
    role: Role | None  # None: anonymous, no function key either
    responses: Mapping[int, Response]
    problems: frozenset[int]  # besides those the inputs and the function key imply
    path: Mapping[str, object]  # route parameter -> its annotation
    query: object | None
    body: object | None
    takes_request: bool
    takes_client: bool
    handler: Handler

    @cached_property
    def query_model(self) -> Any:
        return None if self.query is None else resolve(self.query)

    @cached_property
    def body_model(self) -> Any:
        return None if self.body is None else resolve(self.body)

    @cached_property
    def path_types(self) -> dict[str, Any]:
        from pydantic import TypeAdapter

        return {name: TypeAdapter(resolve(kind)) for name, kind in self.path.items()}

    @cached_property
    def response_models(self) -> dict[int, tuple[type, ...]]:
        return {
            status: tuple(resolve(name) for name in response.model_names)
            for status, response in self.responses.items()
        }

    def inputs(self, req: func.HttpRequest) -> dict[str, Any]:
        from pydantic import ValidationError

        values: dict[str, Any] = {}
        for name, kind in self.path_types.items():
            try:
                values[name] = kind.validate_python(req.route_params.get(name))
            except ValidationError as exc:
                message = exc.errors()[0]["msg"]
                raise InvalidKeyError(f"path parameter {name}: {message}") from None
        if self.query_model is not None:
            values["query"] = parse_query(self.query_model, req)
        if self.body_model is not None:
            values["body"] = read_body(req, self.body_model)
        return values

    def respond(self, reply: Reply) -> func.HttpResponse:
        """The reply as sent; one the declaration does not cover is a bug, not a response."""
        models = self.response_models.get(reply.status)
        if models is None or (models and not isinstance(reply.body, models)):
            raise TypeError(
                f"{self.operation_id} answered {reply.status} with a "
                f"{type(reply.body).__name__}, which it does not declare"
            )
        return json_response(
            reply.body, reply.status, dict(reply.headers or {}), exclude_none=reply.exclude_none
        )

    async def serve(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient | None
    ) -> func.HttpResponse:
        with _server_span(req, self) as span:
            try:
                if self.method != "GET":
                    refuse_cross_site(req)
                if self.role is not None:
                    authorize(req, self.role)
                values = self.inputs(req)
                if self.takes_request:
                    values["req"] = req
                if self.takes_client:
                    values["client"] = client
                response = self.respond(await self.handler(**values))
            except Exception as exc:
                response = problem_for(exc)
            tracing.set_attributes(span, {"http.response.status_code": response.status_code})
            if response.status_code >= 500:
                tracing.mark_error(span, str(response.status_code))
            return response


def _server_span(req: func.HttpRequest, operation: Operation) -> Any:
    """The request's span (a child of the caller's traceparent), once tracing is on."""
    if not tracing.enabled():
        _switch_tracing_on()
    return tracing.span(
        f"{operation.method} /{operation.route}",
        parent=req.headers.get("traceparent"),
        kind="server",
        attributes={
            "http.request.method": operation.method,
            "http.route": f"/{operation.route}",
            "haymaker.operation_id": operation.operation_id,
        },
    )


def _switch_tracing_on() -> None:
    """The runtime switches tracing on as the settings ask, when it is first built; a
    malformed setting is the handler's to report."""
    from haymaker.runtime import get_runtime

    try:
        get_runtime()
    except Exception:
        return


def parse_query(model: Any, req: func.HttpRequest) -> Any:
    """The query string as `model`; a malformed value is a 400 naming its parameter. This is
    the one place query values are read (tests/test_api_declarations.py holds it to that)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(req.params))
    except ValidationError as exc:
        errors = [
            {"key": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        detail = "; ".join(f"query parameter {e['key']}: {e['message']}" for e in errors)
        raise BadRequestError(detail, errors=errors) from None


_operations: dict[tuple[str, str], Operation] = {}


def registered_operations() -> tuple[Operation, ...]:
    """Every operation declared in this process, in declaration order."""
    return tuple(_operations.values())


def declare(
    method: Method,
    route: str,
    operation_id: str,
    tag: str,
    role: Role | None,
    responses: Mapping[int, Response],
    problems: tuple[int, ...],
    handler: Handler,
) -> Operation:
    where = f"{handler.__module__}.{handler.__name__}"
    literal = _ROUTE_PARAMETER.sub("", route)
    if "{" in literal or "}" in literal:
        raise TypeError(f"{where}: route {route!r} may hold only plain {{name}} parameters")
    route_names = _ROUTE_PARAMETER.findall(route)
    parameters = inspect.signature(handler).parameters
    unknown = set(parameters) - set(route_names) - _INJECTED
    missing = set(route_names) - set(parameters)
    if unknown or missing:
        raise TypeError(
            f"{where} must take the route's parameters {sorted(route_names)} and may take "
            f"{sorted(_INJECTED)}; it takes {sorted(unknown)} and lacks {sorted(missing)}"
        )
    summary = (handler.__doc__ or "").strip().splitlines()
    if not summary:
        raise TypeError(f"{where} needs a docstring: its first line is the summary")
    if not any(200 <= status < 300 for status in responses):
        raise TypeError(f"{where} declares no success response")
    return Operation(
        method=method,
        route=route,
        operation_id=operation_id,
        summary=summary[0].rstrip("."),
        tag=tag,
        role=role,
        responses=dict(responses),
        problems=frozenset(problems),
        path={name: parameters[name].annotation for name in route_names},
        query=parameters["query"].annotation if "query" in parameters else None,
        body=parameters["body"].annotation if "body" in parameters else None,
        takes_request="req" in parameters,
        takes_client="client" in parameters,
        handler=handler,
    )


def _function(operation: Operation) -> Callable[..., Awaitable[func.HttpResponse]]:
    """The function the host calls, with the bindings' parameters."""
    if operation.takes_client:

        async def function(
            req: func.HttpRequest, client: df.DurableOrchestrationClient
        ) -> func.HttpResponse:
            return await operation.serve(req, client)

    else:

        async def function(req: func.HttpRequest) -> func.HttpResponse:  # type: ignore[misc]
            return await operation.serve(req, None)

    # Named by the operation id, unique among operations and apart from the snake_case
    # activities'. Not functools.wraps: its __wrapped__ would show the worker the handler's
    # parameters instead of the bindings'.
    function.__name__ = function.__qualname__ = operation.operation_id
    function.__module__ = operation.handler.__module__
    function.__doc__ = operation.handler.__doc__
    return function


class Operations:
    """Declares the operations of one blueprint, all under one tag."""

    def __init__(self, blueprint: df.Blueprint, tag: str) -> None:
        self.blueprint = blueprint
        self.tag = tag

    def operation(
        self,
        method: Method,
        route: str,
        operation_id: str,
        *,
        role: Role | None,
        responses: Mapping[int, Response],
        problems: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            operation = declare(
                method, route, operation_id, self.tag, role, responses, problems, handler
            )
            key = (method, route)
            if key in _operations or any(
                o.operation_id == operation_id for o in _operations.values()
            ):
                raise ValueError(f"{method} {route} ({operation_id}) is declared twice")
            _operations[key] = operation
            function: Any = _function(operation)
            if operation.takes_client:
                function = self.blueprint.durable_client_input(client_name="client")(function)
            keyed = role is not None and host_checks_keys()
            level = func.AuthLevel.FUNCTION if keyed else func.AuthLevel.ANONYMOUS
            self.blueprint.route(route=route, methods=[method], auth_level=level)(function)
            return handler

        return register

    get = partialmethod(operation, "GET")
    post = partialmethod(operation, "POST")
    patch = partialmethod(operation, "PATCH")
    delete = partialmethod(operation, "DELETE")
