"""The API client of one `haymaker` run: made from the chosen profile on first use, shared by
every request of the run (one connection for --wait, logs -f and watch), closed at its end."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from haymaker_cli import output
from haymaker_cli.client import ApiClient, ApiError
from haymaker_cli.endpoints import client_for

T = TypeVar("T")


class Session:
    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile  # --profile, else HAYMAKER_PROFILE, else the file's current one
        self._client: ApiClient | None = None

    def client(self) -> ApiClient:
        if self._client is None:
            try:
                self._client = client_for(self.profile)
            except ApiError as exc:  # a key no header can carry
                raise output.fail(exc) from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


_current = Session()


def begin(profile: str | None) -> Session:
    """The session of the run starting now (the root command starts one per run)."""
    global _current
    _current.close()
    _current = Session(profile)
    return _current


def current_client() -> ApiClient:
    return _current.client()


def call(operation: Callable[[ApiClient], T]) -> T:
    """Run `operation` on the run's client; an API error exits with its documented code."""
    try:
        return operation(current_client())
    except ApiError as exc:
        raise output.fail(exc) from None
