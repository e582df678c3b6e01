"""Secrets the CLI holds (function keys, bearer tokens), kept out of everything it prints:
an error message can quote a request's headers, a traceback can quote anything."""

from __future__ import annotations

MASK = "***"

_secrets: set[str] = set()


def keep_secret(value: str | None) -> None:
    if value:
        # as it is, and as a repr or bytes literal in a message shows it (escaped)
        _secrets.update({value, repr(value)[1:-1], repr(value.encode())[2:-1]})


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):  # a key inside a longer token
        text = text.replace(secret, MASK)
    return text
