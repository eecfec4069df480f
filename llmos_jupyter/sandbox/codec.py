"""Values across the sandbox boundary, both directions, as tagged JSON. Only kinds whose loading cannot run
code travel: JSON scalars and containers of travelling values, complex numbers, bytes, paths, numpy arrays as .npy
(allow_pickle=False both ways, so object arrays are refused), QuantumCircuit as QPY (no older format than
the Rust reader's, whose expressions are parsed, not evaluated), Statevector / DensityMatrix / Operator
through their arrays and dims, SparsePauliOp through labels and coefficients, Counts as a plain dict, and
references to functions that stay in the worker. Anything else is `Unconvertible` and stays where it is;
any tag not listed here (a pickle, say) is `UnsafePayload` and is never looked at further.

numpy and qiskit are imported only when a value of theirs is met, so the kernel side stays light."""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path, PurePath
from typing import Any, Callable

from .errors import SandboxError, UnsafePayload

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # elements across one value's containers
MAX_BINARY = 256 * 1024 * 1024  # bytes in one value's payloads

NPY_MAGIC = b"\x93NUMPY"
QPY_MAGIC = b"QISKIT"


class Unconvertible(SandboxError):
    """This value has no safe form to travel in; it stays on its side."""


class _Budget:
    def __init__(self):
        self.items = 0
        self.binary = 0

    def count(self, items: int = 1, binary: int = 0) -> None:
        self.items += items
        self.binary += binary
        if self.items > MAX_ITEMS:
            raise Unconvertible(f"more than {MAX_ITEMS} elements")
        if self.binary > MAX_BINARY:
            raise Unconvertible(f"more than {MAX_BINARY >> 20} MiB of array data")


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
    return _encode(value, 0, _Budget(), function)


def _encode(value: Any, depth: int, budget: _Budget, function) -> Any:
    if depth > MAX_DEPTH:
        raise Unconvertible(f"nested deeper than {MAX_DEPTH}")
    budget.count()
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
    if module.startswith("qiskit"):
        encoded = _encode_qiskit(value, budget)
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
    if function is not None and callable(value):
        described = function(value)
        if described is not None:
            return described
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


def _encode_qiskit(value, budget) -> dict | None:
    from qiskit.circuit import QuantumCircuit
    from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector
    from qiskit.result import Counts

    if isinstance(value, QuantumCircuit):
        from qiskit import qpy

        buffer = io.BytesIO()
        try:
            qpy.dump(value, buffer)
        except Exception as exc:  # noqa: BLE001 - QPY refuses some circuits (custom objects in params)
            raise Unconvertible(f"this circuit cannot be written as QPY: {exc}") from None
        budget.count(binary=buffer.tell())
        return {"t": "circuit", "qpy": _b64(buffer.getvalue())}
    if isinstance(value, (Statevector, DensityMatrix)):
        budget.count(binary=value.data.nbytes)
        return {"t": "statevector" if isinstance(value, Statevector) else "densitymatrix",
                "data": _npy(value.data), "dims": [int(d) for d in value.dims()]}
    if isinstance(value, Operator):
        budget.count(binary=value.data.nbytes)
        return {"t": "operator", "data": _npy(value.data),
                "input_dims": [int(d) for d in value.input_dims()], "output_dims": [int(d) for d in value.output_dims()]}
    if isinstance(value, SparsePauliOp):
        coeffs = value.coeffs
        budget.count(items=len(coeffs), binary=coeffs.nbytes)
        return {"t": "sparsepauliop", "labels": [str(p) for p in value.paulis.to_labels()], "coeffs": _npy(coeffs)}
    if isinstance(value, Counts):
        return {"t": "counts", "v": {str(k): int(v) for k, v in value.items()}}
    if type(value).__name__ == "NoiseModel" and type(value).__module__.startswith("qiskit_aer.noise"):
        # Its serializable dict is plain JSON (errors, instructions, qubits); loading it builds the same model.
        return {"t": "noisemodel", "v": _encode(value.to_dict(serializable=True), 1, budget, None)}
    return None


# ----------------------------------------------------------------------------------------------- decode

def decode(data: Any, *, function: Callable[[dict], Any] | None = None) -> Any:
    """The value `data` describes. UnsafePayload for any tag that is not a safe kind; `function(tagged)` turns
    a function reference into that side's callable (without it, references are refused)."""
    return _decode(data, 0, _Budget(), function)


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
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _counts(data, *_):
    values = data.get("v")
    if not isinstance(values, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        raise UnsafePayload("counts that are not {bitstring: int}")
    return dict(values)


def _circuit(data, depth, budget, function):
    raw = _unb64(data.get("qpy"), budget)
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
    circuits = qpy.load(io.BytesIO(raw))
    if len(circuits) != 1 or not isinstance(circuits[0], QuantumCircuit):
        raise UnsafePayload("a QPY payload that is not exactly one circuit")
    return circuits[0]


def _statevector(data, depth, budget, function):
    from qiskit.quantum_info import DensityMatrix, Statevector

    kind = Statevector if data["t"] == "statevector" else DensityMatrix
    return kind(_array(data.get("data"), budget), dims=_dims(data.get("dims")))


def _operator(data, depth, budget, function):
    from qiskit.quantum_info import Operator

    return Operator(_array(data.get("data"), budget), input_dims=_dims(data.get("input_dims")),
                    output_dims=_dims(data.get("output_dims")))


def _sparse_pauli_op(data, depth, budget, function):
    from qiskit.quantum_info import SparsePauliOp

    labels = data.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UnsafePayload("a SparsePauliOp whose labels are not strings")
    budget.count(items=len(labels))
    coeffs = _array(data.get("coeffs"), budget)
    return SparsePauliOp(labels, coeffs=coeffs)


def _noise_model(data, depth, budget, function):
    import warnings

    from qiskit_aer.noise import NoiseModel

    described = _decode(data.get("v"), depth + 1, budget, None)
    if not isinstance(described, dict):
        raise UnsafePayload("a noise model that is not a dict")
    if _largest_qubit(described) > MAX_NOISE_QUBIT:  # the loader builds circuits this wide, in the kernel
        raise UnsafePayload(f"a noise model on qubits beyond {MAX_NOISE_QUBIT}")
    with warnings.catch_warnings():  # from_dict is deprecated in qiskit-aer 0.15 with no replacement yet
        warnings.simplefilter("ignore", DeprecationWarning)
        return NoiseModel.from_dict(described)


MAX_NOISE_QUBIT = 4096


def _largest_qubit(value, key: str = "") -> int:
    if isinstance(value, dict):
        return max((_largest_qubit(v, str(k)) for k, v in value.items()), default=-1)
    if isinstance(value, (list, tuple)):
        return max((_largest_qubit(v, key) for v in value), default=-1)
    return value if "qubit" in key and isinstance(value, int) else -1


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
        raise UnsafePayload("a function reference where none is expected")
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
    "counts": _counts,
    "circuit": _circuit,
    "statevector": _statevector,
    "densitymatrix": _statevector,
    "operator": _operator,
    "sparsepauliop": _sparse_pauli_op,
    "noisemodel": _noise_model,
    "path": _path,
    "function": _function,
}
