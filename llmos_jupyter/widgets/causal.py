"""CausalGraphWidget: responses or agents as nodes, significant transfer-entropy edges with their strength."""
from __future__ import annotations

from typing import Any, Sequence

import traitlets

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
    "consensus.causal" events (the engine's own list of significant edges when it sends one, else every
    edge with positive strength and p < alpha), or shows a graph with `set_graph(strength, pvalues, names)`."""

    _esm = STATIC / "causal.js"
    kinds = ("consensus.causal",)
    final_kinds = ("consensus.causal",)
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
        """Show a graph: strength[i][j] is the transfer entropy i -> j; pvalues the same shape (or None)."""
        with self._lock:
            self.apply("consensus.causal", {"strength": strength, "pvalues": pvalues, "names": names,
                                            "alpha": alpha})
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

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        if data.get("alpha") is not None:
            self.state["alpha"] = float(data["alpha"])
        self.state["note"] = str(data.get("note") or "")
        strength = next((data[k] for k in ("effective", "strength", "matrix", "te") if data.get(k) is not None), None)
        S = _matrix(strength)
        edges = plain(data.get("edges"))
        given = data.get("names") or data.get("labels") or data.get("models")
        n = len(S) if S is not None else len(given or []) or (
            1 + max((max(e["source"], e["target"]) for e in edges or []), default=-1))
        names = self._names(n, given)
        if isinstance(edges, list) and all(isinstance(e, dict) for e in edges):
            # The engine's own decision (Benjamini-Hochberg over all pairs): show exactly those edges.
            out = [_edge(int(e["source"]), int(e["target"]), names,
                         e.get("effective", e.get("strength", e.get("te", 0.0))), e.get("p"), e.get("te"), e.get("lag"))
                   for e in edges]
            self.state["edges"] = sorted(out, key=lambda e: -e["strength"])
        else:
            self.state["edges"] = significant_edges(S, data.get("pvalues"), names, self.state["alpha"])
        self.state["names"] = names
        return True

    def __repr__(self) -> str:
        return f"CausalGraphWidget({len(self.state['names'])} nodes, {len(self.state['edges'])} significant edges)"
