"""A model's arguments checked against a tool's JSON schema before anything is sent, with
messages that name each problem's place and never the values sent (they may hold secrets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_PROBLEMS = 5


def _problem(error: Any) -> str:
    place = ".".join(str(part) for part in error.absolute_path) or "arguments"
    kind = error.validator
    expected = error.validator_value
    if kind == "required":
        # the message is "'name' is a required property": a name from the schema, no value
        return f"{place}: {error.message}"
    if kind == "additionalProperties" and expected is False:
        return f"{place}: has properties the schema does not allow"
    if kind == "type":
        return f"{place}: must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}"
    if kind in ("enum", "const"):
        return f"{place}: must be {'one of ' if kind == 'enum' else ''}{expected!r}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{place}: breaks {kind} {expected}"
    if kind in ("minLength", "maxLength", "minItems", "maxItems", "pattern", "format"):
        return f"{place}: breaks {kind} {expected!r}"
    return f"{place}: does not match the schema ({kind})"


def argument_problems(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    """None if `arguments` fit `schema`, else a message listing the first few problems. A
    schema the validator cannot read is not the model's fault: it is left to the service."""
    from jsonschema import exceptions, validators

    try:
        validator_class = validators.validator_for(schema)
        validator_class.check_schema(schema)
    except exceptions.SchemaError:
        return None
    validator = validator_class(schema)
    errors = sorted(
        validator.iter_errors(dict(arguments)), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if not errors:
        return None
    problems = [_problem(error) for error in errors[:MAX_PROBLEMS]]
    more = len(errors) - MAX_PROBLEMS
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
