"""ConsensusWidget: a bar per model answer, and the energy falling while the engine anneals."""
from __future__ import annotations

from typing import Any, Sequence

import traitlets

from ._base import STATIC, EngineWidget, plain

MAX_TRACE = 1000


class ConsensusWidget(EngineWidget):
    """The consensus engine's weights (one bar per answer, the ground state's winner marked) and the
    annealing trace (lowest energy after each step, with the temperature). Follows "consensus.step" and
    "consensus.done" events, or shows a finished result with `show_result(res, labels)`."""

    _esm = STATIC / "consensus.js"
    kinds = ("consensus.answer", "consensus.step", "consensus.done", "consensus.result", "consensus.causal")
    final_kinds = ("consensus.done", "consensus.result")
    synced = ("labels", "weights", "trace", "done", "answer", "info", "arrivals")

    labels = traitlets.List().tag(sync=True)  # one per answer
    weights = traitlets.List().tag(sync=True)
    trace = traitlets.List().tag(sync=True)  # [{step, temperature, energy}]
    done = traitlets.Bool(False).tag(sync=True)
    answer = traitlets.Unicode("").tag(sync=True)  # the chosen answer's text, when the engine says
    info = traitlets.Dict().tag(sync=True)  # energy, free_energy, device, seconds, entropy
    arrivals = traitlets.List().tag(sync=True)  # models' answers as they come back: [{model, ok, seconds}]

    def __init__(self, source: Any = None, *, labels: Sequence[str] | None = None, **kwargs: Any):
        self._labels_given = [str(x) for x in labels] if labels else []
        super().__init__(source, **kwargs)

    def reset_state(self) -> None:
        self.state = {"labels": list(getattr(self, "_labels_given", [])), "weights": [], "trace": [],
                      "done": False, "answer": "", "info": {}, "arrivals": []}

    def set_labels(self, labels: Sequence[str]) -> "ConsensusWidget":
        with self._lock:
            self._labels_given = self.state["labels"] = [str(x) for x in labels]
        self._throttle.flush(force=True)
        return self

    def _fit_labels(self, n: int) -> None:
        if len(self.state["labels"]) != n:
            given = self._labels_given
            self.state["labels"] = given if len(given) == n else [f"answer {i + 1}" for i in range(n)]

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        if kind == "consensus.answer":  # ConsensusEngine.run: one model's answer came back (or failed)
            if self.state["done"]:
                self.state.update(trace=[], done=False, answer="", info={}, weights=[], arrivals=[])
            self.state["arrivals"].append({"model": str(data.get("model", "")), "ok": bool(data.get("ok")),
                                           "seconds": plain(data.get("seconds"))})
            return True
        if kind == "consensus.result":  # the whole run: models, final weights and whose answer was chosen
            models = [str(m) for m in data.get("models") or []]
            weights = [float(w) for w in plain(data.get("weights") or [])]
            if weights:
                self.state["weights"] = weights
            if models and len(models) == len(self.state["weights"]):
                self.state["labels"] = models
            if data.get("answer_source"):
                self.state["answer"] = str(data["answer_source"])
            self.state["done"] = True
            return True
        if kind == "consensus.causal":  # names for the answers, when the graph comes first
            names = data.get("names") or data.get("labels") or data.get("models")
            if names and not self._labels_given:
                self.state["labels"] = [str(x) for x in names]
            return bool(names)
        weights = [float(w) for w in plain(data.get("weights") or [])]
        if kind == "consensus.step":
            step = int(data.get("step", 0))
            trace = self.state["trace"]
            if self.state["done"] or (trace and step <= trace[-1]["step"]):  # a new run starts
                self.state.update(trace=[], done=False, answer="", info={}, arrivals=[])
                trace = self.state["trace"]
            trace.append({"step": step, "temperature": plain(float(data.get("temperature", 0.0))),
                          "energy": plain(float(data.get("energy", 0.0)))})
            del trace[:-MAX_TRACE]
            if weights:
                self._fit_labels(len(weights))
                self.state["weights"] = weights
            return True
        if kind == "consensus.done":
            if weights:
                self._fit_labels(len(weights))
                self.state["weights"] = weights
            models = data.get("models") or data.get("labels")
            if models and len(models) == len(self.state["weights"]):
                self.state["labels"] = [str(m) for m in models]
            if data.get("answer") is not None:
                self.state["answer"] = str(data["answer"])
            self.state["info"] = {k: plain(data[k]) for k in ("energy", "free_energy", "device", "seconds", "entropy")
                                  if k in data}
            self.state["done"] = True
            return True
        return False

    def show_result(self, result: Any, labels: Sequence[str] | None = None, answer: str | None = None
                    ) -> "ConsensusWidget":
        """Show a finished WeighResult (weights, trace, temperatures) without events."""
        weights = [float(w) for w in plain(result.weights)]
        energies = plain(getattr(result, "trace", []))
        temps = plain(getattr(result, "temperatures", [])) or [None] * len(energies)
        with self._lock:
            if labels:
                self._labels_given = [str(x) for x in labels]
            self.state["labels"] = []
            self._fit_labels(len(weights))
            self.state.update(weights=weights, done=True, answer=answer or "",
                              trace=[{"step": i, "temperature": t, "energy": e}
                                     for i, (e, t) in enumerate(zip(energies, temps))][-MAX_TRACE:],
                              info={k: plain(getattr(result, k)) for k in ("energy", "free_energy", "device",
                                                                             "seconds", "entropy")
                                    if hasattr(result, k)})
        self._throttle.flush(force=True)
        return self

    def __repr__(self) -> str:
        w = self.state["weights"]
        if not w:
            return "ConsensusWidget(no weights yet)"
        best = max(range(len(w)), key=w.__getitem__)
        return f"ConsensusWidget({len(w)} answers, top {self.state['labels'][best]} at {w[best]:.3f})"
