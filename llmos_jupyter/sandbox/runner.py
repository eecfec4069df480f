"""The worker's side of a run or a call: each session's namespace (kept between runs, like a kernel's),
run_code for output, counts and what the program produced, the figures it opened rendered to PNG and
closed, what native code wrote to the worker's own stdout/stderr, each defined name brought back in a
safe form (codec.py) or left behind, and each imported name by its module and qualified name (the kernel
takes its own copy, remote.kernel_import). Exceptions are named exactly (exact_name)."""
from __future__ import annotations

import base64
import builtins
import contextlib
import inspect
import io
import json
import os
import sys
import traceback
import types
from typing import Any

from ..tools.produced import open_figures, snapshot
from ..tools.qiskit_exec import run_code
from . import codec, handles, limits, rng, shipped
from .errors import UnsafePayload
from .pristine import Pristine

NATIVE_OUTPUT_LIMIT = 64 * 1024
OUTPUT_LIMIT = 8 * 1024 * 1024  # characters of printed output a reply carries; a notebook shows far less
# What one reply may carry in values, base64 included: the kernel's message bound less room for printed output.
MESSAGE_BUDGET = limits.MAX_MESSAGE - 16 * 1024 * 1024
TEXT_LIMIT = 2000
MESSAGE_LIMIT = 64 * 1024  # characters of an exception's message sent for the kernel to rebuild it from


def _text(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not lose the run
        text = f"<{type(value).__name__}: repr failed: {exc}>"
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " …"


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001
        return f"<{type(value).__name__}: repr failed: {exc}>"


def describe_function(value: Any) -> dict | None:
    """A function defined in the worker, as a reference the kernel turns into a RemoteFunction."""
    if not isinstance(value, types.FunctionType):
        return None
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):
        signature = None
    params = []
    for p in (signature.parameters.values() if signature else ()):
        params.append({"name": p.name, "kind": p.kind.name,
                       "default": None if p.default is p.empty else _text(_repr(p.default)),
                       "annotation": None if p.annotation is p.empty else _annotation(p.annotation)})
    returns = None
    if signature is not None and signature.return_annotation is not signature.empty:
        returns = _annotation(signature.return_annotation)
    return {"t": "function", "name": value.__name__, "signature": str(signature) if signature else "(...)",
            "doc": inspect.getdoc(value), "params": params, "returns": returns}


def defined(namespace: dict[str, Any], before: dict[str, int]) -> list[str]:
    """The names a run (re)bound, less modules and what it imported. Unlike Produced.defined, an instance
    that happens to be callable (an Operator, a SparsePauliOp) counts as defined: only functions and
    classes from elsewhere are imports."""
    module = namespace.get("__name__")
    out = []
    for name, value in namespace.items():
        if name.startswith("_") or before.get(name) == id(value) or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)) and \
                getattr(value, "__module__", module) != module:
            continue
        out.append(name)
    return sorted(out)


def imported(namespace: dict[str, Any], before: dict[str, int]) -> dict[str, list]:
    """The names a run (re)bound to a module or to a function or class from elsewhere, each as [module,
    qualname] ([module, None] for a module): the kernel imports its own, never takes the worker's."""
    module = namespace.get("__name__")
    out: dict[str, list] = {}
    for name, value in namespace.items():
        if name.startswith("_") or before.get(name) == id(value):
            continue
        if isinstance(value, types.ModuleType):
            where, qualname = getattr(value, "__name__", None), None
        elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
            where, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
            if where == module or not isinstance(qualname, str):
                continue
        else:
            continue
        if isinstance(where, str):
            out[name] = [where, qualname]
    return out


def exact_name(kind: type) -> str:
    """A builtin exception by its name, any other by module and qualified name (as a traceback prints it, but
    with __main__ kept, so a program's own `class ValueError` is not taken for the builtin)."""
    module, qualname = str(kind.__module__), str(kind.__qualname__)
    return qualname if module == "builtins" else f"{module}.{qualname}"


def _error_message(exc: BaseException) -> Any:
    """What the kernel makes its copy from: the one argument when it is a plain value (KeyError('a') stays
    'a', not "'a'"), else the message."""
    if len(exc.args) == 1 and type(exc.args[0]) in (str, int, float, bool):
        value = exc.args[0]
    else:
        try:
            value = str(exc)
        except Exception:  # noqa: BLE001 - a broken __str__: the traceback still says what happened
            value = ""
    return value[:MESSAGE_LIMIT] if isinstance(value, str) else value


def _run_error_type(name: str | None, error: str | None, namespace: dict[str, Any]) -> str | None:
    """exact_name of a run's exception. run_code keeps only its __name__, so the module comes from the
    traceback's last line ('qiskit.circuit.exceptions.CircuitError: ...'), which leaves out builtins and
    __main__; the two are told apart by what the program defined."""
    printed = _printed_type(error or "")
    if name is None or printed is None or printed.rpartition(".")[2] != name:
        return name
    own = namespace.get(name)
    if "." not in printed and not (isinstance(own, type) and own.__module__ == namespace.get("__name__")):
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            return name
    parts = printed.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        found = sys.modules.get(".".join(parts[:cut]))
        for part in parts[cut:] if found is not None else ():
            found = getattr(found, part, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return printed
    return f"{namespace.get('__name__', '__main__')}.{printed}"


def _printed_type(error: str) -> str | None:
    """The type on a traceback's exception line: the first unindented line after the last 'Traceback' header."""
    lines = error.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    for line in lines[(starts[-1] + 1) if starts else 0:]:
        if line and not line[0].isspace():
            printed = line.partition(":")[0].strip()
            return printed if printed and all(p.isidentifier() or p == "<locals>" for p in printed.split(".")) else None
    return None


def _annotation(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


class Runner:
    def __init__(self, log_path: str | None = None):
        self.sessions: dict[str, dict[str, Any]] = {}
        self._log = open(log_path, "rb") if log_path else None  # noqa: SIM115 - read for the worker's life
        self._pristine = Pristine()  # taken after preloading, before any program runs
        self.handles = handles.Handles()  # what the kernel holds by handle (proxies.py)
        self._shipped: dict = {}  # classes the kernel shipped, built once each, so isinstance holds across calls

    def namespace(self, session: str) -> dict[str, Any]:
        return self.sessions.setdefault(session, {"__name__": "__main__"})

    # -- what native code wrote to fd 1 / fd 2, which the program's redirected sys.stdout cannot see
    def _native_mark(self) -> int:
        try:
            return os.fstat(1).st_size
        except OSError:
            return -1

    def _native_output(self, mark: int) -> str:
        if self._log is None or mark < 0:
            return ""
        with contextlib.suppress(OSError, ValueError):
            for stream in (sys.__stdout__, sys.__stderr__):
                if stream is not None:
                    stream.flush()
        end = self._native_mark()
        if end <= mark:
            return ""
        self._log.seek(mark)
        data = self._log.read(min(end - mark, NATIVE_OUTPUT_LIMIT))
        more = " …" if end - mark > NATIVE_OUTPUT_LIMIT else ""
        return data.decode("utf-8", "replace") + more

    # -- figures
    @staticmethod
    def _figures(before: set[int], value: Any) -> list[bytes]:
        plt = sys.modules.get("matplotlib.pyplot")
        pngs, seen = [], set()
        if plt is not None:
            for number in sorted(set(plt.get_fignums()) - before):
                figure = plt.figure(number)
                seen.add(id(figure))
                pngs.append(_png(figure))
                plt.close(figure)
        module = type(value).__module__ or ""
        if module.startswith("matplotlib.figure") and id(value) not in seen and hasattr(value, "savefig"):
            pngs.append(_png(value))  # a figure made without pyplot (QuantumCircuit.draw("mpl")) and shown as the value
        return [p for p in pngs if p]

    # -- one run
    def run(self, code: str, session: str) -> dict[str, Any]:
        namespace = self.namespace(session)
        self._pristine.before(namespace)
        figures_before, mark, before = open_figures(), self._native_mark(), snapshot(namespace)
        execution = run_code(code, namespace)
        error_type = _run_error_type(execution.error_type, execution.error, namespace)  # before after() drops names
        dropped = self._pristine.after(namespace)
        output = execution.output + self._native_output(mark)
        if dropped:
            output += (f"(The sandbox dropped {', '.join(dropped)}: names that shadow Python's builtins do not "
                       "stay for later programs.)\n")
        figures = self._figures(figures_before, execution.value)
        budget = [MESSAGE_BUDGET - sum(len(f) * 4 // 3 for f in figures)]
        value, value_left = None, False
        if execution.value is not None:
            value, value_left = self._bring(execution.value, budget, session)
        names, left = {}, []
        for name in defined(namespace, before):  # the kernel decides which it binds (pipeline/runners.py)
            encoded, stays = self._bring(namespace[name], budget, session)
            if stays:
                left.append(name)
            else:
                names[name] = encoded
        return {"ok": True, "output": _capped(output), "error": execution.error,
                "error_type": error_type, "counts": execution.counts, "shots": execution.shots,
                "produced": execution.produced.to_json(), "value": value, "value_left_behind": value_left,
                "namespace": names, "imports": imported(namespace, before), "left_behind": left,
                "figures": [base64.b64encode(f).decode("ascii") for f in figures]}

    def _describer(self, session: str):
        """How values with no by-value form travel from `session`: by handle (handles.py), functions included
        (a closure or an inner function has no name to be found by)."""
        return lambda value: self.handles.describe(session, value, describe_function)

    def _resolver(self, session: str):
        """What the kernel's references become here: a handle its original, the kernel's shipped source a
        function, class or object built from it (shipped.py), a module or library name that import."""
        def resolve(reference: dict) -> Any:
            tag = reference.get("t")
            if tag == "function" and "handle" not in reference:  # by name, as before handles
                target = (self.sessions.get(reference.get("session")) or {}).get(reference.get("name"))
                if not callable(target):
                    raise UnsafePayload(f"a reference to {reference.get('name')!r}, which is not a function in the worker")
                return target
            if tag in ("function", "handle"):
                return self.handles.get(reference.get("session"), reference.get("handle", reference.get("id")))
            return shipped.build(reference, lambda data: codec.decode(data, function=resolve), self._shipped)
        return resolve

    def _bring(self, value: Any, budget: list[int], session: str) -> tuple[Any, bool]:
        """(the encoded value, whether it stays in the worker). What is too large to send whole goes by handle."""
        describe = self._describer(session)
        try:
            encoded = codec.encode(value, function=describe)
        except codec.Unconvertible:
            encoded = describe(value)
        except Exception:  # noqa: BLE001 - a value whose conversion breaks goes by handle, the run does not fail
            encoded = describe(value)
        size = len(json.dumps(encoded)) if isinstance(encoded, (dict, str)) else 8
        if size > budget[0]:
            encoded = describe(value)
            size = len(json.dumps(encoded))
            if size > budget[0]:
                return None, True
        budget[0] -= size
        return encoded, False

    def bind(self, session: str, values: Any) -> None:
        """Names a clean run elsewhere (a replay in its own process) handed the kernel, put into `session` too, so
        the next program of that session sees them as it would have had the run been its own."""
        if not isinstance(values, dict):
            return
        namespace, resolve = self.namespace(session), self._resolver(session)
        for name, encoded in values.items():
            if isinstance(name, str) and name.isidentifier() and not name.startswith("_"):
                try:
                    namespace[name] = codec.decode(encoded, function=resolve)
                except Exception:  # noqa: BLE001 - a name that does not arrive is simply not there, as before
                    namespace.pop(name, None)

    # -- one call of a function an earlier run defined
    def call(self, session: str, name: str, args: Any, kwargs: Any, streams: Any = None,
             handle: Any = None) -> dict[str, Any]:
        namespace = self.sessions.get(session)
        if handle is not None:
            function = self.handles.get(session, handle)
        else:
            function = namespace.get(name) if namespace is not None else None
        if not callable(function) or namespace is None:
            return {"ok": False, "error_type": "NameError",
                    "error": f"No function {name!r} in the sandbox session {session!r}: run the cell that defines "
                             "it again (a restarted worker starts with empty sessions)."}
        return self._invoke(session, name, function, args, kwargs, streams)

    def handle(self, session: str, ident: Any, action: Any, name: Any, args: Any, kwargs: Any,
               streams: Any = None) -> dict[str, Any]:
        """One thing done to a held object for the kernel's proxy: an attribute read or set, or one of the
        dunders handles.ACTIONS names (repr, ==, len, iter, next, isinstance...), answered as a call is."""
        target = self.handles.get(session, ident)
        if action == "getattr" and isinstance(name, str):
            function = lambda: getattr(target, name)  # noqa: E731
        elif action == "setattr" and isinstance(name, str):
            function = lambda value: setattr(target, name, value)  # noqa: E731
        elif action == "delattr" and isinstance(name, str):
            function = lambda: delattr(target, name)  # noqa: E731
        elif action == "op" and name in handles.ACTIONS:
            function = lambda *a, **k: handles.ACTIONS[name](target, *a, **k)  # noqa: E731
        else:
            raise UnsafePayload(f"a handle request {str(action)[:40]!r} {str(name)[:40]!r} the worker does not serve")
        self.namespace(session)
        return self._invoke(session, f"{type(target).__name__}.{name}", function, args, kwargs, streams)

    def _invoke(self, session: str, name: str, function: Any, args: Any, kwargs: Any, streams: Any) -> dict[str, Any]:
        namespace = self.namespace(session)
        resolve = self._resolver(session)
        call_args = codec.decode(args, function=resolve)
        call_kwargs = codec.decode(kwargs, function=resolve)
        if not isinstance(call_args, (list, tuple)) or not isinstance(call_kwargs, dict) or not all(
                isinstance(k, str) for k in call_kwargs):
            raise UnsafePayload("a call whose arguments are not a list and a dict of names")
        buffer = io.StringIO()
        figures_before = open_figures()
        self._pristine.before(namespace)
        rng.restore(streams)
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                value = function(*call_args, **call_kwargs)
        except BaseException as exc:  # noqa: BLE001 - the function's failure is reported, the worker lives on
            tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
            kind = type(exc)
            return {"ok": False, "error_type": exact_name(kind), "output": buffer.getvalue(),
                    "error_class": [str(kind.__module__), str(kind.__qualname__)], "error_message": _error_message(exc),
                    "error": "".join(traceback.format_exception(kind, exc, tb)), "rng": rng.progress(streams)}
        finally:
            self._figures(figures_before, None)  # a call has no place to show figures: close what it opened
            self._pristine.after(namespace)
        budget = [MESSAGE_BUDGET]
        encoded, stays = self._bring(value, budget, session)
        if stays:
            return {"ok": False, "error_type": "Unconvertible", "output": buffer.getvalue(),
                    "error": f"{name}() returned a {type(value).__module__}.{type(value).__qualname__}, which is "
                             "larger than a reply may be; keep the value in the worker and use it from a later run.",
                    "rng": rng.progress(streams)}
        return {"ok": True, "value": encoded, "output": buffer.getvalue(), "rng": rng.progress(streams),
                "changed": _changed(args, kwargs, call_args, call_kwargs, lambda v: self._bring(v, budget, session))}


_MUTABLE = (list, dict, set)


def _changed(args: dict, kwargs: dict, call_args, call_kwargs, bring) -> dict[str, Any]:
    """The arguments the call changed in place (a circuit it appended to, a list it filled), as they are now,
    so the kernel's own objects change as they would have had the function run there."""
    def now(value, before):
        if not (isinstance(value, _MUTABLE) or type(value).__name__ == "QuantumCircuit"):
            return None
        encoded, stays = bring(value)
        return None if stays or encoded == before else encoded

    changed: dict[str, Any] = {"args": {}, "kwargs": {}}
    for i, (value, before) in enumerate(zip(call_args, args.get("v") or [])):
        encoded = now(value, before)
        if encoded is not None:
            changed["args"][str(i)] = encoded
    before_kwargs = {k: v for k, v in (kwargs.get("v") or []) if isinstance(k, str)}
    for key, value in call_kwargs.items():
        encoded = now(value, before_kwargs.get(key))
        if encoded is not None:
            changed["kwargs"][key] = encoded
    return changed


def _capped(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n… (output cut: {len(text) - OUTPUT_LIMIT} more characters stayed in the worker)\n"


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png")
    except Exception:  # noqa: BLE001 - a figure that cannot render is dropped, the run is kept
        return b""
    return buffer.getvalue()
