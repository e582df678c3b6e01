"""Services as an operator registers them, MCP servers as a deployment names them, and what
the platform keeps: the registration (ServiceRecord) and, per deployment, the tools a source
offered (a listing, so a replay or a re-run sees the same tools).

Credentials are never values here: an auth names the app setting that holds the secret
(`SERVICE_*`, so no platform setting such as the storage connection or an LLM key can be
sent to a service), or the scope of a managed-identity token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, ConfigDict, Field, model_validator

from haymaker.models import Model

SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
SECRET_SETTING_PATTERN = r"^SERVICE_[A-Z0-9_]{1,100}$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9-]{1,100}$"
QUERY_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"
# An Entra scope: `https://management.azure.com/.default`, `api://<app id>/.default`, ...
SCOPE_PATTERN = r"^[A-Za-z0-9:/._-]{1,300}$"
GUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
TOOL_PREFIX_PATTERN = r"^[a-zA-Z0-9_-]{0,20}$"
MAX_URL_CHARS = 2048
MAX_LISTED = 200  # names in an allow-list; also the most tools one service may offer

ServiceKind = Literal["mcp", "openapi"]
# Which of a service's calls wait for a person: none, the side-effecting ones, or all.
ApprovalRule = Literal["none", "side_effects", "all"]
SecretSetting = Annotated[
    str,
    Field(
        pattern=SECRET_SETTING_PATTERN,
        description="the app setting holding the secret (SERVICE_*), never the secret itself",
    ),
]


class NoAuth(Model):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none"] = "none"


class ApiKeyAuth(Model):
    """A key sent in a header (`header`) or, for an OpenAPI service, a query parameter."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["api_key"]
    setting: SecretSetting
    header: str | None = Field(default=None, pattern=HEADER_NAME_PATTERN)
    query: str | None = Field(default=None, pattern=QUERY_NAME_PATTERN)

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query is None):
            raise ValueError("an api_key goes in exactly one of header or query")
        return self


class BearerAuth(Model):
    """`Authorization: Bearer <the setting's value>`."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["bearer"]
    setting: SecretSetting


class ManagedIdentityAuth(Model):
    """`Authorization: Bearer <token>` for `scope`, from the app's managed identity
    (`client_id`: a user-assigned one; default: the app's, AZURE_CLIENT_ID)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["managed_identity"]
    scope: str = Field(pattern=SCOPE_PATTERN, examples=["https://management.azure.com/.default"])
    client_id: str | None = Field(default=None, pattern=GUID_PATTERN)


ServiceAuth = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | ManagedIdentityAuth, Field(discriminator="type")
]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValueError("may not carry a user name or password (use auth)")
    return value


HttpUrl = Annotated[str, Field(max_length=MAX_URL_CHARS), AfterValidator(_http_url)]


class _ServiceFields(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    name: str = Field(pattern=SERVICE_NAME_PATTERN, description="also the tool source's name")
    operations: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_LISTED,
        validation_alias=AliasChoices("operations", "tools"),
        description="allow-list: operationIds (OpenAPI) or tool names (MCP); empty: all",
    )
    read_only: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_LISTED,
        description="tools (operationIds or MCP names) to count as side-effect free",
    )
    approval: ApprovalRule = Field(default="none", description="which calls wait for a person")
    allowed_hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list,
        max_length=50,
        description="as http_fetch's: list a host to reach it on a private address",
    )
    timeout_seconds: float = Field(default=30, gt=0, le=300)
    prefix: str = Field(
        default="", pattern=TOOL_PREFIX_PATTERN, description="put before every tool's name"
    )


class McpServerConfig(_ServiceFields):
    """An MCP server a deployment names in its config (`mcp_servers`). It carries no
    credentials: a deployer must not be able to send the app's secrets to a URL of their
    choosing; register the service (an admin) for a server that needs them."""

    url: HttpUrl = Field(description="the streamable HTTP endpoint")

    def as_spec(self) -> ServiceSpec:
        return ServiceSpec(kind="mcp", **self.model_dump())


class ServiceSpec(_ServiceFields):
    """A registration: an MCP server (`url` is its endpoint) or an OpenAPI 3 service (its
    document at `url`, or inline as `document`; calls go to `base_url`, default the
    document's first server)."""

    kind: ServiceKind
    url: HttpUrl | None = None
    document: dict[str, Any] | str | None = Field(
        default=None, description="openapi: the document itself (JSON object, or JSON/YAML text)"
    )
    base_url: HttpUrl | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_LISTED,
        description="openapi: allow operations with any of these tags too",
    )
    auth: ServiceAuth = Field(default_factory=NoAuth)
    rate_limit_per_minute: int = Field(
        default=0, ge=0, le=100_000, description="calls a minute across all deployments; 0: none"
    )

    @model_validator(mode="after")
    def _fits_its_kind(self) -> ServiceSpec:
        if self.kind == "mcp":
            if self.url is None:
                raise ValueError("an mcp service needs url, its streamable HTTP endpoint")
            extra = [f for f in ("document", "base_url") if getattr(self, f) is not None]
            if self.tags:
                extra.append("tags")
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for an openapi service")
            if isinstance(self.auth, ApiKeyAuth) and self.auth.query is not None:
                raise ValueError("an mcp service takes its api_key in a header")
        elif self.url is not None and self.document is not None:
            raise ValueError("an openapi service takes its document from url or document, not both")
        return self

    def without_document(self) -> ServiceSpec:
        return self.model_copy(update={"document": None})


class ToolSummary(Model):
    """One tool a service offers, as `service show` lists it."""

    name: str
    description: str = ""
    side_effects: bool = True
    method: str | None = None  # openapi
    path: str | None = None  # openapi


# --- OpenAPI operations, compiled once at registration ------------------------------------

ParameterLocation = Literal["path", "query", "header"]


class OpenApiParameter(Model):
    """Where one property of the tool's arguments goes in the request."""

    name: str  # as the API names it
    location: ParameterLocation
    argument: str  # the property in the tool's input schema
    required: bool = False
    style: str | None = None
    explode: bool | None = None


class OpenApiOperation(Model):
    tool: str  # the tool's name (operationId sanitised, the prefix before it)
    operation_id: str
    method: str  # upper case
    path: str  # the path template, e.g. /pets/{pet_id}
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    parameters: list[OpenApiParameter] = Field(default_factory=list)
    body_argument: str | None = None  # the property holding the JSON request body
    body_required: bool = False
    input_schema: dict[str, Any]
    side_effects: bool


class OpenApiApi(Model):
    """A document compiled: where calls go and the allowed operations."""

    title: str = ""
    version: str = ""
    base_url: str
    document_sha256: str
    operations: list[OpenApiOperation]


class ServiceRecord(Model):
    """A stored registration. The document itself is not kept, only what it compiled to
    (`api`); an MCP server's tools are listed again for each deployment (`tools` is what
    it offered at registration, for show). `skipped` names operations left out and why."""

    spec: ServiceSpec
    registered_at: datetime
    api: OpenApiApi | None = None
    tools: list[ToolSummary] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)

    def view(self) -> ServiceView:
        api = self.api
        return ServiceView(
            name=self.spec.name,
            kind=self.spec.kind,
            spec=self.spec,
            registered_at=self.registered_at,
            title=api.title if api else "",
            version=api.version if api else "",
            base_url=api.base_url if api else None,
            document_sha256=api.document_sha256 if api else None,
            tools=self.tools,
            skipped=self.skipped,
        )


class ServiceView(Model):
    """A registration as the API shows it (never a secret: auth names settings only)."""

    name: str
    kind: ServiceKind
    spec: ServiceSpec
    registered_at: datetime
    title: str = ""
    version: str = ""
    base_url: str | None = Field(default=None, description="openapi: where calls go")
    document_sha256: str | None = None
    tools: list[ToolSummary]
    skipped: list[str] = Field(default_factory=list, description="operations left out, and why")


# --- per-deployment listings ---------------------------------------------------------------


class McpTool(Model):
    """A tool as an MCP server listed it."""

    name: str  # the server's name for it
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] | None = None
    read_only_hint: bool | None = None


class McpListing(Model):
    """What an MCP server offered when a deployment first listed it; an McpToolSource built
    from it offers exactly these tools again without asking the server."""

    kind: Literal["mcp"] = "mcp"
    spec: ServiceSpec
    listed_at: datetime
    server: str = ""  # the server's own name and version, as it introduced itself
    tools: list[McpTool]


class OpenApiListing(Model):
    """A registered OpenAPI service as a deployment first saw it."""

    kind: Literal["openapi"] = "openapi"
    spec: ServiceSpec
    listed_at: datetime
    api: OpenApiApi


ToolListing = Annotated[McpListing | OpenApiListing, Field(discriminator="kind")]


def parse_mcp_servers(text: str) -> dict[str, ServiceSpec]:
    """HAYMAKER_MCP_SERVERS: a JSON list of MCP servers (ServiceSpec's fields; `kind` may be
    left out), by name. ValueError saying which entry is wrong and why."""
    import json

    from pydantic import ValidationError

    try:
        entries = json.loads(text)
    except ValueError:
        raise ValueError("must be a JSON list of MCP servers") from None
    if not isinstance(entries, list):
        raise ValueError("must be a JSON list of MCP servers")
    servers: dict[str, ServiceSpec] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"entry {index} is not an object")
        try:
            spec = ServiceSpec.model_validate({"kind": "mcp", **entry})
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ValueError(
                f"entry {index}{f' ({where})' if where else ''}: {error['msg']}"
            ) from None
        if spec.kind != "mcp":
            raise ValueError(f"entry {index}: only MCP servers are named here")
        if spec.name in servers:
            raise ValueError(f"two entries are named {spec.name}")
        servers[spec.name] = spec
    return servers
