"""Prices per million tokens, for the cost column of the ledger.

Defaults follow the public list prices of each model family (input, output, in USD per
million tokens); a cached read costs 0.1× the input price and a cache write 1.25×. A model with no
known price gets cost None ("unknown"), never a guess: set it with LLMOS(prices={"my-model": (1.0, 2.0)})
or %config LLMOS.prices. Local models (the embedded model, adapters fine-tuned here) cost what their
compute costs you: LOCAL_PRICE per million tokens unless a price is set for their name or for "local".
"""
from __future__ import annotations

from dataclasses import dataclass

from .ledger import Usage

CACHE_READ = 0.1
CACHE_WRITE = 1.25


@dataclass(frozen=True)
class Price:
    input: float
    output: float


DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    # Longest matching prefix of the model name wins.
    "claude-opus": (15.0, 75.0),
    "claude-mythos": (15.0, 75.0),
    "claude-sonnet": (3.0, 15.0),
    "claude-fable": (3.0, 15.0),
    "claude-haiku": (1.0, 5.0),
    "gpt-6": (5.0, 20.0),
    "gpt-5": (1.25, 10.0),
    "gpt-5.4-mini": (0.25, 2.0),
    "gpt-5.4-nano": (0.05, 0.4),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4o": (2.5, 10.0),
    "gpt-4.1": (2.0, 8.0),
    "o3": (2.0, 8.0),
}
LOCAL_PROVIDERS = {"local"}
# The seeds' figure for a small local model (T0, $0.01 per million tokens): electricity and hardware, not zero.
LOCAL_PRICE = (0.01, 0.01)


class PriceTable:
    def __init__(self, overrides: dict[str, tuple[float, float]] | None = None):
        self.table = {**DEFAULT_PRICES, **(overrides or {})}

    def price(self, provider: str, model: str) -> Price | None:
        matches = [p for p in self.table if model.startswith(p)]
        if provider in LOCAL_PROVIDERS:
            if not matches:
                return Price(*self.table.get("local", LOCAL_PRICE))
        elif not matches:
            return None
        return Price(*self.table[max(matches, key=len)])

    def rows(self, local_models: list[str] = ()) -> list[dict]:
        """The table as a user reads it: every known model prefix and each local model, per million tokens."""
        rows = [{"model": f"local/{m}", **self.price("local", m).__dict__} for m in local_models]
        return rows + [{"model": prefix, "input": p[0], "output": p[1]} for prefix, p in sorted(self.table.items())
                       if prefix != "local"]

    def cost(self, provider: str, model: str, usage: Usage) -> float | None:
        price = self.price(provider, model)
        if price is None:
            return None
        uncached = max(0, usage.input - usage.cache_read - usage.cache_write)
        dollars = (uncached * price.input + usage.cache_read * price.input * CACHE_READ
                   + usage.cache_write * price.input * CACHE_WRITE + usage.output * price.output)
        return dollars / 1e6
