"""ConsensusWidget: a bar per model answer, and the energy falling while the engine anneals."""
from __future__ import annotations

from typing import Any, Sequence

import traitlets

from ..events import CausalGraph, ConsensusAnswer, ConsensusDone, ConsensusFinished, ConsensusStep
from ._base import STATIC, EngineWidget, plain

MAX_TRACE = 1000


class ConsensusWidget(EngineWidget):
    """The consensus engine's weights (one bar per answer, the ground state's winner marked) and the
    annealing trace (lowest energy after each step, with the temperature). Follows the consensus events
    (answers arriving, annealing steps, the ground state, the chosen answer), or shows a finished result
    with `show_result(res, labels)`."""

    _esm = STATIC / "consensus.js"
    final_kinds = (ConsensusDone, ConsensusFinished)
    synced = ("labels", "weights", "trace", "done", "answer", "info", "arrivals", "histograms")

    labels = traitlets.List().tag(sync=True)  # one per answer
    weights = traitlets.List().tag(sync=True)
    trace = traitlets.List().tag(sync=True)  # [{step, temperature, energy}]
    done = traitlets.Bool(False).tag(sync=True)
    answer = traitlets.Unicode("").tag(sync=True)  # who wrote the chosen answer (or show_result's text)
    info = traitlets.Dict().tag(sync=True)  # energy, free_energy, device, seconds, entropy
    arrivals = traitlets.List().tag(sync=True)  # models' answers as they come back: [{model, ok, seconds}]
    histograms = traitlets.List().tag(sync=True)  # per answer: {outcome: probability} of its program, or None

    def __init__(self, source: Any = None, *, labels: Sequence[str] | None = None, **kwargs: Any):
        self._labels_given = [str(x) for x in labels] if labels else []
        super().__init__(source, **kwargs)

    def reset_state(self) -> None:
        self.state = {"labels": list(getattr(self, "_labels_given", [])), "weights": [], "trace": [],
                      "done": False, "answer": "", "info": {}, "arrivals": [], "histograms": []}

    def set_labels(self, labels: Sequence[str]) -> "ConsensusWidget":
        with self._lock:
            self._labels_given = self.state["labels"] = [str(x) for x in labels]
        self._throttle.flush(force=True)
        return self

    def _fit_labels(self, n: int) -> None:
        if len(self.state["labels"]) != n:
            given = self._labels_given
            self.state["labels"] = given if len(given) == n else [f"answer {i + 1}" for i in range(n)]

    def _new_run(self) -> None:
        self.state.update(trace=[], done=False, answer="", info={}, arrivals=[], histograms=[])

    def _show_weights(self, weights: Sequence[float]) -> None:
        if weights:
            self._fit_labels(len(weights))
            self.state["weights"] = [float(w) for w in plain(weights)]

    def _answer(self, event: ConsensusAnswer) -> bool:
        if self.state["done"]:
            self._new_run()
            self.state["weights"] = []
        self.state["arrivals"].append({"model": event.model, "ok": event.ok, "seconds": plain(event.seconds)})
        return True

    def _graph(self, event: CausalGraph) -> bool:
        # The graph names the answers when it comes before the weights (ConsensusEngine.run).
        if not event.labels or self._labels_given:
            return False
        self.state["labels"] = [str(x) for x in event.labels]
        return True

    def _step(self, event: ConsensusStep) -> bool:
        trace = self.state["trace"]
        if self.state["done"] or (trace and event.step <= trace[-1]["step"]):  # a new run starts
            self._new_run()
            trace = self.state["trace"]
        trace.append({"step": int(event.step), "temperature": plain(float(event.temperature)),
                      "energy": plain(float(event.energy))})
        del trace[:-MAX_TRACE]
        self._show_weights(event.weights)
        return True

    def _done(self, event: ConsensusDone) -> bool:
        self._show_weights(event.weights)
        self.state["info"] = {k: plain(getattr(event, k)) for k in ("energy", "free_energy", "device", "seconds",
                                                                     "entropy")}
        self.state["done"] = True
        return True

    def _finished(self, event: ConsensusFinished) -> bool:
        if event.weights:
            self.state["weights"] = [float(w) for w in plain(event.weights)]
        if event.models and len(event.models) == len(self.state["weights"]):
            self.state["labels"] = [str(m) for m in event.models]
        self.state["answer"] = event.answer_source
        if len(event.histograms) == len(self.state["weights"]):
            self.state["histograms"] = [None if h is None else {str(k): float(v) for k, v in h.items()}
                                        for h in event.histograms]
        self.state["done"] = True
        return True

    handlers = {ConsensusAnswer: _answer, CausalGraph: _graph, ConsensusStep: _step, ConsensusDone: _done,
                ConsensusFinished: _finished}

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
