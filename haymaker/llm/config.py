"""LLM settings from the environment (app settings in Azure; keys arrive there as Key Vault
references). API keys are SecretStr: they never reach a log, a repr or deployment state."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from enum import StrEnum
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator


class Provider(StrEnum):
    ANTHROPIC = "anthropic"
    AZURE_OPENAI = "azure_openai"
    AZURE_AI_FOUNDRY = "azure_ai_foundry"
    OPENAI = "openai"


DEFAULT_AZURE_OPENAI_API_VERSION = "2024-10-21"
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("

# The model each provider uses when its *_MODEL variable is unset (see docs/llm.md for why
# these). Azure OpenAI and Foundry have none: there the "model" is the name of a deployment in
# the user's own resource, which cannot be guessed.
DEFAULT_MODELS: Mapping[Provider, str] = {
    Provider.ANTHROPIC: "claude-sonnet-5-5",
    Provider.OPENAI: "gpt-4.1",
}


class LLMConfigError(ValueError):
    """A missing or contradictory LLM setting. The message names the variable and how to fix
    it; `variable` holds the name alone (None when no single variable is at fault)."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def _loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class LLMConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: Provider
    model: str = Field(min_length=1, description="model, or the deployment name on Azure OpenAI")
    endpoint: str | None = None
    api_version: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(default=120.0, gt=0, le=600)
    max_retries: int = Field(default=3, ge=0, le=10)
    temperature: float = Field(default=0.2, ge=0, le=2, description="OpenAI-style providers only")
    max_tokens: int = Field(default=1024, ge=1, le=100_000)

    @field_validator("endpoint")
    @classmethod
    def _https_or_loopback(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlparse(value)
        if url.scheme == "https" and url.hostname:
            return value.rstrip("/")
        if url.scheme == "http" and _loopback(url.hostname):
            return value.rstrip("/")
        raise ValueError("must be an https:// URL (plain http only to a loopback address)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig:
        """The settings of the environment's LLM, or LLMConfigError naming what is missing.

        Cheap (no SDK import, no network): call it when a deployment that needs a model is
        created, to refuse it then rather than at its first LLM step."""
        env = os.environ if environ is None else environ
        settings = _Settings(env)
        provider = settings.provider()
        fields: dict[str, object] = {"provider": provider}
        if provider is Provider.ANTHROPIC:
            fields.update(
                model=settings.optional("ANTHROPIC_MODEL") or DEFAULT_MODELS[provider],
                api_key=settings.required("ANTHROPIC_API_KEY"),
                endpoint=settings.optional("ANTHROPIC_BASE_URL"),
            )
        elif provider is Provider.OPENAI:
            fields.update(
                model=settings.optional("OPENAI_MODEL") or DEFAULT_MODELS[provider],
                api_key=settings.required("OPENAI_API_KEY"),
                endpoint=settings.optional("OPENAI_BASE_URL"),
            )
        elif provider is Provider.AZURE_OPENAI:
            fields.update(
                endpoint=settings.required("AZURE_OPENAI_ENDPOINT"),
                model=settings.required(
                    "AZURE_OPENAI_DEPLOYMENT",
                    "the name of the model deployment in your Azure OpenAI resource",
                ),
                api_version=settings.optional("AZURE_OPENAI_API_VERSION")
                or DEFAULT_AZURE_OPENAI_API_VERSION,
                api_key=settings.optional("AZURE_OPENAI_API_KEY"),  # absent: Entra ID
            )
        else:
            fields.update(
                # AZURE_AI_ENDPOINT is the name the original agent-haymaker documents
                endpoint=settings.first("AZURE_AI_FOUNDRY_ENDPOINT", "AZURE_AI_ENDPOINT"),
                model=settings.required(
                    "AZURE_AI_FOUNDRY_MODEL",
                    "the name of the model deployment in your Foundry resource",
                ),
                api_key=settings.optional("AZURE_AI_FOUNDRY_API_KEY"),  # absent: Entra ID
            )
        for name, variable in (
            ("timeout", "LLM_TIMEOUT_SECONDS"),
            ("max_retries", "LLM_MAX_RETRIES"),
            ("temperature", "LLM_TEMPERATURE"),
            ("max_tokens", "LLM_MAX_TOKENS"),
        ):
            if settings.optional(variable) is not None:
                fields[name] = settings.optional(variable)
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            error = exc.errors()[0]
            variable = settings.source.get(str(error["loc"][0]), str(error["loc"][0]))
            raise LLMConfigError(f"{variable}: {error['msg']}", variable) from None


_SOURCE = {
    "ANTHROPIC_BASE_URL": "endpoint",
    "OPENAI_BASE_URL": "endpoint",
    "AZURE_OPENAI_ENDPOINT": "endpoint",
    "AZURE_AI_FOUNDRY_ENDPOINT": "endpoint",
    "AZURE_AI_ENDPOINT": "endpoint",
    "ANTHROPIC_MODEL": "model",
    "OPENAI_MODEL": "model",
    "AZURE_OPENAI_DEPLOYMENT": "model",
    "AZURE_AI_FOUNDRY_MODEL": "model",
    "LLM_TIMEOUT_SECONDS": "timeout",
    "LLM_MAX_RETRIES": "max_retries",
    "LLM_TEMPERATURE": "temperature",
    "LLM_MAX_TOKENS": "max_tokens",
}


class _Settings:
    """Reads variables and remembers which one fed which field, to name it in errors."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.source: dict[str, str] = {}
        self.chosen: Provider | None = None

    def optional(self, name: str) -> str | None:
        value = (self.env.get(name) or "").strip()
        if not value:
            return None
        if value.startswith(KEY_VAULT_REFERENCE):
            raise LLMConfigError(
                f"{name} is a Key Vault reference that did not resolve: set the secret in the "
                "vault and check the app's identity can read it",
                name,
            )
        if name in _SOURCE:
            self.source[_SOURCE[name]] = name
        return value

    def required(self, name: str, what: str | None = None) -> str:
        value = self.optional(name)
        if value is None:
            raise LLMConfigError(
                f"{name} must be set for LLM_PROVIDER={self.chosen}: add it to the app "
                f"settings{f' ({what})' if what else ''}; see docs/llm.md",
                name,
            )
        return value

    def first(self, name: str, alias: str) -> str:
        """`name`, or else `alias` (another name for the same setting); an error names `name`."""
        return self.optional(name) or self.optional(alias) or self.required(name)

    def provider(self) -> Provider:
        self.chosen = self._provider()
        return self.chosen

    def _provider(self) -> Provider:
        name = (self.env.get("LLM_PROVIDER") or "").strip().lower()
        if name:
            try:
                return Provider(name)
            except ValueError:
                allowed = ", ".join(p.value for p in Provider)
                raise LLMConfigError(
                    f"LLM_PROVIDER={name!r} is not one of {allowed}", "LLM_PROVIDER"
                ) from None
        present = [
            provider
            for provider, marker in (
                (Provider.ANTHROPIC, "ANTHROPIC_API_KEY"),
                (Provider.OPENAI, "OPENAI_API_KEY"),
                (Provider.AZURE_OPENAI, "AZURE_OPENAI_ENDPOINT"),
                (Provider.AZURE_AI_FOUNDRY, "AZURE_AI_FOUNDRY_ENDPOINT"),
                (Provider.AZURE_AI_FOUNDRY, "AZURE_AI_ENDPOINT"),
            )
            if self.env.get(marker)
        ]
        present = list(dict.fromkeys(present))
        if len(present) == 1:
            return present[0]
        allowed = ", ".join(p.value for p in Provider)
        if not present:
            raise LLMConfigError(
                "LLM_PROVIDER is not set and no provider's settings are present: set "
                f"LLM_PROVIDER ({allowed}) and that provider's settings, e.g. "
                "LLM_PROVIDER=anthropic with ANTHROPIC_API_KEY; see docs/llm.md",
                "LLM_PROVIDER",
            )
        names = ", ".join(p.value for p in present)
        raise LLMConfigError(
            f"LLM_PROVIDER is not set and settings for several providers are present ({names}): "
            "set LLM_PROVIDER to the one to use",
            "LLM_PROVIDER",
        )
