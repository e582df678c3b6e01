"""Named endpoints of the API: `local` and any number of Azure ones, in ~/.haymaker/config.toml
(HAYMAKER_CONFIG names another file). HAYMAKER_URL (and HAYMAKER_KEY) override any profile."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

import tomli_w
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rich.table import Table

from haymaker_cli import output
from haymaker_cli.client import DEFAULT_URL, ApiClient, ApiError

T = TypeVar("T")

LOCAL = "local"
PROFILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"

profile_app = typer.Typer(
    help="Named endpoints: the local host or deployed apps.", no_args_is_help=True
)


class Profile(BaseModel):
    """How to reach one deployment of the API. At most one way to authenticate."""

    model_config = ConfigDict(extra="forbid")

    url: str
    key_env: str | None = Field(
        default=None, description="environment variable holding the function key"
    )
    az_app: str | None = Field(
        default=None, description="function app to read the key from with the az CLI"
    )
    az_resource_group: str | None = None
    entra_scope: str | None = Field(
        default=None,
        description="App Service authentication: token scope (sent with the function key)",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Profile:
        # A token goes with a key: the host checks the key, the token's app roles decide.
        if self.key_env and self.az_app:
            raise ValueError("choose one of key_env or az_app for the function key")
        if bool(self.az_app) != bool(self.az_resource_group):
            raise ValueError("az_app and az_resource_group go together")
        return self


class ProfileFile(BaseModel):
    current: str = LOCAL
    profiles: dict[str, Profile] = Field(default_factory=dict)


def config_path() -> Path:
    return Path(os.environ.get("HAYMAKER_CONFIG") or Path.home() / ".haymaker" / "config.toml")


def load() -> ProfileFile:
    path = config_path()
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    try:
        stored = ProfileFile.model_validate(data)
    except ValidationError as exc:
        raise typer.BadParameter(f"{path}: {exc.errors()[0]['msg']}") from None
    stored.profiles.setdefault(LOCAL, Profile(url=DEFAULT_URL))
    return stored


def save(stored: ProfileFile) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(stored.model_dump(exclude_none=True)), encoding="utf-8")
    return path


@cache
def _az_key(app: str, group: str) -> str:
    command = [
        "az",
        "functionapp",
        "keys",
        "list",
        "--name",
        app,
        "--resource-group",
        group,
        "--query",
        "functionKeys.default",
        "--output",
        "tsv",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    except FileNotFoundError:
        raise typer.BadParameter(
            "the az CLI is not installed (needed for az_app profiles)"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise typer.BadParameter(
            f"az could not read the key of {app}: {exc.stderr.strip()}"
        ) from None
    return result.stdout.strip()


def _entra_token(scope: str) -> str:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential().get_token(scope).token


def client_for(name: str | None) -> ApiClient:
    """The API client for profile `name` (default: HAYMAKER_PROFILE, then the file's
    current one); HAYMAKER_URL and HAYMAKER_KEY override any profile."""
    if os.environ.get("HAYMAKER_URL"):
        return ApiClient(os.environ["HAYMAKER_URL"], key=os.environ.get("HAYMAKER_KEY"))
    stored = load()
    name = name or os.environ.get("HAYMAKER_PROFILE") or stored.current
    profile = stored.profiles.get(name)
    if profile is None:
        known = ", ".join(sorted(stored.profiles))
        raise typer.BadParameter(f"no profile {name!r} (known: {known})", param_hint="--profile")
    key = os.environ.get("HAYMAKER_KEY")
    if profile.key_env:
        key = os.environ.get(profile.key_env)
        if not key:
            raise typer.BadParameter(
                f"profile {name} reads its key from ${profile.key_env}, which is not set"
            )
    elif profile.az_app and profile.az_resource_group:
        key = _az_key(profile.az_app, profile.az_resource_group)
    bearer = _entra_token(profile.entra_scope) if profile.entra_scope else None
    return ApiClient(profile.url, key=key, bearer=bearer)


# The profile chosen with --profile for this invocation (set by the root command).
selected: dict[str, str | None] = {"profile": None}


def current_client() -> ApiClient:
    return client_for(selected["profile"])


def call(operation: Callable[[ApiClient], T]) -> T:
    """Run `operation` on the current client; an API error exits with its documented code."""
    try:
        return operation(current_client())
    except ApiError as exc:
        raise output.fail(exc) from None


@profile_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="profile name")],
    url: Annotated[
        str, typer.Option("--url", help="base URL, e.g. https://func-x.azurewebsites.net")
    ],
    key_env: Annotated[
        str | None, typer.Option("--key-env", help="variable holding the function key")
    ] = None,
    az_app: Annotated[
        str | None, typer.Option("--az-app", help="read the key with az from this app")
    ] = None,
    az_resource_group: Annotated[str | None, typer.Option("--az-resource-group")] = None,
    entra_scope: Annotated[
        str | None, typer.Option("--entra-scope", help="bearer token scope")
    ] = None,
    use: Annotated[bool, typer.Option("--use", help="make it the current profile")] = False,
) -> None:
    """Add (or replace) a profile."""
    if not re.fullmatch(PROFILE_NAME, name):
        raise typer.BadParameter("1-40 letters, digits, '-' or '_'", param_hint="NAME")
    try:
        profile = Profile(
            url=url,
            key_env=key_env,
            az_app=az_app,
            az_resource_group=az_resource_group,
            entra_scope=entra_scope,
        )
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"]) from None
    stored = load()
    stored.profiles[name] = profile
    if use:
        stored.current = name
    path = save(stored)
    output.console.print(f"Profile {name} saved in {path}" + (" (current)" if use else ""))


@profile_app.command("list")
def list_profiles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List profiles; the current one is marked."""
    stored = load()
    if as_json:
        output.print_json(
            {
                "current": stored.current,
                "profiles": stored.model_dump(exclude_none=True)["profiles"],
            }
        )
        return
    table = Table("", "Name", "URL", "Authentication")
    for name, profile in sorted(stored.profiles.items()):
        auth = (
            f"key from ${profile.key_env}"
            if profile.key_env
            else f"key via az ({profile.az_app})"
            if profile.az_app
            else f"Entra ID ({profile.entra_scope})"
            if profile.entra_scope
            else "none"
        )
        table.add_row("*" if name == stored.current else "", name, profile.url, auth)
    output.console.print(table)


@profile_app.command("use")
def use_profile(name: str) -> None:
    """Make a profile the current one."""
    stored = load()
    if name not in stored.profiles:
        raise typer.BadParameter(f"no profile {name!r}", param_hint="NAME")
    stored.current = name
    save(stored)
    output.console.print(f"Current profile: {name}")


@profile_app.command("remove")
def remove(name: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Remove a profile."""
    stored = load()
    if name not in stored.profiles or name == LOCAL:
        raise typer.BadParameter(f"no removable profile {name!r}", param_hint="NAME")
    output.confirm(f"Remove profile {name}?", yes)
    del stored.profiles[name]
    if stored.current == name:
        stored.current = LOCAL
    save(stored)
    output.console.print(f"Removed {name}")
