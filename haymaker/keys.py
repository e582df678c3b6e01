"""Validation of identifiers that become Table Storage keys or URL segments."""

from __future__ import annotations

import re
import secrets

from haymaker.errors import InvalidKeyError

DEPLOYMENT_ID_PATTERN = r"^[a-z][a-z0-9-]{2,62}$"
WORKLOAD_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
SCHEDULE_ID_PATTERN = r"^sch-[a-f0-9]{10}$"

_DEPLOYMENT_ID = re.compile(DEPLOYMENT_ID_PATTERN)
_WORKLOAD_NAME = re.compile(WORKLOAD_NAME_PATTERN)
_SCHEDULE_ID = re.compile(SCHEDULE_ID_PATTERN)
# Characters Table Storage forbids in PartitionKey/RowKey, plus control characters.
_FORBIDDEN_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
MAX_KEY_BYTES = 1024


def table_key(value: str, what: str = "key") -> str:
    """Return `value` if it is a legal PartitionKey/RowKey, else raise InvalidKeyError."""
    if not isinstance(value, str) or not value:
        raise InvalidKeyError(f"{what} must be a non-empty string")
    if _FORBIDDEN_KEY_CHARS.search(value):
        raise InvalidKeyError(
            f"{what} contains a character Table Storage forbids (/ \\ # ? or control)"
        )
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"{what} is longer than {MAX_KEY_BYTES} bytes")
    return value


def deployment_id(value: str) -> str:
    """Validate a deployment id: lower-case letters, digits and '-', 3 to 63 characters."""
    table_key(value, "deployment id")
    if not _DEPLOYMENT_ID.fullmatch(value):
        raise InvalidKeyError(
            "deployment id must be 3-63 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return value


def workload_name(value: str) -> str:
    table_key(value, "workload name")
    if not _WORKLOAD_NAME.fullmatch(value):
        raise InvalidKeyError(
            "workload name must be 2-40 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return value


def schedule_id(value: str) -> str:
    table_key(value, "schedule id")
    if not _SCHEDULE_ID.fullmatch(value):
        raise InvalidKeyError("schedule id must look like sch-0123456789")
    return value


def new_deployment_id(workload: str) -> str:
    """`data-collector-1a2b3c4d5e`: the workload name plus 40 random bits."""
    return f"{workload_name(workload)}-{secrets.token_hex(5)}"
