"""An OpenAPI 3.0 / 3.1 document compiled into the operations a registration allows: each
becomes a tool whose arguments are the operation's path, query and header parameters plus
its JSON request body (under `body`), one object schema with every local $ref inlined.

The document is read as JSON or YAML and checked with openapi-spec-validator; anything
wrong (not parseable, not OpenAPI 3, an allow-list naming an operation or tag the document
lacks, a $ref to another file) is a RegistrationError, a 422 naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import unquote, urljoin

from haymaker.errors import ValidationFailedError
from haymaker.integrations.models import (
    MAX_LISTED,
    OpenApiApi,
    OpenApiOperation,
    OpenApiParameter,
    ServiceSpec,
    ToolSummary,
)
from haymaker.integrations.names import tool_name, unique_names

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Header parameters OpenAPI says to ignore: the request's framing and credentials are ours.
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
MAX_DESCRIPTION_CHARS = 1_000
MAX_SCHEMA_CHARS = 60_000  # one operation's input schema, as JSON
MAX_ERRORS_SHOWN = 3
_ARGUMENT = re.compile(r"[^a-zA-Z0-9_.-]+")
# Keywords of OpenAPI's schema object that are not JSON Schema (3.0), or only annotations.
_DROPPED = frozenset({"discriminator", "xml", "externalDocs", "nullable", "example"})
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONES = ("items", "not", "additionalProperties", "contains", "if", "then", "else")


class RegistrationError(ValidationFailedError):
    title = "Invalid service registration"


def parse_document(raw: bytes | str | dict[str, Any], where: str) -> dict[str, Any]:
    """The document as a mapping, from JSON or YAML text."""
    if isinstance(raw, dict):
        return raw
    import yaml

    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1})" if mark is not None else ""
            raise RegistrationError(f"the document {where} is neither JSON nor YAML{at}") from None
    if not isinstance(document, dict):
        raise RegistrationError(f"the document {where} is not a JSON or YAML object")
    return document


def validate_document(document: dict[str, Any], where: str) -> None:
    """RegistrationError unless `document` is a valid OpenAPI 3.0 or 3.1 document."""
    version = str(document.get("openapi", ""))
    if not re.fullmatch(r"3\.[01]\.\d+", version):
        found = f"openapi: {version}" if version else "no openapi field"
        raise RegistrationError(f"the document {where} is not OpenAPI 3.0 or 3.1 ({found})")
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    validator_class = (
        OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    )
    try:
        errors = list(validator_class(document).iter_errors())
    except Exception as exc:  # a $ref the validator cannot follow, say
        raise RegistrationError(
            f"the document {where} cannot be checked ({type(exc).__name__}: {exc})"
        ) from None
    if errors:
        shown = [
            f"{_place(error)}: {error.message.splitlines()[0]}"
            for error in errors[:MAX_ERRORS_SHOWN]
        ]
        more = (
            f" (and {len(errors) - MAX_ERRORS_SHOWN} more)"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        raise RegistrationError(
            f"the document {where} is not valid OpenAPI {version}: " + "; ".join(shown) + more,
            errors=[
                {"key": _place(error), "message": error.message.splitlines()[0]}
                for error in errors[:20]
            ],
        )


def _place(error: Any) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def document_digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def compile_api(
    document: dict[str, Any], spec: ServiceSpec, document_url: str | None
) -> tuple[OpenApiApi, list[str]]:
    """The operations `spec` allows, and the ones left out with the reason (a body that is
    not JSON, a cookie parameter). RegistrationError for what the allow-list names but the
    document lacks, or for an allowed operation that cannot become a tool."""
    refs = _Refs(document)
    found = list(_operations(document))
    _check_allow_list(spec, found)
    compiled: list[OpenApiOperation] = []
    skipped: list[str] = []
    for path, method, operation, path_item in found:
        operation_id = _operation_id(operation, method, path)
        if not _allowed(spec, operation_id, operation):
            continue
        try:
            compiled.append(_compile(spec, refs, path, method, operation, path_item, operation_id))
        except _Unsupported as exc:
            if operation_id in spec.operations:
                raise RegistrationError(f"operation {operation_id}: {exc}") from None
            skipped.append(f"{operation_id}: {exc}")
    if len(compiled) > MAX_LISTED:
        raise RegistrationError(
            f"the document allows {len(compiled)} operations; name at most {MAX_LISTED} "
            "with operations or tags"
        )
    unique_names(((op.operation_id, op.tool) for op in compiled), spec.name)
    info = document.get("info") or {}
    api = OpenApiApi(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        base_url=_base_url(document, spec, document_url),
        document_sha256=document_digest(document),
        operations=compiled,
    )
    return api, skipped


def summaries(api: OpenApiApi) -> list[ToolSummary]:
    return [
        ToolSummary(
            name=op.tool,
            description=op.description.split("\n", 1)[0][:200],
            side_effects=op.side_effects,
            method=op.method,
            path=op.path,
        )
        for op in api.operations
    ]


class _Unsupported(Exception):
    """An operation that cannot become a tool; the message says why."""


def _operations(document: dict[str, Any]) -> Any:
    for path, path_item in (document.get("paths") or {}).items():
        if not isinstance(path_item, dict):
            continue
        for method in METHODS:
            operation = path_item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation, path_item


def _operation_id(operation: dict[str, Any], method: str, path: str) -> str:
    return str(operation.get("operationId") or f"{method}_{path}")


def _allowed(spec: ServiceSpec, operation_id: str, operation: dict[str, Any]) -> bool:
    if not spec.operations and not spec.tags:
        return True
    tags = operation.get("tags") or []
    return operation_id in spec.operations or any(tag in spec.tags for tag in tags)


def _check_allow_list(spec: ServiceSpec, found: list[tuple[str, str, dict[str, Any], Any]]) -> None:
    ids = {_operation_id(operation, method, path) for path, method, operation, _ in found}
    tags = {tag for _, _, operation, _ in found for tag in operation.get("tags") or []}
    problems = []
    for field, names, known in (
        ("operations", spec.operations, ids),
        ("read_only", spec.read_only, ids),
        ("tags", spec.tags, tags),
    ):
        missing = [name for name in names if name not in known]
        if missing:
            what = "tag" if field == "tags" else "operation"
            problems.append(f"{field} names {what} {', '.join(missing)}, which the document lacks")
    if problems:
        raise RegistrationError(
            "; ".join(problems),
            errors=[{"key": p.split(" ", 1)[0], "message": p} for p in problems],
        )


def _compile(
    spec: ServiceSpec,
    refs: _Refs,
    path: str,
    method: str,
    operation: dict[str, Any],
    path_item: dict[str, Any],
    operation_id: str,
) -> OpenApiOperation:
    properties: dict[str, Any] = {}
    required: list[str] = []
    parameters: list[OpenApiParameter] = []
    auth_names = _auth_parameter_names(spec)
    for parameter in _parameters(refs, path_item, operation):
        name, location = str(parameter.get("name", "")), parameter.get("in")
        if location == "cookie":
            if parameter.get("required"):
                raise _Unsupported("it needs a cookie parameter, which tools cannot send")
            continue
        if location not in ("path", "query", "header"):
            continue
        if (location, name.lower() if location == "header" else name) in auth_names:
            continue  # the service's credential fills it
        if location == "header" and name.lower() in IGNORED_HEADERS:
            continue
        if "content" in parameter and "schema" not in parameter:
            raise _Unsupported(f"parameter {name} is described by content, not a schema")
        argument = _argument_name(name, location, properties)
        schema = refs.schema(parameter.get("schema") or {})
        if parameter.get("description") and "description" not in schema:
            schema = {**schema, "description": str(parameter["description"])}
        properties[argument] = schema
        is_required = location == "path" or bool(parameter.get("required"))
        if is_required:
            required.append(argument)
        parameters.append(
            OpenApiParameter(
                name=name,
                location=location,
                argument=argument,
                required=is_required,
                style=parameter.get("style"),
                explode=parameter.get("explode"),
            )
        )
    body_argument, body_required = None, False
    body = operation.get("requestBody")
    if body is not None:
        body = refs.resolve(body)
        content = body.get("content") or {}
        media = _json_media_type(content)
        if media is None:
            kinds = ", ".join(content) or "no content type"
            if body.get("required"):
                raise _Unsupported(f"its request body is {kinds}; only JSON bodies are supported")
        else:
            body_argument = "body" if "body" not in properties else "request_body"
            body_schema = refs.schema(content[media].get("schema") or {})
            if body.get("description") and "description" not in body_schema:
                body_schema = {**body_schema, "description": str(body["description"])}
            properties[body_argument] = body_schema
            body_required = bool(body.get("required"))
            if body_required:
                required.append(body_argument)
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    input_schema["additionalProperties"] = False
    if len(json.dumps(input_schema)) > MAX_SCHEMA_CHARS:
        raise _Unsupported(f"its arguments' schema is over {MAX_SCHEMA_CHARS} characters")
    verb = method.upper()
    return OpenApiOperation(
        tool=tool_name(operation_id, spec.prefix),
        operation_id=operation_id,
        method=verb,
        path=path,
        description=_description(verb, path, operation),
        tags=[str(tag) for tag in operation.get("tags") or []],
        parameters=parameters,
        body_argument=body_argument,
        body_required=body_required,
        input_schema=input_schema,
        side_effects=verb not in SAFE_METHODS and operation_id not in spec.read_only,
    )


def _auth_parameter_names(spec: ServiceSpec) -> set[tuple[str, str]]:
    auth = spec.auth
    names: set[tuple[str, str]] = set()
    header = getattr(auth, "header", None)
    query = getattr(auth, "query", None)
    if header:
        names.add(("header", header.lower()))
    if query:
        names.add(("query", query))
    return names


def _parameters(
    refs: _Refs, path_item: dict[str, Any], operation: dict[str, Any]
) -> list[dict[str, Any]]:
    """Path-level parameters, overridden by the operation's of the same name and place."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]:
        resolved = refs.resolve(parameter)
        merged[(str(resolved.get("name")), str(resolved.get("in")))] = resolved
    return list(merged.values())


def _argument_name(name: str, location: str, taken: dict[str, Any]) -> str:
    """A property name the models accept; the place is added when two parameters clash."""
    argument = _ARGUMENT.sub("_", name).strip("_")[:60] or location
    if argument in taken or argument in ("body", "request_body"):
        argument = f"{argument}_{location}"[:64]
    return argument


def _json_media_type(content: dict[str, Any]) -> str | None:
    for media in content:
        kind = media.split(";", 1)[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json"):
            return media
    return None


def _description(verb: str, path: str, operation: dict[str, Any]) -> str:
    parts = [
        str(operation[key]).strip() for key in ("summary", "description") if operation.get(key)
    ]
    text = f"{verb} {path}" + (": " + "\n\n".join(parts) if parts else "")
    if operation.get("deprecated"):
        text += " (deprecated)"
    return text[:MAX_DESCRIPTION_CHARS]


def _base_url(document: dict[str, Any], spec: ServiceSpec, document_url: str | None) -> str:
    if spec.base_url is not None:
        return spec.base_url.rstrip("/")
    servers = document.get("servers") or []
    if not servers or not isinstance(servers[0], dict) or not servers[0].get("url"):
        raise RegistrationError("the document names no server: set base_url")
    server = servers[0]
    url = str(server["url"])
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str((variable or {}).get("default", "")))
    if document_url is not None:
        url = urljoin(document_url, url)
    if not url.startswith(("http://", "https://")):
        raise RegistrationError(
            f"the document's server {url!r} is not an absolute http(s) URL: set base_url"
        )
    return url.rstrip("/")


class _Refs:
    """Local $refs (`#/components/...`) of one document, inlined; a schema that refers to
    itself is cut where it would repeat. OpenAPI 3.0 schemas become JSON Schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.openapi_30 = str(document.get("openapi", "")).startswith("3.0")

    def target(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise RegistrationError(
                f"$ref {ref}: only references within the document are supported"
            )
        node: Any = self.document
        for token in ref[2:].split("/"):
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise RegistrationError(f"$ref {ref} points at nothing in the document")
        return node

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """A parameter or request body, following $refs."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise RegistrationError(f"$ref {ref} refers to itself")
            seen = (*seen, ref)
            node = self.target(ref)
        return node if isinstance(node, dict) else {}

    def schema(self, node: Any, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """A schema with its $refs inlined, as JSON Schema."""
        if not isinstance(node, dict):
            return {} if node is True or not isinstance(node, bool) else {"not": {}}
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if ref in seen:
                return {"type": "object", "description": f"a {name} (recursive; see above)"}
            resolved = self.schema(self.target(ref), (*seen, ref))
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return {**resolved, **self.schema(siblings, seen)} if siblings else resolved
        schema: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED:
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                schema[key] = {name: self.schema(sub, seen) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                schema[key] = [self.schema(sub, seen) for sub in value]
            elif key in _SCHEMA_ONES and isinstance(value, dict):
                schema[key] = self.schema(value, seen)
            else:
                schema[key] = value
        if "example" in node and "examples" not in node:
            schema["examples"] = [node["example"]]
        if self.openapi_30:
            schema = _from_openapi_30(node, schema)
        return schema


def _from_openapi_30(original: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """3.0's `nullable` and boolean exclusive bounds, as JSON Schema says them."""
    if original.get("nullable") is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif "type" not in schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(exclusive), bool) and schema.pop(exclusive) and bound in schema:
            schema[exclusive] = schema.pop(bound)
    return schema
