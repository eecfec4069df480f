"""The token ledger: the one place that owns token counts.

Counts come from the providers' own usage figures. `input` is the whole prompt the
provider processed, cached parts included; `cache_read`/`cache_write` say how much of
it was a cache hit or a cache write so costs can price them apart.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .store import Store


@dataclass(frozen=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reported: bool = True  # False when the provider sent no usage figures

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
            self.reported and other.reported,
        )

    @property
    def total(self) -> int:
        return self.input + self.output


@dataclass(frozen=True)
class Billed:
    """One call's usage and what it cost (None when the model has no known price)."""
    usage: Usage
    cost_usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        u = self.usage
        return {"input": u.input, "output": u.output, "cache_read": u.cache_read, "cache_write": u.cache_write,
                "reported": u.reported, "cost_usd": self.cost_usd}


@dataclass(frozen=True)
class Totals:
    requests: int
    input: int
    output: int
    cache_read: int
    cache_write: int
    saved: int

    @property
    def billed(self) -> int:
        return self.input + self.output


class Ledger:
    def __init__(self, store: Store):
        self.store = store

    def record_call(self, request_id: str, provider: str, model: str, usage: Usage,
                    cost_usd: float | None = None) -> None:
        """Write one billed call at once, so a later failure in the same request cannot lose it."""
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO llm_calls (request_id, ts, provider, model, input_tokens, output_tokens,"
                " cache_read_tokens, cache_write_tokens, usage_reported, cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (request_id, time.time(), provider, model, usage.input, usage.output,
                 usage.cache_read, usage.cache_write, int(usage.reported), cost_usd),
            )

    def record_request(
        self,
        request_id: str,
        request: str,
        mode: str,
        provider: str | None,
        model: str | None,
        saved: int,
        ok: bool,
        execution_time_ms: float,
        saved_usd: float | None = None,
    ) -> Usage:
        """Close a request: its usage is the sum of the calls recorded under its id."""
        with self.store.transaction() as cur:
            row = cur.execute(
                "SELECT COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0),"
                " COALESCE(SUM(cache_read_tokens),0), COALESCE(SUM(cache_write_tokens),0),"
                " COALESCE(MIN(usage_reported),1) FROM llm_calls WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            usage = Usage(row[0], row[1], row[2], row[3], bool(row[4]))
            cur.execute(
                "INSERT INTO requests (id, ts, request, mode, provider, model, input_tokens, output_tokens,"
                " cache_read_tokens, cache_write_tokens, saved_tokens, ok, execution_time_ms, saved_usd)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (request_id, time.time(), request, mode, provider, model, usage.input, usage.output,
                 usage.cache_read, usage.cache_write, saved, int(ok), execution_time_ms, saved_usd),
            )
        return usage

    def cumulative_saved(self) -> int:
        return int(self.store.query("SELECT COALESCE(SUM(saved_tokens),0) FROM requests")[0][0])

    def totals(self) -> Totals:
        """Billed tokens are summed from the calls themselves, so a request that failed after a
        billed call still counts what it cost."""
        calls = self.store.query(
            "SELECT COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0),"
            " COALESCE(SUM(cache_read_tokens),0), COALESCE(SUM(cache_write_tokens),0) FROM llm_calls"
        )[0]
        reqs = self.store.query("SELECT COUNT(*), COALESCE(SUM(saved_tokens),0) FROM requests")[0]
        return Totals(reqs[0], calls[0], calls[1], calls[2], calls[3], reqs[1])

    def costs(self) -> dict[str, list[dict]]:
        """Billed tokens and dollars by model and by mode, with what memory saved. A cost of None means
        some call's price was unknown."""
        by_model = self.store.query(
            "SELECT provider, model, COUNT(*) AS calls, SUM(input_tokens) AS input, SUM(output_tokens) AS output,"
            " SUM(cache_read_tokens) AS cache_read, CASE WHEN COUNT(cost_usd) = COUNT(*) THEN SUM(cost_usd) END"
            " AS cost_usd FROM llm_calls GROUP BY provider, model ORDER BY cost_usd DESC")
        by_mode = self.store.query(
            "SELECT r.mode AS mode, COUNT(DISTINCT r.id) AS requests, COALESCE(SUM(c.input_tokens), 0) AS input,"
            " COALESCE(SUM(c.output_tokens), 0) AS output,"
            " CASE WHEN COUNT(c.cost_usd) = COUNT(c.id) THEN COALESCE(SUM(c.cost_usd), 0) END AS cost_usd,"
            " (SELECT SUM(saved_tokens) FROM requests r2 WHERE r2.mode = r.mode) AS saved,"
            " (SELECT SUM(saved_usd) FROM requests r2 WHERE r2.mode = r.mode) AS saved_usd"
            " FROM requests r LEFT JOIN llm_calls c ON c.request_id = r.id GROUP BY r.mode ORDER BY requests DESC")
        return {"by_model": [dict(r) for r in by_model], "by_mode": [dict(r) for r in by_mode]}

    def total_cost(self) -> float | None:
        """Dollars billed so far; None when some call's price is unknown (never a silent 0)."""
        row = self.store.query("SELECT COUNT(*), COUNT(cost_usd), COALESCE(SUM(cost_usd), 0) FROM llm_calls")[0]
        return float(row[2]) if row[0] == row[1] else None

    def clear(self) -> None:
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM llm_calls")
            cur.execute("DELETE FROM requests")
