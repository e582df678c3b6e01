"""Spending budgets: what a deployment may use (LLM tokens, cost, calls, steps, wall-clock
hours), what it has used, and whether it may take another step.

A budget acts: before every step the platform checks it, and an exhausted budget pauses the
deployment on an approval that may raise it (haymaker.execution), so a deployment never runs
on past its limits and never fails for reaching them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_llm_tokens: int | None = Field(default=None, ge=1, description="input + output tokens")
    max_cost_usd: float | None = Field(default=None, gt=0, description="LLM cost in US dollars")
    max_llm_calls: int | None = Field(default=None, ge=1)
    max_steps: int | None = Field(default=None, ge=1, description="durable steps")
    max_wall_hours: float | None = Field(
        default=None, gt=0, description="hours since the deployment started"
    )

    def limits(self) -> dict[str, float]:
        return {name: value for name, value in self.model_dump().items() if value is not None}

    def over(self, defaults: Budget | None) -> Budget:
        """This budget, with `defaults` for the limits it does not set."""
        if defaults is None:
            return self
        return Budget.model_validate({**defaults.limits(), **self.limits()})

    def raised(self, limits: dict[str, float]) -> Budget:
        return Budget.model_validate({**self.limits(), **limits})


class Usage(BaseModel):
    """What a deployment used so far. `cost_usd` is None when a call's model has no price:
    unknown, never counted as free."""

    model_config = ConfigDict(defer_build=True)

    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float | None = 0.0
    steps: int = 0

    @property
    def llm_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def plus(self, other: Usage) -> Usage:
        cost = (
            None
            if other.cost_usd is None or self.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            llm_calls=self.llm_calls + other.llm_calls,
            cost_usd=None if cost is None else round(cost, 6),
            steps=self.steps + other.steps,
        )

    def add_step(self) -> Usage:
        return self.model_copy(update={"steps": self.steps + 1})


class BudgetExhaustedError(Exception):
    """A model call would go past the budget: the step stops here, its usage so far is
    counted, and the deployment asks for a raise before the step runs again."""


@dataclass(frozen=True)
class LLMAllowance:
    """What a step's model calls may still use."""

    tokens: int | None = None
    calls: int | None = None

    def check(self, usage: Usage) -> int | None:
        """Before a call: BudgetExhaustedError if none may be made; else the most output
        tokens the call may produce (None: no limit)."""
        if self.calls is not None and usage.llm_calls >= self.calls:
            raise BudgetExhaustedError("the budget allows no more LLM calls")
        if self.tokens is None:
            return None
        left = self.tokens - usage.llm_tokens
        if left <= 0:
            raise BudgetExhaustedError("the budget allows no more LLM tokens")
        return left


def allowance(budget: Budget | None, usage: Usage) -> LLMAllowance:
    if budget is None:
        return LLMAllowance()
    return LLMAllowance(
        tokens=None if budget.max_llm_tokens is None else budget.max_llm_tokens - usage.llm_tokens,
        calls=None if budget.max_llm_calls is None else budget.max_llm_calls - usage.llm_calls,
    )


@dataclass(frozen=True)
class Exhaustion:
    """Which limit a deployment reached."""

    limit: str  # a Budget field name
    used: float
    allowed: float

    def describe(self) -> str:
        return f"{self.limit} used {_number(self.used)} of {_number(self.allowed)}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "unknown"  # a cost no price measures
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def used(usage: Usage, started_at: datetime | None, now: datetime) -> dict[str, float | None]:
    """What counts against each limit."""
    hours = (now - started_at).total_seconds() / 3600 if started_at else 0.0
    return {
        "max_llm_tokens": usage.llm_tokens,
        "max_cost_usd": usage.cost_usd,
        "max_llm_calls": usage.llm_calls,
        "max_steps": usage.steps,
        "max_wall_hours": hours,
    }


def exhausted(
    budget: Budget | None, usage: Usage, started_at: datetime | None, now: datetime
) -> Exhaustion | None:
    """The first limit reached, if any. A cost limit with an unknown cost counts as reached:
    spending that cannot be measured cannot be allowed to run on."""
    if budget is None:
        return None
    spent = used(usage, started_at, now)
    for limit, allowed in budget.limits().items():
        value = spent[limit]
        if value is None:
            return Exhaustion(limit, float("nan"), allowed)
        if value >= allowed:
            return Exhaustion(limit, value, allowed)
    return None


def remaining(budget: Budget | None, usage: Usage) -> dict[str, float | None]:
    """What is left of each limit the budget sets but wall-clock time (None: unknown); see
    `ends_at` for that one."""
    if budget is None:
        return {}
    spent = used(usage, None, datetime.min)
    left: dict[str, float | None] = {}
    for limit, allowed in budget.limits().items():
        if limit == "max_wall_hours":
            continue
        value = spent[limit]
        left[limit] = None if value is None else max(0.0, allowed - value)
    return left


def ends_at(budget: Budget | None, started_at: datetime | None) -> datetime | None:
    """When the wall-clock limit is reached."""
    if budget is None or budget.max_wall_hours is None or started_at is None:
        return None
    return started_at + timedelta(hours=budget.max_wall_hours)
