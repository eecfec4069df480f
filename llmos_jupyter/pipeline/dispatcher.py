"""Choose a mode for a request and say why.

normalize → embed the template → look up the nearest verified traces → bind slots → choose.
Correctness first: a zero-token replay needs a high score, the same domain terms, and every
slot bound to a value the trace has been shown to handle; anything less goes to the LLM,
with the nearest trace as a worked example when it is close enough.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..memory.templates import bindings_of
from ..memory.traces import Trace, TraceStore
from ..memory.embed import Embedder
from ..settings import DEFAULT_SHOTS, Settings
from ..modes import Mode
from ..text.normalize import Normalized
from ..text.words import COMPOSING, composes, content_words, gate_order, word_sequence


@dataclass(frozen=True)
class Thresholds:
    follower: float  # replay at or above this similarity
    mixed: float  # worked example at or above this
    reworded_margin: float = 0.0  # below `follower`, replay a verified request's words said again in order

    @classmethod
    def of(cls, settings: Settings) -> "Thresholds":
        return cls(settings.follower_threshold, settings.mixed_threshold,
                   settings.reworded_margin)

    @property
    def reworded(self) -> float:
        """Similarity at or above which a request that says a verified request's content words, in the same
        order, replays: only filler and slot values differ. Never below the worked-example threshold."""
        return max(self.mixed, self.follower - max(self.reworded_margin, 0.0))


@dataclass(frozen=True)
class Decision:
    mode: Mode
    trace: Trace | None = None
    values: dict[str, object] = field(default_factory=dict)  # placeholder -> value, for a replay
    request_values: dict[str, object] = field(default_factory=dict)  # the request's own slot values
    why: dict[str, Any] = field(default_factory=dict)  # shown to the user; nothing branches on it
    variation_of: str | None = None  # the worked example's trace, when the request varies it in a value only
    broken: tuple[str, ...] = ()  # traces whose stored program no longer matches its seal: record forgets them
    fallback_from: Mode | None = None  # a replay that failed verification handed this request to the model


def request_values(n: Normalized) -> dict[str, object]:
    """placeholder -> value for the request, with the implicit shot count when none is named."""
    values = bindings_of(n.slots)
    values.setdefault("SLOT_shots_0", DEFAULT_SHOTS)
    return values


def bind(trace: Trace, wanted: dict[str, object], limits=None) -> tuple[dict[str, object] | None, str]:
    """Values for every placeholder of `trace` from the request, or (None, why not)."""
    values: dict[str, object] = {}
    for name in trace.bound:
        if name in wanted:
            value = wanted[name]
            if name in trace.generalized or any(ex.get(name) == value for ex in trace.examples):
                values[name] = value
            else:
                return None, (f"{_label(name)}={value!r} differs from the verified "
                              f"{sorted({str(ex.get(name)) for ex in trace.examples})} and this trace has not "
                              "been shown to rebind it")
        elif name in trace.defaults:
            values[name] = trace.defaults[name]
        else:
            return None, f"the request gives no {_label(name)}"
    for name, value in wanted.items():
        if name in trace.bound:
            continue
        if any(ex.get(name) == value for ex in trace.examples):
            continue  # the same value the trace was verified with
        if name.startswith("SLOT_qubits_") and not any(name in ex for ex in trace.examples):
            continue  # checked after the run: the register must have this width
        return None, f"this trace cannot take {_label(name)}={value!r}"
    if limits is not None:
        problem = limits(values)
        if problem:
            return None, problem
    return values, "all slots bound"


def _label(placeholder: str) -> str:
    _, kind, index = placeholder.split("_")
    return kind if index == "0" else f"{kind}[{index}]"


def _same_order(said: tuple[str, ...], verified: tuple[str, ...]) -> bool:
    """Whether the words both say come in the same order."""
    shared = set(said) & set(verified)
    return [w for w in said if w in shared] == [w for w in verified if w in shared]


def _quoted(words) -> str:
    return ", ".join(f"'{w}'" for w in sorted(words))


class Dispatcher:
    def __init__(self, traces: TraceStore, embedder: Embedder, thresholds: Thresholds | None = None,
                 limits=None):
        self.traces = traces
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds.of(Settings())
        self.limits = limits  # trace -> (values -> problem | None), for skills with valid ranges

    def choose(self, n: Normalized, thresholds: Thresholds | None = None, *, require_checks: bool = False,
               exclude: frozenset[str] = frozenset()) -> Decision:
        """`thresholds` overrides the configured ones for this request (the sentience layer shifts them);
        `require_checks` replays only traces with recorded checks beyond the basic ones; `exclude`: traces not
        to consider (found broken for this request)."""
        wanted = request_values(n)
        slots = {s.kind: s.value for s in reversed(n.slots)}
        hits = self.traces.search(self.embedder.one(n.key), k=8 + len(exclude)) if self.traces.any() else []
        hits = [h for h in hits if h.trace_id not in exclude][:8]
        t = thresholds or self.thresholds
        why: dict[str, Any] = {"template": n.template, "slots": slots, "terms": sorted(n.terms),
                               "thresholds": {"follower": t.follower, "reworded": round(t.reworded, 4),
                                              "mixed": t.mixed}}
        if not hits:
            return Decision(Mode.LEARNER, request_values=wanted, why={**why, "reason": "memory is empty"})
        rejected: list[str] = []
        variation: str | None = None  # a trace this request varies only in a slot value
        for hit in hits:
            if hit.score < min(t.follower, t.reworded):
                break
            trace = self.traces.get(hit.trace_id)
            if trace is None:
                continue
            if hit.terms != n.terms:
                rejected.append(f"{trace.id}: terms {sorted(hit.terms)} differ from the request's")
                continue
            if require_checks and not set(trace.checks) - {"runs"}:
                rejected.append(f"{trace.id}: no recorded checks, and recovery mode replays only checked traces")
                continue
            limits = self.limits(trace) if self.limits else None
            values, reason = bind(trace, wanted, limits)
            unsaid = self._unsaid(trace.id, n, reworded=hit.score < t.follower)
            if values is None:
                rejected.append(f"{trace.id}: {reason}")
                if not unsaid:  # the same words, only a value the trace has not been shown to take
                    variation = variation or trace.id
                continue
            if unsaid:
                rejected.append(f"{trace.id}: {unsaid}")
                continue
            mode = Mode.CRYSTALLIZED if trace.tool_name else Mode.FOLLOWER
            in_order = hit.score < t.follower and word_sequence(n.key) in {
                word_sequence(alias) for alias in self.traces.aliases(trace.id)}
            words = "a verified request's content words in its order" if in_order else "every word verified"
            return Decision(mode, trace, values, wanted, {
                **why, "score": round(hit.score, 4), "trace_id": trace.id, "alias": hit.alias,
                "bound": {_label(k): v for k, v in values.items()}, "tool": trace.tool_name,
                "reason": f"similarity {hit.score:.3f} ≥ {min(t.follower, t.reworded):.2f}, every slot bound and "
                          f"{words}"})
        best = hits[0]
        if best.score >= t.mixed:
            trace = self.traces.get(best.trace_id)
            reason = f"similarity {best.score:.3f} ≥ {t.mixed}: the nearest verified trace is the worked example"
            if rejected:
                reason += "; no replay because " + "; ".join(rejected[:3])
            return Decision(Mode.MIXED, trace, {}, wanted, {
                **why, "score": round(best.score, 4), "trace_id": best.trace_id, "alias": best.alias,
                "reason": reason, **({"variation_of": variation} if variation == best.trace_id else {})},
                variation_of=variation if variation == best.trace_id else None)
        return Decision(Mode.LEARNER, request_values=wanted, why={
            **why, "score": round(best.score, 4), "nearest": best.trace_id,
            "reason": f"nearest similarity {best.score:.3f} < {t.mixed}"})

    def _unsaid(self, trace_id: str, n: Normalized, *, reworded: bool = False) -> str | None:
        """Why the trace's verified requests do not vouch for this request's words, or None when they do.
        A content word the request adds ('twice') may change the program, and so may one that every
        verified request says and this one leaves out; either way the trace is only a worked example.
        Gates named in another order ('H then X') are another circuit, and so is a request that composes
        ('then', 'of', 'inverse': words.COMPOSING) with its words in another order. A `reworded` match, under the
        FOLLOWER threshold, passes at once when a verified request says the same content words in the same order,
        and otherwise on the same evidence as any other."""
        aliases = self.traces.aliases(trace_id)
        if reworded and word_sequence(n.key) in {word_sequence(alias) for alias in aliases}:
            return None
        # Under the FOLLOWER threshold too, the words decide: each one said by a verified request, and one of those
        # saying nothing this request leaves out (the embedding only found the candidate).
        gates = gate_order(n.key)
        if len(gates) > 1 and gates not in {gate_order(alias) for alias in aliases}:
            return f"no verified request names the gates {', '.join(gates)} in this order"
        said = content_words(n.key)
        if composes(n.key) and not any(_same_order(word_sequence(n.key), word_sequence(a)) for a in aliases):
            return (f"the request composes ({_quoted(said[s] for s in COMPOSING & said.keys())}) and no verified "
                    "request says its words in this order")
        verified = [content_words(alias) for alias in aliases]
        new = said.keys() - {stem for words in verified for stem in words}
        if new:
            return f"the verified requests never say {_quoted(said[s] for s in new)}"
        missing = [(words.keys() - said.keys(), words) for words in verified]
        if missing and all(stems for stems, _ in missing):
            stems, words = min(missing, key=lambda m: len(m[0]))
            return f"every verified request says more: the request never says {_quoted(words[s] for s in stems)}"
        return None
