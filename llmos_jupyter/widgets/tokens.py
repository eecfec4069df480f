"""TokenWidget: billed tokens against the always-LLM baseline, percent saved, cost, and a live chart."""
from __future__ import annotations

from typing import Any

import traitlets

from ._base import STATIC, EngineWidget, Requests

MAX_POINTS = 500


def _ledger_cost(engine: Any) -> float | None:
    """The billed cost from the ledger; None when some call's price is unknown (never a guess)."""
    if any(row.get("cost_usd") is None for row in engine.ledger.costs()["by_model"]):
        return None
    return engine.ledger.total_cost()


def _totals(billed: int, saved: int, cost: float | None, requests: int) -> dict[str, Any]:
    baseline = billed + saved
    return {"billed": billed, "saved": saved, "baseline": baseline, "requests": requests,
            "percent_saved": round(100.0 * saved / baseline, 2) if baseline else 0.0,
            "cost_usd": cost}


class TokenWidget(EngineWidget):
    """Cumulative billed tokens against the always-LLM baseline (billed + what memory saved), the percent
    saved and the billed cost, with a chart over requests that grows while cells run. Billed tokens move
    with each model call; at the end of each request the totals are read again from the engine's ledger."""

    _esm = STATIC / "tokens.js"
    kinds = ("request.start", "llm.call", "tokens", "request.end")
    synced = ("totals", "points", "live")

    totals = traitlets.Dict().tag(sync=True)  # billed, saved, baseline, percent_saved, cost_usd, requests
    points = traitlets.List().tag(sync=True)  # per request: n, mode, billed, saved, cum_billed, cum_baseline
    live = traitlets.Dict().tag(sync=True)  # the request in flight: {request, billed}, or {}

    def reset_state(self) -> None:
        self.state = {"totals": _totals(0, 0, 0.0, 0), "points": [], "live": {}}
        self._requests = Requests()
        self._seeded = (0, 0)
        self._index = 0

    def seed(self, engine: Any) -> None:
        t = engine.ledger.totals()
        cost = _ledger_cost(engine)
        self.state["totals"] = _totals(t.billed, t.saved, cost, t.requests)
        self.state["points"] = [{"n": 0, "mode": "", "billed": 0, "saved": 0, "request": "(before)",
                                 "cum_billed": t.billed, "cum_baseline": t.billed + t.saved}]
        self._index = 0

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        rid = str(data.get("request_id", ""))
        totals = self.state["totals"]
        if kind == "request.start":
            if self._requests.start(rid) is None:
                self.state["live"] = {"request": str(data.get("request", "")), "billed": 0}
                return True
            return False
        if kind == "llm.call":
            billed = int(data.get("input") or 0) + int(data.get("output") or 0)
            if self.state["live"]:
                self.state["live"]["billed"] += billed
            self.state["totals"] = _totals(totals["billed"] + billed, totals["saved"], totals["cost_usd"],
                                           totals["requests"])
            return True
        if kind == "tokens":
            cumulative = data.get("cumulative_saved")
            if cumulative is None or int(cumulative) == totals["saved"]:
                return False
            self.state["totals"] = _totals(totals["billed"], int(cumulative), totals["cost_usd"], totals["requests"])
            return True
        if kind == "request.end":
            if not self._requests.end(rid):
                return False
            meta = (data.get("result") or {}).get("metadata", {})
            tokens = meta.get("tokens") or {}
            billed = int(tokens.get("input") or 0) + int(tokens.get("output") or 0)
            saved = int(tokens.get("saved") or 0)
            cost = totals["cost_usd"]
            cost = None if cost is None or meta.get("cost_usd", 0) is None else cost + float(meta.get("cost_usd") or 0)
            self.state["totals"] = _totals(totals["billed"], totals["saved"], cost, totals["requests"] + 1)
            if self._engine is not None:  # the ledger owns the counts: read them again
                try:
                    t = self._engine.ledger.totals()
                    self.state["totals"] = _totals(t.billed, t.saved, _ledger_cost(self._engine),
                                                   totals["requests"] + 1)
                except Exception:  # noqa: BLE001 - a closed store must not break the request
                    pass
            totals = self.state["totals"]
            self._index += 1
            points = self.state["points"]
            if not points:
                points.append({"n": 0, "mode": "", "billed": 0, "saved": 0, "request": "(start)",
                               "cum_billed": totals["billed"] - billed,
                               "cum_baseline": totals["baseline"] - billed - saved})
            points.append({"n": self._index, "mode": str(meta.get("mode", "")), "billed": billed, "saved": saved,
                           "request": str(self.state["live"].get("request", "")),
                           "cum_billed": totals["billed"], "cum_baseline": totals["baseline"]})
            del points[1:-MAX_POINTS]
            self.state["live"] = {}
            return True
        return False

    def __repr__(self) -> str:
        t = self.totals or self.state["totals"]
        return (f"TokenWidget(billed {t['billed']:,} of an always-LLM {t['baseline']:,} tokens, "
                f"{t['percent_saved']:.1f}% saved)")
