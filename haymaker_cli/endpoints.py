"""Which API a run talks to, and with what credentials: HAYMAKER_URL (and HAYMAKER_KEY) when
set, else a profile of the profile file, whose function key comes from a variable or from the
az CLI, with an Entra ID token for App Service authentication."""

from __future__ import annotations

import os
import subprocess
from functools import cache

import typer

from haymaker_cli import output, profile_file
from haymaker_cli.client import ApiClient
from haymaker_cli.profile_file import ProfileFile, ProfileFileError


def stored_profiles() -> ProfileFile:
    """The profile file; a broken one is a usage error (exit 2) saying what and where."""
    try:
        return profile_file.load()
    except ProfileFileError as exc:
        output.error(str(exc))
        raise typer.Exit(2) from None


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


def _entra_token(name: str, scope: str) -> str:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise typer.BadParameter(
            f"profile {name} sends an Entra ID token, which needs azure-identity: "
            "pip install 'haymaker-functions[entra]'"
        ) from None
    return DefaultAzureCredential().get_token(scope).token


def client_for(name: str | None) -> ApiClient:
    """The API client for profile `name` (default: HAYMAKER_PROFILE, then the file's
    current one); HAYMAKER_URL and HAYMAKER_KEY override any profile."""
    if os.environ.get("HAYMAKER_URL"):
        return ApiClient(os.environ["HAYMAKER_URL"], key=os.environ.get("HAYMAKER_KEY"))
    stored = stored_profiles()
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
    bearer = _entra_token(name, profile.entra_scope) if profile.entra_scope else None
    return ApiClient(profile.url, key=key, bearer=bearer)
