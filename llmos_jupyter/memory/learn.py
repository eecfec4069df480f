"""Learning from a verified run: a new trace, or one more example (and alias) for a known one.

Two answers are the same pattern when their templated programs have the same shape. A
placeholder becomes *generalized* (free to rebind to any value) once the same program
has been verified with two different values for it; `shots=` is generalized from the
start because its meaning is unambiguous, and so is a value the program takes as one
named parameter and nothing else hints is size-specific (`named_parameters`). A recorded
check is dropped when a later verified run contradicts it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..text.normalize import Normalized
from . import checks, results
from .checks import check_values
from .templates import SIZE_CALLS, make_template
from .traces import Trace, TraceStore


@dataclass
class Learned:
    trace: Trace
    new: bool
    generalized_now: tuple[str, ...] = ()


def learn(traces: TraceStore, n: Normalized, values: dict[str, object], code: str, counts: dict[str, int] | None,
          *, origin: str, billed_tokens: int, produced: dict | None = None) -> Learned:
    template = make_template(code, values)
    held = checks.holding(counts, check_values(values)) if counts else [checks.RUNS_ONLY]
    newly: list[str] = []

    def merge(trace: Trace) -> None:
        newly.extend(name for name in template.bound
                     if name not in trace.generalized and all(ex.get(name) != values.get(name)
                                                              for ex in trace.examples))
        trace.generalized = tuple(sorted(set(trace.generalized) | set(newly)))
        # A check goes only when this run contradicts it: a 10-shot run is too thin to record GHZ support,
        # yet it does not make a check learned from 1,024 shots any less true.
        if counts:
            contradicted = set(checks.failures(counts, check_values(values), trace.checks))
            trace.checks = tuple(c for c in trace.checks if c not in contradicted)
        else:
            trace.checks = tuple(c for c in trace.checks if c in held)
        trace.results = results.merged(trace.results, produced or {})
        if values not in trace.examples:
            trace.examples.append(values)
        trace.uses += 1
        trace.baseline_tokens = max(trace.baseline_tokens, billed_tokens)

    parameters = named_parameters(template.code, values, held)
    fresh = Trace(
        id="", origin=origin, title=n.text[:120], request=n.text, template=n.template, signature=n.signature,
        code=template.code, bound=template.bound, shape=template.shape,
        generalized=tuple(sorted({"SLOT_shots_0"} & set(template.bound) | parameters)),
        defaults={}, examples=[values], checks=tuple(held), baseline_tokens=billed_tokens, uses=1,
        results=results.recorded(produced or {}))
    trace, created = traces.merge_or_add(fresh, merge, (n.key, n.terms))
    return Learned(trace, created, tuple(sorted(parameters)) if created else tuple(newly))


def named_parameters(code: str, values: dict[str, object], held: list[str]) -> set[str]:
    """Placeholders that one verified run already shows to be parameters: the program assigns the value
    once, at the top (`n = SLOT_qubits_0`), never rebinds that name, and uses it; and nothing in it looks
    made for this one value: no other literal derived from its size (n or a bitstring's length, n±1, 2n,
    n*n, 2**n), no float literal, no qubit index beyond 0 written out in a gate call. A run that records no
    check beyond the basic ones generalizes nothing here: its replays would have little to be caught by."""
    if not set(held) - {*checks.BASIC, checks.RUNS_ONLY}:
        return set()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and not isinstance(n.value, bool)]
    if any(isinstance(v, float) for v in literals) or _indices_written_out(tree):
        return set()
    sizes_written = {a.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                     and getattr(node.func, "id", getattr(node.func, "attr", None)) in SIZE_CALLS
                     for a in node.args if isinstance(a, ast.Constant) and type(a.value) is int}
    found = set()
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Name) and stmt.value.id in values):
            continue
        slot, name, value = stmt.value.id, stmt.targets[0].id, values[stmt.value.id]
        if slot.startswith("SLOT_shots_") or isinstance(value, bool) or not isinstance(value, (int, str)):
            continue
        if isinstance(value, str) and not set(value) <= {"0", "1"}:
            continue
        names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
        uses = [n for n in names if n.id == slot]
        stores = [n for n in names if n.id == name and isinstance(n.ctx, ast.Store)]
        loads = [n for n in names if n.id == name and isinstance(n.ctx, ast.Load)]
        if len(uses) != 1 or len(stores) != 1 or not loads:
            continue
        size = value if isinstance(value, int) else len(value)  # a bitstring's register width
        derived: set = {size, size - 1, size + 1, 2 * size, size * size, 2 ** min(size, 64)}
        if isinstance(value, str):  # another bitstring in the program: a copy or a reversal of this one
            derived |= {v for v in literals if isinstance(v, str) and set(v) <= {"0", "1"} and len(v) > 1}
        # 1 and 2 are everywhere (q + 1, 2 * theta); as a range or register size they still say "this size".
        if not any(v in derived and (not isinstance(v, int) or v >= 3) for v in literals) \
                and not derived & sizes_written:
            found.add(slot)
    return found


def _indices_written_out(tree: ast.AST) -> bool:
    """A gate call with a qubit index above 0 as a literal (`qc.cx(0, 1)`): a circuit built for one size."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if any(isinstance(a, ast.Constant) and type(a.value) is int and a.value >= 1 for a in node.args):
                return True
    return False


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
