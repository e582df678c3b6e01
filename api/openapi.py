"""The OpenAPI 3.1 document, generated from the operations' declarations (api.operation) and
the pydantic models they name. It is built on the first request for it, never at import.

What the declarations imply is derived here rather than declared: 400 for any operation with
path, query or body inputs, 422 for a body, and for every operation behind a function key
401 (the host's, no body), 403 (App Service authentication without the role) and 503 (storage
unreachable or a setting malformed). A response's `link` links its body field to every
operation taking a path parameter of that name.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from api.auth import FUNCTION_KEY_HEADER, FUNCTION_KEY_QUERY, host_checks_keys
from api.http import JSON, PROBLEM_JSON
from api.operation import Operation, registered_operations, resolve

if TYPE_CHECKING:
    from pydantic import BaseModel

_PROBLEMS = {
    400: "Malformed request (bad JSON, query parameter or identifier)",
    403: (
        "Signed in (App Service authentication) without the role this needs, or a browser "
        "request from another site to change something"
    ),
    404: "No such deployment, schedule or workload",
    409: "Not legal in the current state (a transition, or a schedule at max_active)",
    422: (
        "The body, cron, time zone or workload config does not satisfy its schema, "
        "or a continuation token does not decode"
    ),
    429: "Too many deploy requests from this caller; see Retry-After",
    503: (
        "Storage or the orchestration service is not reachable, or an app setting is "
        "malformed (the detail names it)"
    ),
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until this caller may deploy again",
        "schema": {"type": "integer", "minimum": 1},
        "required": True,
    }
}


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Haymaker Functions",
            "version": "0.1.0",
            "description": "Deploy, run, stop, resume and clean up goal-seeking agent workloads.",
        },
        "servers": [{"url": server_url}],
        # What the routes that need a role take, as they were declared (api/auth.py).
        "security": (
            [{"functionKey": []}, {"functionKeyQuery": []}]
            if host_checks_keys()
            else [{"entraId": []}]
        ),
        **_document(registered_operations()),
    }


def problem_statuses(operation: Operation) -> list[int]:
    """Every problem status an operation can answer, declared or implied."""
    statuses = set(operation.problems)
    if operation.path or operation.query or operation.body:
        statuses.add(400)
    if operation.body:
        statuses.add(422)
    if operation.role is not None:
        statuses |= {401, 403, 503}
    if operation.method != "GET":
        statuses.add(403)  # a browser request from another site
    return sorted(statuses)


class _Schemas:
    """Component schemas of every model the operations name, from one models_json_schema
    call: bodies the API reads as it validates them (accepted aliases such as `workload`),
    everything it sends as it serializes them. A model read in one shape and sent in another
    gets two components (`-Input`/`-Output`). Query models are read for their properties,
    which become parameters, and are no components themselves."""

    def __init__(self, operations: tuple[Operation, ...]) -> None:
        from pydantic.json_schema import models_json_schema

        self.queries = _unique(o.query_model for o in operations if o.query_model)
        requests = _unique(o.body_model for o in operations if o.body_model)
        responses = _unique(
            [resolve("Problem")]
            + [
                model
                for o in operations
                for models in o.response_models.values()
                for model in models
            ]
        )
        refs, document = models_json_schema(
            [
                *((model, "validation") for model in (*requests, *self.queries)),
                *((model, "serialization") for model in responses),
            ],
            ref_template="#/components/schemas/{model}",
        )
        self.refs = {model: ref for (model, _), ref in refs.items()}
        self.components: dict[str, Any] = document.get("$defs", {})
        self._query_schemas = {model: self._take(model) for model in self.queries}

    def _take(self, model: type[BaseModel]) -> dict[str, Any]:
        name = self.refs[model]["$ref"].rsplit("/", 1)[1]
        return self.components.pop(name)

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        return dict(self.refs[model])

    def query_parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = self._query_schemas[model]
        required = set(schema.get("required", ()))
        return [
            _parameter(name, "query", prop, required=name in required)
            for name, prop in schema["properties"].items()
        ]


def _unique(models: Any) -> list[Any]:
    return list(dict.fromkeys(models))


def _parameter(name: str, where: str, schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """A parameter from its JSON schema: its description moves up to the parameter, and an
    optional value's null branch goes (an absent parameter is the null)."""
    schema = dict(schema)
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema = {**branches[0], **schema}  # the field's own keys win over its type's
    elif branches:
        schema["anyOf"] = branches
    schema.pop("title", None)
    description = schema.pop("description", "")
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    return [
        _parameter(name, "path", adapter.json_schema(), required=True)
        for name, adapter in operation.path_types.items()
    ]


def _links(field: str, operations: tuple[Operation, ...]) -> dict[str, Any]:
    """The id in a response feeds these operations (for clients and stateful fuzzing)."""
    return {
        other.operation_id: {
            "operationId": other.operation_id,
            "parameters": {field: f"$response.body#/{field}"},
        }
        for other in operations
        if field in other.path
    }


def _responses(
    operation: Operation, operations: tuple[Operation, ...], schemas: _Schemas
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, response in sorted(operation.responses.items()):
        models = operation.response_models[status]
        if not models:
            schema: dict[str, Any] = {"type": "object"}
        elif len(models) == 1:
            schema = schemas.ref(models[0])
        else:
            schema = {"oneOf": [schemas.ref(model) for model in models]}
        documented: dict[str, Any] = {
            "description": response.description,
            "content": {JSON: {"schema": schema}},
        }
        if response.headers:
            documented["headers"] = {
                name: {"description": description, "schema": {"type": "string"}}
                for name, description in response.headers.items()
            }
        if response.link:
            documented["links"] = _links(response.link, operations)
        responses[str(status)] = documented
    problem = {PROBLEM_JSON: {"schema": schemas.ref(resolve("Problem"))}}
    for status in problem_statuses(operation):
        if status == 401:
            responses["401"] = {"description": "Missing or wrong function key"}
            continue
        responses[str(status)] = {"description": _PROBLEMS[status], "content": problem}
        if status == 429:
            responses["429"]["headers"] = _RETRY_AFTER
    return responses


def _operation(
    operation: Operation, operations: tuple[Operation, ...], schemas: _Schemas
) -> dict[str, Any]:
    documented: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.role is None:
        documented["security"] = []
    parameters = _path_parameters(operation)
    if operation.query_model is not None:
        parameters += schemas.query_parameters(operation.query_model)
    if parameters:
        documented["parameters"] = parameters
    if operation.body_model is not None:
        documented["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schemas.ref(operation.body_model)}},
        }
    documented["responses"] = _responses(operation, operations, schemas)
    return documented


@cache
def _document(operations: tuple[Operation, ...]) -> dict[str, Any]:
    schemas = _Schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(f"/{operation.route}", {})[operation.method.lower()] = _operation(
            operation, operations, schemas
        )
    return {
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": FUNCTION_KEY_HEADER},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": FUNCTION_KEY_QUERY},
                "entraId": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "an Entra ID access token for the Haymaker app registration "
                    "(App Service authentication, HAYMAKER_AUTH_MODE=easyauth)",
                },
            },
        },
    }
