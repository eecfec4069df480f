"""The worker's table of objects the kernel holds by handle (issue #23): what a program defined or returned
that has no safe by-value form (an instance of its own class, a class, an Enum member, a generator, a closure)
stays here, kept alive, and the kernel gets {"t": "handle", ...} text describing it. The kernel's proxy
(proxies.py) then asks for attributes, calls and dunders by id; a proxy sent back arrives here as the original.

An id is good only in the session that made it: any other id, or one already released, is UnsafePayload."""
from __future__ import annotations

import inspect
import operator
import types
from typing import Any

from .errors import UnsafePayload

REPR_LIMIT = 2000  # characters of a handle's description; the kernel caps it again (it trusts nothing here)
FUNCTION_KINDS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType)


def _short(text: str) -> str:
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT] + " …"


def _repr(value: Any) -> str:
    try:
        return _short(repr(value))
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not lose the value
        return f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"


def _text(function):
    return lambda value: _short(function(value))


# What a proxy may ask of its object, besides attributes and calls: the dunders a kernel object would answer.
ACTIONS = {
    "call": lambda target, *a, **k: target(*a, **k),
    "repr": _text(repr), "str": _text(str), "hash": hash, "len": len, "bool": bool,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "iter": iter, "next": next, "contains": operator.contains,
    "getitem": operator.getitem, "setitem": operator.setitem, "delitem": operator.delitem,
    "isinstance": lambda cls, value: isinstance(value, cls), "issubclass": lambda cls, other: issubclass(other, cls),
    "dir": lambda target: sorted(str(n) for n in dir(target)),
}


class Handles:
    def __init__(self) -> None:
        self._objects: dict[int, tuple[str, Any]] = {}
        self._ids: dict[tuple[str, int], int] = {}  # the same object in a session keeps its id (so `is` holds)
        self._next = 0

    def start_at(self, first: int) -> None:
        """Number this process's handles from `first` on: each child of the template its own range, so an id
        from one session's process never names an object in another's."""
        self._next = max(self._next, first)

    def __len__(self) -> int:
        return len(self._objects)

    def register(self, session: str, value: Any) -> int:
        key = (session, id(value))
        ident = self._ids.get(key)
        if ident is None:
            self._next += 1
            ident = self._ids[key] = self._next
            self._objects[ident] = (session, value)
        return ident

    def get(self, session: Any, ident: Any) -> Any:
        held = self._objects.get(ident) if isinstance(ident, int) and not isinstance(ident, bool) else None
        if held is None or held[0] != session:
            raise UnsafePayload(f"no object {ident!r} held for session {str(session)[:80]!r} in this worker (a "
                                "released handle, or one from another session or worker): run the cell that made "
                                "it again")
        return held[1]

    def release(self, pairs: Any) -> None:
        for pair in pairs if isinstance(pairs, list) else ():
            if isinstance(pair, list) and len(pair) == 2:
                held = self._objects.get(pair[1]) if isinstance(pair[1], int) else None
                if held is not None and held[0] == pair[0]:
                    del self._objects[pair[1]]
                    self._ids.pop((held[0], id(held[1])), None)

    def describe(self, session: str, value: Any, function_fields) -> dict:
        """`value` as a handle: a function (a closure, a method, a lambda) keeps its signature and doc for
        help(); anything else says its kind, type and repr, all as text."""
        ident = self.register(session, value)
        if isinstance(value, FUNCTION_KINDS):
            fields = function_fields(value.__func__ if isinstance(value, types.MethodType) else value) or {}
            if isinstance(value, types.MethodType):
                fields["params"] = fields.get("params", [])[1:]  # bound: self is not the caller's to pass
            fields.setdefault("name", getattr(value, "__name__", "function"))
            fields.setdefault("doc", inspect.getdoc(value))
            return {**fields, "t": "function", "session": session, "handle": ident}
        kind = type(value)
        return {"t": "handle", "session": session, "id": ident, "kind": "class" if isinstance(value, type) else "object",
                "type": [str(kind.__module__), str(kind.__qualname__)], "repr": _repr(value),
                "name": str(getattr(value, "__qualname__", "")) if isinstance(value, type) else ""}
