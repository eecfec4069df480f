"""The worker's side of what the kernel ships (shipping.py): the user's own functions, classes and objects,
rebuilt here from their source and the values of the names they use, and library names, imported here. Only
the kernel sends these tags: the kernel's decoder refuses them (proxies.py), so the worker can never make the
kernel build anything this way."""
from __future__ import annotations

import builtins
import importlib
from typing import Any, Callable

from .errors import UnsafePayload


def build(data: dict, decode: Callable[[Any], Any], built: dict) -> Any:
    tag, kind = data.get("t"), data.get("kind")
    if tag == "module":
        return _library(data.get("module"), data.get("qualname"))
    if tag != "source":
        raise UnsafePayload(f"a {str(tag)[:40]!r} reference the worker does not take")
    if kind in ("function", "class"):
        return _from_source(data, decode, built)
    if kind == "object":
        cls = build(data.get("class"), decode, built)
        state = decode(data.get("state"))
        if not isinstance(cls, type) or not isinstance(state, dict):
            raise UnsafePayload("a shipped object without its class and a dict of attributes")
        made = cls.__new__(cls)
        made.__dict__.update(state)  # as the kernel's object is now, without running its __init__ again
        return made
    if kind == "member":
        return build(data.get("class"), decode, built)[str(data.get("name"))]
    if kind == "method":
        return getattr(decode(data.get("object")), str(data.get("name")))
    raise UnsafePayload(f"a shipped {str(kind)[:40]!r}, which the worker does not build")


def _from_source(data: dict, decode, built: dict) -> Any:
    source, name = data.get("source"), data.get("name")
    if not isinstance(source, str) or not isinstance(name, str):
        raise UnsafePayload("shipped source without its text and name")
    key = (data.get("kind"), source, name)
    if data.get("kind") == "class" and key in built:
        return built[key]  # the same class each time, so isinstance holds between calls
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    names = decode(data.get("globals") or {"t": "dict", "v": []})
    if not isinstance(names, dict):
        raise UnsafePayload("shipped globals that are not a dict")
    namespace.update(names)
    exec(compile(source, f"<kernel's {name}>", "exec"), namespace)  # noqa: S102 - the user's own code, sent by the kernel
    made = namespace[name]
    if data.get("kind") == "class":
        built[key] = made
    return made


def _library(module: Any, qualname: Any) -> Any:
    if not isinstance(module, str) or not (qualname is None or isinstance(qualname, str)):
        raise UnsafePayload("a library reference without a module name")
    found = importlib.import_module(module)
    for part in qualname.split(".") if qualname else ():
        found = getattr(found, part)
    return found
