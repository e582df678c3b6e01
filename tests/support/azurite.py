"""Azurite for tests: the project's launcher, rooted at this checkout."""

from __future__ import annotations

from pathlib import Path

from devhost.azurite import Azurite as _Azurite
from devhost.azurite import connection_string, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "Azurite", "connection_string", "free_port", "wait_for_port"]


def Azurite(**options: object) -> _Azurite:
    return _Azurite(ROOT, **options)  # type: ignore[arg-type]
