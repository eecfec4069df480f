"""A function a run defined, as the kernel holds it: calling it runs the original in the worker
(Sandbox.call), with arguments and the result converted safely both ways. It carries the original's name,
signature and docstring, so help() and inspect.signature() read as they would for the real one."""
from __future__ import annotations

import functools
import inspect
from typing import Any

from .errors import SandboxError


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

    def reference(self) -> dict:
        return {"t": "function", "session": self.session, "name": self.__name__}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._sandbox.generation != self.generation:
            raise SandboxError(f"{self.__name__}() was defined in a sandbox worker that has since restarted (a "
                               "timeout, a crash, or restart()); run the cell that defines it again.")
        return self._sandbox.call(self.session, self.__name__, args, kwargs)

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
