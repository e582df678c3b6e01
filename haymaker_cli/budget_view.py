"""How a deployment's usage, budget and pending approval read on the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The API's budget limits (haymaker.budgets.Budget), in the order they are shown.
LIMIT_LABELS = {
    "max_llm_tokens": "tokens",
    "max_cost_usd": "cost",
    "max_llm_calls": "LLM calls",
    "max_steps": "steps",
    "max_wall_hours": "hours",
}


def cost_text(cost: float | None) -> str:
    """A cost in US dollars; None: the model has no price (unknown, not free)."""
    if cost is None:
        return "cost unknown"
    if cost == 0:
        return "$0"
    return f"${cost:.3g}" if cost < 1 else f"${cost:,.2f}"


def tokens_text(tokens: float) -> str:
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.1f}M"
    if tokens >= 10_000:
        return f"{tokens / 1000:.0f}k"
    return f"{int(tokens)}"


def usage_text(state: dict[str, Any]) -> str:
    """`7 steps, 3 LLM calls, 1840 tokens, $0.0123`."""
    usage = state.get("usage") or {}
    tokens = int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
    return (
        f"{usage.get('steps', 0)} steps, {usage.get('llm_calls', 0)} LLM calls, "
        f"{tokens_text(tokens)} tokens, {cost_text(usage.get('cost_usd', 0.0))}"
    )


def _limit_value(limit: str, value: float | None) -> str:
    if value is None:
        return "unknown"
    if limit == "max_cost_usd":
        return cost_text(value)
    if limit == "max_llm_tokens":
        return tokens_text(value)
    return f"{value:g}"


def _limits(state: dict[str, Any]) -> Iterator[tuple[str, str, float, str]]:
    """(limit, label, allowed, what is left as text) for each limit the budget sets, in order."""
    budget = state.get("budget") or {}
    remaining = state.get("budget_remaining") or {}
    for limit, label in LIMIT_LABELS.items():
        allowed = budget.get(limit)
        if allowed is not None:
            yield limit, label, allowed, _limit_value(limit, remaining.get(limit))


def budget_text(state: dict[str, Any]) -> str | None:
    """What is left of each limit, e.g. `cost $0.4877 of $0.50, steps 3 of 10`; None
    without a budget."""
    if not state.get("budget"):
        return None
    parts = []
    for limit, label, allowed, left in _limits(state):
        if limit == "max_wall_hours":
            ends = state.get("budget_ends_at")
            until = f" until {str(ends)[:16].replace('T', ' ')} UTC" if ends else ""
            parts.append(f"{allowed:g} {label}{until}")
        else:
            parts.append(f"{label} {left} of {_limit_value(limit, allowed)}")
    return ", ".join(parts)


def awaiting_text(state: dict[str, Any]) -> str | None:
    """`awaiting approval: <question>` while the deployment waits for a decision."""
    pending = state.get("awaiting_approval")
    if not pending:
        return None
    return f"awaiting approval: {pending['question']}"


def decide_hint(state: dict[str, Any]) -> str | None:
    """The commands that answer the pending approval."""
    pending = state.get("awaiting_approval")
    if not pending:
        return None
    deployment_id, key = state["deployment_id"], pending["key"]
    if key.startswith("budget-"):
        return f"haymaker approve {deployment_id} budget --raise LIMIT=VALUE, or reject it"
    options = pending.get("options") or []
    if options == ["approve", "reject"]:
        return f"haymaker approve|reject {deployment_id} {key} [-m COMMENT]"
    return f"haymaker decide {deployment_id} {key} {'|'.join(options)} [-m COMMENT]"


def usage_short(state: dict[str, Any]) -> str:
    """For a table cell: `5 steps`, or `5 steps, 14 calls, $0.36` once a model was called."""
    usage = state.get("usage") or {}
    parts = [f"{usage.get('steps', 0)} steps"]
    calls = usage.get("llm_calls", 0)
    if calls:
        parts.append(f"{calls} calls")
        cost = usage.get("cost_usd", 0.0)
        parts.append("cost ?" if cost is None else cost_text(cost))
    return ", ".join(parts)


def budget_short(state: dict[str, Any]) -> str:
    """For a table cell: what is left of each limit, e.g. `5/10 steps, $0.49/$0.50`."""
    parts = []
    for limit, label, allowed, left in _limits(state):
        if limit == "max_wall_hours":
            ends = state.get("budget_ends_at")
            parts.append(f"until {str(ends)[11:16]}" if ends else f"{allowed:g} {label}")
        else:
            unit = "" if limit == "max_cost_usd" else f" {label}"
            parts.append(f"{left}/{_limit_value(limit, allowed)}{unit}")
    return ", ".join(parts)
