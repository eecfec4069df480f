"""ResultSummary: the compact line each %%llmos result carries (mode, tokens, saved, valence)."""
from __future__ import annotations

from typing import Any

import traitlets

from ._base import STATIC, EngineWidget, Requests
from .mode import why_summary
from .valence import AXES


def _result_dict(result: Any) -> dict[str, Any]:
    return result.to_dict() if hasattr(result, "to_dict") else dict(result or {})


class ResultSummary(EngineWidget):
    """One request at a glance: its mode and why, tokens in/out/saved, the session's percent saved
    against the always-LLM baseline, and the valence after it. Made from a finished result
    (`ResultSummary.of(result, engine)`) or following the next request live (`ResultSummary.follow(engine)`,
    which detaches itself when that request ends)."""

    _esm = STATIC / "summary.js"
    kinds = ("request.start", "mode", "llm.call", "tokens", "sentience", "request.end")
    synced = ("summary",)

    summary = traitlets.Dict().tag(sync=True)

    def reset_state(self) -> None:
        self.state = {"summary": {"status": "waiting", "mode": "", "why": {}, "tokens": {}, "session": {},
                                  "valence": {}, "latent_mode": "", "cost_usd": None}}
        self._requests = Requests()
        self._rid: str | None = None
        self._once = False

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def of(cls, result: Any, engine: Any = None) -> "ResultSummary":
        """The summary of a finished Result (or its to_dict()); with the engine, the session's totals too."""
        widget = cls()
        with widget._lock:
            if engine is not None:
                widget.seed(engine)  # the valence now, after the request
            widget._fill(_result_dict(result))
            if engine is not None:
                widget._session(engine)
        widget._throttle.flush(force=True)
        return widget

    @classmethod
    def follow(cls, engine: Any) -> "ResultSummary":
        """A summary that fills in while the next request runs, then stops following."""
        widget = cls()
        widget._once = True
        widget.attach(engine)
        return widget

    def seed(self, engine: Any) -> None:
        snap = engine.sentience.snapshot()
        self.state["summary"]["valence"] = dict(snap.get("valence") or {})
        self.state["summary"]["latent_mode"] = str(snap.get("latent_mode", ""))

    def _session(self, engine: Any) -> None:
        try:
            t = engine.ledger.totals()
        except Exception:  # noqa: BLE001
            return
        baseline = t.billed + t.saved
        self.state["summary"]["session"] = {"billed": t.billed, "saved": t.saved, "baseline": baseline,
                                            "percent_saved": round(100 * t.saved / baseline, 1) if baseline else 0.0}

    def _fill(self, result: dict[str, Any]) -> None:
        meta = result.get("metadata", {})
        s = self.state["summary"]
        tokens = meta.get("tokens") or {}
        s.update(status="error" if meta.get("error") else "ok", mode=str(meta.get("mode", "")),
                 why=why_summary(meta.get("why")), cost_usd=meta.get("cost_usd"),
                 tokens={k: int(tokens.get(k) or 0) for k in ("input", "output", "saved", "cumulative_saved")},
                 steps=[str(x.get("mode", "")) for x in meta.get("steps") or []])
        sent = meta.get("sentience") or {}
        if sent.get("valence") and not s.get("valence"):
            s["valence"] = {k: float(v) for k, v in sent["valence"].items() if k in AXES}
            s["latent_mode"] = str(sent.get("latent_mode", ""))

    # -- events ---------------------------------------------------------------------------------------
    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        rid = str(data.get("request_id", ""))
        s = self.state["summary"]
        if kind == "request.start":
            parent = self._requests.start(rid)
            if parent is None and self._rid is None:
                self._rid = rid
                s.update(status="running", request=str(data.get("request", "")))
                return True
            return False
        if self._rid is None or (rid != self._rid and kind not in ("llm.call", "tokens")):
            if kind == "request.end":
                self._requests.end(rid)
            return False
        if kind == "mode":
            s.update(mode=str(data.get("mode", "")), why=why_summary(data.get("why")))
            return True
        if kind == "llm.call":
            if self._requests.open and self._requests.open[0] == self._rid:
                t = s.setdefault("tokens", {})
                t["input"] = t.get("input", 0) + int(data.get("input") or 0)
                t["output"] = t.get("output", 0) + int(data.get("output") or 0)
                return True
            return False
        if kind == "tokens":
            return False  # the final figures come with request.end
        if kind == "sentience":
            s["valence"] = {k: float(v) for k, v in (data.get("valence") or {}).items() if k in AXES}
            s["latent_mode"] = str(data.get("latent_mode", ""))
            return True
        if kind == "request.end":
            self._requests.end(rid)
            self._fill(data.get("result") or {})
            if self._engine is not None:
                self._session(self._engine)
            if self._once:
                self._detach_after = True
            return True
        return False

    def handle(self, event: Any) -> None:
        super().handle(event)
        if getattr(self, "_detach_after", False):
            self._detach_after = False
            self.detach()

    def __repr__(self) -> str:
        s = self.state["summary"]
        t = s.get("tokens") or {}
        return (f"{s.get('mode') or s.get('status')} · tokens in {t.get('input', 0):,} / out {t.get('output', 0):,}"
                f" / saved {t.get('saved', 0):,}" + (f" · {s['latent_mode']}" if s.get("latent_mode") else ""))
