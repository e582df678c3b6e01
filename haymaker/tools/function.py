"""A tool is a typed Python function: `@tool` turns it into a `Tool` whose arguments are a
pydantic model, so the model is offered a JSON schema and every call is validated.

Two ways to declare the arguments:

    class SendArgs(BaseModel):
        to: str
        body: str = Field(max_length=2000)

    @tool(side_effects=True)
    async def send(args: SendArgs, ctx: ToolContext) -> str: ...

    @tool
    def fetch(url: Annotated[str, Field(description="An http(s) URL")], max_bytes: int = 100_000):
        '''Fetch a page.'''

A single parameter annotated with a BaseModel subclass *is* the arguments object; otherwise
each annotated parameter is one argument. A parameter annotated `ToolContext` receives the
call's context and is not part of the schema.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import to_jsonable_python

from haymaker.llm.messages import ToolCall
from haymaker.llm.tools import ToolSpec
from haymaker.models import Resource
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import Confirmation, ToolError, ToolOutcome
from haymaker.tools.schema import arguments_schema
from haymaker.tools.source import ToolInfo

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what both Anthropic and OpenAI accept
NO_OUTPUT = "(no output)"

ConfirmHook = Callable[[ToolCall, ToolContext], Any]  # -> Confirmation, or an awaitable of one
DeleteHook = Callable[[Resource, ToolContext], Any]  # -> None, or an awaitable


class Tool:
    """A function offered to the model. Calling the object calls the plain function; the
    platform uses `call` (validated arguments in, a ToolOutcome out)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        side_effects: bool = False,
        requires_approval: bool = False,
        confirm: ConfirmHook | None = None,
        delete: DeleteHook | None = None,
        max_content_chars: int | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not TOOL_NAME.fullmatch(self.name):
            raise ValueError(f"tool name {self.name!r} must be 1-64 of a-z A-Z 0-9 _ -")
        if confirm is not None and not side_effects:
            raise ValueError(f"tool {self.name}: a confirm hook is for side-effecting tools")
        self.side_effects = side_effects
        self.requires_approval = requires_approval
        self.confirm_hook = confirm
        self.delete_hook = delete
        self.max_content_chars = max_content_chars
        self._signature = _Signature.of(fn, self.name)
        self.arguments_model = self._signature.model
        schema = arguments_schema(self.arguments_model)
        # An arguments model's docstring describes the tool when the function has none.
        model_doc = schema.pop("description", "")
        if description is None:
            description = _unwrapped_text(inspect.getdoc(fn) or model_doc)
        self.description = description
        self.spec = ToolSpec(name=self.name, description=description, input_schema=schema)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"

    def info(self, source: str) -> ToolInfo:
        return ToolInfo(
            spec=self.spec,
            source=source,
            side_effects=self.side_effects,
            requires_approval=self.requires_approval,
        )

    async def call(
        self, arguments: Mapping[str, Any], ctx: ToolContext, *, source: str
    ) -> ToolOutcome:
        """Validate `arguments` and run the function. Invalid arguments and a ToolError are
        error outcomes (the model may correct itself); other exceptions propagate."""
        bound = self._bound(ctx, source)
        recorded_before = len(bound.resources)
        try:
            validated = self.arguments_model.model_validate(dict(arguments))
        except ValidationError as exc:
            return ToolOutcome.error(describe_invalid_arguments(self.name, exc))
        try:
            result = await _run(self.fn, **self._signature.keywords(validated, bound))
            outcome = as_outcome(result)
        except ToolError as exc:
            outcome = ToolOutcome.error(str(exc) or f"{self.name} failed")
        return self._finish(outcome, bound, bound.resources[recorded_before:])

    async def confirm(self, call: ToolCall, ctx: ToolContext, *, source: str) -> Confirmation:
        """Whether a call found started but unconfirmed after a crash took effect."""
        if not self.side_effects:
            return Confirmation.not_done(f"{self.name} has no side effects: safe to run again")
        if self.confirm_hook is None:
            return Confirmation.unknown(f"{self.name} cannot tell whether the call took effect")
        bound = self._bound(ctx, source)
        recorded_before = len(bound.resources)
        answer = await _run(self.confirm_hook, call, bound)
        if not isinstance(answer, Confirmation):
            raise TypeError(f"the confirm hook of {self.name} must return a Confirmation")
        if answer.outcome is not None:
            outcome = self._finish(answer.outcome, bound, bound.resources[recorded_before:])
            answer = answer.model_copy(update={"outcome": outcome})
        return answer

    async def delete_resource(self, resource: Resource, ctx: ToolContext, *, source: str) -> None:
        """Delete what this tool recorded as `resource` (its own kind, name and data)."""
        if self.delete_hook is None:
            raise RuntimeError(f"tool {self.name} has no delete hook")
        await _run(self.delete_hook, resource, self._bound(ctx, source))

    def _bound(self, ctx: ToolContext, source: str) -> ToolContext:
        return ctx.for_tool(self.name, source, can_delete=self.delete_hook is not None)

    def _finish(
        self, outcome: ToolOutcome, bound: ToolContext, recorded: list[Resource]
    ) -> ToolOutcome:
        if recorded:
            outcome = outcome.model_copy(update={"resources": [*outcome.resources, *recorded]})
        return outcome.capped(self.max_content_chars or bound.limits.max_content_chars)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    side_effects: bool = False,
    requires_approval: bool = False,
    confirm: ConfirmHook | None = None,
    delete: DeleteHook | None = None,
    max_content_chars: int | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Declare a tool: `@tool` or `@tool(name=..., description=..., side_effects=...,
    requires_approval=..., confirm=..., delete=..., max_content_chars=...)`. The name
    defaults to the function's, the description to its docstring."""
    if fn is not None:
        return Tool(fn, **options)
    return lambda function: Tool(function, **options)


def describe_invalid_arguments(tool_name: str, exc: ValidationError) -> str:
    """Each problem with its place, never the values sent (they may hold secrets)."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return f"invalid arguments for {tool_name}: " + "; ".join(problems)


def as_outcome(result: Any) -> ToolOutcome:
    """What a tool function returned, as an outcome: text as is, anything else as JSON
    (kept as `data` too)."""
    if isinstance(result, ToolOutcome):
        return result
    if isinstance(result, str):
        return ToolOutcome(content=result)
    if result is None:
        return ToolOutcome(content=NO_OUTPUT)
    data = to_jsonable_python(result)
    return ToolOutcome(content=json.dumps(data, ensure_ascii=False), data=data)


async def _run(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Await an async function; run a sync one in a thread (it may block)."""
    if inspect.iscoroutinefunction(function):
        return await function(*args, **kwargs)
    result = await asyncio.to_thread(function, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


class _Signature:
    """How a function's parameters map to the arguments model and back."""

    def __init__(
        self,
        model: type[BaseModel],
        fields: list[str],
        model_param: str | None,
        context: str | None,
    ) -> None:
        self.model = model
        self.fields = fields
        self.model_param = model_param
        self.context_param = context

    @classmethod
    def of(cls, fn: Callable[..., Any], tool_name: str) -> _Signature:
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except NameError as exc:
            raise TypeError(f"tool {tool_name}: cannot resolve an annotation ({exc})") from None
        context: str | None = None
        fields: dict[str, Any] = {}
        for parameter in inspect.signature(fn).parameters.values():
            if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                raise TypeError(f"tool {tool_name}: parameter {parameter.name} must be named")
            if parameter.name not in hints:
                raise TypeError(f"tool {tool_name}: parameter {parameter.name} needs a type")
            hint = hints[parameter.name]
            if _is_class(hint, ToolContext):
                context = parameter.name
                continue
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[parameter.name] = (hint, default)
        if len(fields) == 1:
            (param, (hint, default)) = next(iter(fields.items()))
            if _is_class(hint, BaseModel) and default is ...:
                return cls(_unwrapped(hint), [], param, context)
        model = create_model(  # type: ignore[call-overload]
            f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        return cls(model, list(fields), None, context)

    def keywords(self, validated: BaseModel, ctx: ToolContext) -> dict[str, Any]:
        if self.model_param is not None:
            keywords = {self.model_param: validated}
        else:
            keywords = {name: getattr(validated, name) for name in self.fields}
        if self.context_param is not None:
            keywords[self.context_param] = ctx
        return keywords


def _unwrapped_text(docstring: str) -> str:
    """A docstring's paragraphs, each on one line (the model needs no hard wraps)."""
    paragraphs = re.split(r"\n\s*\n", docstring.strip())
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _unwrapped(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint


def _is_class(hint: Any, base: type) -> bool:
    hint = _unwrapped(hint)
    return isinstance(hint, type) and issubclass(hint, base)
