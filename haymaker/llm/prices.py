"""What model calls cost: a price table per model (US dollars per million input and output
tokens), shipped as data (prices.json, with a source for each price) and extended or
overridden by the HAYMAKER_LLM_PRICES setting, e.g.
`{"my-deployment": {"input": 2.0, "output": 8.0}}`.

A model matches its own name or the longest priced name it starts with (providers answer
with dated names such as `gpt-4.1-2025-04-14`). A model without a price has an unknown
cost: None, never zero."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRICES_SETTING = "HAYMAKER_LLM_PRICES"


class Price(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    input: float = Field(ge=0, description="US dollars per million input tokens")
    output: float = Field(ge=0, description="US dollars per million output tokens")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        # longest names first, so the most specific prefix wins
        self._prices = dict(sorted(prices.items(), key=lambda item: -len(item[0])))

    def price(self, model: str | None) -> Price | None:
        if not model:
            return None
        exact = self._prices.get(model)
        if exact is not None:
            return exact
        for name, price in self._prices.items():
            if model.startswith(name):
                return price
        return None

    def cost(self, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
        price = self.price(model)
        return None if price is None else price.cost(input_tokens, output_tokens)


@cache
def shipped_prices() -> dict[str, Price]:
    data = json.loads(resources.files("haymaker.llm").joinpath("prices.json").read_text())
    return {name: Price.model_validate(entry) for name, entry in data["models"].items()}


def price_table(override: str | None = None) -> PriceTable:
    """The shipped prices, with the setting's (a JSON object of model -> price) over them.
    ValueError naming the setting if it is malformed."""
    prices = dict(shipped_prices())
    if override:
        prices.update(parse_prices(override))
    return PriceTable(prices)


def parse_prices(text: str) -> dict[str, Price]:
    try:
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object of model name -> {input, output}")
        return {str(name): Price.model_validate(entry) for name, entry in data.items()}
    except (ValueError, ValidationError) as exc:
        raise ValueError(f"{PRICES_SETTING}: {exc}") from None
