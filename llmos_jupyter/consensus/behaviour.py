"""Distances between answers from what their programs computed, not from how they read.

An observation is one thing a program produced, reduced to a kind the distance knows:

* "counts": a probability distribution over outcomes (sampled counts, or a measured circuit's exact
  probabilities, or integer tallies of labels such as {"Heads": 1012, "Tails": 988});
  distance: total variation, (1/2) sum |p - q|.
* "state": a statevector (or a measurement-free circuit wider than OPERATOR_QUBITS, from |0...0>);
  distance: 1 - |<a|b>|^2, one minus the fidelity.
* "operator": a matrix (an Operator, or a measurement-free circuit); distance: 1 - |<A, B>| / (|A| |B|)
  in the Hilbert-Schmidt inner product, zero exactly when A = c B, i.e. equal up to a global phase.
* "number": a real float or a flat array of them (estimates that vary from run to run); distance:
  |a - b|_1 / (|a|_1 + |b|_1), 0 when equal, 1 for opposite signs or different shapes.
* "value": anything else, canonicalised (floats to 9 significant digits, containers recursively);
  distance 0 when equal, else 1. An exception is the value ("raised", its type name). A list of
  bitstrings of one length (a per-shot memory) is a sample: "counts".

A Behaviour maps slots to observations: for a script, what it left behind ("counts" of its last Aer job,
its last Statevector, Operator, circuit, returned value); for a function, one slot per probe call. Two
behaviours are as far apart as their shared slots are on average (no shared slot: 1), so two scripts
that both sample the same distribution are close however they name their variables. Observations of
different kinds are 1 apart. Prose answers (no program) are compared by text embeddings, and 1 from any
program. qiskit and numpy load only when an observation needs them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

OPERATOR_QUBITS = 10  # a measurement-free circuit up to this width is compared as an operator (2^10 x 2^10)
STATE_QUBITS = 24
SIG_DIGITS = 9


@dataclass(frozen=True)
class Observation:
    kind: str  # "counts" | "state" | "operator" | "value"
    data: Any  # dict[str, float] | np.ndarray | np.ndarray | a hashable canonical value

    def histogram(self) -> dict[str, float] | None:
        """What a cell can draw: the distribution, or the basis-state probabilities of a state."""
        if self.kind == "counts":
            return dict(self.data)
        if self.kind == "state":
            p = np.abs(self.data) ** 2
            n = int(round(math.log2(len(p)))) if len(p) > 1 else 1
            return {format(i, f"0{n}b"): float(x) for i, x in enumerate(p) if x > 1e-12}
        return None


@dataclass(frozen=True)
class Behaviour:
    slots: Mapping[str, Observation] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.slots)

    def histogram(self) -> dict[str, float] | None:
        """The first distribution among the slots (a script's counts first), for display."""
        order = sorted(self.slots, key=lambda k: (k != "counts", k != "circuit", k != "state", k))
        for key in order:
            hist = self.slots[key].histogram()
            if hist is not None:
                return hist
        return None

    def kinds(self) -> list[str]:
        return sorted({o.kind for o in self.slots.values()})


# -- observing values ---------------------------------------------------------------------------------------
def observe(value: Any) -> Observation:
    """The observation of one value a program produced (a returned value, a name it defined)."""
    kind = _qiskit_kind(value)
    if kind is not None:
        return kind
    if isinstance(value, BaseException):
        return Observation("value", ("raised", type(value).__name__))
    if _is_counts(value):
        return _counts({str(k): float(v) for k, v in value.items()})
    if isinstance(value, np.ndarray) and value.dtype.kind == "c" and value.ndim == 1 and value.size > 1 and \
            abs(float(np.linalg.norm(value)) - 1.0) < 1e-6:  # a complex unit vector: a statevector as an array
        return Observation("state", value.astype(complex))
    if _is_memory(value):  # one bitstring per shot: a sample of a distribution
        tally: dict[str, float] = {}
        for bits in value:
            tally[bits] = tally.get(bits, 0.0) + 1.0
        return _counts(tally)
    numbers = _numbers(value)
    if numbers is not None:
        return Observation("number", numbers)
    return Observation("value", canonical(value))


def script_behaviour(counts: Mapping[str, int] | None, namespace: Mapping[str, Any], value: Any = None) -> Behaviour:
    """What a script computed: the counts of its last Aer job, and the last statevector, operator and
    circuit among the names it defined, and its last expression's value when it had one; failing all of
    those, the plain values it defined, slot by name (only names both programs define are compared)."""
    slots: dict[str, Observation] = {}
    if counts:
        slots["counts"] = _counts({str(k): float(v) for k, v in counts.items()})
    for name, v in namespace.items():
        if name.startswith("_") or callable(v) and not _is_qiskit_value(v):
            continue
        o = _qiskit_kind(v)
        if o is None:
            if _is_counts(v) and "counts" not in slots:
                slots["counts"] = observe(v)
            continue
        slot = {"counts": "circuit", "operator": "operator" if not _is_circuit(v) else "circuit",
                "state": "state" if not _is_circuit(v) else "circuit"}[o.kind]
        slots[slot] = o  # later names win: the program's final result is usually defined last
    if value is not None:
        slots["value"] = observe(value)
    if not slots:
        # Nothing quantum and no last expression: the plain values it left, compared name by name.
        for name, v in namespace.items():
            if not name.startswith("_") and not callable(v) and not isinstance(v, type):
                o = observe(v)
                if o.data != ("object", type(v).__name__):
                    slots[f"name:{name}"] = o
    return Behaviour(slots)


def calls_behaviour(results: Sequence[Any]) -> Behaviour:
    """What a function computed on probe inputs: one slot per call, in order."""
    return Behaviour({f"call{i}": observe(r) for i, r in enumerate(results)})


# -- distances ----------------------------------------------------------------------------------------------
def distance(a: Observation, b: Observation) -> float:
    if a.kind != b.kind:
        return 1.0
    if a.kind == "counts":
        keys = set(a.data) | set(b.data)
        return float(min(1.0, 0.5 * sum(abs(a.data.get(k, 0.0) - b.data.get(k, 0.0)) for k in keys)))
    if a.kind == "state":
        if a.data.shape != b.data.shape:
            return 1.0
        return float(np.clip(1.0 - abs(np.vdot(a.data, b.data)) ** 2, 0.0, 1.0))
    if a.kind == "operator":
        if a.data.shape != b.data.shape:
            return 1.0
        na, nb = np.linalg.norm(a.data), np.linalg.norm(b.data)
        if na == 0 or nb == 0:
            return 0.0 if na == nb else 1.0
        return float(np.clip(1.0 - abs(np.vdot(a.data, b.data)) / (na * nb), 0.0, 1.0))
    if a.kind == "number":
        if a.data.shape != b.data.shape:
            return 1.0
        scale = float(np.abs(a.data).sum() + np.abs(b.data).sum())
        return 0.0 if scale == 0 else float(min(1.0, np.abs(a.data - b.data).sum() / scale))
    return 0.0 if a.data == b.data else 1.0


def behaviour_distance(a: Behaviour, b: Behaviour) -> float:
    shared = sorted(set(a.slots) & set(b.slots))
    if not shared:
        return 1.0
    return float(np.mean([distance(a.slots[k], b.slots[k]) for k in shared]))


def distance_matrix(behaviours: Sequence[Behaviour | None], texts: Sequence[str] | None = None,
                    embedder: Any = None, codes: Sequence[str | None] | None = None) -> tuple[np.ndarray, list[str]]:
    """(D, basis): D[i, j] in [0, 1] from behaviours where both answers have one, from text embeddings
    (cosine distance, clipped to [0, 1]) where neither has, and 1 between a program and prose. With `codes`,
    programs that compute alike are told apart by how alike they are written (structure.py, at most
    structure.WEIGHT). basis[i] says what answer i was judged by: "behaviour (counts, state)" or "text"."""
    from . import structure

    n = len(behaviours)
    D = np.ones((n, n))
    prose = [i for i, b in enumerate(behaviours) if not b]
    if prose and len(prose) > 1:
        if texts is None or embedder is None:
            raise ValueError("Answers without a program are compared by their text: pass texts and an embedder.")
        E = np.asarray(embedder.encode([texts[i] for i in prose]), dtype=np.float64)
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        C = np.clip(1.0 - E @ E.T, 0.0, 1.0)
        for a, i in enumerate(prose):
            for b, j in enumerate(prose):
                D[i, j] = C[a, b]
    for i in range(n):
        for j in range(i + 1, n):
            if behaviours[i] and behaviours[j]:
                d = behaviour_distance(behaviours[i], behaviours[j])
                if codes is not None and codes[i] and codes[j]:
                    d = min(1.0, d + structure.WEIGHT * structure.distance(codes[i], codes[j]))
                D[i, j] = D[j, i] = d
    np.fill_diagonal(D, 0.0)
    basis = [f"behaviour ({', '.join(b.kinds())})" if b else "text" for b in behaviours]
    return D, basis


# -- helpers ------------------------------------------------------------------------------------------------
def canonical(value: Any, depth: int = 0) -> Any:
    """A hashable, comparable stand-in: floats rounded to SIG_DIGITS significant digits, containers recursively."""
    if depth > 20:
        return ("deep",)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _round(float(value))
    if isinstance(value, (complex, np.complexfloating)):
        return ("complex", _round(value.real), _round(value.imag))
    if isinstance(value, np.ndarray):
        return ("array", value.shape, tuple(canonical(x, depth + 1) for x in value.reshape(-1).tolist()))
    if isinstance(value, Mapping):
        return ("dict", tuple(sorted(((str(k), canonical(v, depth + 1)) for k, v in value.items()))))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v, depth + 1) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, (canonical(v, depth + 1) for v in value)))))
    return ("object", type(value).__name__)


def _is_memory(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 1 and all(isinstance(v, str) for v in value) and \
        len({len(v) for v in value}) == 1 and all(set(v) <= set("01") and v for v in value)


def _numbers(value: Any) -> np.ndarray | None:
    """Real floats (a float, or a flat list / array of them): estimates that vary with sampling."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return np.array([float(value)]) if math.isfinite(value) else None
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and 0 < value.size <= 1 << 16:
        return value.astype(float).reshape(-1) if np.all(np.isfinite(value)) else None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, float) for v in value):
        arr = np.array(value, dtype=float)
        return arr if np.all(np.isfinite(arr)) else None
    return None


def _round(x: float) -> float:
    if not math.isfinite(x) or x == 0:
        return x
    return round(x, SIG_DIGITS - 1 - int(math.floor(math.log10(abs(x)))))


def _is_counts(value: Any) -> bool:
    """Outcome counts: bitstring (or hex) keys with non-negative numbers, or any labels ("Heads", "Tails") with
    integer tallies of a sample's size (>= 32 in all: smaller integer dicts are more likely facts than samples)."""
    if not (isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value)):
        return False
    if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v >= 0
               for v in value.values()):
        return False
    if all(k.replace(" ", "") and set(k.replace(" ", "")) <= set("01") or k.startswith("0x") for k in value):
        return True
    return all(isinstance(v, (int, np.integer)) for v in value.values()) and sum(value.values()) >= 32


def _counts(raw: dict[str, float]) -> Observation:
    merged: dict[str, float] = {}
    bits = all(set(k.replace(" ", "")) <= set("01") or k.startswith("0x") for k in raw)
    for k, v in raw.items():
        key = (format(int(k, 16), "b") if k.startswith("0x") else k.replace(" ", "")) if bits else k
        merged[key] = merged.get(key, 0.0) + v
    total = sum(merged.values())
    if total <= 0:
        return Observation("value", canonical(raw))
    width = max(len(k) for k in merged) if bits else 0
    return Observation("counts", {k.zfill(width): v / total for k, v in merged.items() if v > 0})


def _is_qiskit_value(value: Any) -> bool:
    return type(value).__module__.startswith("qiskit")


def _is_circuit(value: Any) -> bool:
    return type(value).__name__ == "QuantumCircuit" and _is_qiskit_value(value)


def _qiskit_kind(value: Any) -> Observation | None:
    if not _is_qiskit_value(value):
        return None
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import DensityMatrix, Operator, Statevector

    if isinstance(value, Statevector):
        return Observation("state", np.asarray(value.data, dtype=complex))
    if isinstance(value, DensityMatrix):
        return Observation("operator", np.asarray(value.data, dtype=complex))
    if isinstance(value, Operator):
        return Observation("operator", np.asarray(value.data, dtype=complex))
    if isinstance(value, QuantumCircuit):
        return _circuit(value)
    if type(value).__name__ == "Counts":
        return _counts({str(k): float(v) for k, v in dict(value).items()})
    return None


def _circuit(qc) -> Observation:
    """A measured circuit by its exact outcome distribution; a measurement-free one by its operator (or, wider
    than OPERATOR_QUBITS or laid out on a device, its state from |0...0>). Idle wires are dropped first, so a
    circuit transpiled onto a 127-qubit device is simulated on the qubits it uses."""
    from qiskit.quantum_info import Operator, Statevector

    ops = {inst.operation.name for inst in qc.data}
    try:
        if "measure" in ops:
            bare = qc.remove_final_measurements(inplace=False)
            if any(inst.operation.name == "measure" for inst in bare.data):
                return _sampled(qc)
            measured = _final_measurements(qc)
            sub, pos = _active(bare, {q for q, _ in measured})
            if sub.num_qubits > STATE_QUBITS:
                return _sampled(qc)
            probs = Statevector(sub).probabilities_dict(qargs=[pos[q] for q, _ in measured])
            # probabilities_dict orders the qargs' bits like Qiskit's counts (first qarg rightmost); the clbits
            # they land in may be in another order: rebuild the key clbit by clbit.
            order = [c for _, c in measured]
            out: dict[str, float] = {}
            for key, p in probs.items():
                bits = dict(zip(order, reversed(key)))
                label = "".join(bits.get(c, "0") for c in reversed(range(qc.num_clbits)))
                out[label] = out.get(label, 0.0) + float(p)
            return _counts(out)
        if getattr(qc, "layout", None) is not None:
            state = _virtual_state(qc)
            if state is not None:
                return Observation("state", state)
        if qc.num_qubits <= OPERATOR_QUBITS:
            return Observation("operator", np.asarray(Operator(qc).data, dtype=complex))
        sub, _ = _active(qc, set())
        if sub.num_qubits <= STATE_QUBITS:
            return Observation("state", np.asarray(Statevector(sub).data, dtype=complex))
    except Exception as exc:  # noqa: BLE001 - resets, parameters left unbound, ...: sampled, or compared by form
        try:
            return _sampled(qc)
        except Exception:  # noqa: BLE001
            return Observation("value", ("circuit", type(exc).__name__, qc.num_qubits, len(qc.data)))
    return Observation("value", ("circuit", qc.num_qubits, len(qc.data)))


SKIP_OPS = ("barrier", "delay", "measure")


def _active(qc, keep: set[int]):
    """(the circuit on only the qubits it acts on, plus `keep`, in index order; old index -> new index)."""
    from qiskit import QuantumCircuit

    used = {qc.find_bit(q).index for inst in qc.data if inst.operation.name not in SKIP_OPS for q in inst.qubits}
    active = sorted(used | set(keep))
    pos = {p: i for i, p in enumerate(active)}
    sub = QuantumCircuit(max(1, len(active)), global_phase=qc.global_phase)
    for inst in qc.data:
        if inst.operation.name not in SKIP_OPS:
            sub.append(inst.operation, [pos[qc.find_bit(q).index] for q in inst.qubits])
    return sub, pos


def _virtual_state(qc) -> np.ndarray | None:
    """The state a transpiled circuit prepares on its virtual qubits (layout and routing undone), or None."""
    from qiskit.quantum_info import Statevector

    layout = qc.layout
    n = getattr(layout, "_input_qubit_count", None)
    if not n:
        return None
    final = layout.final_index_layout()[:n]
    sub, pos = _active(qc, set(final))
    m = sub.num_qubits
    if m > STATE_QUBITS:
        return None
    psi = np.asarray(Statevector(sub).data, dtype=complex).reshape([2] * m)  # axis a is qubit m - 1 - a
    order = [pos[p] for p in final] + [i for i in range(m) if i not in {pos[p] for p in final}]
    psi = np.transpose(psi, [m - 1 - order[m - 1 - a] for a in range(m)])  # new qubit j = old qubit order[j]
    psi = psi.reshape(-1)[: 2 ** n] if m == n else psi.reshape(2 ** (m - n), 2 ** n)[0]  # ancillas in |0>
    norm = np.linalg.norm(psi)
    return psi / norm if norm > 1e-9 else None


def _final_measurements(qc) -> list[tuple[int, int]]:
    """(qubit index, clbit index) of each measurement, in order."""
    return [(qc.find_bit(inst.qubits[0]).index, qc.find_bit(inst.clbits[0]).index)
            for inst in qc.data if inst.operation.name == "measure"]


def _sampled(qc, shots: int = 8192) -> Observation:
    """Mid-circuit measurements or resets: sample with Aer under a fixed seed (same circuit, same counts)."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    sim = AerSimulator(seed_simulator=0)
    counts = sim.run(transpile(qc, sim), shots=shots).result().get_counts()
    if isinstance(counts, list):
        counts = counts[0]
    return _counts({str(k): float(v) for k, v in counts.items()})
