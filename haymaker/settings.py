"""Settings read from the environment (app settings in Azure, local.settings.json locally)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

STORAGE_SETTING = "AzureWebJobsStorage"
TABLE_PREFIX_SETTING = "HAYMAKER_TABLE_PREFIX"
DEFAULT_TABLE_PREFIX = "haymaker"
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")


class SettingsError(ValueError):
    """A missing or malformed setting; the message names it."""


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
                f"{TABLE_PREFIX_SETTING} must be 1-40 letters or digits starting with a letter"
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
                f"{STORAGE_SETTING}__tableServiceUri / {STORAGE_SETTING}__accountName"
            )
        credential = (env.get(f"{STORAGE_SETTING}__credential") or "").lower()
        return cls(
            table_service_uri=uri.rstrip("/"),
            client_id=env.get(f"{STORAGE_SETTING}__clientId"),
            use_managed_identity=credential == "managedidentity",
            table_prefix=prefix,
        )
