"""What the kernel holds for things of the worker. A function a run defined: calling it runs the original in
the worker (Sandbox.call), with arguments and the result converted safely both ways; it carries the original's
name, signature and docstring, so help() and inspect.signature() read as they would for the real one. A name a
run imported, or the type of an exception the worker raised: the kernel's own object of that name, looked up
only where that runs no code the worker chose (kernel_object)."""
from __future__ import annotations

import builtins
import functools
import importlib
import importlib.util
import inspect
import os
import site
import sys
import sysconfig
import types
from typing import Any

from .errors import RemoteError, SandboxError
from .paths import PRELOADED

# Libraries the kernel may import because the worker named them (an import, an exception's type): what the worker
# preloads, and plain stdlib modules whose import does nothing else. Any other module is looked up only when the
# kernel has already imported it; importing a module runs its code, so the worker must not choose that.
SAFE_LIBRARIES = frozenset(PRELOADED) | {
    "qiskit_ibm_runtime", "sympy", "networkx", "pandas",
    "math", "cmath", "random", "statistics", "fractions", "decimal", "numbers", "itertools", "functools",
    "operator", "collections", "heapq", "bisect", "array", "copy", "json", "re", "string", "textwrap", "typing",
    "dataclasses", "enum", "datetime", "time"}
# Never taken from the worker's word: the kernel's own program, and this package (its errors mean the sandbox failed).
NEVER = frozenset({"__main__", "llmos_jupyter"})


class _Text:
    """Shows as the worker's own text for a default or an annotation (nothing from the worker is evaluated)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def signature_from(description: dict) -> inspect.Signature:
    try:
        params = []
        for p in description.get("params") or []:
            params.append(inspect.Parameter(
                str(p["name"]), getattr(inspect.Parameter, str(p["kind"])),
                default=inspect.Parameter.empty if p.get("default") is None else _Text(str(p["default"])),
                annotation=inspect.Parameter.empty if p.get("annotation") is None else _Text(str(p["annotation"]))))
        returns = description.get("returns")
        return inspect.Signature(params, return_annotation=inspect.Signature.empty if returns is None
                                 else _Text(str(returns)))
    except (KeyError, TypeError, ValueError, AttributeError):
        return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                  inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])


class RemoteFunction:
    def __init__(self, sandbox: Any, session: str, description: dict, generation: int):
        self._sandbox = sandbox
        self.session = session
        self.generation = generation  # the worker it was defined in; a restarted worker no longer has it
        self.__name__ = self.__qualname__ = str(description.get("name") or "function")
        doc = description.get("doc")
        self.__doc__ = doc if isinstance(doc, str) else None
        self.__signature__ = signature_from(description)
        self.signature_text = str(description.get("signature") or self.__signature__)
        handle = description.get("handle")  # held by handle (a closure, a method); by name only when absent
        self.handle = handle if isinstance(handle, int) and not isinstance(handle, bool) else None

    def reference(self) -> dict:
        if self.handle is not None:
            return {"t": "function", "session": self.session, "name": self.__name__, "handle": self.handle}
        return {"t": "function", "session": self.session, "name": self.__name__}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._sandbox.generation != self.generation:
            raise SandboxError(f"{self.__name__}() was defined in a sandbox worker that has since restarted (a "
                               "timeout, a crash, or restart()); run the cell that defines it again.")
        return self._sandbox.call(self.session, self.__name__, args, kwargs, handle=self.handle)

    def __repr__(self) -> str:
        return f"<function {self.__name__}{self.__signature__} (runs in the sandbox)>"


def remote_pass(name: str, run: RemoteFunction) -> Any:
    """A TransformationPass in the kernel, for a pass a program made in the worker: PassManager runs it as any
    other, and each run() sends the DAG to the worker, where the program's own pass transforms it."""
    return _remote_pass_class()(name, run)


@functools.cache
def _remote_pass_class() -> type:
    from qiskit.dagcircuit import DAGCircuit
    from qiskit.transpiler.basepasses import TransformationPass

    class RemoteTransformationPass(TransformationPass):
        def __init__(self, name: str, run: RemoteFunction):
            super().__init__()
            self._name, self._remote_run = name, run

        def name(self) -> str:
            return self._name

        def run(self, dag: DAGCircuit) -> DAGCircuit:
            out = self._remote_run(dag)
            if not isinstance(out, DAGCircuit):
                raise TypeError(f"{self._name}.run() returned a {type(out).__name__}, not a DAGCircuit")
            return out

        def __repr__(self) -> str:
            return f"<{self._name} (a transformation pass that runs in the sandbox)>"

    RemoteTransformationPass.__qualname__ = "RemoteTransformationPass"
    return RemoteTransformationPass


# ------------------------------------------------------------------------------ names from the worker
def kernel_object(module: Any, qualname: Any = None) -> Any:
    """The kernel's own `module` (then its attribute `qualname`), or None. A module is imported only when it is
    one of SAFE_LIBRARIES; one the kernel already has is used as it is. Either way it must come from the Python
    installation (stdlib, site-packages), never from a folder a program could write to."""
    if not isinstance(module, str) or not all(part.isidentifier() for part in module.split(".")):
        return None
    if qualname is not None and not (isinstance(qualname, str) and all(p.isidentifier() for p in qualname.split("."))):
        return None
    found = builtins if module == "builtins" else _kernel_module(module)
    for part in qualname.split(".") if qualname else ():
        if not isinstance(found, (types.ModuleType, type)):
            return None
        try:
            found = getattr(found, part)
        except Exception:  # noqa: BLE001 - a lazy attribute that fails to load is simply not there
            return None
    return found


def kernel_import(name: str, reference: Any) -> Any:
    """What a run's `import numpy as np` / `from qiskit import QuantumCircuit` bound to `name` ([module, qualname
    or None]), as the kernel's own module, class or function; None when the kernel cannot (or must not) have it.
    Under another name than its own only from SAFE_LIBRARIES, so the worker cannot put, say, shutil.rmtree in
    the namespace as `show_counts`."""
    if not (isinstance(reference, (list, tuple)) and len(reference) == 2 and isinstance(reference[0], str)):
        return None
    own = str(reference[1] or reference[0]).rpartition(".")[2]
    if name != own and reference[0].partition(".")[0] not in SAFE_LIBRARIES:
        return None
    found = kernel_object(reference[0], reference[1])
    if reference[1] is None:
        return found if isinstance(found, types.ModuleType) else None
    return found if isinstance(found, type) or inspect.isroutine(found) else None


def remote_exception(function_name: str, reply: dict) -> Exception:
    """The exception a call raised in the worker, to raise in the kernel: of the same type where the kernel can
    name that type (kernel_object; an exception class the program defined is not), made from the message alone,
    with the worker's traceback as a note. It is the type itself rather than a dynamic subclass with RemoteError,
    so `type(e) is ValueError` and `except RuntimeError` behave as they would had the function run in the kernel;
    `remote_type` and `remote_traceback` on it say it came from the sandbox (from_sandbox()). Otherwise a
    RemoteError."""
    trace, remote_type = str(reply.get("error") or ""), reply.get("error_type")
    remote_type = None if remote_type is None else str(remote_type)
    kind, message = _exception_type(reply.get("error_class")), reply.get("error_message")
    if kind is not None and type(message) in (str, int, float, bool):
        try:
            raised = kind(message)
            raised.remote_type, raised.remote_traceback = remote_type, trace
            note = f"(raised in the sandbox worker by {function_name}(); its traceback there:)\n{trace}"
            if hasattr(raised, "add_note"):
                raised.add_note(note)
            else:  # Python 3.10: kept where 3.11's tracebacks look, though 3.10's do not show it
                raised.__notes__ = [*getattr(raised, "__notes__", ()), note]
            return raised
        except Exception:  # noqa: BLE001 - a type that cannot be made from its message (or take a note) falls back
            pass
    return RemoteError(f"{function_name}() failed in the sandbox:\n{trace}", remote_type=remote_type,
                       remote_traceback=trace)


def from_sandbox(exc: BaseException) -> bool:
    """Whether `exc` is the kernel's copy of an exception raised in the sandbox worker."""
    return isinstance(exc, RemoteError) or isinstance(getattr(exc, "remote_traceback", None), str)


def _exception_type(reference: Any) -> type | None:
    if not (isinstance(reference, (list, tuple)) and len(reference) == 2 and isinstance(reference[1], str)):
        return None
    found = kernel_object(reference[0], reference[1])
    # Exception, not BaseException: the worker must not make the kernel raise SystemExit or KeyboardInterrupt.
    return found if isinstance(found, type) and issubclass(found, Exception) else None


def _kernel_module(name: str) -> types.ModuleType | None:
    if name.partition(".")[0] in NEVER:
        return None
    module = sys.modules.get(name)
    if module is None:
        top = name.partition(".")[0]
        if top not in SAFE_LIBRARIES:
            return None
        try:
            if top not in sys.modules and not _installed(importlib.util.find_spec(top)):
                return None
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not importable here: the name stays the worker's
            return None
    return module if isinstance(module, types.ModuleType) and _installed(getattr(module, "__spec__", None)) else None


def _installed(spec: Any) -> bool:
    """Whether a module's spec puts it in the Python installation (built in, frozen, stdlib, site-packages)."""
    if spec is None:
        return False
    origin = getattr(spec, "origin", None)
    if origin in ("built-in", "frozen"):
        return True
    places = [origin] if isinstance(origin, str) else list(getattr(spec, "submodule_search_locations", None) or [])
    return bool(places) and all(isinstance(p, str) and os.path.realpath(p).startswith(_installation()) for p in places)


@functools.cache
def _installation() -> tuple[str, ...]:
    scheme = sysconfig.get_paths()
    folders = {scheme.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    if site.ENABLE_USER_SITE and hasattr(site, "getusersitepackages"):
        folders.add(site.getusersitepackages())
    return tuple(os.path.join(os.path.realpath(f), "") for f in folders if f)
