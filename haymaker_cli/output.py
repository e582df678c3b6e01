"""What the CLI prints. Markup is off on both consoles: deployments' text (log lines, errors,
config values, metadata, names in table cells) is printed as it is, square brackets and all;
the CLI's own styling goes in Text objects (`styled`) instead of markup strings."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from haymaker_cli.api_error import ApiError
from haymaker_cli.redaction import redact

console = Console(markup=False)
errors = Console(stderr=True, markup=False, highlight=False)

Part = str | tuple[str, str]  # text, or (text, style)


def styled(*parts: Part) -> Text:
    """`styled("Deployment: ", (deployment_id, "bold"))`: text with styles, no markup."""
    return Text.assemble(*parts)


def error(message: str) -> None:
    """One line on stderr: `error: <message>`, with any secret the CLI holds masked."""
    errors.print(styled(("error:", "red"), " ", redact(message)), soft_wrap=True)


def fail(exc: ApiError) -> typer.Exit:
    """Print one line (with a hint where there is one) and give the documented exit code."""
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    error(f"{exc}{hint}")
    return typer.Exit(exc.exit_code)


def confirm(question: str, yes: bool) -> None:
    """Ask before a destructive command, unless --yes; without a terminal, require --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        error(f"{question} Add --yes to confirm without a terminal.")
        raise typer.Exit(2)
    typer.confirm(question, abort=True)


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{value!r} is not key=value", param_hint=option)
        pairs[key.strip()] = text.strip()
    return pairs


def numbers(values: list[str] | None, option: str) -> dict[str, float]:
    """`key=value` pairs whose values are numbers (budget limits): whole numbers as ints."""
    parsed: dict[str, float] = {}
    for key, text in pairs(values, option).items():
        try:
            parsed[key] = int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            raise typer.BadParameter(f"{key}={text}: not a number", param_hint=option) from None
    return parsed


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
