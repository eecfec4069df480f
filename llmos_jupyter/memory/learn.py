"""Learning from a verified run: a new trace, or one more example (and alias) for a known one.

Two answers are the same pattern when their templated programs have the same shape. A
placeholder becomes *generalized* (free to rebind to any value) once the same program
has been verified with two different values for it; `shots=` is generalized from the
start because its meaning is unambiguous. Recorded checks keep only what held in every
verified run.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..dispatch.dispatcher import check_values
from ..dispatch.normalize import Normalized
from . import checks
from .templates import make_template
from .traces import Trace, TraceStore


@dataclass
class Learned:
    trace: Trace
    new: bool
    generalized_now: tuple[str, ...] = ()


def learn(traces: TraceStore, n: Normalized, values: dict[str, object], code: str, counts: dict[str, int] | None,
          *, origin: str, billed_tokens: int) -> Learned:
    template = make_template(code, values)
    held = checks.holding(counts, check_values(values)) if counts else [checks.RUNS_ONLY]
    newly: list[str] = []

    def merge(trace: Trace) -> None:
        newly.extend(name for name in template.bound
                     if name not in trace.generalized and all(ex.get(name) != values.get(name)
                                                              for ex in trace.examples))
        trace.generalized = tuple(sorted(set(trace.generalized) | set(newly)))
        trace.checks = tuple(c for c in trace.checks if c in held)
        if values not in trace.examples:
            trace.examples.append(values)
        trace.uses += 1
        trace.baseline_tokens = max(trace.baseline_tokens, billed_tokens)

    fresh = Trace(
        id="", origin=origin, title=n.text[:120], request=n.text, template=n.template, signature=n.signature,
        code=template.code, bound=template.bound, shape=template.shape,
        generalized=("SLOT_shots_0",) if "SLOT_shots_0" in template.bound else (),
        defaults={}, examples=[values], checks=tuple(held), baseline_tokens=billed_tokens, uses=1)
    trace, created = traces.merge_or_add(fresh, merge, (n.key, n.terms))
    return Learned(trace, created, tuple(newly))


def record_replay(traces: TraceStore, trace: Trace, values: dict[str, object], ok: bool) -> Trace:
    """Count a replay: a verified use (with its values as a new example) or a miss."""

    def count(fresh: Trace) -> None:
        if ok:
            fresh.uses += 1
            if values not in fresh.examples and len(fresh.examples) < 50:
                fresh.examples.append(values)
        else:
            fresh.misses += 1

    return traces.modify(trace.id, count) or trace
