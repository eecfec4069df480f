"""ResultSummary: the compact line each %%llmos result carries (mode, tokens, saved, valence)."""
from __future__ import annotations

from typing import Any

import traitlets

from ..events import (LedgerTotals, LLMCall, ModeChosen, RequestEnded, RequestStarted, RequestSummary,
                      ValenceChanged)
from ._base import STATIC, EngineWidget, event_bus
from .mode import why_summary
from .valence import AXES


class ResultSummary(EngineWidget):
    """One request at a glance: its mode and why, tokens in/out/saved, the session's percent saved
    against the always-LLM baseline, and the valence after it. Made from a finished request's summary
    (`ResultSummary.of(summary, bus_or_engine)`) or following the next request live
    (`ResultSummary.follow(bus_or_engine)`, which lets go once that request's valence has come)."""

    _esm = STATIC / "summary.js"
    final_kinds = (RequestEnded, ValenceChanged)
    synced = ("summary",)

    summary = traitlets.Dict().tag(sync=True)

    def reset_state(self) -> None:
        self.state = {"summary": {"status": "waiting", "mode": "", "why": {}, "tokens": {}, "session": {},
                                  "valence": {}, "latent_mode": "", "cost_usd": None, "steps": []}}
        self._rid: str | None = None  # the request shown, once it started
        self._step_modes: dict[str, str] = {}  # ORCHESTRATOR: each step's request id -> its mode
        self._ended = False
        self._once = False

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def of(cls, summary: RequestSummary, source: Any = None) -> "ResultSummary":
        """The summary of a finished request; with a bus (or an engine's `.events`), the session's totals
        and the valence now, too."""
        widget = cls()
        with widget._lock:
            widget._fill(summary)
        if source is not None:
            for event in event_bus(source).current_state():
                widget.apply(event)
        widget._throttle.flush(force=True)
        return widget

    @classmethod
    def follow(cls, source: Any) -> "ResultSummary":
        """A summary that fills in while the next request runs, then stops following."""
        widget = cls()
        widget._once = True
        widget.attach(source)
        return widget

    def _fill(self, s: RequestSummary) -> None:
        self.state["summary"].update(status="ok" if s.ok else "error", mode=s.mode, cost_usd=s.cost_usd,
                                     tokens={"input": s.input, "output": s.output, "saved": s.saved})

    def _ours(self, request_id: str) -> bool:
        return request_id == self._rid or request_id in self._step_modes

    # -- events ---------------------------------------------------------------------------------------
    def _started(self, event: RequestStarted) -> bool:
        if self._rid is None and event.parent_id is None:
            self._rid = event.request_id
            self.state["summary"].update(status="running", request=event.text)
            return True
        if self._rid is not None and event.parent_id == self._rid:
            self._step_modes[event.request_id] = ""
        return False

    def _mode_chosen(self, event: ModeChosen) -> bool:
        s = self.state["summary"]
        if event.request_id == self._rid:
            s.update(mode=event.mode, why=why_summary(event))
            return True
        if event.request_id in self._step_modes:
            self._step_modes[event.request_id] = event.mode
            s["steps"] = list(self._step_modes.values())
            return True
        return False

    def _call(self, event: LLMCall) -> bool:
        if self._ended or not self._ours(event.request_id):
            return False
        tokens = self.state["summary"]["tokens"]
        tokens["input"] = tokens.get("input", 0) + event.input
        tokens["output"] = tokens.get("output", 0) + event.output
        return True

    def _request_ended(self, event: RequestEnded) -> bool:
        if event.request_id != self._rid:
            return False
        self._fill(event.summary)  # the final figures, saved tokens included
        self._ended = True
        return True

    def _ledger(self, event: LedgerTotals) -> bool:
        self.state["summary"]["session"] = {"billed": event.billed, "saved": event.saved,
                                            "baseline": event.baseline, "percent_saved": event.percent_saved}
        return True

    def _valence(self, event: ValenceChanged) -> bool:
        self.state["summary"].update(valence={k: float(v) for k, v in event.valence.items() if k in AXES},
                                     latent_mode=event.latent_mode)
        return True

    handlers = {RequestStarted: _started, ModeChosen: _mode_chosen, LLMCall: _call, RequestEnded: _request_ended,
                LedgerTotals: _ledger, ValenceChanged: _valence}

    def handle(self, event: Any) -> None:
        super().handle(event)
        # The valence comes last for a request: after it, this summary is complete.
        if self._once and self._ended and isinstance(event, ValenceChanged):
            self.detach()

    def __repr__(self) -> str:
        s = self.state["summary"]
        t = s.get("tokens") or {}
        return (f"{s.get('mode') or s.get('status')} · tokens in {t.get('input', 0):,} / out {t.get('output', 0):,}"
                f" / saved {t.get('saved', 0):,}" + (f" · {s['latent_mode']}" if s.get("latent_mode") else ""))
