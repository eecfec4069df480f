"""The user's own functions offered to the model as tools ({&fn} in a request, as ai-jup's &`fn`). A function is
described by its signature and docstring; it runs in the kernel, since it is the user's code. The model's
arguments are untrusted data: JSON values, checked against the signature before anything runs; a call that does
not fit is answered with why, and the function does not run. A request makes at most `steps` calls."""
from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Any, Callable

from ..errors import ConfigError
from ..providers import Message, ToolCall, ToolSpec

MAX_RESULT = 4000  # characters of a function's result sent back to the model

_JSON_TYPES: dict[Any, tuple[str, tuple[type, ...]]] = {
    int: ("integer", (int,)), float: ("number", (int, float)), bool: ("boolean", (bool,)), str: ("string", (str,)),
    list: ("array", (list,)), tuple: ("array", (list,)), dict: ("object", (dict,)),
}


def _json_type(annotation: Any) -> tuple[str, tuple[type, ...]] | None:
    """The JSON type a parameter takes, from its annotation (list[int] counts as a list); None: any JSON value
    (no annotation, or a type JSON cannot carry, which the function's own code then checks)."""
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _json_type(kinds[0]) if len(kinds) == 1 else None
    return _JSON_TYPES.get(origin)


class KernelTools:
    """One request's offered functions and the calls made of them."""

    def __init__(self, names: tuple[str, ...], namespace: dict[str, Any], steps: int):
        self.functions: dict[str, Callable] = {}
        for name in names:
            fn = namespace.get(name)
            if not callable(fn):
                raise ConfigError(f"`{name}` is offered to the model as a tool but is not a function in your "
                                  "namespace. Define it and run the cell again.")
            self.functions[name] = fn
        self.steps = steps
        self.calls: list[str] = []  # what ran, shown with the result
        self.problems: list[str] = []  # calls refused or failed, shown in the cell

    def __bool__(self) -> bool:
        return bool(self.functions)

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    def specs(self) -> list[ToolSpec]:
        return [self._spec(name, fn) for name, fn in self.functions.items()]

    @staticmethod
    def _spec(name: str, fn: Callable) -> ToolSpec:
        sig = _signature(fn)
        hints = _hints(fn)
        properties, required = {}, []
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            kind = _json_type(hints.get(p.name, p.annotation))
            properties[p.name] = {"type": kind[0]} if kind else {}
            if p.default is p.empty:
                required.append(p.name)
        doc = inspect.getdoc(fn) or "No docstring."
        schema = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())}
        return ToolSpec(name, f"The user's Python function {name}{sig}, run in their notebook. {doc}", schema)

    def answer(self, calls: list[ToolCall]) -> list[Message]:
        """A tool turn for each call of an offered function: its result, or why it did not run."""
        out = []
        for call in calls:
            if call.name in self.functions:
                out.append(Message("tool", self._call(call), tool_call_id=call.id))
        return out

    def _call(self, call: ToolCall) -> str:
        if len(self.calls) >= self.steps:
            return self._refuse(call, f"not run: this request may call your functions at most {self.steps} times; "
                                      "answer with what you have")
        problem = self._misfit(call)
        if problem:
            return self._refuse(call, problem)
        shown = f"{call.name}({', '.join(f'{k}={v!r}' for k, v in call.arguments.items())})"
        self.calls.append(shown)
        try:
            value = self.functions[call.name](**call.arguments)
        except Exception as exc:  # the user's code failed: the model and the user both hear it
            message = f"{shown} raised {type(exc).__name__}: {exc}"
            self.problems.append(message)
            return message
        text = json.dumps(value, default=repr) if not isinstance(value, str) else value
        return text if len(text) <= MAX_RESULT else text[:MAX_RESULT] + f"… ({len(text) - MAX_RESULT:,} more)"

    def _refuse(self, call: ToolCall, why: str) -> str:
        self.problems.append(f"The model's call of {call.name} was not run: {why}")
        return why

    def _misfit(self, call: ToolCall) -> str | None:
        """Why the model's arguments do not fit the function's signature, or None."""
        args = call.arguments
        if "_raw" in args and len(args) == 1:
            return f"the arguments are not a JSON object ({str(args['_raw'])[:80]!r})"
        fn = self.functions[call.name]
        sig = _signature(fn)
        try:
            sig.bind(**args)
        except TypeError as exc:
            return f"the arguments do not fit {call.name}{sig}: {exc}"
        hints = _hints(fn)
        for name, value in args.items():
            p = sig.parameters.get(name)
            kind = _json_type(hints.get(name, p.annotation)) if p is not None else None
            if kind and (not isinstance(value, kind[1]) or (isinstance(value, bool) and bool not in kind[1])):
                return f"{name} must be a JSON {kind[0]} for {call.name}{sig}, not {json.dumps(value)}"
        return None


def _signature(fn: Callable) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        raise ConfigError(f"{getattr(fn, '__name__', fn)!r} has no signature Python can read, so it cannot be "
                          "offered as a tool; wrap it in a def with named parameters.") from None


def _hints(fn: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # annotations naming what is not importable here: fall back to them as written
        return {}
