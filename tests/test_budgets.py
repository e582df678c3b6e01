"""Budgets and prices in-process: the shipped price table and its override, usage with an
unknown cost, what counts against each limit, the settings, the metered client's limits,
budget approvals asked again by a re-run step, and deploys refused for a cost limit on a
model without a price (on Azurite, through the real lifecycle)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from haymaker import budgets
from haymaker.approval_flow import budget_request
from haymaker.approvals import Approval, ApprovalRequest
from haymaker.budgets import Budget, BudgetExhaustedError, LLMAllowance, Usage
from haymaker.errors import ValidationFailedError
from haymaker.lifecycle import DeployPolicy, Lifecycle
from haymaker.llm import LLMResponse, LLMUsage, MeteredClient
from haymaker.llm.prices import Price, price_table, shipped_prices
from haymaker.models import DeploymentConfig
from haymaker.runtime import Runtime
from haymaker.settings import Settings, SettingsError
from haymaker.workloads.registry import get_registry

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_every_shipped_price_names_its_source_and_dated_names_match_their_model():
    data = json.loads(resources.files("haymaker.llm").joinpath("prices.json").read_text())
    assert data["models"], "no prices shipped"
    for name, entry in data["models"].items():
        assert entry["source"].startswith("https://"), name
        assert entry["input"] > 0, name
        assert entry["output"] > 0, name
    table = price_table()
    assert table.price("gpt-4.1-mini-2025-04-14") == shipped_prices()["gpt-4.1-mini"]
    assert table.price("gpt-4.1-2025-04-14") == shipped_prices()["gpt-4.1"]
    assert table.price("claude-sonnet-4-20250514") == shipped_prices()["claude-sonnet-4"]
    assert table.price("my-own-model") is None
    assert table.cost("my-own-model", 1000, 1000) is None  # unknown, never free
    assert table.cost(None, 1000, 1000) is None
    assert table.cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)


def test_the_setting_adds_and_overrides_prices_and_a_bad_one_names_itself():
    table = price_table(
        json.dumps({"gpt-4o": {"input": 1, "output": 1}, "mine": {"input": 3, "output": 4}})
    )
    assert table.price("gpt-4o") == Price(input=1, output=1)
    assert table.cost("mine", 1_000_000, 500_000) == pytest.approx(5.0)
    settings = Settings.from_env(
        {**STORAGE, "HAYMAKER_LLM_PRICES": json.dumps({"mine": {"input": 3, "output": 4}})}
    )
    assert settings.prices.price("mine") == Price(input=3, output=4)
    for bad in ('["gpt"]', '{"m": {"input": -1, "output": 1}}', '{"m": 5}', "not json"):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({**STORAGE, "HAYMAKER_LLM_PRICES": bad})
        assert caught.value.args[0].startswith("HAYMAKER_LLM_PRICES")


def test_budget_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            **STORAGE,
            "HAYMAKER_DEFAULT_BUDGET": '{"max_cost_usd": 5}',
            "HAYMAKER_BUDGET_APPROVAL_HOURS": "2",
        }
    )
    assert settings.default_budget == Budget(max_cost_usd=5)
    assert settings.budget_approval_hours == 2
    assert (
        Settings.from_env(
            {
                **STORAGE,
            }
        ).default_budget
        is None
    )
    assert (
        Settings.from_env(
            {
                **STORAGE,
            }
        ).budget_approval_hours
        == 24
    )
    for name, value in (
        ("HAYMAKER_DEFAULT_BUDGET", "5"),
        ("HAYMAKER_DEFAULT_BUDGET", '{"max_dollars": 5}'),
        ("HAYMAKER_DEFAULT_BUDGET", "{"),
        ("HAYMAKER_BUDGET_APPROVAL_HOURS", "0"),
    ):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({**STORAGE, name: value})
        assert caught.value.args[0].startswith(name)


def test_an_unknown_cost_stays_unknown_and_counts_as_reached():
    known = Usage(input_tokens=10, output_tokens=5, llm_calls=1, cost_usd=0.25, steps=1)
    unknown = Usage(input_tokens=1, llm_calls=1, cost_usd=None)
    assert known.plus(known).cost_usd == 0.5
    assert known.plus(unknown).cost_usd is None
    assert unknown.plus(known).cost_usd is None
    total = known.plus(unknown)
    assert (total.llm_tokens, total.llm_calls, total.steps) == (16, 2, 1)

    budget = Budget(max_cost_usd=1, max_llm_tokens=100)
    reached = budgets.exhausted(budget, total, NOW, NOW)
    assert reached is not None
    assert reached.limit == "max_cost_usd"
    assert math.isnan(reached.used)
    assert reached.describe() == "max_cost_usd used unknown of 1"
    assert budgets.remaining(budget, total) == {"max_cost_usd": None, "max_llm_tokens": 84}
    request = budget_request(reached, 1, timedelta(hours=1))
    assert request.question == "budget exhausted: max_cost_usd used unknown of 1; raise it?"
    assert request.payload["used"] == "unknown"
    assert request.timeout_decision == "reject"


def test_each_limit_counts_what_it_names():
    usage = Usage(input_tokens=60, output_tokens=40, llm_calls=3, cost_usd=0.5, steps=7)
    started = NOW - timedelta(hours=2)
    for budget, expected in (
        (Budget(max_llm_tokens=100), ("max_llm_tokens", 100)),
        (Budget(max_llm_calls=3), ("max_llm_calls", 3)),
        (Budget(max_steps=7), ("max_steps", 7)),
        (Budget(max_cost_usd=0.5), ("max_cost_usd", 0.5)),
        (Budget(max_wall_hours=2), ("max_wall_hours", 2)),
    ):
        reached = budgets.exhausted(budget, usage, started, NOW)
        assert reached is not None, budget
        assert (reached.limit, reached.used) == expected, budget
    roomy = Budget(
        max_llm_tokens=101, max_llm_calls=4, max_steps=8, max_cost_usd=0.51, max_wall_hours=2.1
    )
    assert budgets.exhausted(roomy, usage, started, NOW) is None
    assert budgets.exhausted(None, usage, started, NOW) is None
    assert budgets.ends_at(roomy, started) == started + timedelta(hours=2.1)
    assert Budget(max_steps=5).over(Budget(max_steps=9, max_cost_usd=1)) == Budget(
        max_steps=5, max_cost_usd=1
    )
    assert Budget(max_steps=5).raised({"max_steps": 9}) == Budget(max_steps=9)


class Fixed:
    """A model that answers every call with the same usage."""

    def __init__(self, model: str = "gpt-4o") -> None:
        self.model = model
        self.asked: list[int | None] = []

    async def complete(self, messages, *, system=None, max_tokens=None, **options):
        self.asked.append(max_tokens)
        return LLMResponse(
            content="ok", model=self.model, usage=LLMUsage(input_tokens=10, output_tokens=10)
        )

    async def close(self) -> None:
        pass


async def test_the_metered_client_keeps_calls_within_what_is_left():
    model = Fixed()
    client = MeteredClient(model, allowance=LLMAllowance(tokens=45, calls=10), prices=price_table())
    for _ in range(3):
        await client.complete([], max_tokens=100)
    assert model.asked == [45, 25, 5]  # never more than is left
    with pytest.raises(BudgetExhaustedError):
        await client.complete([], max_tokens=100)
    assert len(model.asked) == 3
    usage = client.as_usage()
    assert (usage.llm_calls, usage.llm_tokens) == (3, 60)
    assert usage.cost_usd == pytest.approx(3 * (10 * 2.5 + 10 * 10) / 1_000_000)

    calls = MeteredClient(Fixed(), allowance=LLMAllowance(calls=1))
    await calls.complete([])
    with pytest.raises(BudgetExhaustedError, match="no more LLM calls"):
        await calls.complete([])
    unpriced = MeteredClient(Fixed("my-own-model"), prices=price_table())
    await unpriced.complete([])
    assert unpriced.as_usage().cost_usd is None


def test_a_re_run_step_asks_the_same_budget_question_even_as_its_hours_move():
    """The step that ran out asks again after a crash (its first request was recorded, the
    deployment's count of asks was not): the same key, the same request, though the hours
    used (in the question) moved on meanwhile."""
    reached = [
        budgets.exhausted(Budget(max_wall_hours=1), Usage(), NOW - timedelta(hours=h), NOW)
        for h in (1.00001, 1.02)
    ]
    first, again = (
        Approval.requested("dep-1", budget_request(r, 1, timedelta(hours=1)), 4, NOW, budget=True)
        for r in reached
    )
    assert first.question != again.question
    assert first.same_request(again)
    other_step = again.model_copy(update={"step": 5})
    assert not first.same_request(other_step)
    asked = Approval.requested("dep-1", ApprovalRequest(key="x", question="a?"), 4, NOW)
    assert not asked.same_request(asked.model_copy(update={"question": "b?"}))


def test_an_approval_payload_is_capped():
    with pytest.raises(ValueError, match="payload is"):
        ApprovalRequest(key="big", question="ok?", payload={"text": "x" * 20_000})
    with pytest.raises(ValueError, match="on_timeout"):
        ApprovalRequest(key="k", question="ok?", on_timeout="maybe")
    with pytest.raises(ValueError, match="distinct"):
        ApprovalRequest(key="k", question="ok?", options=["a", "a"])


async def test_a_cost_limit_on_a_model_without_a_price_is_refused(stores):
    llm_env = {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-test-budget"}
    priced = Settings.from_env(
        {**STORAGE, **llm_env, "ANTHROPIC_MODEL": "claude-sonnet-4-20250514"}
    )
    unpriced = Settings.from_env(
        {**STORAGE, **llm_env, "ANTHROPIC_MODEL": "claude-from-the-future"}
    )
    registry = get_registry()
    llm_config = {"item_count": 3, "enable_llm": True}

    def lifecycle(settings: Settings) -> Lifecycle:
        policy = Runtime(settings=settings, registry=registry).deploy_policy()
        return Lifecycle(stores, registry, policy=policy)

    def request(config, budget):
        return DeploymentConfig.model_validate(
            {"workload": "data-collector", "config": config, "budget": budget}
        )

    with pytest.raises(ValidationFailedError) as refused:
        await lifecycle(unpriced).create(request(llm_config, {"max_cost_usd": 1}))
    assert "HAYMAKER_LLM_PRICES" in refused.value.detail
    assert refused.value.errors[0]["key"] == "budget.max_cost_usd"
    # A token limit needs no price; nor does a cost limit on a config that calls no model.
    tokens = await lifecycle(unpriced).create(request(llm_config, {"max_llm_tokens": 1000}))
    assert tokens.state.budget == Budget(max_llm_tokens=1000)
    plain = await lifecycle(unpriced).create(request({"item_count": 3}, {"max_cost_usd": 1}))
    assert plain.state.budget == Budget(max_cost_usd=1)
    known = await lifecycle(priced).create(request(llm_config, {"max_cost_usd": 1}))
    assert known.state.budget == Budget(max_cost_usd=1)
    # The platform's default fills in what a deployment leaves out.
    policy = DeployPolicy(default_budget=Budget(max_steps=50, max_llm_calls=9))
    defaulted = await Lifecycle(stores, registry, policy=policy).create(
        request({"item_count": 3}, {"max_llm_calls": 2})
    )
    assert defaulted.state.budget == Budget(max_steps=50, max_llm_calls=2)
