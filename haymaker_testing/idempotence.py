"""Checks that a step re-run from the same inputs does the same thing, as the platform needs
when it re-runs a step after a crash. The re-run gets the first run's model answers back."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from haymaker.llm import LLMClient, LLMMessage, LLMResponse
from haymaker.models import Resource
from haymaker.workloads.base import StepResult

Call = tuple[tuple[Any, ...], LLMResponse | Exception]


def _key(messages: Sequence[LLMMessage], system: str | None, max_tokens: int | None) -> tuple:
    return (tuple(m.model_dump_json() for m in messages), system, max_tokens)


class RecordingLLM:
    """Passes calls to `client` and keeps each request with its answer."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.calls: list[Call] = []

    async def complete(
        self,
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        key = _key(messages, system, max_tokens)
        try:
            response = await self.client.complete(messages, system=system, max_tokens=max_tokens)
        except Exception as exc:
            self.calls.append((key, exc))
            raise
        self.calls.append((key, response))
        return response

    async def close(self) -> None:
        pass


class ReplayingLLM:
    """Answers the re-run with the recorded answers; a different request is a difference."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = list(calls)
        self.count = 0

    async def complete(
        self,
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        self.count += 1
        if not self.calls:
            raise AssertionError(
                f"the re-run made more LLM requests than the first run ({messages})"
            )
        key, answer = self.calls.pop(0)
        if key != _key(messages, system, max_tokens):
            raise AssertionError(f"LLM request {self.count} differs on the re-run: {messages}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self) -> None:
        pass


def differences(
    first: tuple[StepResult, list[Resource]],
    second: tuple[StepResult, list[Resource]],
    ignore: Sequence[str] = (),
) -> list[str]:
    """What differs between two runs of one step: cursor, metadata, phase_complete and the
    names of the resources created, one line each. `ignore` names what a step measures rather
    than decides (a response time), as dotted paths where `*` is any key or index:
    "metadata.failures.*.elapsed_ms"."""
    (result_a, resources_a), (result_b, resources_b) = first, second
    lines: list[str] = []
    for part in ("cursor", "metadata"):
        a = _without(getattr(result_a, part), part, ignore)
        b = _without(getattr(result_b, part), part, ignore)
        lines += _dict_differences(part, a, b)
    if result_a.phase_complete != result_b.phase_complete:
        lines.append(
            f"phase_complete: {result_a.phase_complete} on the first run, "
            f"{result_b.phase_complete} on the re-run"
        )
    keys_a = {resource.key for resource in resources_a}
    keys_b = {resource.key for resource in resources_b}
    lines += [f"resource {key} only on the first run" for key in sorted(keys_a - keys_b)]
    lines += [f"resource {key} only on the re-run" for key in sorted(keys_b - keys_a)]
    return lines


def _dict_differences(name: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(a.keys() | b.keys(), key=str):
        if key not in b:
            lines.append(f"{name}[{key!r}] only on the first run ({a[key]!r})")
        elif key not in a:
            lines.append(f"{name}[{key!r}] only on the re-run ({b[key]!r})")
        elif a[key] != b[key]:
            lines.append(f"{name}[{key!r}]: {a[key]!r} on the first run, {b[key]!r} on the re-run")
    return lines


def _without(data: dict[str, Any], part: str, ignore: Sequence[str]) -> dict[str, Any]:
    """A copy of `data` without the values the `ignore` paths under `part` name."""
    data = copy.deepcopy(data)
    for path in ignore:
        head, *rest = path.split(".")
        if head == part and rest:
            _drop(data, rest)
    return data


def _drop(node: Any, path: list[str]) -> None:
    name, rest = path[0], path[1:]
    if isinstance(node, dict):
        keys = list(node) if name == "*" else [name] if name in node else []
    elif isinstance(node, list):
        keys = list(range(len(node))) if name == "*" else []
    else:
        return
    for key in reversed(keys):
        if rest:
            _drop(node[key], rest)
        elif isinstance(node, dict):
            del node[key]
        else:
            node[key] = None  # keep the list's length: the number of entries is not ignored
