"""What a program produced besides its printed output: the value of a last expression, the names it
defined (functions with their signatures), and the figures it drew. Recorded as plain data, so a replay
can be checked for the same kinds of results and a cell can show them."""
from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Produced:
    defined: dict[str, str] = field(default_factory=dict)  # name -> signature (functions) or type name
    value_type: str | None = None  # the type of the last expression's value, when it had one
    value_repr: str | None = None
    figures: int = 0  # matplotlib figures opened by the program

    @property
    def anything(self) -> bool:
        return bool(self.defined or self.value_type or self.figures)

    def to_json(self) -> dict[str, Any]:
        return {"defined": dict(self.defined), "value": self.value_type, "figures": self.figures}


def describe(value: Any) -> str:
    """A function's signature with its name stripped (`(n: int) -> QuantumCircuit`), else the type's name."""
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        try:
            return "def" + str(inspect.signature(value))
        except (TypeError, ValueError):
            return "def(...)"
    if isinstance(value, type):
        return "class"
    return type(value).__name__


def snapshot(namespace: dict[str, Any]) -> dict[str, int]:
    """Which object each name holds now, to tell afterwards what a program (re)defined."""
    return {k: id(v) for k, v in namespace.items()}


def open_figures() -> set[int]:
    plt = sys.modules.get("matplotlib.pyplot")
    return set(plt.get_fignums()) if plt is not None else set()


def produced(namespace: dict[str, Any], before: dict[str, int], figures_before: set[int], value: Any,
             has_value: bool) -> Produced:
    module = namespace.get("__name__")
    defined = {name: describe(v) for name, v in namespace.items()
               if not name.startswith("_") and before.get(name) != id(v) and not isinstance(v, types.ModuleType)
               and not (isinstance(v, (types.FunctionType, types.BuiltinFunctionType, type))
                        and getattr(v, "__module__", module) != module)}
    # (an imported function or class, `from math import acos` included, is not something the program defined;
    # an Operator instance is)
    shown = has_value and value is not None
    return Produced(defined=dict(sorted(defined.items())),
                    value_type=type(value).__name__ if shown else None,
                    value_repr=_short_repr(value) if shown else None,
                    figures=len(open_figures() - figures_before))


def _short_repr(value: Any, limit: int = 2000) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not lose the run
        text = f"<{type(value).__name__}: repr failed: {exc}>"
    return text if len(text) <= limit else text[:limit] + " …"
