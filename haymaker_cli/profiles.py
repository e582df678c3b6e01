"""`haymaker profile ...`: named endpoints of the API, `local` and any number of Azure ones, in
~/.haymaker/config.toml (HAYMAKER_CONFIG names another file). HAYMAKER_URL (and HAYMAKER_KEY)
override any profile (haymaker_cli.endpoints)."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from haymaker_cli import output, profile_file
from haymaker_cli.endpoints import stored_profiles
from haymaker_cli.profile_file import LOCAL, Profile, ProfileFile, ProfileFileError

PROFILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"

profile_app = typer.Typer(
    help="Named endpoints: the local host or deployed apps.", no_args_is_help=True
)


def save(stored: ProfileFile) -> str:
    try:
        return str(profile_file.save(stored))
    except ProfileFileError as exc:
        output.error(str(exc))
        raise typer.Exit(1) from None


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
    stored = stored_profiles()
    stored.profiles[name] = profile
    if use:
        stored.current = name
    path = save(stored)
    output.console.print(f"Profile {name} saved in {path}" + (" (current)" if use else ""))


@profile_app.command("list")
def list_profiles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List profiles; the current one is marked."""
    stored = stored_profiles()
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
    stored = stored_profiles()
    if name not in stored.profiles:
        raise typer.BadParameter(f"no profile {name!r}", param_hint="NAME")
    stored.current = name
    save(stored)
    output.console.print(f"Current profile: {name}")


@profile_app.command("remove")
def remove(name: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Remove a profile."""
    stored = stored_profiles()
    if name not in stored.profiles or name == LOCAL:
        raise typer.BadParameter(f"no removable profile {name!r}", param_hint="NAME")
    output.confirm(f"Remove profile {name}?", yes)
    del stored.profiles[name]
    if stored.current == name:
        stored.current = LOCAL
    save(stored)
    output.console.print(f"Removed {name}")
