"""ModeWidget: the mode chosen for each request, and a strip of the session's history with why."""
from __future__ import annotations

from typing import Any

import traitlets

from ._base import MODES, STATIC, EngineWidget, Requests

MAX_HISTORY = 200


def why_summary(why: dict[str, Any] | None) -> dict[str, Any]:
    """The few facts of `why` worth showing: similarity score, matched (or nearest) trace, the reason."""
    why = why or {}
    out: dict[str, Any] = {}
    if why.get("score") is not None:
        out["score"] = why["score"]
    trace = why.get("trace_id") or why.get("nearest")
    if trace:
        out["trace_id"] = trace
        out["nearest"] = not why.get("trace_id")
    reason = why.get("reason")
    if reason:
        out["reason"] = str(reason)
    fallback = why.get("fallback")
    if isinstance(fallback, dict) and fallback.get("from"):
        out["fallback_from"] = str(fallback["from"])
    if why.get("plan"):
        out["plan"] = [str(s) for s in why["plan"]]
    return out


class ModeWidget(EngineWidget):
    """The mode of the request running now (one of CRYSTALLIZED, FOLLOWER, MIXED, LEARNER, ORCHESTRATOR)
    and the session's history as a strip of coloured cells, each with its score, trace and reason."""

    _esm = STATIC / "mode.js"
    kinds = ("request.start", "mode", "orchestrator.step", "request.end")
    synced = ("history", "running", "counts")

    history = traitlets.List().tag(sync=True)  # [{id, request, mode, why, steps, status, tokens}]
    running = traitlets.Unicode("").tag(sync=True)  # id of the request in flight ("" when idle)
    counts = traitlets.Dict().tag(sync=True)  # mode -> how many requests ended in it

    def reset_state(self) -> None:
        self.state = {"history": [], "running": "", "counts": {m: 0 for m in MODES}}
        self._requests = Requests()

    def _entry(self, request_id: str) -> dict[str, Any] | None:
        for entry in reversed(self.state["history"]):
            if entry["id"] == request_id:
                return entry
        return None

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        rid = str(data.get("request_id", ""))
        history = self.state["history"]
        if kind == "request.start":
            parent = self._requests.start(rid)
            if parent is None:
                history.append({"id": rid, "request": str(data.get("request", "")), "mode": "", "why": {},
                                "steps": [], "status": "running", "tokens": None})
                del history[:-MAX_HISTORY]
                self.state["running"] = rid
            return parent is None
        parent = self._requests.parent(rid)
        if kind == "mode":
            if parent is not None:  # a step of an ORCHESTRATOR plan
                entry = self._entry(parent)
                if entry is None:
                    return False
                steps = entry["steps"]
                if steps and steps[-1].get("id") in (rid, None):
                    steps[-1].update(id=rid, mode=str(data.get("mode", "")))
                else:
                    steps.append({"id": rid, "step": "", "mode": str(data.get("mode", ""))})
                return True
            entry = self._entry(rid)
            if entry is None:  # attached mid-request
                entry = {"id": rid, "request": "", "mode": "", "why": {}, "steps": [], "status": "running",
                         "tokens": None}
                history.append(entry)
            previous = entry["mode"]
            entry["mode"] = str(data.get("mode", ""))
            entry["why"] = why_summary(data.get("why"))
            if previous and previous != entry["mode"] and "fallback_from" not in entry["why"]:
                entry["why"]["fallback_from"] = previous
            return True
        if kind == "orchestrator.step":
            entry = self._entry(rid)
            if entry is None:
                return False
            entry["steps"].append({"id": None, "step": str(data.get("step", "")), "mode": ""})
            return True
        if kind == "request.end":
            top = self._requests.end(rid)
            if not top:
                return False
            meta = (data.get("result") or {}).get("metadata", {})
            entry = self._entry(rid)
            if entry is None:
                return False
            if meta.get("mode"):
                entry["mode"] = str(meta["mode"])
            if meta.get("why"):
                entry["why"] = {**entry["why"], **why_summary(meta["why"])}
            tokens = meta.get("tokens") or {}
            entry["tokens"] = {k: int(tokens.get(k) or 0) for k in ("input", "output", "saved")}
            entry["status"] = "error" if meta.get("error") else "ok"
            if meta.get("steps"):
                entry["steps"] = [{"step": str(s.get("step", "")), "mode": str(s.get("mode", ""))}
                                  for s in meta["steps"]]
            if entry["mode"] in self.state["counts"]:
                self.state["counts"][entry["mode"]] += 1
            if self.state["running"] == rid:
                self.state["running"] = ""
            return True
        return False

    @property
    def modes(self) -> list[str]:
        """The mode of each request so far, oldest first."""
        with self._lock:
            return [e["mode"] for e in self.state["history"]]

    def __repr__(self) -> str:
        modes = self.modes
        return f"ModeWidget({len(modes)} requests" + (f", last {modes[-1]}" if modes else "") + ")"
