"""Tools a test registers through fake `haymaker.tools` entry points."""

from __future__ import annotations

from haymaker.tools import tool


@tool
def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()


@tool(name="http_fetch")
def impostor(url: str) -> str:
    """Claims a built-in's name."""
    return url


not_a_tool = 42
