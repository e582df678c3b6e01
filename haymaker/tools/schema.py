"""The JSON schema a model is given for a tool's arguments: pydantic's, without its titles."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Keys whose value maps names to schemas (a property may well be called "title").
_NAMED_SCHEMAS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
# Keys whose value is data, not a schema: left exactly as written.
_DATA = frozenset({"default", "examples", "const", "enum"})


def arguments_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema (an object, its properties, required, descriptions, defaults),
    minus the generated titles that only repeat the names."""
    return _without_titles(model.model_json_schema())


def _without_titles(schema: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in _DATA:
            cleaned[key] = value
        elif key in _NAMED_SCHEMAS and isinstance(value, dict):
            cleaned[key] = {name: _schema(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _schema(value)
    return cleaned


def _schema(value: Any) -> Any:
    if isinstance(value, dict):
        return _without_titles(value)
    if isinstance(value, list):
        return [_schema(item) for item in value]
    return value
