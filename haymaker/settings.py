"""The platform's settings, read from the environment (app settings in Azure,
local.settings.json locally) once per process into one typed object.

A malformed setting is a SettingsError naming it: the HTTP layer answers 503 with that name
(the app cannot serve until an operator fixes it), never a 500.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from haymaker.budgets import Budget

if TYPE_CHECKING:
    from haymaker.integrations.models import ServiceSpec
    from haymaker.llm.config import LLMConfig
    from haymaker.llm.prices import PriceTable

STORAGE_SETTING = "AzureWebJobsStorage"
TABLE_PREFIX_SETTING = "HAYMAKER_TABLE_PREFIX"
DEFAULT_TABLE_PREFIX = "haymaker"
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")


class SettingsError(ValueError):
    """A missing or malformed setting; the message names it."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class StorageSettings:
    """Where the platform's tables live and how to authenticate.

    Either a connection string (`AzureWebJobsStorage`, e.g. `UseDevelopmentStorage=true` for
    Azurite), or identity-based settings as the Functions host uses them in Azure:
    `AzureWebJobsStorage__tableServiceUri` (or `__accountName`), with `__credential` =
    `managedidentity` and `__clientId` for a user-assigned identity.
    """

    connection_string: str | None = None
    table_service_uri: str | None = None
    client_id: str | None = None
    use_managed_identity: bool = False
    table_prefix: str = DEFAULT_TABLE_PREFIX

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        env = os.environ if environ is None else environ
        prefix = env.get(TABLE_PREFIX_SETTING) or DEFAULT_TABLE_PREFIX
        if not _TABLE_PREFIX.fullmatch(prefix):
            raise SettingsError(
                f"{TABLE_PREFIX_SETTING} must be 1-40 letters or digits starting with a letter",
                TABLE_PREFIX_SETTING,
            )
        connection = env.get(STORAGE_SETTING)
        if connection:
            return cls(connection_string=connection, table_prefix=prefix)
        uri = env.get(f"{STORAGE_SETTING}__tableServiceUri")
        account = env.get(f"{STORAGE_SETTING}__accountName")
        if not uri and account:
            uri = f"https://{account}.table.core.windows.net"
        if not uri:
            raise SettingsError(
                f"set {STORAGE_SETTING} (a connection string) or "
                f"{STORAGE_SETTING}__tableServiceUri / {STORAGE_SETTING}__accountName",
                STORAGE_SETTING,
            )
        credential = (env.get(f"{STORAGE_SETTING}__credential") or "").lower()
        return cls(
            table_service_uri=uri.rstrip("/"),
            client_id=env.get(f"{STORAGE_SETTING}__clientId"),
            use_managed_identity=credential == "managedidentity",
            table_prefix=prefix,
        )


class Settings(BaseModel):
    """Every setting the app reads, each field under the environment variable named by its
    alias. Empty values count as unset (Azure keeps emptied app settings as "")."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    storage: StorageSettings
    auth_mode: Literal["off", "easyauth"] = Field(
        default="off",
        alias="HAYMAKER_AUTH_MODE",
        description="easyauth: app roles from App Service authentication decide",
    )
    deploy_rate_limit: int = Field(
        default=60, ge=0, alias="HAYMAKER_DEPLOY_RATE_LIMIT", description="per caller a minute"
    )
    retention_days: float = Field(default=30, ge=0, alias="HAYMAKER_RETENTION_DAYS")
    retention_batch: int = Field(default=100, ge=1, le=1000, alias="HAYMAKER_RETENTION_BATCH")
    schedule_grace_seconds: float = Field(
        default=120, ge=0, alias="HAYMAKER_SCHEDULE_GRACE_SECONDS"
    )

    default_budget: Budget | None = Field(
        default=None,
        alias="HAYMAKER_DEFAULT_BUDGET",
        description='JSON, e.g. {"max_cost_usd": 5}: limits for deployments that set none',
    )
    budget_approval_hours: float = Field(
        default=24,
        gt=0,
        alias="HAYMAKER_BUDGET_APPROVAL_HOURS",
        description="how long an exhausted budget waits for a raise before it stops",
    )
    llm_prices: str | None = Field(
        default=None,
        alias="HAYMAKER_LLM_PRICES",
        description='JSON, e.g. {"my-model": {"input": 2.0, "output": 8.0}} per million tokens',
    )
    mcp_servers_setting: str | None = Field(
        default=None,
        alias="HAYMAKER_MCP_SERVERS",
        description="JSON list of MCP servers a deployment may name in its `services`",
    )
    azure_client_id: str | None = Field(
        default=None, alias="AZURE_CLIENT_ID", description="the app's user-assigned identity"
    )

    # Lifecycle events and tracing (docs/events.md, docs/operations.md#tracing).
    webhook_allowed_hosts: str = Field(
        default="",
        alias="HAYMAKER_WEBHOOK_ALLOWED_HOSTS",
        description="comma-separated host names or IPs webhooks may reach although private, "
        "loopback or link-local, or over plain http",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, alias="HAYMAKER_WEBHOOK_TIMEOUT_SECONDS"
    )
    webhook_backoff_seconds: float = Field(
        default=5,
        gt=0,
        alias="HAYMAKER_WEBHOOK_BACKOFF_SECONDS",
        description="wait before the first retry of a failed delivery; it doubles each time",
    )
    webhook_retry_hours: float = Field(
        default=24,
        gt=0,
        alias="HAYMAKER_WEBHOOK_RETRY_HOURS",
        description="how long a failing delivery is retried before it is dead-lettered",
    )
    eventgrid_endpoint: str | None = Field(
        default=None,
        alias="HAYMAKER_EVENTGRID_ENDPOINT",
        description="an Event Grid custom topic's endpoint: events are published there too",
    )
    tracing: Literal["off", "azure_monitor", "otlp"] = Field(
        default="off", alias="HAYMAKER_TRACING", description="where spans are exported"
    )
    site_name: str = Field(
        default="local", alias="WEBSITE_SITE_NAME", description="the app's name (event source)"
    )
    appinsights_connection_string: str | None = Field(
        default=None, alias="APPLICATIONINSIGHTS_CONNECTION_STRING"
    )
    client_id: str | None = Field(default=None, alias="AZURE_CLIENT_ID")
    app_service_auth: str | None = Field(
        default=None,
        alias="WEBSITE_AUTH_ENABLED",
        description="set by App Service: True while its authentication is on",
    )

    _environ: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("tracing", mode="before")
    @classmethod
    def _lower_tracing(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("eventgrid_endpoint")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None:
            from haymaker.events.eventgrid import check_endpoint

            check_endpoint(value)
        return value

    @property
    def webhook_hosts(self) -> tuple[str, ...]:
        """HAYMAKER_WEBHOOK_ALLOWED_HOSTS as a list."""
        return tuple(h.strip() for h in self.webhook_allowed_hosts.split(",") if h.strip())

    @field_validator("default_budget", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be a JSON object of budget limits") from None
        return value

    @field_validator("llm_prices")
    @classmethod
    def _prices(cls, value: str | None) -> str | None:
        if value is not None:
            from haymaker.llm.prices import parse_prices

            parse_prices(value)
        return value

    @field_validator("mcp_servers_setting")
    @classmethod
    def _mcp_servers(cls, value: str | None) -> str | None:
        if value is not None:
            from haymaker.integrations.models import parse_mcp_servers

            parse_mcp_servers(value)
        return value

    @cached_property
    def mcp_servers(self) -> dict[str, ServiceSpec]:
        """The MCP servers of HAYMAKER_MCP_SERVERS, by name."""
        if self.mcp_servers_setting is None:
            return {}
        from haymaker.integrations.models import parse_mcp_servers

        return parse_mcp_servers(self.mcp_servers_setting)

    def app_setting(self, name: str) -> str | None:
        """The value of app setting `name` (None if unset or empty), read when asked: how a
        service's secret is found at call time. Never log or return it."""
        value = self._environ.get(name)
        return value if value and value.strip() else None

    @cached_property
    def prices(self) -> PriceTable:
        from haymaker.llm.prices import price_table

        return price_table(self.llm_prices)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        storage = StorageSettings.from_env(env)
        given = {name: value for name, value in env.items() if value.strip() != ""}
        try:
            settings = cls.model_validate({**given, "storage": storage})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0])
            info = cls.model_fields.get(field)
            name = (info.alias if info is not None else None) or field
            raise SettingsError(f"{name}: {error['msg']}", name) from None
        settings._environ = env
        settings._check_principal_source()
        return settings

    def _check_principal_source(self) -> None:
        """easyauth while App Service reports its authentication off (turned off in the
        portal, say) would trust a principal header anyone can send: fail closed, naming
        the setting. (Where the platform does not report it, nothing is assumed.)"""
        reported_off = (self.app_service_auth or "").strip().lower() == "false"
        if self.auth_mode == "easyauth" and reported_off:
            raise SettingsError(
                "HAYMAKER_AUTH_MODE: easyauth, but App Service authentication is off "
                "(WEBSITE_AUTH_ENABLED=False), so anyone could send a principal; turn "
                "authentication on, or set the mode to off",
                "HAYMAKER_AUTH_MODE",
            )

    @cached_property
    def _llm(self) -> LLMConfig | Exception:
        from haymaker.llm.config import LLMConfig, LLMConfigError

        try:
            return LLMConfig.from_env(self._environ)
        except LLMConfigError as exc:
            return exc

    def llm(self) -> LLMConfig:
        """The LLM the environment selects; LLMConfigError (naming the variable) if none is
        configured or a setting is wrong. Not configuring one is fine until a workload
        needs it, so this is not checked when the settings are read."""
        config = self._llm
        if isinstance(config, Exception):
            raise config
        return config
