"""Values across the sandbox boundary, both directions, as tagged JSON. Only kinds whose loading cannot run
code travel: JSON scalars and containers of travelling values, complex numbers, bytes, paths, numpy arrays as .npy
(allow_pickle=False both ways, so object arrays are refused), the Qiskit kinds of qiskit_kinds.py (circuits as
QPY no older than the Rust reader's, whose expressions are parsed, not evaluated; everything else rebuilt
from arrays and plain data through public constructors), and references: a value with no by-value form goes
to the caller's `function` hook (the worker makes it a handle, handles.py; the kernel ships its own functions
and objects as source, shipping.py, and sends proxies back as their handles), and tags "function", "handle",
"source" and "module" go to the decoding side's hook, which accepts only what that side may. Anything else is
`Unconvertible` and stays where it is; any tag not listed here (a pickle, say) is
`UnsafePayload` and is never looked at further. What a payload claims (an .npy header's shape, a QPY
header's qubits and instructions) is bounded before it is loaded (limits.py, qpy_sizes.py).

numpy and qiskit are imported only when a value of theirs is met, so the kernel side stays light."""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path, PurePath
from typing import Any, Callable

from . import limits, qpy_sizes
from .errors import SandboxError, Unconvertible, UnsafePayload

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # elements across one value's containers
# Bytes in one value's payloads: as base64 (4/3 as large) they must fit one message with room to spare. A
# 2000 x 2000 float64 array (30.5 MiB) or a 21-qubit statevector crosses; larger ones stay in the worker.
MAX_BINARY = 40 * 1024 * 1024

NPY_MAGIC = b"\x93NUMPY"
QPY_MAGIC = b"QISKIT"


class OverBudget(Unconvertible):
    """A value too large to send as a whole: it is not split into parts that each become a reference."""


class _Budget:
    """One value's elements and payload bytes; over either, `error`: a value to send stays (Unconvertible), a
    value received is refused (UnsafePayload)."""

    def __init__(self, error: type[SandboxError]):
        self.items = 0
        self.binary = 0
        self.error = error

    def count(self, items: int = 1, binary: int = 0) -> None:
        self.items += items
        self.binary += binary
        if self.items > MAX_ITEMS:
            raise self.error(f"a value of more than {MAX_ITEMS} elements, over the bound (codec.MAX_ITEMS)")
        if self.binary > MAX_BINARY:
            raise self.error(f"a value of more than {MAX_BINARY >> 20} MiB of array data, over the bound "
                             "(codec.MAX_BINARY)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, budget: _Budget) -> bytes:
    if not isinstance(text, str):
        raise UnsafePayload("a binary payload that is not base64 text")
    if len(text) * 3 // 4 > MAX_BINARY:
        raise UnsafePayload(f"a binary payload over {MAX_BINARY >> 20} MiB")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise UnsafePayload("a binary payload that is not valid base64") from None
    budget.count(binary=len(data))
    return data


def _qualname(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


# ----------------------------------------------------------------------------------------------- encode

def encode(value: Any, *, function: Callable[[Any], dict | None] | None = None) -> Any:
    """`value` as tagged JSON, or Unconvertible. `function(value)` may describe a callable as a reference
    (each side has its own kind of function: defined in the worker, RemoteFunction in the kernel)."""
    return _encode(value, 0, _Budget(OverBudget), function)


def _encode(value: Any, depth: int, budget: _Budget, function) -> Any:
    if depth > MAX_DEPTH:
        raise OverBudget(f"nested deeper than {MAX_DEPTH}")
    budget.count()
    try:
        return _by_value(value, depth, budget, function)
    except OverBudget:
        raise
    except Unconvertible:
        described = function(value) if function is not None else None
        if described is None:
            raise
        return described


def _by_value(value: Any, depth: int, budget: _Budget, function) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)  # an int subclass (an enum, say) travels as the number
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"t": "float", "v": repr(float(value))}  # nan / inf / -inf are not JSON
    if isinstance(value, complex):
        return {"t": "complex", "v": [_encode(value.real, depth + 1, budget, function),
                                      _encode(value.imag, depth + 1, budget, function)]}
    if isinstance(value, (bytes, bytearray)):
        budget.count(binary=len(value))
        return {"t": "bytes", "b64": _b64(bytes(value))}
    if isinstance(value, PurePath):
        return {"t": "path", "v": str(value)}
    module = type(value).__module__ or ""
    if module.startswith(("qiskit", "matplotlib")) or _from_qiskit(type(value)):
        from . import qiskit_kinds

        encoded = qiskit_kinds.encode(value, _Out(depth, budget, function))
        if encoded is not None:
            return encoded
    if module == "numpy" or module.startswith("numpy."):
        return _encode_numpy(value, depth, budget, function)
    if isinstance(value, dict):
        return {"t": "dict", "v": [[_encode(k, depth + 1, budget, function), _encode(v, depth + 1, budget, function)]
                                   for k, v in value.items()]}
    if isinstance(value, (list, tuple, set, frozenset)):
        tag = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}.get(type(value))
        if tag is None:  # a namedtuple or list subclass: its class does not travel, its items do as a plain one
            tag = next(t for k, t in ((tuple, "tuple"), (list, "list"), (frozenset, "frozenset"), (set, "set"))
                       if isinstance(value, k))
        return {"t": tag, "v": [_encode(v, depth + 1, budget, function) for v in value]}
    raise Unconvertible(f"a {_qualname(value)} has no safe form to travel in")


def _npy(array) -> str:
    import numpy as np

    if array.dtype.hasobject:
        raise Unconvertible(f"an array of dtype {array.dtype} holds Python objects")
    buffer = io.BytesIO()
    try:
        np.save(buffer, array, allow_pickle=False)
    except ValueError as exc:
        raise Unconvertible(f"an array of dtype {array.dtype}: {exc}") from None
    return _b64(buffer.getvalue())


def _encode_numpy(value, depth, budget, function):
    import numpy as np

    if isinstance(value, np.ndarray):
        budget.count(binary=value.nbytes)
        return {"t": "ndarray", "npy": _npy(value)}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return _encode(value.item(), depth, budget, function)
    if isinstance(value, np.generic) and value.dtype.kind in "USmM":
        budget.count(binary=value.nbytes)
        return {"t": "npscalar", "npy": _npy(np.asarray(value))}
    raise Unconvertible(f"a {_qualname(value)} has no safe form to travel in")


def _from_qiskit(kind: type) -> bool:
    # Qiskit's singleton gates (XGate()) are instances of generated subclasses whose module is None.
    return any((base.__module__ or "").startswith("qiskit") for base in kind.__mro__[1:3])


class _Out:
    """What a kind of qiskit_kinds needs to encode its parts within this value's budget."""

    def __init__(self, depth: int, budget: _Budget, function):
        self._depth, self._budget, self._function = depth, budget, function

    def value(self, value: Any) -> Any:
        return _encode(value, self._depth + 1, self._budget, self._function)

    def npy(self, array) -> str:
        self._budget.count(binary=array.nbytes)
        return _npy(array)

    def bytes(self, data: bytes) -> str:
        self._budget.count(binary=len(data))
        return _b64(data)

    def qpy(self, circuit) -> str:
        from qiskit import qpy

        buffer = io.BytesIO()
        try:
            qpy.dump(circuit, buffer)
        except Exception as exc:  # noqa: BLE001 - QPY refuses some circuits (custom objects in params)
            raise Unconvertible(f"this circuit cannot be written as QPY: {exc}") from None
        self._budget.count(binary=buffer.tell())
        try:
            qpy_sizes.check(buffer.getvalue())  # what the other side would refuse stays here, saying why
        except UnsafePayload as exc:
            raise Unconvertible(str(exc)) from None
        return _b64(buffer.getvalue())

    def count(self, items: int) -> None:
        self._budget.count(items=items)


# ----------------------------------------------------------------------------------------------- decode

def decode(data: Any, *, function: Callable[[dict], Any] | None = None) -> Any:
    """The value `data` describes. UnsafePayload for any tag that is not a safe kind; `function(tagged)` turns
    a reference (function, handle, source, module) into that side's object, or refuses it (without it, all
    references are refused)."""
    return _decode(data, 0, _Budget(UnsafePayload), function)


def _decode(data: Any, depth: int, budget: _Budget, function) -> Any:
    if depth > MAX_DEPTH:
        raise UnsafePayload(f"a value nested deeper than {MAX_DEPTH}")
    budget.count()
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        raise UnsafePayload("an untagged list (lists travel as {'t': 'list'})")
    if not isinstance(data, dict):
        raise UnsafePayload(f"a {type(data).__name__} where a tagged value belongs")
    tag = data.get("t")
    handler = _DECODERS.get(tag) if isinstance(tag, str) else None
    if handler is None:
        raise UnsafePayload(f"a value of kind {tag!r} was refused: only JSON, QPY and .npy payloads are loaded "
                            "(never pickle)")
    try:
        return handler(data, depth, budget, function)
    except (SandboxError, RecursionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed payload is refused, whatever the parser raised
        raise UnsafePayload(f"a {tag} payload could not be read: {exc.__class__.__name__}: {exc}") from None


def _items(data, depth, budget, function) -> list:
    values = data.get("v")
    if not isinstance(values, list):
        raise UnsafePayload(f"a {data.get('t')} without a list of items")
    return [_decode(v, depth + 1, budget, function) for v in values]


def _dict(data, depth, budget, function) -> dict:
    pairs = data.get("v")
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise UnsafePayload("a dict without [key, value] pairs")
    return {_decode(k, depth + 1, budget, function): _decode(v, depth + 1, budget, function) for k, v in pairs}


def _float(data, *_):
    if data.get("v") not in ("nan", "inf", "-inf"):
        raise UnsafePayload("a float tag that is not nan / inf / -inf")
    return float(data["v"])


def _complex(data, depth, budget, function):
    real, imag = _items(data, depth, budget, function)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (real, imag)):
        raise UnsafePayload("a complex number whose parts are not numbers")
    return complex(real, imag)


def _array(text, budget):
    import numpy as np

    raw = _unb64(text, budget)
    if not raw.startswith(NPY_MAGIC):
        raise UnsafePayload("an array payload that is not .npy data (a pickle, perhaps) was refused")
    limits.check_npy(raw, MAX_BINARY)
    return np.load(io.BytesIO(raw), allow_pickle=False)


class _Into:
    """What a kind of qiskit_kinds needs to rebuild its parts within this value's budget."""

    def __init__(self, depth: int, budget: _Budget, function):
        self._depth, self._budget, self._function = depth, budget, function

    def value(self, data: Any) -> Any:
        return _decode(data, self._depth + 1, self._budget, self._function)

    def array(self, text: Any):
        return _array(text, self._budget)

    def bytes(self, text: Any) -> bytes:
        return _unb64(text, self._budget)

    def circuit(self, text: Any):
        return _circuit(text, self._budget)

    def dims(self, value: Any) -> tuple:
        return _dims(value)

    def count(self, items: int) -> None:
        self._budget.count(items=items)


def _circuit(text, budget):
    raw = _unb64(text, budget)
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit
    from qiskit.qpy import common

    if not raw.startswith(QPY_MAGIC) or len(raw) < 7:
        raise UnsafePayload("a circuit payload that is not QPY was refused")
    version = raw[6]
    lowest = getattr(common, "QPY_RUST_READ_MIN_VERSION", common.QPY_COMPATIBILITY_VERSION)
    if not lowest <= version <= common.QPY_VERSION:
        raise UnsafePayload(f"QPY version {version} was refused: only versions {lowest}..{common.QPY_VERSION} "
                            "are loaded (older ones decode expressions through symengine)")
    qpy_sizes.check(raw)
    try:
        circuits = qpy.load(io.BytesIO(raw))
    except RecursionError:  # a gate defined through itself: qiskit's reader stops it at its recursion limit
        raise UnsafePayload("a circuit whose definitions nest deeper than qiskit's reader allows was refused") from None
    if len(circuits) != 1 or not isinstance(circuits[0], QuantumCircuit):
        raise UnsafePayload("a QPY payload that is not exactly one circuit")
    return circuits[0]


def _kind(rebuild: Callable) -> Callable:
    return lambda data, depth, budget, function: rebuild(data, _Into(depth, budget, function))


def _dims(value):
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
        raise UnsafePayload("dims that are not positive integers")
    return tuple(value)


def _path(data, *_):
    if not isinstance(data.get("v"), str):
        raise UnsafePayload("a path that is not text")
    return Path(data["v"])


def _function(data, depth, budget, function):
    if function is None:
        raise UnsafePayload(f"a {data.get('t')} reference where none is expected")
    return function(data)


_DECODERS: dict[str, Callable] = {
    "float": _float,
    "complex": _complex,
    "bytes": lambda data, depth, budget, function: _unb64(data.get("b64"), budget),
    "list": _items,
    "tuple": lambda *a: tuple(_items(*a)),
    "set": lambda *a: set(_items(*a)),
    "frozenset": lambda *a: frozenset(_items(*a)),
    "dict": _dict,
    "ndarray": lambda data, depth, budget, function: _array(data.get("npy"), budget),
    "npscalar": lambda data, depth, budget, function: _array(data.get("npy"), budget)[()],
    "path": _path,
    "function": _function,
    "handle": _function,
    "source": _function,
    "module": _function,
}


def _qiskit_kinds() -> dict[str, Callable]:
    from . import qiskit_kinds  # imports nothing heavy until a value of its kinds is met

    return {tag: _kind(rebuild) for tag, rebuild in qiskit_kinds.DECODERS.items()}


_DECODERS.update(_qiskit_kinds())
