"""The training set: verified traces as (request, program) pairs, with their parameter variants rendered.

A trace enters only in its verified state: its stored program is the one LLMOS verified (the seal holds),
and it has verified uses (starter skills are verified by construction). Each verified binding of a trace
is rendered into the program and into the trace's request wording; starter skills also get a small grid
of valid parameter values over all their phrasings. Runs that failed verification were never stored as
traces, so they cannot enter.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from ..text.normalize import normalize
from ..memory.templates import bindings_of, instantiate
from ..memory.traces import Trace
from ..settings import DEFAULT_SHOTS

SHOT_VARIANTS = (100, 500, 2048, 4096)
MAX_PER_TRACE = 400  # a family with many phrasings must not drown the others


@dataclass(frozen=True)
class Example:
    request: str
    program: str
    trace_id: str
    values: dict = field(default_factory=dict, compare=False, hash=False)  # placeholder -> value
    guide: tuple[str, str] | None = None  # (request, program) of the verified program shown with it


def excluded(trace: Trace) -> str | None:
    """Why a trace may not be trained on, or None when it may."""
    if not trace.intact:
        return "its stored program is not the one that was verified (changed outside LLMOS)"
    if trace.origin != "starter" and trace.uses < 1:
        return "it has no verified use"
    if trace.misses > trace.uses and trace.origin != "starter":
        return "its replays failed verification more often than they passed"
    return None


def phrasings(trace: Trace) -> list[str]:
    """The wordings a trace is known by: a starter skill's phrases, else the request it was learned from."""
    if trace.origin == "starter":
        from ..memory.starter_skills import skill

        try:
            return list(skill(trace.id.removeprefix("starter-")).phrases)
        except KeyError:
            pass
    return [trace.request]


def render_request(phrase: str, values: dict[str, object], defaults: dict[str, object]) -> str | None:
    """`phrase` with its slots set to `values`; a shot count it does not name is appended. None when a
    value it cannot express differs from the default (the wording would then ask for something else)."""
    n = normalize(phrase)
    named = bindings_of(n.slots)
    text, cursor = [], 0
    for slot, placeholder in zip(n.slots, named):
        start = phrase.find(slot.text, cursor)
        if start < 0 or placeholder not in values:
            return None
        text += [phrase[cursor:start], _written(slot.text, values[placeholder])]
        cursor = start + len(slot.text)
    out = "".join(text) + phrase[cursor:]
    for placeholder, value in values.items():
        if placeholder in named:
            continue
        if placeholder == "SLOT_shots_0":
            if value != defaults.get(placeholder, DEFAULT_SHOTS):
                out = out.rstrip(" .") + f" with {value} shots"
        elif value != defaults.get(placeholder):
            return None
    return out


def _written(original: str, value: object) -> str:
    if original.startswith("|"):
        return f"|{value}{original[-1]}"
    return f"{value:,}" if isinstance(value, int) and "," in original else str(value)


def variants(trace: Trace) -> list[dict[str, object]]:
    """The bindings to render: every verified example, and for a starter skill a grid of valid values."""
    base = {**trace.defaults}
    found = [{**base, **e} for e in trace.examples]
    if trace.origin == "starter":
        from ..memory.starter_skills import skill

        try:
            params = skill(trace.id.removeprefix("starter-")).params
        except KeyError:
            params = ()
        for p in params:
            for value in _grid(p):
                found.append({**base, p.placeholder: value})
    unique = []
    for v in found:
        if v not in unique:
            unique.append(v)
    return unique


def _grid(p) -> list[object]:
    if p.kind == "shots":
        return list(SHOT_VARIANTS)
    if p.kind == "bits":
        lo, hi = max(p.minimum or 1, 2), min(p.maximum or 6, 6)
        return [format(k, f"0{w}b") for w in range(lo, hi + 1) for k in (1, 2 ** w - 2, 5 % 2 ** w)]
    if p.kind in ("qubits", "number") and isinstance(p.default, int):
        lo, hi = p.minimum or 1, min(p.maximum or 8, 8)
        return list(range(lo, hi + 1))
    return []


def examples_of(trace: Trace, *, seed: int = 0) -> list[Example]:
    """The (request, program) pairs one trace contributes, each binding under each wording that can say it
    (without guides: `guided` adds them once the held-out part is set apart)."""
    out: list[Example] = []
    for values in variants(trace):
        try:
            program = instantiate(trace.code, values)
        except KeyError:
            continue
        for phrase in phrasings(trace):
            request = render_request(phrase, values, trace.defaults)
            if request is not None:
                out.append(Example(request, program, trace.id, values))
    unique = list({(e.request, e.program): e for e in out}.values())
    random.Random(seed).shuffle(unique)
    return unique[:MAX_PER_TRACE]


def worked(trace: Trace) -> tuple[str, str] | None:
    """The guide T0 is given for a trace (its worked example), or None when its program cannot be built."""
    try:
        return trace.worked_example()
    except KeyError:
        return None


def guided(examples: list[Example], traces: dict[str, Trace], *, seed: int = 0) -> list[Example]:
    """Training examples, each with the verified program it is adapted from. At T0 that is the trace's worked
    example, so half the examples get it; the other half get another variation of the same trace among
    `examples` (so nothing held out leaks in), and the adapter learns to change what differs rather than
    to recite one program. An example whose program is the worked example's own is shown another one."""
    rng = random.Random(seed)
    by_trace: dict[str, list[Example]] = {}
    for ex in examples:
        by_trace.setdefault(ex.trace_id, []).append(ex)
    out = []
    for ex in examples:
        guide = worked(traces[ex.trace_id]) if ex.trace_id in traces else None
        others = [e for e in by_trace[ex.trace_id] if e.program != ex.program]
        if others and (guide is None or guide[1] == ex.program or rng.random() < 0.5):
            other = rng.choice(others)
            guide = (other.request, other.program)
        out.append(replace(ex, guide=guide))
    return out


def as_served(examples: list[Example], traces: dict[str, Trace]) -> list[Example]:
    """Examples guided as T0 serves them: by their trace's worked example."""
    return [replace(ex, guide=worked(traces[ex.trace_id])) for ex in examples]


def training_set(traces: list[Trace]) -> tuple[list[Example], dict[str, str]]:
    """(examples, {trace id: why it was left out})."""
    examples: list[Example] = []
    left_out: dict[str, str] = {}
    for trace in traces:
        why = excluded(trace)
        if why:
            left_out[trace.id] = why
            continue
        examples += examples_of(trace)
    return examples, left_out
