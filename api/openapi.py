"""The OpenAPI 3.1 document of the HTTP API, built from the same pydantic models it serves."""

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.schemas import (
    CleanupPreview,
    DeployAccepted,
    DeploymentList,
    Health,
    LogPage,
    Metrics,
    Problem,
    Purged,
    ScheduleDeleted,
    ScheduleList,
    ScheduleView,
    WorkloadList,
)
from haymaker.models import DeploymentConfig, DeploymentState, DeploymentStatus
from haymaker.schedules.models import SCHEDULE_ID_PATTERN, ScheduleSpec, ScheduleUpdate
from haymaker.store.logs import MAX_LOG_CURSOR
from haymaker.store.tables import CONTINUATION_PATTERN
from haymaker.workloads.manifest import WorkloadManifest

# Bodies the API reads are described as it validates them (accepted aliases such as
# `workload`); everything else as it serializes them (field names, as sent).
_REQUEST_MODELS: tuple[type[BaseModel], ...] = (DeploymentConfig, ScheduleSpec, ScheduleUpdate)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    CleanupPreview,
    DeployAccepted,
    DeploymentList,
    DeploymentState,
    Health,
    LogPage,
    Metrics,
    Problem,
    Purged,
    ScheduleDeleted,
    ScheduleList,
    ScheduleView,
    WorkloadList,
    WorkloadManifest,
)

_PROBLEMS = {
    "400": "Malformed request (bad JSON, query parameter or identifier)",
    "403": "Signed in (App Service authentication) without the role this needs",
    "404": "No such deployment, schedule, workload or command",
    "409": "Not legal in the current state (a transition, or a schedule at max_active)",
    "422": (
        "The body, cron, time zone or workload config does not satisfy its schema, "
        "or a continuation token does not decode"
    ),
    "429": "Too many deploy requests from this caller; see Retry-After",
    "503": "Storage or the orchestration service is not reachable",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return dict(_schemas()[0][model])


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _responses(ok: dict[str, Any], *problems: str) -> dict[str, Any]:
    responses = dict(ok)
    for code in problems:
        responses[code] = {
            "description": _PROBLEMS[code],
            "content": {"application/problem+json": {"schema": _ref(Problem)}},
        }
    return responses


def _links(parameter: str, *operation_ids: str) -> dict[str, Any]:
    """The id in a response feeds these operations (for clients and stateful fuzzing)."""
    return {
        operation_id: {
            "operationId": operation_id,
            "parameters": {parameter: f"$response.body#/{parameter}"},
        }
        for operation_id in operation_ids
    }


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


_ID = _param(
    "deployment_id",
    "path",
    {"type": "string", "pattern": "^[a-z][a-z0-9-]{2,62}$"},
    "deployment id",
)
_WORKLOAD_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,39}$"}
_CONTINUATION = _param(
    "continuation",
    "query",
    {"type": "string", "pattern": CONTINUATION_PATTERN},
    "token from the previous page",
)
_PAGE_SIZE = _param(
    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "page size"
)
_STATUS_VALUES = [status.value for status in DeploymentStatus]
_SCHEDULE = _param(
    "schedule_id", "path", {"type": "string", "pattern": SCHEDULE_ID_PATTERN}, "schedule id"
)


def _command(name: str, summary: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ok = {
        "200": _json(DeploymentState, "Nothing to do: already there or already requested"),
        "202": _json(DeploymentState, "Desired state recorded; the orchestration acts on it"),
    }
    if name == "cleanup":
        ok["200"] = {
            "description": "With dry_run: what cleanup would delete. Otherwise: nothing to do",
            "content": {
                "application/json": {
                    "schema": {"oneOf": [_ref(CleanupPreview), _ref(DeploymentState)]}
                }
            },
        }
    return {
        "post": {
            "operationId": f"{name}Deployment",
            "summary": summary,
            "tags": ["deployments"],
            "parameters": [_ID, *(extra or [])],
            "responses": _responses(
                ok, "400", "403", "404", "409", *(["422"] if name == "cleanup" else []), "503"
            ),
        }
    }


def _with_auth_responses(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation behind a function key can answer 401 (from the host, no body) and,
    with App Service authentication on, 403."""
    for operations in paths.values():
        for operation in operations.values():
            if operation.get("security") == []:
                continue
            responses = operation["responses"]
            responses.setdefault("401", {"description": "Missing or wrong function key"})
            responses.setdefault("403", _responses({}, "403")["403"])
            if "429" in responses:
                responses["429"]["headers"] = {
                    "Retry-After": {
                        "description": "Seconds until this caller may deploy again",
                        "schema": {"type": "integer", "minimum": 1},
                        "required": True,
                    }
                }
    return paths


def _paths() -> dict[str, Any]:
    return _with_auth_responses(_lifecycle_paths())


def _lifecycle_paths() -> dict[str, Any]:
    return {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Service and storage health",
                "tags": ["service"],
                "security": [],
                "responses": {
                    "200": _json(Health, "Healthy"),
                    "503": _json(Health, "Storage unreachable"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Deployments by status and workload; schedules",
                "tags": ["service"],
                "responses": _responses({"200": _json(Metrics, "Counts")}, "403", "503"),
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["service"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/deployments": {
            "post": {
                "operationId": "deploy",
                "summary": "Deploy a workload",
                "tags": ["deployments"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(DeploymentConfig)}},
                },
                "responses": _responses(
                    {
                        "202": {
                            **_json(DeployAccepted, "Accepted; poll status_url"),
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "links": _links(
                                "deployment_id",
                                "getDeployment",
                                "getDeploymentLogs",
                                "stopDeployment",
                                "startDeployment",
                                "cleanupDeployment",
                                "purgeDeployment",
                            ),
                        }
                    },
                    "400",
                    "404",
                    "422",
                    "429",
                    "503",
                ),
            },
            "get": {
                "operationId": "listDeployments",
                "summary": "List deployments, a page at a time",
                "tags": ["deployments"],
                "parameters": [
                    _param("workload", "query", _WORKLOAD_NAME, "only this workload"),
                    _param(
                        "status",
                        "query",
                        {"type": "string", "enum": _STATUS_VALUES},
                        "only this status",
                    ),
                    _PAGE_SIZE,
                    _CONTINUATION,
                ],
                "responses": _responses(
                    {"200": _json(DeploymentList, "A page of deployments")}, "400", "422", "503"
                ),
            },
        },
        "/deployments/{deployment_id}": {
            "get": {
                "operationId": "getDeployment",
                "summary": "Status of one deployment",
                "tags": ["deployments"],
                "parameters": [_ID],
                "responses": _responses(
                    {"200": _json(DeploymentState, "The deployment")}, "400", "403", "404", "503"
                ),
            },
            "delete": {
                "operationId": "purgeDeployment",
                "summary": "Purge a finished deployment: its history, logs, records and state",
                "tags": ["deployments"],
                "parameters": [_ID],
                "responses": _responses(
                    {"200": _json(Purged, "Purged")}, "400", "403", "404", "409", "503"
                ),
            },
        },
        "/deployments/{deployment_id}/logs": {
            "get": {
                "operationId": "getDeploymentLogs",
                "summary": "Log lines of one deployment",
                "tags": ["deployments"],
                "parameters": [
                    _ID,
                    _param(
                        "tail",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 100000},
                        "only the last N lines",
                    ),
                    _param(
                        "after",
                        "query",
                        {"type": "integer", "minimum": -1, "maximum": MAX_LOG_CURSOR},
                        "only lines after this cursor",
                    ),
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                        "at most this many lines",
                    ),
                ],
                "responses": _responses(
                    {"200": _json(LogPage, "Log lines in order")}, "400", "404", "503"
                ),
            }
        },
        "/deployments/{deployment_id}/stop": _command("stop", "Stop at the next step boundary"),
        "/deployments/{deployment_id}/start": _command(
            "start", "Resume a stopped deployment from its cursor"
        ),
        "/deployments/{deployment_id}/cleanup": _command(
            "cleanup",
            "Delete what the deployment created, then complete it",
            [
                _param(
                    "dry_run",
                    "query",
                    {"type": "boolean", "default": False},
                    "only list what would be deleted",
                ),
                _param(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                    "dry run page size",
                ),
                _CONTINUATION,
            ],
        ),
        "/schedules": {
            "post": {
                "operationId": "createSchedule",
                "summary": "Run a workload on an NCRONTAB schedule",
                "tags": ["schedules"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(ScheduleSpec)}},
                },
                "responses": _responses(
                    {
                        "201": {
                            **_json(ScheduleView, "Created"),
                            "links": _links(
                                "schedule_id",
                                "getSchedule",
                                "updateSchedule",
                                "triggerSchedule",
                                "deleteSchedule",
                            ),
                        }
                    },
                    "400",
                    "404",
                    "422",
                    "503",
                ),
            },
            "get": {
                "operationId": "listSchedules",
                "summary": "List schedules, a page at a time",
                "tags": ["schedules"],
                "parameters": [
                    _param("workload", "query", _WORKLOAD_NAME, "only this workload"),
                    _param(
                        "enabled", "query", {"type": "boolean"}, "only enabled or disabled ones"
                    ),
                    _PAGE_SIZE,
                    _CONTINUATION,
                ],
                "responses": _responses(
                    {"200": _json(ScheduleList, "A page of schedules")}, "400", "422", "503"
                ),
            },
        },
        "/schedules/{schedule_id}": {
            "get": {
                "operationId": "getSchedule",
                "summary": "A schedule, its next five slots and its recent runs",
                "tags": ["schedules"],
                "parameters": [_SCHEDULE],
                "responses": _responses(
                    {"200": _json(ScheduleView, "The schedule")}, "400", "404", "503"
                ),
            },
            "patch": {
                "operationId": "updateSchedule",
                "summary": "Enable, disable, or change cron, time zone or config",
                "tags": ["schedules"],
                "parameters": [_SCHEDULE],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(ScheduleUpdate)}},
                },
                "responses": _responses(
                    {"200": _json(ScheduleView, "The changed schedule")},
                    "400",
                    "404",
                    "409",
                    "422",
                    "503",
                ),
            },
            "delete": {
                "operationId": "deleteSchedule",
                "summary": "Delete a schedule (optionally stopping its active runs)",
                "tags": ["schedules"],
                "parameters": [
                    _SCHEDULE,
                    _param(
                        "stop_runs",
                        "query",
                        {"type": "boolean", "default": False},
                        "stop its active runs too",
                    ),
                ],
                "responses": _responses(
                    {"200": _json(ScheduleDeleted, "Deleted")}, "400", "404", "503"
                ),
            },
        },
        "/schedules/{schedule_id}/trigger": {
            "post": {
                "operationId": "triggerSchedule",
                "summary": "Run the schedule's workload now",
                "tags": ["schedules"],
                "parameters": [_SCHEDULE],
                "responses": _responses(
                    {
                        "202": {
                            **_json(DeployAccepted, "Started; poll status_url"),
                            "headers": {"Location": {"schema": {"type": "string"}}},
                        }
                    },
                    "400",
                    "404",
                    "409",
                    "422",
                    "503",
                ),
            }
        },
        "/workloads": {
            "get": {
                "operationId": "listWorkloads",
                "summary": "Installed workloads",
                "tags": ["workloads"],
                "responses": _responses({"200": _json(WorkloadList, "Installed workloads")}),
            }
        },
        "/workloads/{name}": {
            "get": {
                "operationId": "getWorkload",
                "summary": "A workload's manifest and config schema",
                "tags": ["workloads"],
                "parameters": [_param("name", "path", _WORKLOAD_NAME, "workload name")],
                "responses": _responses(
                    {"200": _json(WorkloadManifest, "The manifest")}, "400", "404"
                ),
            }
        },
    }


@cache
def _schemas() -> tuple[dict[type[BaseModel], dict[str, str]], dict[str, Any]]:
    """Each model's $ref and the component schemas. A model read in one shape and sent in
    another gets two components (`-Input`/`-Output`)."""
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in _REQUEST_MODELS),
        *((model, "serialization") for model in _RESPONSE_MODELS),
    ]
    refs, document = models_json_schema(modes, ref_template="#/components/schemas/{model}")
    return {model: ref for (model, _), ref in refs.items()}, document.get("$defs", {})


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Haymaker Functions",
            "version": "0.1.0",
            "description": "Deploy, run, stop, resume and clean up goal-seeking agent workloads.",
        },
        "servers": [{"url": server_url}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas()[1],
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }
