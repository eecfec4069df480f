"""Crystallization: a trace verified often enough becomes a Python function under home/tools/.

The starter skill `ghz_state` becomes `home/tools/ghz_state.py`: one function whose parameters are the
trace's generalized slots (typed by their kind), whose docstring names the request it was learned
from, and whose body is the verified program, returning the counts the program bound; a program's
`n = qubits` is dropped and `n` read as `qubits` wherever that provably changes nothing. Beside it goes
`test_ghz_state.py`, which replays the verified examples with the checks their runs passed and defines every
name it annotates with.

A tool is code the memory made from a model's program, so LLMOS runs it where programs run: its
source is checked against the hash it passed its examples with (`checked_source`), then run in the
sandboxed worker (or in the kernel only when the user chose execution = "kernel"); `Tool` is what the
kernel holds, with the name, signature and docstring read from the source with ast. Nothing of a tool
is imported by path or put on sys.path or sys.modules. Both files are written under hidden names that
no import can reach; the tool's source is run through `run` (the worker) on the trace's verified
examples, and only when every one passes are the files renamed into place. A failed tool leaves
nothing behind. A program that never binds its counts to a name (nor prints them) stays a trace: its
tool would have nothing to return.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
import inspect
import io
import itertools
import keyword
import os
import pprint
import re
import tempfile
import textwrap
import tokenize
import types
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from ..text.normalize import normalize
from ..errors import LLMOSError
from . import checks
from .checks import check_values
from .seed import PREFIX
from .templates import PLACEHOLDER, placeholder
from .traces import Trace, TraceStore

STOPWORDS = {"create", "make", "prepare", "build", "run", "a", "an", "the", "with", "on", "for", "and", "of",
             "circuit", "please", "using", "to", "in", "me", "write", "generate", "show", "some", "that", "it",
             "qiskit", "code", "program", "implement", "simulate", "measure", "shots", "qubits", "qubit", "test"}
KIND_TYPES = {"qubits": "int", "shots": "int", "bits": "str", "ket": "str", "backend": "str"}
MAX_EXAMPLES = 10  # verified examples a new tool must pass, and its test file replays
# Calls a print may make and still be dropped whole: they only read or format what the program made.
READ_ONLY_CALLS = frozenset({
    "abs", "bool", "dict", "enumerate", "float", "format", "int", "isinstance", "len", "list", "max", "min", "range",
    "repr", "round", "set", "sorted", "str", "sum", "tuple", "type", "zip",
    "count_ops", "depth", "draw", "get", "get_counts", "items", "join", "keys", "lower", "most_common", "size",
    "strip", "upper", "values"})


class Run(Protocol):
    """What `run(code, namespace)` returns: tools.qiskit_exec.Execution has these."""
    error: str | None
    counts: dict[str, int] | None


def param_name(placeholder: str) -> str:
    _, kind, index = placeholder.split("_")
    return kind if index == "0" else f"{kind}_{index}"


def parameters(trace: Trace, names: dict[str, str]) -> dict[str, str]:
    """placeholder -> parameter name for the trace's generalized slots, in `names` order with shots last."""
    order = list(names)
    slots = sorted((p for p in trace.bound if p in trace.generalized),
                   key=lambda p: (p.startswith("SLOT_shots_"), order.index(p)))
    return {p: names[p] for p in slots}


def function_name(trace: Trace, taken: set[str]) -> str:
    if trace.origin == "starter":
        base = trace.id.removeprefix(PREFIX)
    else:
        words = [w for w in re.findall(r"[a-z][a-z0-9]*", re.sub(r"<[a-z]+>", " ", trace.template))
                 if w not in STOPWORDS]
        base = "_".join(dict.fromkeys(words[:4])) or "circuit"
    # A file named like an importable module (random.py) would shadow it wherever tools/ is on sys.path,
    # as it is when pytest runs the tool's test file.
    if keyword.iskeyword(base) or importlib.util.find_spec(base) is not None:
        base = f"{base}_tool"
    if base not in taken:
        return base
    return next(name for name in (f"{base}_{i}" for i in itertools.count(2)) if name not in taken)


# -- the tool's source ---------------------------------------------------------------------------------

def tool_source(trace: Trace, function: str, params: dict[str, str], aliases: Iterable[str] = ()) -> str | None:
    """The module of the tool `function` for `trace`, or None when its program cannot be one."""
    fixed = {p: trace.examples[0][p] for p in trace.bound if p not in params}
    program = PLACEHOLDER.sub(lambda m: params.get(m.group(0)) or repr(fixed[m.group(0)]), trace.code)
    try:
        parts = _function_parts(_without_aliases(program, set(params.values())), set(params.values()))
    except SyntaxError:
        return None
    if parts is None:
        return None
    imports, body, counts = parts
    defaults = {p: trace.defaults.get(p, trace.examples[0].get(p)) for p in params}
    signature = ", ".join(f"{name}: {_annotation(p, trace)} = {_literal(defaults[p])}" for p, name in params.items())
    head = f'"""{_module_doc(trace, function, aliases)}"""\n' + "".join(imports)
    source = (f"{head}\n\ndef {function}({signature}) -> dict[str, int]:\n"
              f'    """{_function_doc(trace, params)}"""\n{body}    return {counts}\n')
    try:
        compile(source, f"{function}.py", "exec")
    except SyntaxError:
        return None
    return source


def _annotation(slot: str, trace: Trace) -> str:
    kind = slot.split("_")[1]
    if kind in KIND_TYPES:
        return KIND_TYPES[kind]
    seen = {type(ex[slot]) for ex in trace.examples if slot in ex}
    return "float" if float in seen else "int" if seen == {int} else "str" if seen == {str} else "object"


def _module_doc(trace: Trace, function: str, aliases: Iterable[str]) -> str:
    runs = f"{trace.uses} verified run{'s' if trace.uses != 1 else ''}"
    how = f"an LLMOS starter skill, crystallized after {runs}" if trace.origin == "starter" else \
        f"learned by LLMOS from {runs}"
    others = len(set(aliases)) - 1  # the request's own wording is one of them
    wordings = f" (and {others} other wording{'s' if others != 1 else ''})" if others > 0 else ""
    text = f'{function}: {how} of "{" ".join(trace.request.split())}"{wordings}.'
    return _wrapped(text, '"""', "") + f"\n\ntest_{function}.py beside it replays them.\n"


def _function_doc(trace: Trace, params: dict[str, str]) -> str:
    """The request, each generalized value written as its parameter, and what the function returns."""
    text, pos, pieces, seen = trace.request, 0, [], Counter()
    for slot in normalize(trace.request).slots:
        slot_placeholder = placeholder(slot.kind, seen[slot.kind])
        seen[slot.kind] += 1
        at = text.find(slot.text, pos)
        if slot_placeholder in params and at >= 0:
            pieces += [text[pos:at], f"`{params[slot_placeholder]}`"]
            pos = at + len(slot.text)
    described = " ".join(("".join(pieces) + text[pos:]).split()).rstrip(" .!?;,")
    shots = params.get("SLOT_shots_0")
    returns = f"return the counts of `{shots}` shots on Aer" if shots and f"`{shots}`" not in described else \
        "return its counts on Aer"
    return _wrapped(f"{described}, and {returns}.", '    """', "    ")


def _wrapped(text: str, opening: str, indent: str) -> str:
    """`text` for a docstring that starts after `opening`: escaped, in lines of at most 100 characters that
    break only at spaces (never inside `Bernstein-Vazirani` or a long name), the later ones after `indent`."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = textwrap.wrap(text, 100, initial_indent=opening, subsequent_indent=indent, break_on_hyphens=False,
                          break_long_words=False)
    return "\n".join(lines)[len(opening):]


def _literal(value: object) -> str:
    """`value` as Python source, a string in double quotes as people write them."""
    text = repr(value)
    return f'"{value}"' if isinstance(value, str) and text == f"'{value}'" and '"' not in value else text


def _function_parts(program: str, param_names: set[str]) -> tuple[list[str], str, str] | None:
    """(top-level imports, the rest indented as a function body, the name of the counts it returns) of a
    program, or None when the program never names its counts. Whole-statement prints are dropped, except
    what they compute (`print(job.result().get_counts())` becomes `counts = job.result().get_counts()`),
    and so is `shots = shots`, which is what `shots = SLOT_shots_0` becomes when the parameter is `shots`."""
    tree = ast.parse(program)
    lines = program.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edits: dict[ast.stmt, list[str]] = {}  # statement -> the lines that replace it
    counts = _counts_name(tree)
    prints = sorted((s for s in _statements(tree) if _is_print(s) and _owns_its_lines(s, lines)),
                    key=lambda s: s.lineno)
    if counts is None:
        printed = [s for s in prints if _outside_defs(s, tree) and len(s.value.args) == 1
                   and not s.value.keywords and _is_get_counts(s.value.args[0])]
        if not printed:
            return None
        last, counts = printed[-1], "counts"
        edits[last] = [f"{_indent_of(last, lines)}counts = {_segment(program, last.value.args[0])}"
                       f"{_after(last, lines)}"]
    for stmt in prints:
        if stmt not in edits:
            kept = [a.value if isinstance(a, ast.Starred) else a
                    for a in [*stmt.value.args, *(k.value for k in stmt.value.keywords)]]
            edits[stmt] = [_indent_of(stmt, lines) + _segment(program, a) + "\n" for a in kept if not _read_only(a)]
    imports = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and _owns_its_lines(stmt, lines):
            imports += lines[stmt.lineno - 1:stmt.end_lineno]
            edits[stmt] = []
        elif _is_self_assignment(stmt, param_names) and _owns_its_lines(stmt, lines):
            edits[stmt] = []
    for block in _blocks(tree):  # a block emptied of its prints still needs a statement
        if all(edits.get(s) == [] for s in block) and block is not tree.body:
            edits[block[0]] = [_indent_of(block[0], lines) + "pass\n"]
    out, skip_to = [], 0
    starts = {s.lineno: s for s in edits}
    for number, line in enumerate(lines, start=1):
        if number <= skip_to:
            continue
        stmt = starts.get(number)
        if stmt is not None:
            out += edits[stmt]
            skip_to = stmt.end_lineno
        else:
            out.append(line)
    return imports, _indented("".join(out)), counts


def _without_aliases(program: str, param_names: set[str]) -> str:
    """`program` with each top-level `n = qubits` (a name given a parameter's value) gone and `n` written as
    `qubits` wherever it is read, as a person writing the function would have named it. Only where that cannot
    change what runs: `n` is bound nowhere else (no other assignment, loop, argument, import or def of that
    name, in any scope), the parameter is never rebound, every read of `n` comes after the alias, and nothing
    reads names by string (`locals()`, `eval`, ...). The result must parse to the original's syntax tree with
    the names renamed; otherwise the program is kept as it was."""
    tree = ast.parse(program)
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name)]
    if any(node.id in _NAMES_BY_STRING for node in names):
        return program
    bound = Counter(_bindings(tree))
    lines = program.splitlines(keepends=True)
    renames: dict[str, str] = {}
    aliases: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and isinstance(stmt.value, ast.Name) and stmt.value.id in param_names \
                and stmt.targets[0].id not in param_names and bound[stmt.targets[0].id] == 1 \
                and not bound[stmt.value.id] and _owns_its_lines(stmt, lines) \
                and all((n.lineno, n.col_offset) > (stmt.end_lineno, stmt.end_col_offset)
                        for n in names if n.id == stmt.targets[0].id and n is not stmt.targets[0]):
            renames[stmt.targets[0].id] = stmt.value.id
            aliases.append(stmt)
    if not renames:
        return program
    edits = [(n.lineno, n.col_offset, n.end_col_offset, renames[n.id]) for n in names
             if n.id in renames and isinstance(n.ctx, ast.Load)]
    for lineno, start, end, new in sorted(edits, reverse=True):
        line = lines[lineno - 1]
        start, end = _column(line, start), _column(line, end)
        lines[lineno - 1] = line[:start] + new + line[end:]
    for stmt in sorted(aliases, key=lambda s: s.lineno, reverse=True):
        del lines[stmt.lineno - 1:stmt.end_lineno]
    renamed = "".join(lines)
    expected = _Renamed(renames).visit(ast.parse(program))
    expected.body = [s for s, original in zip(expected.body, tree.body) if original not in aliases]
    try:
        same = ast.dump(ast.parse(renamed)) == ast.dump(expected)
    except SyntaxError:
        same = False
    return renamed if same else program


# Builtins that read or run names given as strings: a program that uses one keeps its names as they are.
_NAMES_BY_STRING = frozenset({"locals", "globals", "vars", "eval", "exec", "dir", "compile", "__import__"})


def _bindings(tree: ast.AST) -> Iterator[str]:
    """Every name `tree` binds or deletes, in any scope, once per place that does it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            yield node.id
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.alias):
            yield node.asname or node.name.split(".")[0]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            yield from node.names
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            yield node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node.rest


class _Renamed(ast.NodeTransformer):
    """The syntax tree with names read renamed: what the text edits of `_without_aliases` must give."""

    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if isinstance(node.ctx, ast.Load) and node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _counts_name(tree: ast.Module) -> str | None:
    """The name the program last binds a `.get_counts()` result to, outside any function it defines."""
    found = []
    for node in _outside_defs_walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) \
            else []
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and _is_get_counts(node.value):
            found.append((node.lineno, targets[0].id))
    return max(found)[1] if found else None


def _is_get_counts(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get_counts"


def _is_print(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print"


def _is_self_assignment(stmt: ast.stmt, names: set[str]) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and isinstance(stmt.value, ast.Name) and stmt.value.id in names and stmt.targets[0].id == stmt.value.id


def _read_only(node: ast.AST) -> bool:
    """Whether dropping `node` loses nothing but output: it assigns nothing and calls only readers."""
    for child in ast.walk(node):
        if isinstance(child, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(child, ast.Call) and getattr(child.func, "id", getattr(child.func, "attr", None)) \
                not in READ_ONLY_CALLS:
            return False
    return True


def _statements(tree: ast.AST) -> Iterator[ast.stmt]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.stmt))


def _outside_defs_walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            yield child
            yield from _outside_defs_walk(child)


def _outside_defs(stmt: ast.stmt, tree: ast.Module) -> bool:
    return any(node is stmt for node in _outside_defs_walk(tree))


def _blocks(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list in `node`, the module's body first."""
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for child in ast.iter_child_nodes(node):
        yield from _blocks(child)


def _column(line: str, byte_offset: int) -> int:
    """ast gives UTF-8 byte offsets; strings are indexed by character."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _indent_of(stmt: ast.stmt, lines: list[str]) -> str:
    return lines[stmt.lineno - 1][:_column(lines[stmt.lineno - 1], stmt.col_offset)]


def _after(stmt: ast.stmt, lines: list[str]) -> str:
    """What follows `stmt` on its last line: a comment and the newline, when it owns its lines."""
    last = lines[stmt.end_lineno - 1]
    return last[_column(last, stmt.end_col_offset):]


def _owns_its_lines(stmt: ast.stmt, lines: list[str]) -> bool:
    """Nothing but `stmt` (and a comment) is on its lines: not `a = 1; print(a)`, nor `if a: print(a)`."""
    after = _after(stmt, lines).strip()
    return not _indent_of(stmt, lines).strip() and (not after or after.startswith("#"))


def _segment(program: str, node: ast.AST) -> str:
    text = ast.get_source_segment(program, node)
    return f"({text})" if "\n" in text else text  # a statement of its own needs brackets to span lines


def _indented(code: str) -> str:
    """`code` as a function body: indented by four spaces, blank runs folded to one, except inside strings."""
    inside = set()  # lines within a multi-line string literal: their text is the string's value
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            inside.update(range(token.start[0] + 1, token.end[0] + 1))
    out: list[str] = []
    for number, line in enumerate(code.splitlines(keepends=True), start=1):
        if number in inside:
            out.append(line)
        elif line.strip():
            out.append("    " + line)
        elif out and out[-1] != "\n":
            out.append("\n")
    while out and out[-1] == "\n":
        out.pop()
    return "".join(out)


# -- the tool's test file ------------------------------------------------------------------------------

def tool_test_source(function: str, cases: list[tuple[dict, dict, list[str]]]) -> str:
    """A pytest file that loads the tool by path and replays `cases` (kwargs, check values, check names)."""
    used = list(dict.fromkeys(name for _, _, names in cases for name in names))
    helpers = "\n\n".join(inspect.getsource(f) for f in (checks.bits_of, checks.width,
                                                          *(checks.CHECKS[name][0] for name in used)))
    table = "".join(f"    {name!r}: {checks.CHECKS[name][0].__name__},\n" for name in used)
    examples = "".join(textwrap.indent(pprint.pformat(case, width=96, sort_dicts=False), "    ") + ",\n"
                       for case in cases)
    return f'''"""Replays the verified examples of {function}() in {function}.py beside this file.

Each case is a call LLMOS verified, with the checks its run passed; the checks are copied from
llmos_jupyter.memory.checks, so this file needs nothing but the tool.
"""
from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

Counts = {checks.Counts!r}  # a run's counts by bitstring
Values = {checks.Values!r}  # the request's values by kind: qubits, shots, bits, ...


def load_{function}() -> Callable[..., Counts]:
    """The tool, loaded by its path as LLMOS loads it."""
    spec = importlib.util.spec_from_file_location("{function}", Path(__file__).with_name("{function}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.{function}


{helpers}

CHECKS = {{
{table}}}
EXAMPLES = [
{examples}]


@pytest.mark.parametrize("kwargs,values,names", EXAMPLES)
def test_{function}_passes_its_verified_examples(
        kwargs: dict[str, object], values: Values, names: list[str]) -> None:
    counts = load_{function}()(**kwargs)
    assert [name for name in names if not CHECKS[name](counts, values)] == []
'''


# -- loading, calling, writing -------------------------------------------------------------------------

class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file each time and caches no bytecode: a __pycache__ entry would outlive a tool that
    failed its examples, and a hidden candidate file must leave nothing behind."""

    def set_data(self, path: str, data: bytes, *, _mode: int = 0o666) -> None:
        pass


def _load(path: Path, function: str) -> Callable[..., Any]:
    loader = _SourceOnlyLoader(function, str(path))
    spec = importlib.util.spec_from_file_location(function, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return getattr(module, function)


def load_tool(tools_dir: Path, function: str) -> Callable[..., Any]:
    """The tool `function` from `tools_dir/<function>.py`, loaded from that file alone into the calling process
    (as its test file does): nothing is added to sys.path or sys.modules, so another home's tool of the same name
    is never the one called. LLMOS itself never calls this: `LLMOS.tool` runs the checked source in the worker."""
    if not function.isidentifier():
        raise ValueError(f"{function!r} is not a tool name")
    return _load(Path(tools_dir) / f"{function}.py", function)


def tool_hash(tools_dir: Path, function: str) -> str:
    """sha256 of the tool's file, or "" when it is gone: a replay runs the tool only while this matches
    what was written when it passed its examples."""
    path = Path(tools_dir) / f"{function}.py"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def set_aside(tools_dir: Path, function: str) -> None:
    """Move a tool that no longer matches its hash out of reach of imports (`.ghz_state.py.refused`), so
    nothing loads it and the trace can be crystallized again under its own name."""
    for name in (f"{function}.py", f"test_{function}.py"):
        path = Path(tools_dir) / name
        if path.is_file():
            os.replace(path, path.with_name(f".{name}.refused"))


def verified_source(tools_dir: Path, function: str, digest: str) -> str | None:
    """The tool's source, read once, if it is the file that passed its examples (its sha256 is `digest`);
    None when it changed or is gone. Replays run this text, so what is checked is what runs."""
    path = Path(tools_dir) / f"{function}.py"
    data = path.read_bytes() if path.is_file() else b""
    return data.decode("utf-8") if data and hashlib.sha256(data).hexdigest() == digest else None


class ToolRefused(LLMOSError):
    """LLMOS will not run this tool: no trace of this home made it, or its file is not the one that passed."""


def checked_source(traces: TraceStore, tools_dir: Path, function: str) -> str:
    """The source of the tool `function`, read once, when it is the file a trace of this home crystallized and
    checked (its sha256 still matches, and the trace's seal holds); what runs is this text. A file changed or
    removed since is set aside and its trace loses the tool, as a replay would do, so it is made again from the
    verified program. Otherwise ToolRefused, saying what to do."""
    if not isinstance(function, str) or not function.isidentifier():
        raise ToolRefused(f"{function!r} is not a tool name. `%llmos memory` lists the tools (after ->).")
    traces._seal_older_rows()  # a home from before seals: its rows get theirs first, as the first search does
    trace = next((t for t in traces.all(function) if t.tool_name == function), None)
    if trace is None:
        raise ToolRefused(f"No trace in this home was crystallized as {function}(), so LLMOS will not run "
                          f"{function}.py: it runs only the tools it wrote and checked. `%llmos memory` lists them.")
    if not trace.intact:  # the row itself was rewritten behind LLMOS: its tool hash says nothing
        raise ToolRefused(f"Trace {trace.id}, which made {function}(), was changed behind LLMOS, so its tool is "
                          "not run. Ask the request again: the next run refuses and forgets the trace.")
    source = verified_source(tools_dir, function, trace.tool_hash)
    if source is None:
        set_aside(tools_dir, function)

        def drop(t: Trace) -> None:
            if t.tool_name == function:
                t.tool_name, t.tool_hash = None, ""

        traces.modify(trace.id, drop)
        raise ToolRefused(f"{function}.py in {tools_dir} is not the file that passed its examples (changed or "
                          f"deleted), so it was not run. It was set aside as .{function}.py.refused; the next "
                          "verified replay of its request makes the tool again from the verified program.")
    return source


class _Shown:
    """A default or an annotation shown as the tool's source writes it (never evaluated in the kernel)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def described(source: str, function: str) -> tuple[inspect.Signature, str | None]:
    """(signature, docstring) of `function` as `source` defines it, read from its syntax tree: the kernel learns
    what a tool takes without running any of it."""
    node = next((n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == function), None)
    if node is None:
        raise ToolRefused(f"{function}.py defines no function {function}().")
    a = node.args
    P = inspect.Parameter

    def shown(expr: ast.expr | None, literal: bool) -> Any:
        if expr is None:
            return P.empty
        if literal:
            try:
                return ast.literal_eval(expr)
            except ValueError:
                pass
        return _Shown(ast.unparse(expr))

    positional = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [P(arg.arg, P.POSITIONAL_ONLY if i < len(a.posonlyargs) else P.POSITIONAL_OR_KEYWORD,
                default=shown(default, True), annotation=shown(arg.annotation, False))
              for i, (arg, default) in enumerate(zip(positional, defaults))]
    if a.vararg:
        params.append(P(a.vararg.arg, P.VAR_POSITIONAL, annotation=shown(a.vararg.annotation, False)))
    params += [P(arg.arg, P.KEYWORD_ONLY, default=shown(default, True), annotation=shown(arg.annotation, False))
               for arg, default in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append(P(a.kwarg.arg, P.VAR_KEYWORD, annotation=shown(a.kwarg.annotation, False)))
    returns = shown(node.returns, False)
    return inspect.Signature(params, return_annotation=inspect.Signature.empty if returns is P.empty else returns), \
        ast.get_docstring(node, clean=False)


class Tool:
    """A crystallized tool as the kernel holds it: the tool's name, signature and docstring (read from its checked
    source with ast), and calls that `call` runs where programs run, the sandboxed worker."""

    def __init__(self, function: str, source: str, call: Callable[..., Any]):
        self.__name__ = self.__qualname__ = function
        self.__signature__, self.__doc__ = described(source, function)
        self._call = call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<tool {self.__name__}{self.__signature__} (runs in the sandbox)>"


def kernel_function(source: str, tools_dir: Path, function: str) -> Callable[..., Any]:
    """`function` from its checked `source`, made in this process (execution = "kernel": the user's choice). The
    checked text is what runs, not a second read of the file; nothing goes on sys.path or sys.modules."""
    path = Path(tools_dir) / f"{function}.py"
    module = types.ModuleType(function)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the user chose to run in the kernel
    return getattr(module, function)


def tool_namespace(tools_dir: Path, function: str) -> dict[str, Any]:
    """A namespace for the call from `call_snippet`, with the tool loaded in this process (`load_tool`). Replays
    do not use it: they run the checked source and the call together where programs run."""
    return {function: load_tool(tools_dir, function)}


def _call(function: str, kwargs: dict[str, object]) -> str:
    return f"counts = {function}({', '.join(f'{k}={_literal(v)}' for k, v in kwargs.items())})\n"


def call_snippet(trace: Trace, values: dict[str, object], names: dict[str, str]) -> str:
    """The cell a crystallized replay shows and runs (after the tool's checked source): the call, then its counts
    printed as the program printed them."""
    kwargs = {name: values[p] for p, name in parameters(trace, names).items()}
    return _call(trace.tool_name, kwargs) + "print(counts)\n"


def _verify(source: str, trace: Trace, function: str, params: dict[str, str],
            run: Callable[[str, dict[str, Any]], Run]) -> list[tuple[dict, dict, list[str]]] | None:
    """Run the tool's source and a call of it through `run` (which may be a sandboxed worker) on the trace's
    verified examples: for each, (kwargs, check values, the checks that applied), or None as soon as one
    fails."""
    cases = []
    for example in trace.examples[:MAX_EXAMPLES]:
        kwargs = {name: example[p] for p, name in params.items()}
        namespace: dict[str, Any] = {}
        result = run(f"{source}\n\n{_call(function, kwargs)}", namespace)
        values = check_values(example)
        returned = namespace.get("counts")
        # What it returns must be what its run measured, or `return counts` names the wrong counts.
        if result.error or not (isinstance(returned, dict) and result.counts
                                and checks.bits_of(returned) == checks.bits_of(result.counts)) \
                or checks.failures(result.counts, values, trace.checks):
            return None
        cases.append((kwargs, values, checks.applying(result.counts, values, trace.checks)))
    return cases


def crystallize(trace: Trace, tools_dir: Path, taken: set[str], names: dict[str, str], *,
                run: Callable[[str, dict[str, Any]], Run], aliases: Iterable[str] = ()) -> str | None:
    """Write the tool for `trace` into `tools_dir` once it has passed the trace's verified examples; its
    function name, or None, with nothing written, when the program cannot be a tool or the tool fails.

    `taken`: function names already in use; `names`: placeholder -> parameter name; `run(code, namespace)`:
    executes a program where programs run (the engine's runner: the sandboxed worker by default) and reports its
    `.error` and `.counts`; nothing of the candidate runs in this process otherwise; `aliases`: the
    trace's alias templates, the request's own among them, which the docstring counts as its wordings."""
    tools_dir = Path(tools_dir)
    params = parameters(trace, names)
    tools_dir.mkdir(parents=True, exist_ok=True)
    existing = {path.stem for path in tools_dir.glob("*.py")}  # a forgotten trace's tool is still the user's
    function = function_name(trace, {*taken, *existing, "counts"})  # the call binds `counts`
    source = tool_source(trace, function, params, aliases)
    if source is None:
        return None
    hidden: list[Path] = []
    try:
        hidden.append(_write_hidden(tools_dir, f"{function}.py", source))
        cases = _verify(source, trace, function, params, run)
        if cases is None:
            return None
        hidden.append(_write_hidden(tools_dir, f"test_{function}.py", tool_test_source(function, cases)))
        os.replace(hidden[0], tools_dir / f"{function}.py")
        os.replace(hidden[1], tools_dir / f"test_{function}.py")
        return function
    finally:
        for path in hidden:
            path.unlink(missing_ok=True)


def _write_hidden(tools_dir: Path, name: str, text: str) -> Path:
    """`text` on disk as `.<name>.tmp-XXXX` in `tools_dir`: a name no import can reach."""
    fd, tmp = tempfile.mkstemp(dir=tools_dir, prefix=f".{name}.tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
