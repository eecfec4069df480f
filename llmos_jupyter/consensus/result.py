"""What pipeline.run_consensus returns, and how a notebook shows it (mime bundles; no Jupyter import)."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ledger import Billed, Usage
from .active_inference import Refinement
from .hamiltonian import WeighResult
from .transfer_entropy import CausalGraph


@dataclass
class ConsensusResult:
    prompt: str
    models: list[str]  # "provider:model" of each answer that came back, in the order asked
    texts: list[str]
    weights: np.ndarray  # the consensus weights: the ground state of H, causal discount applied
    ground: WeighResult  # everything about that ground state (energy, free energy, trace, ...)
    refinement: Refinement  # the belief sharpened to the target entropy (same ranking), F before and after
    graph: CausalGraph | None
    answer: str
    answer_source: str  # the model whose answer was chosen, or "synthesis:provider:model"
    failures: list[dict[str, Any]] = field(default_factory=list)  # {model, kind, message}
    tokens: dict[str, Billed] = field(default_factory=dict)  # model -> what its call billed
    latency_ms: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    reservoir_weights: np.ndarray | None = None
    private: Any = None  # privacy.PrivateRelease when asked for
    request_id: str = ""
    program: str | None = None  # the top-weighted program, when the answers were judged by what they compute
    programs: list[Any] | None = None  # programs.ProgramRun per answer (None for a prose one), aligned with models
    basis: list[str] | None = None  # what each answer was judged by: "behaviour (counts)", "text", ...
    distances: np.ndarray | None = None  # the distance matrix weighed, when it came from behaviour
    ran: Any = None  # what running the chosen program where the user works reported (set by LLMOS.consensus)
    blocked: tuple[str, ...] = ()  # the guard's findings when it refused to run the chosen program there

    def histograms(self) -> list[dict[str, float] | None]:
        """Each answer's outcome distribution (from its program's counts or state), aligned with models."""
        if self.programs is None:
            return [None] * len(self.models)
        return [None if r is None else r.behaviour.histogram() for r in self.programs]

    # -- derived ----------------------------------------------------------------------------------
    @property
    def refined(self) -> np.ndarray:
        return self.refinement.weights

    @property
    def causal(self) -> np.ndarray:
        return self.ground.causal

    @property
    def energy(self) -> float:
        return self.ground.energy

    @property
    def free_energy(self) -> float:
        return self.ground.free_energy

    @property
    def device(self) -> str:
        return self.ground.device

    @property
    def total_tokens(self) -> Usage:
        return sum((b.usage for b in self.tokens.values()), Usage())

    @property
    def cost_usd(self) -> float | None:
        costs = [b.cost_usd for b in self.tokens.values()]
        return None if any(c is None for c in costs) else float(sum(costs))

    # -- serialisation ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        billed = {m: b.to_dict() for m, b in self.tokens.items()}
        answers = [{"model": m, "text": t, "weight": float(w), "refined": float(q), "local_energy": float(e),
                    "tokens": billed.get(m), "latency_ms": self.latency_ms.get(m)}
                   for m, t, w, q, e in zip(self.models, self.texts, self.weights, self.refined,
                                            self.ground.local_energies)]
        for a, r, hist, basis in zip(answers, self.programs or [None] * len(answers), self.histograms(),
                                     self.basis or ["text"] * len(answers)):
            a["judged_by"] = basis
            if r is not None:
                a["program"] = r.to_dict()
                a["histogram"] = hist
        return {
            "answer": self.answer,
            "answers": answers,
            "program": self.program,
            "metadata": {
                "mode": "CONSENSUS",
                "answer_source": self.answer_source,
                "models": self.models,
                "failures": self.failures,
                "tokens": billed,
                "total_tokens": {"input": self.total_tokens.input, "output": self.total_tokens.output},
                "cost_usd": self.cost_usd,
                "energy": self.energy,
                "free_energy": self.free_energy,
                "refinement": self.refinement.to_dict(),
                "causal": self.graph.to_dict() if self.graph is not None else None,
                "ground": self.ground.to_dict(),
                "reservoir_weights": None if self.reservoir_weights is None else self.reservoir_weights.tolist(),
                "private": None if self.private is None else self.private.to_dict(),
                "device": self.device,
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
                "request_id": self.request_id,
                "distances": None if self.distances is None else self.distances.tolist(),
                "ran": None if self.ran is None else {"error": getattr(self.ran, "error", None),
                                                      "counts": getattr(self.ran, "counts", None)},
                "blocked": list(self.blocked),
            },
        }

    # -- display ----------------------------------------------------------------------------------
    def edges_text(self) -> list[str]:
        if self.graph is None:
            return ["not computed"]
        edges = self.graph.edges()
        if not edges:
            return [self.graph.note
                    or f"no significant transfer entropy between answers (BH, alpha={self.graph.alpha})"]
        return [f"{self.models[e['source']]} → {self.models[e['target']]}: TE {e['te']:.3f} nats "
                f"(effective {e['effective']:.3f}), lag {e['lag']}, p = {e['p']:.3g}" for e in edges]

    def metadata_line(self) -> str:
        parts = []
        for m, b in self.tokens.items():
            cost = "cost n/a" if b.cost_usd is None else f"${b.cost_usd:.4f}"
            parts.append(f"{m}: in {b.usage.input:,} / out {b.usage.output:,}, {cost}")
        total = self.cost_usd
        parts.append("total " + ("cost n/a" if total is None else f"${total:.4f}"))
        r = self.refinement
        parts.append(f"H = {self.energy:.4f}, F = {self.free_energy:.4f}")
        if r.free_energy_before is not None:
            parts.append(f"refined: S {r.entropy_before:.3f} → {r.entropy_after:.3f} nats, "
                         f"F {r.free_energy_before:.4f} → {r.free_energy_after:.4f} at T_r = {r.temperature:.3g}")
        if self.reservoir_weights is not None:
            parts.append("quantum reservoir: " + ", ".join(f"{w:.3f}" for w in self.reservoir_weights))
        if self.private is not None:
            parts.append(f"DP centroid released (epsilon {self.private.epsilon:g}, delta {self.private.delta:g}, "
                         f"sigma {self.private.sigma:.3g})")
        parts.append(f"device {self.device}")
        parts.append(f"{sum(self.timings_ms.values()) / 1000:.2f} s")
        return " · ".join(parts)

    def __str__(self) -> str:
        lines = [f"Consensus ({self.answer_source}):", self.answer, "", "Answers:"]
        for m, w, q, hist, basis in zip(self.models, self.weights, self.refined, self.histograms(),
                                        self.basis or [None] * len(self.models)):
            judged = f"  judged by {basis}" if basis else ""
            lines.append(f"  {m:<32} weight {w:.3f} (refined {q:.3f}){judged}")
            if hist:
                lines.append("      " + ", ".join(f"{k}: {v:.3f}" for k, v in _top(hist)))
        for f in self.failures:
            lines.append(f"  {f['model']:<32} FAILED ({f['kind']}): {f['message']}")
        lines += ["Causal graph:"] + [f"  {e}" for e in self.edges_text()]
        if self.not_run_notice:
            lines.append(self.not_run_notice)
        lines.append(self.metadata_line())
        return "\n".join(lines)

    @property
    def not_run_notice(self) -> str | None:
        """Why the chosen program did not run where the user works (the guard refused it), or None."""
        if not self.blocked:
            return None
        notice = getattr(self.ran, "notice", None) or "; ".join(self.blocked)
        return f"The chosen program was not run in your kernel:\n{notice}"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        esc = html.escape
        hists = self.histograms()
        rows = "".join(
            f"<tr><td>{esc(m)}</td><td style='text-align:right'>{w:.3f}</td><td style='text-align:right'>{q:.3f}</td>"
            f"<td>{_histogram_svg(hist)}</td>"
            f"<td><details><summary>{esc(t[:80])}{'…' if len(t) > 80 else ''}</summary>"
            f"<div style='white-space:pre-wrap'>{esc(t)}</div></details></td></tr>"
            for m, t, w, q, hist in zip(self.models, self.texts, self.weights, self.refined, hists))
        rows += "".join(f"<tr><td>{esc(f['model'])}</td><td colspan=4 style='color:var(--jp-error-color1,#c62828)'>"
                        f"failed ({esc(f['kind'])}): {esc(f['message'])}</td></tr>" for f in self.failures)
        markup = (
            # MathJax typesets text/html outputs, and its \\href makes links: these classes make it skip the
            # answers (safe_markup.NO_MATH; every string here is escaped).
            "<div class='llmos-consensus mathjax_ignore tex2jax_ignore'>"
            f"<div><b>Consensus</b> ({esc(self.answer_source)})</div>"
            f"<div style='white-space:pre-wrap;border-left:3px solid #6a3d9a;padding:4px 8px'>{esc(self.answer)}</div>"
            "<table><thead><tr><th>model</th><th>weight</th><th>refined</th><th>outcomes</th><th>answer</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            "<div><b>Causal graph</b><ul>" + "".join(f"<li>{esc(e)}</li>" for e in self.edges_text()) + "</ul></div>"
            + (f"<div style='white-space:pre-wrap;color:var(--jp-error-color1,#c62828)'>{esc(self.not_run_notice)}</div>"
               if self.not_run_notice else "")
            + f"<div class='llmos-meta' style='font-size:12px'>{esc(self.metadata_line())}</div></div>"
        )
        return {"text/plain": str(self), "text/html": markup}


def _top(hist: dict[str, float], k: int = 8) -> list[tuple[str, float]]:
    return sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _histogram_svg(hist: dict[str, float] | None, k: int = 16) -> str:
    """A small bar chart of one program's outcome probabilities (the k likeliest, in outcome order)."""
    if not hist:
        return ""
    items = sorted(_top(hist, k))
    w, h, gap = 14, 40, 2
    bars = "".join(
        f"<rect x='{i * (w + gap)}' y='{h - max(1.0, p * h):.1f}' width='{w}' height='{max(1.0, p * h):.1f}' "
        f"fill='#6a3d9a'><title>{html.escape(key)}: {p:.3f}</title></rect>"
        f"<text x='{i * (w + gap) + w / 2}' y='{h + 10}' font-size='7' text-anchor='middle'>{html.escape(key[-6:])}</text>"
        for i, (key, p) in enumerate(items))
    return (f"<svg class='llmos-histogram' width='{len(items) * (w + gap)}' height='{h + 12}' role='img' "
            f"aria-label='outcome probabilities'>{bars}</svg>")
