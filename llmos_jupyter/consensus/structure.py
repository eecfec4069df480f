"""How alike two programs are written, with the names a model chose for its own variables set aside.

Behaviour decides consensus; structure only breaks its ties. Two programs can compute the same on every
input a test tries and still differ where the test looks (a CNOT dropped where it acts on |0>, a gate count
asserted): among answers that compute alike, the one whose code most others share is the consensus.
A program is read as its syntax tree, every name it binds renamed by order of first binding (so `qc`/`circ`
and `n`/`num_qubits` meet) while attribute and library names stay (so `qc.cx` and `qc.cz` differ)."""
from __future__ import annotations

import ast
import builtins
import difflib
from functools import lru_cache

WEIGHT = 0.05  # at most what structure adds to a behaviour distance: a tie-break, never the verdict


@lru_cache(maxsize=256)
def shape(code: str) -> tuple[str, ...] | None:
    """The program's syntax tree as tokens, its own names canonical; None when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    bound = _bound_names(tree)
    canonical: dict[str, str] = {}
    tokens: list[str] = []
    for node in ast.walk(tree):
        tokens.append(type(node).__name__)
        if isinstance(node, ast.Name):
            name = node.id
            tokens.append(canonical.setdefault(name, f"v{len(canonical)}") if name in bound else name)
        elif isinstance(node, ast.arg):
            tokens.append(canonical.setdefault(node.arg, f"v{len(canonical)}"))
        elif isinstance(node, ast.Attribute):
            tokens.append("." + node.attr)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
            tokens.append(repr(node.value))
    return tuple(tokens)


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the program binds itself (assigned, looped over, its functions' arguments), less builtins and
    what it imports, which are the library's names and stay as written."""
    imported = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    bound |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    return bound - imported - set(dir(builtins))


def distance(a: str, b: str) -> float:
    """0 for programs written alike up to their own names, towards 1 as their trees differ; 1 if either
    does not parse."""
    sa, sb = shape(a), shape(b)
    if sa is None or sb is None:
        return 1.0
    if sa == sb:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, sa, sb, autojunk=False).ratio()
