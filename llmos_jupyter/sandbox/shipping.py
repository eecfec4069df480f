"""The kernel's own functions, classes and objects, sent to the worker as source (issue #23). The user's code
is trusted, and a function passed to a worker function (a Katas oracle, a callback) usually changes the circuit
it is handed in place, which only works where that circuit lives: so the function's source goes to the worker,
with the values of the globals and closure variables it names, each by value (a module or library name by
name: the worker imports its own), and runs there. Calling back into the kernel instead would let the worker
drive kernel code. A class goes as its source; an instance as its class and vars(); an Enum member as its
class and name. Where there is no source (a builtin, C code) the caller gets a SandboxError saying what to pass."""
from __future__ import annotations

import ast
import enum
import inspect
import linecache
import sys
import textwrap
import types
from typing import Any, Callable

from .errors import Unconvertible


_in_progress: set[int] = set()  # functions being shipped: one that names another that names it stops there


def ship(value: Any, encode: Callable[[Any], Any]) -> dict | None:
    """`value` as a tagged reference for the worker, or None where it has none. `encode` encodes parts
    (globals, state) with this same hook."""
    if id(value) in _in_progress:
        return None
    _in_progress.add(id(value))
    try:
        return _ship(value, encode)
    finally:
        _in_progress.discard(id(value))


def _ship(value: Any, encode: Callable[[Any], Any]) -> dict | None:
    library = _library_name(value)
    if library is not None:
        return library
    if isinstance(value, types.FunctionType):
        source, name = _function_source(value)
        return {"t": "source", "kind": "function", "name": name, "source": source,
                "globals": _encoded(_names(source, value, value.__globals__, _cells(value)), encode)}
    if isinstance(value, types.MethodType) and not isinstance(value.__self__, types.ModuleType):
        return {"t": "source", "kind": "method", "object": encode(value.__self__), "name": value.__func__.__name__}
    if isinstance(value, type) and _own(value):
        source = _class_source(value)
        return {"t": "source", "kind": "class", "name": value.__name__, "source": source,
                "globals": _encoded(_names(source, value, _class_globals(value), {}), encode)}
    if isinstance(value, enum.Enum):
        return {"t": "source", "kind": "member", "class": ship(type(value), encode), "name": value.name}
    if hasattr(value, "__dict__") and not isinstance(value, (types.ModuleType, type)) and _own(type(value)):
        return {"t": "source", "kind": "object", "class": ship(type(value), encode), "state": encode(dict(vars(value)))}
    return None


def _own(cls: type) -> bool:
    """Whether `cls` is the user's (defined in a notebook or a file of theirs), not a library's."""
    module = sys.modules.get(cls.__module__)
    return module is None or cls.__module__ == "__main__" or not _installed_module(module)


def _library_name(value: Any) -> dict | None:
    """A module, or a function or class its installed module names (np.cos, QuantumCircuit), by name."""
    if isinstance(value, types.ModuleType):
        return {"t": "module", "module": value.__name__, "qualname": None}
    if not callable(value):
        return None
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__" or "<" in qualname:
        return None
    found = sys.modules.get(module)
    if found is None or not _installed_module(found):
        return None  # the user's own module: its things go as source
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return {"t": "module", "module": module, "qualname": qualname} if found is value else None


def _installed_module(module: types.ModuleType) -> bool:
    from .remote import _installed

    return _installed(getattr(module, "__spec__", None))


def _function_source(function: types.FunctionType) -> tuple[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise Unconvertible(f"{function.__qualname__}() has no source to send to the sandbox (it was made by "
                            "exec or eval); define it with def in a cell or a file and pass that") from None
    if function.__name__ != "<lambda>":
        return _undecorated(source, function.__name__), function.__name__
    return f"_llmos_lambda = {_lambda_text(source, function)}\n", "_llmos_lambda"


def _undecorated(source: str, name: str) -> str:
    """A def without its decorators where it parses on its own (a decorator may not be shippable, and what the
    kernel holds is already the decorated function's code only when there is none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    node = tree.body[0] if tree.body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
        node.decorator_list = []
        return ast.unparse(node) + "\n"
    return source


def _lambda_text(source: str, function: types.FunctionType) -> str:
    """The lambda expression itself, cut out of the line it sits on (`oracle = lambda qc: qc.x(0)`)."""
    text = source.strip()
    for attempt in (text, f"({text})", text.rstrip(",)") + ")"):
        try:
            tree = ast.parse(attempt)
            break
        except SyntaxError:
            continue
    else:
        raise Unconvertible("a lambda whose line does not parse on its own; define it with def and pass that")
    code = function.__code__
    arguments = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [node for node in ast.walk(tree) if isinstance(node, ast.Lambda)
             and [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)] == arguments]
    if len(found) != 1:
        raise Unconvertible("one of several lambdas on a line; define it with def and pass that")
    return ast.unparse(found[0])


def _class_source(cls: type) -> str:
    try:
        return textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        pass
    # A class in a notebook cell: Python 3.11's inspect looks for a module file, but the cell's text is in
    # linecache under the file name its methods' code carries.
    for member in vars(cls).values():
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ and \
                    node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                return textwrap.dedent("".join(lines[node.lineno - 1 - len(node.decorator_list):node.end_lineno]))
    raise Unconvertible(f"class {cls.__qualname__} has no source to send to the sandbox (a class with no methods "
                        "defined in a notebook cell, or made by exec); give it a method, or define it in a file")


def _class_globals(cls: type) -> dict:
    module = sys.modules.get(cls.__module__)
    return dict(vars(module)) if module is not None else {}


def _cells(function: types.FunctionType) -> dict:
    out = {}
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled
            pass
    return out


def _names(source: str, itself: Any, scope: dict, cells: dict) -> dict:
    """The values of the globals and closure variables `source` names, but builtins and itself."""
    try:
        used = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    except SyntaxError:
        used = set()
    out = {}
    for name in sorted(used):
        if name in cells:
            value = cells[name]
        elif name in scope:
            value = scope[name]
        else:
            continue
        if value is itself:
            continue
        out[name] = value
    return out


def _encoded(names: dict, encode: Callable[[Any], Any]) -> dict:
    """The names as a tagged dict, less those with no form to travel in (the shipped code meets a NameError
    there only if it really uses one: a name in its text may be an attribute's or a local's)."""
    pairs = []
    for name, value in names.items():
        try:
            pairs.append([name, encode(value)])
        except Unconvertible:
            continue
    return {"t": "dict", "v": pairs}
