"""The profile file: ~/.haymaker/config.toml, or the file HAYMAKER_CONFIG names. Read whole
or refused with the file and the place of the problem; written whole, by renaming a new file
over it, so that a crash or a second `haymaker profile ...` never leaves half a file."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import tomllib
from pathlib import Path

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from haymaker_cli.client import DEFAULT_URL

LOCAL = "local"


class ProfileFileError(Exception):
    """The file cannot be read or written; the message names it."""


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
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileFileError(f"{path}: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileFileError(f"{path}{_where(str(exc))}") from None
    try:
        stored = ProfileFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProfileFileError(f"{path}: {where}: {first['msg']}") from None
    stored.profiles.setdefault(LOCAL, Profile(url=DEFAULT_URL))
    return stored


def _where(message: str) -> str:
    """ ", line 3, column 7: not valid TOML: Invalid value" from tomllib's message
    "Invalid value (at line 3, column 7)"."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.S)
    if found is None:
        return f": not valid TOML: {message}"
    reason, line, column = found.groups()
    return f", line {line}, column {column}: not valid TOML: {reason}"


def save(stored: ProfileFile) -> Path:
    """Write the whole file next to the old one, then rename it over it (through a symlink,
    to the file it points to)."""
    path = config_path().resolve()
    text = tomli_w.dumps(stored.model_dump(exclude_none=True))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as new:
            new.write(text)
            new.flush()
            os.fsync(new.fileno())
            if path.exists():  # a new file is private (0600); an edited one keeps its mode
                os.chmod(new.name, stat.S_IMODE(path.stat().st_mode))
        try:
            os.replace(new.name, path)
        except OSError:
            os.unlink(new.name)
            raise
    except OSError as exc:
        raise ProfileFileError(f"{path}: cannot be written: {exc}") from None
    return config_path()
