"""A service's credentials, found when a call is made: the secret an auth names is read from
its app setting through Settings (a Key Vault reference in Azure, resolved by the platform
into the setting's value), a managed-identity token comes from azure-identity. The values
go into the request and nowhere else; `Credentials.secrets` lists them so anything shown
(an outcome, a log line) can be scrubbed of a value a service echoed back."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haymaker.integrations.models import (
    ApiKeyAuth,
    BearerAuth,
    ManagedIdentityAuth,
    NoAuth,
    ServiceSpec,
)

if TYPE_CHECKING:
    from haymaker.settings import Settings

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
REDACTED = "[redacted]"

# client id (None: the app's identity) -> an azure.core AsyncTokenCredential
CredentialFactory = Callable[[str | None], Any]


class CredentialError(Exception):
    """A credential that cannot be had; the message names the setting or scope, never a
    value, and is safe to show the model."""


@dataclass(frozen=True)
class RequestAuth:
    """What one request carries for its service's auth."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        """`text` with every secret value replaced (a service may echo one back)."""
        return scrub(text, self.secrets)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


_credentials_per_loop: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str | None, Any]
] = weakref.WeakKeyDictionary()


def default_credential(client_id: str | None) -> Any:
    """azure-identity's credential for the app's identity (a user-assigned one by client id),
    one per event loop and identity so its token cache lasts beyond a call. Locally
    (`az login`, environment credentials) DefaultAzureCredential finds the developer's."""
    from azure.identity.aio import DefaultAzureCredential

    cached = _credentials_per_loop.setdefault(asyncio.get_running_loop(), {})
    if client_id not in cached:
        cached[client_id] = DefaultAzureCredential(managed_identity_client_id=client_id)
    return cached[client_id]


class Credentials:
    """Credentials of services, from `settings` (the app settings a secret is read from, the
    app identity's client id) and `credential_factory` (default: azure-identity's)."""

    def __init__(
        self, settings: Settings, credential_factory: CredentialFactory | None = None
    ) -> None:
        self._settings = settings
        self._credential_factory = credential_factory or default_credential

    async def for_service(self, spec: ServiceSpec) -> RequestAuth:
        auth = spec.auth
        if isinstance(auth, NoAuth):
            return RequestAuth()
        if isinstance(auth, ApiKeyAuth):
            key = self.secret(auth.setting, spec.name)
            if auth.header is not None:
                return RequestAuth(headers={auth.header: key}, secrets=(key,))
            assert auth.query is not None
            return RequestAuth(query={auth.query: key}, secrets=(key,))
        if isinstance(auth, BearerAuth):
            token = self.secret(auth.setting, spec.name)
            return RequestAuth(headers={"Authorization": f"Bearer {token}"}, secrets=(token,))
        assert isinstance(auth, ManagedIdentityAuth)
        token = await self._token(auth, spec.name)
        return RequestAuth(headers={"Authorization": f"Bearer {token}"}, secrets=(token,))

    def secret(self, setting: str, service: str) -> str:
        value = self._settings.app_setting(setting)
        if value is None:
            raise CredentialError(f"service {service}: app setting {setting} is not set")
        if value.startswith(KEY_VAULT_REFERENCE):
            # The platform leaves the reference itself in place when it cannot resolve it.
            raise CredentialError(
                f"service {service}: app setting {setting} is a Key Vault reference that did "
                "not resolve (does the app's identity have 'Key Vault Secrets User' on the "
                "vault, and does the secret exist?)"
            )
        if any(character in value for character in "\r\n\0"):
            raise CredentialError(f"service {service}: app setting {setting} holds a line break")
        return value.strip()

    async def _token(self, auth: ManagedIdentityAuth, service: str) -> str:
        client_id = auth.client_id or self._settings.azure_client_id
        try:
            credential = self._credential_factory(client_id)
            access = await credential.get_token(auth.scope)
        except Exception as exc:
            # azure-identity's messages are long and may name endpoints; the kind is enough.
            raise CredentialError(
                f"service {service}: no managed identity token for {auth.scope} "
                f"({type(exc).__name__})"
            ) from None
        return str(access.token)
