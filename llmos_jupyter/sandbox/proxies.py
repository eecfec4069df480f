"""The kernel's proxies for what stays in the worker by handle (handles.py): an instance of a program's class,
the class itself, an Enum member, a generator. Attribute access, method calls, repr, iteration, comparison and
isinstance against a proxied class are asked of the worker, one request each, and answer as the object would
in the kernel; a proxy passed back into the worker arrives there as the original. Nothing here runs code the
worker chose: a reply is decoded by codec (values, or more proxies), and the worker's text is only text.

A proxy the kernel drops queues its id; the next request carries the releases (never sent from __del__).
A proxy from a worker that has since restarted says to rerun the cell that made it."""
from __future__ import annotations

from typing import Any

from .errors import SandboxError, UnsafePayload

REPR_LIMIT = 4000  # characters of a worker's repr shown in the kernel
KINDS = ("object", "class")
# Names looked up by IPython, numpy, copy and pickle to decide how to show or convert a value: answered here as
# absent, so the worker's text never becomes markup on the page and the worker is not asked for protocols.
_NOT_FORWARDED = ("_repr_", "_ipython_", "__")


def _capped(text: Any) -> str:
    text = text if isinstance(text, str) else ""
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT] + " …"


def check(reference: dict) -> tuple[str, int, str, str, str]:
    """(session, id, kind, type text, repr) of a handle the worker sent, or UnsafePayload: each field must be
    of its type, and nothing in it names a kernel class."""
    session, ident, kind = reference.get("session"), reference.get("id"), reference.get("kind")
    typed, shown = reference.get("type"), reference.get("repr")
    if not (isinstance(session, str) and isinstance(ident, int) and not isinstance(ident, bool) and kind in KINDS
            and isinstance(typed, list) and len(typed) == 2 and all(isinstance(t, str) for t in typed)
            and isinstance(shown, str) and isinstance(reference.get("name", ""), str)):
        raise UnsafePayload("a handle whose fields are not of the expected types")
    return session, ident, kind, _capped(f"{typed[0][:200]}.{typed[1][:200]}"), _capped(shown)


class RemoteObject:
    __slots__ = ("_llmos_box", "_llmos_session", "_llmos_id", "_llmos_generation", "_llmos_type", "_llmos_repr",
                 "__weakref__")

    def __init__(self, box: Any, session: str, ident: int, generation: int, type_text: str, shown: str):
        for name, value in (("_llmos_box", box), ("_llmos_session", session), ("_llmos_id", ident),
                            ("_llmos_generation", generation), ("_llmos_type", type_text), ("_llmos_repr", shown)):
            object.__setattr__(self, name, value)

    def _llmos_reference(self) -> dict:
        return {"t": "handle", "session": self._llmos_session, "id": self._llmos_id}

    def _llmos_ask(self, action: str, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._llmos_box.handle(self, action, name, args, kwargs)

    def __del__(self) -> None:
        try:
            self._llmos_box._release_later(self)
        except Exception:  # noqa: BLE001 - at interpreter shutdown, or a proxy never made whole
            pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith(_NOT_FORWARDED) or name.startswith("_llmos"):
            raise AttributeError(name)
        return self._llmos_ask("getattr", name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._llmos_ask("setattr", name, value)

    def __delattr__(self, name: str) -> None:
        self._llmos_ask("delattr", name)

    def __dir__(self) -> list[str]:
        names = self._llmos_ask("op", "dir")
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._llmos_ask("op", "call", *args, **kwargs)

    def __repr__(self) -> str:
        return _capped(self._llmos_ask("op", "repr"))

    def __str__(self) -> str:
        return _capped(self._llmos_ask("op", "str"))

    def __eq__(self, other: Any) -> Any:
        return self._llmos_ask("op", "eq", other)

    def __ne__(self, other: Any) -> Any:
        return self._llmos_ask("op", "ne", other)

    def __lt__(self, other: Any) -> Any:
        return self._llmos_ask("op", "lt", other)

    def __le__(self, other: Any) -> Any:
        return self._llmos_ask("op", "le", other)

    def __gt__(self, other: Any) -> Any:
        return self._llmos_ask("op", "gt", other)

    def __ge__(self, other: Any) -> Any:
        return self._llmos_ask("op", "ge", other)

    def __hash__(self) -> int:
        value = self._llmos_ask("op", "hash")
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"the sandbox worker's __hash__ gave a {type(value).__name__}, not an int")
        return value

    def __bool__(self) -> bool:
        value = self._llmos_ask("op", "bool")
        if not isinstance(value, bool):
            raise TypeError(f"the sandbox worker's __bool__ gave a {type(value).__name__}, not a bool")
        return value

    def __len__(self) -> int:
        value = self._llmos_ask("op", "len")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"the sandbox worker's __len__ gave {type(value).__name__}, not a length")
        return value

    def __iter__(self) -> Any:
        iterator = self._llmos_ask("op", "iter")
        if not isinstance(iterator, RemoteObject):
            return iter(iterator)  # a worker iterator that came back by value (rare): iterate it here
        return iterator

    def __next__(self) -> Any:
        return self._llmos_ask("op", "next")

    def __contains__(self, item: Any) -> bool:
        return bool(self._llmos_ask("op", "contains", item))

    def __getitem__(self, key: Any) -> Any:
        return self._llmos_ask("op", "getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._llmos_ask("op", "setitem", key, value)

    def __delitem__(self, key: Any) -> None:
        self._llmos_ask("op", "delitem", key)


class RemoteClass(RemoteObject):
    """A class the program defined: calling it constructs in the worker; isinstance(proxy, it) asks the worker."""
    __slots__ = ()

    def __instancecheck__(self, instance: Any) -> bool:
        if not isinstance(instance, RemoteObject) or instance._llmos_box is not self._llmos_box:
            return False
        return self._llmos_ask("op", "isinstance", instance) is True

    def __subclasscheck__(self, other: Any) -> bool:
        if not isinstance(other, RemoteClass) or other._llmos_box is not self._llmos_box:
            return False
        return self._llmos_ask("op", "issubclass", other) is True


def proxy_for(box: Any, reference: dict, session: str, generation: int, cache: Any) -> RemoteObject:
    """The one proxy of a handle (so `a is b` holds where it holds in the worker), checked (check())."""
    claimed, ident, kind, type_text, shown = check(reference)
    if claimed != session:
        raise UnsafePayload(f"a handle for session {claimed[:80]!r} in a reply for session {session[:80]!r}")
    key = (generation, session, ident)
    found = cache.get(key)
    if found is None:
        found = (RemoteClass if kind == "class" else RemoteObject)(box, session, ident, generation, type_text, shown)
        cache[key] = found
    box._keep(key)
    return found


def stale(generation: int, current: int) -> None:
    if generation != current:
        raise SandboxError("This object was made in a sandbox worker that has since restarted (a timeout, a crash, "
                           "or restart()), which no longer has it; run the cell that made it again.")
