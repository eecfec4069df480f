"""Programs as templates: request values in the code become placeholders that a new request rebinds.

A placeholder is a bare identifier `SLOT_<kind>_<i>` (the i-th slot of that kind in the
request), spliced into the original source so comments and layout survive. Only literals
equal to a slot's value are replaced, and a value that two slots share is left alone
(ambiguous). `shots=` keyword arguments bind to the shots slot by meaning, not by value.
A bitstring written out as X gates (`qc.x(0)`, `qc.x(2)` for |101>) is first lifted into a
loop over the bitstring, since no literal in such a program carries the value.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\bSLOT_([a-z]+)_(\d+)\b")


def placeholder(kind: str, index: int) -> str:
    return f"SLOT_{kind}_{index}"


# Calls whose integer arguments are sizes: a register width, a loop over the qubits.
SIZE_CALLS = frozenset({"range", "QuantumCircuit", "QuantumRegister", "ClassicalRegister"})


@dataclass(frozen=True)
class Template:
    code: str  # the program with placeholders
    bound: tuple[str, ...]  # placeholders present in the code
    shape: str  # ast dump of the templated program: equal shapes mean the same program


def bindings_of(slots) -> dict[str, object]:
    """placeholder -> value for a request's slots, in order."""
    seen: dict[str, int] = {}
    out: dict[str, object] = {}
    for slot in slots:
        index = seen.get(slot.kind, 0)
        seen[slot.kind] = index + 1
        out[placeholder(slot.kind, index)] = slot.value
    return out


def shape_of(code: str) -> str:
    return ast.dump(ast.parse(code), annotate_fields=False, include_attributes=False)


def make_template(code: str, values: dict[str, object]) -> Template:
    """Replace literals in `code` that carry the request's slot values with their placeholders."""
    code = lift_bit_flips(code, values)
    tree = ast.parse(code)
    by_value: dict[tuple[type, object], list[str]] = {}
    for name, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        by_value.setdefault((type(value), value), []).append(name)
    span = _spans(code)
    edits: dict[tuple[int, int], str] = {}
    shots = values.get("SLOT_shots_0")
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "shots" and isinstance(node.value, ast.Constant) \
                and node.value.value == shots and "SLOT_shots_0" in values:
            edits[span(node.value)] = "SLOT_shots_0"
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and node.value is not None:
            names = by_value.get((type(node.value), node.value), [])
            names = [n for n in names if n != "SLOT_shots_0" or len(names) == 1]
            if len(names) == 1 and span(node) not in edits:
                edits[span(node)] = names[0]
    out = _splice(code, edits)
    bound = tuple(sorted({m.group(0) for m in PLACEHOLDER.finditer(out)} & set(values)))
    return Template(out, bound, shape_of(out))


def lift_bit_flips(code: str, values: dict[str, object]) -> str:
    """Unrolled X gates that spell the request's bitstring become a loop over its placeholder.

    The run of `reg.x(<int>)` statements must flip exactly the bitstring's 1s, in Qiskit's order
    (bit i of the string read from the right) or read from the left; the circuit width, when it is
    the bitstring's length, becomes `len(<placeholder>)`. Anything else is left as it was: a replay
    of the lifted program is verified like any other, so a wrong lift costs a miss, never an answer.
    """
    names = [n for n, v in values.items() if n.startswith("SLOT_bits_") and isinstance(v, str)]
    if len(names) != 1:
        return code
    slot, bits = names[0], str(values[names[0]])
    orders = {"reversed": {i for i, b in enumerate(reversed(bits)) if b == "1"},
              "plain": {i for i, b in enumerate(bits) if b == "1"}}
    if not orders["reversed"]:
        return code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    run = _flip_run(tree, orders)
    if run is None:
        return code
    first, last, register, order = run
    lines = code.splitlines(keepends=True)
    indent = lines[first.lineno - 1][:first.col_offset]
    source = f"reversed({slot})" if order == "reversed" else slot
    loop = (f"{indent}for _q, _bit in enumerate({source}):  # X on every 1 of the bitstring\n"
            f"{indent}    if _bit == \"1\":\n{indent}        {register}.x(_q)\n")
    lifted = "".join(lines[:first.lineno - 1]) + loop + "".join(lines[last.end_lineno:])
    if any(v == len(bits) for n, v in values.items() if n != slot and isinstance(v, int)):
        return lifted  # the width literal could mean another slot: leave it to the plain rules
    return _width_to_len(lifted, len(bits), slot)


def _flip_run(tree: ast.AST, orders: dict[str, set[int]]):
    """(first stmt, last stmt, register, order) of the one run of X gates that spells the bitstring."""
    found = []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            run: list[tuple[ast.stmt, str, int]] = []
            for stmt in [*body, None]:
                flip = _x_gate(stmt) if stmt is not None else None
                if flip is not None and (not run or run[0][1] == flip[0]):
                    run.append((stmt, *flip))
                    continue
                indices = [i for _, _, i in run]
                for order, wanted in orders.items():
                    if run and len(set(indices)) == len(indices) and set(indices) == wanted:
                        found.append((run[0][0], run[-1][0], run[0][1], order))
                        break
                run = [(stmt, *flip)] if flip is not None else []
    return found[0] if len(found) == 1 else None


def _x_gate(stmt: ast.stmt) -> tuple[str, int] | None:
    """(register, qubit) for a statement `register.x(<int>)`."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "x" and isinstance(call.func.value, ast.Name)
            and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and type(call.args[0].value) is int):
        return None
    return call.func.value.id, call.args[0].value


def _width_to_len(code: str, width: int, slot: str) -> str:
    """`QuantumCircuit(4)`, `QuantumCircuit(4, 4)` and `range(4)` become `len(<slot>)`."""
    span = _spans(code)
    edits = {span(arg): f"len({slot})" for node in ast.walk(ast.parse(code))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SIZE_CALLS
             for arg in node.args if isinstance(arg, ast.Constant) and type(arg.value) is int and arg.value == width}
    return _splice(code, edits)


def _spans(code: str):
    """node -> (start, end) character offsets of that node in `code`."""
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def span(node: ast.AST) -> tuple[int, int]:
        start = offsets[node.lineno - 1] + _char_col(lines[node.lineno - 1], node.col_offset)
        end = offsets[node.end_lineno - 1] + _char_col(lines[node.end_lineno - 1], node.end_col_offset)
        return start, end

    return span


def _splice(code: str, edits: dict[tuple[int, int], str]) -> str:
    """`code` with each (start, end) span replaced by its text."""
    for (start, end), text in sorted(edits.items(), reverse=True):
        code = code[:start] + text + code[end:]
    return code


def instantiate(template_code: str, values: dict[str, object]) -> str:
    """Put literal values in for the placeholders; every placeholder must have a value."""
    missing = sorted({m.group(0) for m in PLACEHOLDER.finditer(template_code)} - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: repr(values[m.group(0)]), template_code)


def _char_col(line: str, byte_col: int) -> int:
    """ast gives UTF-8 byte offsets; strings are indexed by character."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
