"""ASP.NET-style route templates, as the Functions host reads an HTTP trigger's `route`.

Supports literal segments, `{name}`, `{name?}`, a trailing `{*rest}`, and the inline
constraints apps use most: `int`, `long`, `bool`, `alpha`, `guid`, `minlength(n)`,
`maxlength(n)`, `length(n)`, `length(a,b)`, `min(n)`, `max(n)`, `range(a,b)` and
`regex(expr)` (matched case-insensitively and unanchored, as in ASP.NET). A segment that
fails a constraint does not match, so the request falls through to other routes or a 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)((?::[^{}]+?)*)(\?)?\}")
_CALL = re.compile(r"([a-z]+)(?:\((.*)\))?", re.DOTALL)

Check = Callable[[str], bool]


class RouteError(ValueError):
    pass


def _integer(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _numbers(argument: str | None, count: int, constraint: str) -> list[int]:
    parts = [] if argument is None else [part.strip() for part in argument.split(",")]
    if len(parts) != count or any(_integer(part) is None for part in parts):
        raise RouteError(f"route constraint {constraint!r} takes {count} integer argument(s)")
    return [int(part) for part in parts]


def _constraint(text: str) -> Check:
    call = _CALL.fullmatch(text)
    if call is None:
        raise RouteError(f"route constraint {text!r} is not understood")
    name, argument = call.groups()
    if name in ("int", "long"):
        return lambda value: _integer(value) is not None
    if name == "bool":
        return lambda value: value.lower() in ("true", "false")
    if name == "alpha":
        return lambda value: value.isascii() and value.isalpha()
    if name == "guid":
        return _is_guid
    if name == "regex":
        if not argument:
            raise RouteError("route constraint regex() needs an expression")
        expression = re.compile(argument, re.IGNORECASE)
        return lambda value: expression.search(value) is not None
    if name == "minlength":
        (low,) = _numbers(argument, 1, text)
        return lambda value: len(value) >= low
    if name == "maxlength":
        (high,) = _numbers(argument, 1, text)
        return lambda value: len(value) <= high
    if name == "length":
        bounds = _numbers(argument, argument.count(",") + 1 if argument else 0, text)
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else bounds
        return lambda value: low <= len(value) <= high
    if name in ("min", "max"):
        (bound,) = _numbers(argument, 1, text)
        if name == "min":
            return lambda value: (number := _integer(value)) is not None and number >= bound
        return lambda value: (number := _integer(value)) is not None and number <= bound
    if name == "range":
        low, high = _numbers(argument, 2, text)
        return lambda value: (number := _integer(value)) is not None and low <= number <= high
    raise RouteError(f"route constraint {name!r} is not supported by the local host")


def _split_constraints(text: str) -> list[str]:
    """`:int:min(1)` -> ["int", "min(1)"]; a colon inside parentheses belongs to the call."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == ":" and depth == 0:
            if current:
                parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current:
        parts.append(current)
    return parts


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    checks: dict[str, tuple[Check, ...]]
    # A literal segment sorts before a parameter in the same position.
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters when `path` matches and every constraint holds."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        params = {name: value for name, value in found.groupdict().items() if value is not None}
        for name, checks in self.checks.items():
            value = params.get(name)
            if value is not None and not all(check(value) for check in checks):
                return None
        return params


def compile_route(template: str) -> Route:
    parts: list[str] = []
    precedence: list[int] = []
    checks: dict[str, tuple[Check, ...]] = {}
    for segment in template.strip("/").split("/"):
        param = _PARAM.fullmatch(segment)
        precedence.append(0 if param is None else 1)
        if param is None:
            if "{" in segment or "}" in segment:
                raise RouteError(f"route segment {segment!r} mixes text and parameters")
            parts.append("/" + re.escape(segment))
            continue
        catch_all, name, constraints, optional = param.groups()
        if constraints:
            checks[name] = tuple(_constraint(c) for c in _split_constraints(constraints))
        piece = f"/(?P<{name}>{'.+' if catch_all else '[^/]+'})"
        parts.append(f"(?:{piece})?" if optional or catch_all else piece)
    pattern = re.compile("".join(parts) + "/?", re.DOTALL)
    return Route(template, pattern, checks, tuple(precedence))
