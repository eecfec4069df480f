"""Programs as templates: request values in the code become placeholders that a new request rebinds.

A placeholder is a bare identifier `SLOT_<kind>_<i>` (the i-th slot of that kind in the
request), spliced into the original source so comments and layout survive. Only literals
equal to a slot's value are replaced, and a value that two slots share is left alone
(ambiguous). `shots=` keyword arguments bind to the shots slot by meaning, not by value.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\bSLOT_([a-z]+)_(\d+)\b")


def placeholder(kind: str, index: int) -> str:
    return f"SLOT_{kind}_{index}"


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
    tree = ast.parse(code)
    by_value: dict[tuple[type, object], list[str]] = {}
    for name, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        by_value.setdefault((type(value), value), []).append(name)
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def span(node: ast.AST) -> tuple[int, int]:
        start = offsets[node.lineno - 1] + _char_col(lines[node.lineno - 1], node.col_offset)
        end = offsets[node.end_lineno - 1] + _char_col(lines[node.end_lineno - 1], node.end_col_offset)
        return start, end

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
    out = code
    for (start, end), name in sorted(edits.items(), reverse=True):
        out = out[:start] + name + out[end:]
    bound = tuple(sorted(set(edits.values())))
    return Template(out, bound, shape_of(out))


def instantiate(template_code: str, values: dict[str, object]) -> str:
    """Put literal values in for the placeholders; every placeholder must have a value."""
    missing = sorted({m.group(0) for m in PLACEHOLDER.finditer(template_code)} - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: repr(values[m.group(0)]), template_code)


def _char_col(line: str, byte_col: int) -> int:
    """ast gives UTF-8 byte offsets; strings are indexed by character."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
