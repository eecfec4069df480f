"""TokenWidget: billed tokens against the always-LLM baseline, percent saved, cost, and a live chart."""
from __future__ import annotations

from typing import Any

import traitlets

from ..events import LedgerTotals, LLMCall, RequestEnded, RequestStarted
from ._base import STATIC, EngineWidget

MAX_POINTS = 500
NO_TOTALS = LedgerTotals(requests=0, input=0, output=0, saved=0, cost_usd=0.0)


def _totals(t: LedgerTotals) -> dict[str, Any]:
    return {"billed": t.billed, "saved": t.saved, "baseline": t.baseline, "requests": t.requests,
            "percent_saved": t.percent_saved, "cost_usd": t.cost_usd}


class TokenWidget(EngineWidget):
    """Cumulative billed tokens against the always-LLM baseline (billed + what memory saved), the percent
    saved and the billed cost, with a chart over requests. The totals are the ledger's (LedgerTotals,
    after each request); while a request runs, its billed tokens so far show as they are billed."""

    _esm = STATIC / "tokens.js"
    synced = ("totals", "points", "live")

    totals = traitlets.Dict().tag(sync=True)  # billed, saved, baseline, percent_saved, cost_usd, requests
    points = traitlets.List().tag(sync=True)  # per request: n, mode, billed, saved, cum_billed, cum_baseline
    live = traitlets.Dict().tag(sync=True)  # the request in flight: {request, billed}, or {}

    def reset_state(self) -> None:
        self.state = {"totals": _totals(NO_TOTALS), "points": [], "live": {}}
        self._live_id: str | None = None
        self._awaiting_totals: dict[str, Any] | None = None  # the request that ended, until the ledger's totals

    def _start_chart(self, totals: dict[str, Any]) -> None:
        """The chart starts from what the ledger held before the first request this widget saw."""
        if not self.state["points"]:
            self.state["points"].append({"n": 0, "mode": "", "billed": 0, "saved": 0, "request": "(start)",
                                         "cum_billed": totals["billed"], "cum_baseline": totals["baseline"]})

    def _started(self, event: RequestStarted) -> bool:
        if event.parent_id is not None:
            return False  # a step's calls count under its plan, which is live already
        self._start_chart(self.state["totals"])
        self._live_id = event.request_id
        self.state["live"] = {"request": event.text, "billed": 0}
        return True

    def _call(self, event: LLMCall) -> bool:
        if not self.state["live"]:
            return False
        self.state["live"]["billed"] += event.input + event.output
        return True

    def _ended(self, event: RequestEnded) -> bool:
        if event.parent_id is not None:
            return False
        s = event.summary
        live = self.state["live"] if event.request_id == self._live_id else {}
        self._awaiting_totals = {"id": event.request_id, "mode": s.mode, "billed": s.billed, "saved": s.saved,
                                 "request": live.get("request", s.request)}
        self._live_id = None
        self.state["live"] = {}
        return True

    def _ledger(self, event: LedgerTotals) -> bool:
        before, self.state["totals"] = self.state["totals"], _totals(event)
        ended = self._awaiting_totals
        if ended is None or event.request_id not in (ended["id"], None):
            return True  # a step's totals, or the current state replayed on attach
        self._awaiting_totals = None
        self._start_chart(before)  # attached while this request ran
        points = self.state["points"]
        points.append({"n": points[-1]["n"] + 1, "mode": ended["mode"], "billed": ended["billed"],
                       "saved": ended["saved"], "request": ended["request"],
                       "cum_billed": self.state["totals"]["billed"],
                       "cum_baseline": self.state["totals"]["baseline"]})
        del points[1:-MAX_POINTS]
        return True

    handlers = {RequestStarted: _started, LLMCall: _call, RequestEnded: _ended, LedgerTotals: _ledger}
    final_kinds = (LedgerTotals,)

    def __repr__(self) -> str:
        t = self.totals or self.state["totals"]
        return (f"TokenWidget(billed {t['billed']:,} of an always-LLM {t['baseline']:,} tokens, "
                f"{t['percent_saved']:.1f}% saved)")
