"""`workload.yaml` manifests (agent-haymaker's format) and enforcement of their config schema.

The schema is turned into a pydantic model once per manifest, so validation, coercion of
strings such as `item_count=50`, range checks and the rejection of unknown keys are
pydantic's, and every error names its key.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from haymaker.errors import ConfigError, PayloadTooLargeError
from haymaker.keys import WORKLOAD_NAME_PATTERN

FieldType = Literal["string", "integer", "number", "boolean", "array", "object"]

_PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "object": dict[str, Any],
}

# A config must fit in one Table Storage string property (64 KiB of UTF-16).
MAX_CONFIG_CHARS = 32_000


def _reject_bool(value: Any) -> Any:
    """pydantic's lax mode reads `true` as 1; a number field should not."""
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not a boolean")
    return value


def _split_commas(value: Any) -> Any:
    """`departments=sales,hr` on a command line arrives as one string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: FieldType
    description: str = ""
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    enum: list[Any] | None = None
    items: FieldType | None = Field(default=None, description="element type of an array")
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.items is not None and self.type != "array":
            raise ValueError("items is only allowed on arrays")
        if self.items == "array":
            raise ValueError("arrays of arrays are not supported")
        return self

    def annotation(self) -> Any:
        if self.type == "array":
            # min_length/max_length bound the list here, not each of its strings.
            element = self._scalar(self.items or "string", element=True)
            return Annotated[
                list[element],  # type: ignore[valid-type]
                BeforeValidator(_split_commas),
                Field(min_length=self.min_length, max_length=self.max_length),
            ]
        return self._scalar(self.type)

    def _scalar(self, type_name: str, element: bool = False) -> Any:
        if self.enum is not None:
            return Literal[tuple(self.enum)]  # type: ignore[misc]
        base = _PYTHON_TYPES[type_name]
        if type_name in ("integer", "number"):
            return Annotated[base, BeforeValidator(_reject_bool), Field(ge=self.min, le=self.max)]
        if type_name == "string" and not element:
            return Annotated[base, Field(min_length=self.min_length, max_length=self.max_length)]
        return base

    def field(self) -> tuple[Any, Any]:
        if self.required:
            return (self.annotation(), Field(description=self.description))
        if self.default is None:  # optional: absent is null, and the workload decides
            return (self.annotation() | None, Field(default=None, description=self.description))
        return (self.annotation(), Field(default=self.default, description=self.description))


class PackageSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    entrypoint: str | None = None


class WorkloadManifest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=WORKLOAD_NAME_PATTERN)
    version: str
    description: str = ""
    type: str = "runtime"
    package: PackageSpec | None = None
    phases: list[str] = Field(default_factory=list)
    config_schema: dict[str, FieldSpec] = Field(default_factory=dict)

    @classmethod
    def from_yaml(cls, text: str, source: str = "workload.yaml") -> WorkloadManifest:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{source}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a mapping at the top level")
        try:
            manifest = cls.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"{source}: {exc}") from exc
        if not any(spec.required for spec in manifest.config_schema.values()):
            # Fail at load time, not at the first deploy, when a default breaks its own schema.
            try:
                manifest.validate_config({})
            except ConfigError as exc:
                raise ValueError(f"{source}: defaults do not satisfy the schema: {exc}") from exc
        return manifest

    @classmethod
    def from_path(cls, path: Path) -> WorkloadManifest:
        return cls.from_yaml(path.read_text(encoding="utf-8"), str(path))

    @cached_property
    def config_model(self) -> type[BaseModel]:
        fields = {key: spec.field() for key, spec in self.config_schema.items()}
        return create_model(  # type: ignore[call-overload,no-any-return]
            f"{self.name.replace('-', '_')}_config",
            __config__=ConfigDict(extra="forbid", validate_default=True),
            **fields,
        )

    def validate_config(self, config: dict[str, Any] | None) -> dict[str, Any]:
        """Apply defaults, coerce strings, and reject bad or unknown keys, naming each."""
        if config is not None and not isinstance(config, dict):
            raise ConfigError("config must be a JSON object of key/value pairs")
        try:
            validated = self.config_model.model_validate(config or {})
        except ValidationError as exc:
            errors = [_describe(error, self.config_schema) for error in exc.errors()]
            detail = "; ".join(f"{e['key']}: {e['message']}" for e in errors)
            raise ConfigError(f"invalid config for {self.name}: {detail}", errors=errors) from None
        result = validated.model_dump(mode="json")
        if len(json.dumps(result)) > MAX_CONFIG_CHARS:
            raise PayloadTooLargeError(
                f"config for {self.name} is larger than {MAX_CONFIG_CHARS} characters"
            )
        return result

    def schema_summary(self) -> list[dict[str, Any]]:
        return [
            {"key": key, **spec.model_dump(exclude_none=True)}
            for key, spec in self.config_schema.items()
        ]


def _describe(error: Any, known: Iterable[str]) -> dict[str, Any]:
    location = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] != "extra_forbidden":
        return {"key": location, "message": error["msg"]}
    nearest = difflib.get_close_matches(location, list(known), n=1)
    hint = f"; did you mean `{nearest[0]}`?" if nearest else ""
    return {"key": location, "message": f"unknown key{hint}"}
