"""ModeWidget: the mode chosen for each request, and a strip of the session's history with why."""
from __future__ import annotations

from typing import Any

import traitlets

from ..events import ModeChosen, RequestEnded, RequestStarted, StepStarted
from ._base import MODES, STATIC, EngineWidget

MAX_HISTORY = 200


def why_summary(event: ModeChosen) -> dict[str, Any]:
    """The few facts of a choice worth showing (events.Choice), as widget state."""
    return event.choice.to_dict()


class ModeWidget(EngineWidget):
    """The mode of the request running now (one of CRYSTALLIZED, FOLLOWER, MIXED, LEARNER, ORCHESTRATOR)
    and the session's history as a strip of coloured cells, each with its score, trace and reason.
    The steps of an ORCHESTRATOR request show under it, not as requests of their own."""

    _esm = STATIC / "mode.js"
    synced = ("history", "running", "counts")

    history = traitlets.List().tag(sync=True)  # [{id, request, mode, why, steps, status, tokens}]
    running = traitlets.Unicode("").tag(sync=True)  # id of the request in flight ("" when idle)
    counts = traitlets.Dict().tag(sync=True)  # mode -> how many requests ended in it

    def reset_state(self) -> None:
        self.state = {"history": [], "running": "", "counts": {m: 0 for m in MODES}}

    def _entry(self, request_id: str, *, create: bool = False) -> dict[str, Any] | None:
        for entry in reversed(self.state["history"]):
            if entry["id"] == request_id:
                return entry
        if not create:
            return None
        entry = {"id": request_id, "request": "", "mode": "", "why": {}, "steps": [], "status": "running",
                 "tokens": None}
        history = self.state["history"]
        history.append(entry)
        del history[:-MAX_HISTORY]
        return entry

    def _started(self, event: RequestStarted) -> bool:
        if event.parent_id is not None:
            return False  # a step: StepStarted already listed it under its plan
        self._entry(event.request_id, create=True)["request"] = event.text
        self.state["running"] = event.request_id
        return True

    def _step_started(self, event: StepStarted) -> bool:
        entry = self._entry(event.request_id)
        if entry is None:
            return False
        entry["steps"].append({"id": None, "step": event.text, "mode": ""})
        return True

    def _mode_chosen(self, event: ModeChosen) -> bool:
        if event.parent_id is not None:
            return self._step_mode(event)
        entry = self._entry(event.request_id, create=True)  # created here when attached mid-request
        entry["mode"] = event.mode
        entry["why"] = why_summary(event)
        return True

    def _step_mode(self, event: ModeChosen) -> bool:
        entry = self._entry(event.parent_id)
        if entry is None:
            return False
        steps = entry["steps"]
        # The step announced last is this request's, unless this is a fallback of one already named.
        if steps and steps[-1]["id"] in (event.request_id, None):
            steps[-1].update(id=event.request_id, mode=event.mode)
        else:
            steps.append({"id": event.request_id, "step": "", "mode": event.mode})
        return True

    def _ended(self, event: RequestEnded) -> bool:
        entry = None if event.parent_id is not None else self._entry(event.request_id)
        if entry is None:
            return False
        s = event.summary
        entry["mode"] = s.mode or entry["mode"]
        entry["tokens"] = {"input": s.input, "output": s.output, "saved": s.saved}
        entry["status"] = "ok" if s.ok else "error"
        if entry["mode"] in self.state["counts"]:
            self.state["counts"][entry["mode"]] += 1
        if self.state["running"] == event.request_id:
            self.state["running"] = ""
        return True

    handlers = {RequestStarted: _started, StepStarted: _step_started, ModeChosen: _mode_chosen,
                RequestEnded: _ended}

    @property
    def modes(self) -> list[str]:
        """The mode of each request so far, oldest first."""
        with self._lock:
            return [e["mode"] for e in self.state["history"]]

    def __repr__(self) -> str:
        modes = self.modes
        return f"ModeWidget({len(modes)} requests" + (f", last {modes[-1]}" if modes else "") + ")"
