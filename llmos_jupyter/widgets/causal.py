"""CausalGraphWidget: responses or agents as nodes, significant transfer-entropy edges with their strength."""
from __future__ import annotations

from typing import Any, Sequence

import traitlets

from ..events import CausalGraph
from ._base import STATIC, EngineWidget, plain

ALPHA = 0.05


def _matrix(value: Any) -> list[list[float]] | None:
    value = plain(value)
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        return [[float(x) if x is not None else 0.0 for x in row] for row in value]
    return None


def _edge(i: int, j: int, names: list[str], strength: float, p: float | None, te: float | None = None,
          lag: int | None = None) -> dict[str, Any]:
    edge = {"source": i, "target": j, "from": names[i], "to": names[j], "strength": round(float(strength), 6),
            "p": None if p is None else round(float(p), 6)}
    if te is not None:
        edge["te"] = round(float(te), 6)
    if lag is not None:
        edge["lag"] = int(lag)
    return edge


def significant_edges(strength: Any, pvalues: Any = None, names: Sequence[str] | None = None,
                      alpha: float = ALPHA) -> list[dict[str, Any]]:
    """Edges i -> j with positive strength (and p < alpha when p-values are given), strongest first."""
    S, P = _matrix(strength), _matrix(pvalues)
    if S is None:
        return []
    n = len(S)
    label = list(names) if names and len(names) == n else [f"#{i + 1}" for i in range(n)]
    edges = [_edge(i, j, label, S[i][j], P[i][j] if P else None)
             for i in range(n) for j in range(n)
             if i != j and S[i][j] > 0 and (P is None or P[i][j] < alpha)]
    return sorted(edges, key=lambda e: -e["strength"])


class CausalGraphWidget(EngineWidget):
    """The causal graph the consensus engine found: a node per response (or agent) and an arrow for each
    significant transfer-entropy edge (strength: effective TE in nats; p from the surrogate test). Follows
    CausalGraph events, showing exactly the edges the engine found significant, or shows a graph with
    `set_graph(strength, pvalues, names)`."""

    _esm = STATIC / "causal.js"
    final_kinds = (CausalGraph,)
    synced = ("names", "edges", "alpha", "note")

    names = traitlets.List().tag(sync=True)
    edges = traitlets.List().tag(sync=True)  # [{source, target, from, to, strength, p, te?, lag?}]
    alpha = traitlets.Float(ALPHA).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)  # why there is no graph, when the engine says

    def __init__(self, source: Any = None, *, labels: Sequence[str] | None = None, **kwargs: Any):
        self._labels = [str(x) for x in labels] if labels else []
        super().__init__(source, **kwargs)

    def reset_state(self) -> None:
        self.state = {"names": [], "edges": [], "alpha": ALPHA, "note": ""}

    def set_labels(self, labels: Sequence[str]) -> "CausalGraphWidget":
        """Names for the nodes when events carry none (e.g. ConsensusEngine.weigh(series=...))."""
        with self._lock:
            self._labels = [str(x) for x in labels]
            if len(self._labels) == len(self.state["names"]):
                self._rename(self._labels)
        self._throttle.flush(force=True)
        return self

    def set_graph(self, strength: Any, pvalues: Any = None, names: Sequence[str] | None = None,
                  alpha: float | None = None) -> "CausalGraphWidget":
        """Show a graph: strength[i][j] is the transfer entropy i -> j; pvalues the same shape (or None).
        Its edges are those with positive strength and p < alpha."""
        S = _matrix(strength) or []
        with self._lock:
            if alpha is not None:
                self.state["alpha"] = float(alpha)
            label = self._names(len(S), names)
            self.state.update(names=label, note="",
                              edges=significant_edges(S, pvalues, label, self.state["alpha"]))
        self._throttle.flush(force=True)
        return self

    def _rename(self, names: list[str]) -> None:
        self.state["names"] = names
        for e in self.state["edges"]:
            e["from"], e["to"] = names[e["source"]], names[e["target"]]

    def _names(self, n: int, given: Any) -> list[str]:
        for candidate in (given, self._labels):
            if candidate and len(candidate) == n:
                return [str(x) for x in candidate]
        return [f"#{i + 1}" for i in range(n)]

    def _graph(self, event: CausalGraph) -> bool:
        # The engine decided which edges are significant (Benjamini-Hochberg over all pairs): show exactly those.
        names = self._names(len(event.effective) or len(event.labels), event.labels)
        edges = [_edge(int(e["source"]), int(e["target"]), names, e.get("effective", e.get("te", 0.0)), e.get("p"),
                       e.get("te"), e.get("lag")) for e in plain(event.edges)]
        self.state.update(names=names, alpha=float(event.alpha), note=event.note,
                          edges=sorted(edges, key=lambda e: -e["strength"]))
        return True

    handlers = {CausalGraph: _graph}

    def __repr__(self) -> str:
        return f"CausalGraphWidget({len(self.state['names'])} nodes, {len(self.state['edges'])} significant edges)"
