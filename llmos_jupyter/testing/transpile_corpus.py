"""Circuits and transpile calls on which `tools.transpile_cache.transpile` must give what Qiskit's own `transpile`
gives, byte for byte (QPY of the output, its name, its layout). Used by tests/test_transpile_cache.py and
benchmarks/mode_latency.py. The calls cover what the cache keeps (plain simulators, each optimization level, a
method) and what it must pass through untouched (seeds, coupling maps, basis gates, a noise model, a simulator
from a device, another backend, a list, no backend)."""
from __future__ import annotations

import io
import math
from typing import Any, Callable


def circuits() -> dict[str, Any]:
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import Parameter, Qubit
    from qiskit.circuit.library import HGate, QFTGate, UnitaryGate

    out: dict[str, Any] = {}
    for n in (2, 4, 8, 12):
        qc = QuantumCircuit(n)
        qc.h(0)
        for q in range(n - 1):
            qc.cx(q, q + 1)
        qc.measure_all()
        out[f"ghz{n}"] = qc
    q, c = QuantumRegister(2, "q"), ClassicalRegister(2, "c")
    bell = QuantumCircuit(q, c)
    bell.h(q[0])
    bell.cx(q[0], q[1])
    bell.measure(q, c)
    out["bell registers"] = bell
    out["rotations"] = _rotations(1)
    out["rotations, a float"] = _rotations(1.0)  # rz(1.0) where the other has rz(1): not the same key
    odd = QuantumCircuit(3, 3)
    odd.append(HGate(label="first"), [0])
    odd.reset(1)
    odd.x(1)
    odd.barrier(label="here")
    odd.cx(0, 1, ctrl_state=0)  # not a standard gate: passes through
    odd.measure([0, 1, 2], [2, 1, 0])
    out["labels, reset, ctrl_state"] = odd
    grover = QuantumCircuit(3)
    grover.h(range(3))
    grover.mcx([0, 1], 2)
    grover.append(QFTGate(3), range(3))
    grover.measure_all()
    out["mcx and QFTGate"] = grover
    unitary = QuantumCircuit(2)
    unitary.append(UnitaryGate([[0, 1], [1, 0]]), [0])
    unitary.cx(0, 1)
    unitary.measure_all()
    out["unitary"] = unitary
    theta = Parameter("θ")
    ansatz = QuantumCircuit(2)
    ansatz.ry(theta, 0)
    ansatz.cx(0, 1)
    ansatz.measure_all()
    out["parameterized"] = ansatz
    out["bound"] = ansatz.assign_parameters({theta: 0.4})
    dynamic = QuantumCircuit(2, 1)
    dynamic.h(0)
    dynamic.measure(0, 0)
    with dynamic.if_test((dynamic.clbits[0], 1)):
        dynamic.x(1)
    out["if_test"] = dynamic
    meta = QuantumCircuit(2, metadata={"run": 1})
    meta.h(0)
    meta.measure_all()
    out["metadata"] = meta
    loose = QuantumCircuit([Qubit(), Qubit()])
    loose.h(0)
    loose.cx(0, 1)
    out["loose bits"] = loose
    init = QuantumCircuit(2)
    init.initialize([0, 1, 0, 0], [0, 1])
    init.measure_all()
    out["initialize"] = init
    return out


def _rotations(angle: Any):
    from qiskit import QuantumCircuit

    rot = QuantumCircuit(3, global_phase=0.7)
    rot.rx(0.3, 0)
    rot.ry(-0.0, 1)
    rot.rz(angle, 2)
    rot.u(0.1, 0.2, 0.3, 0)
    rot.p(math.pi / 8, 1)
    rot.cp(0.25, 0, 2)
    rot.swap(0, 1)
    rot.ccx(0, 1, 2)
    rot.cswap(2, 0, 1)
    rot.measure_all()
    return rot


def calls() -> dict[str, Callable[[Callable, Any], Any]]:
    """name -> call(transpile, circuit)."""
    from qiskit.providers.fake_provider import GenericBackendV2
    from qiskit.transpiler import CouplingMap
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.01, 1), ["h", "x", "u"])
    device = GenericBackendV2(12, seed=5)

    def line(qc):
        return CouplingMap.from_line(max(qc.num_qubits, 2))

    return {
        "default": lambda t, qc: t(qc, AerSimulator()),
        "backend=": lambda t, qc: t(qc, backend=AerSimulator()),
        "level 0": lambda t, qc: t(qc, AerSimulator(), optimization_level=0),
        "level 1": lambda t, qc: t(qc, AerSimulator(), optimization_level=1),
        "level 3": lambda t, qc: t(qc, AerSimulator(), optimization_level=3),
        "statevector": lambda t, qc: t(qc, AerSimulator(method="statevector")),
        "seed_simulator option": lambda t, qc: t(qc, AerSimulator(seed_simulator=3)),
        "seed_transpiler": lambda t, qc: t(qc, AerSimulator(), seed_transpiler=7),
        "coupling map": lambda t, qc: t(qc, AerSimulator(), coupling_map=line(qc), seed_transpiler=11),
        "basis gates": lambda t, qc: t(qc, AerSimulator(), basis_gates=["u", "cx", "measure", "reset", "barrier"]),
        "noise model": lambda t, qc: t(qc, AerSimulator(noise_model=noise)),
        "from_backend": lambda t, qc: t(qc, AerSimulator.from_backend(device), seed_transpiler=2),
        "device": lambda t, qc: t(qc, device, seed_transpiler=3),
        "list": lambda t, qc: t([qc, qc], AerSimulator()),
        "no backend": lambda t, qc: t(qc),
    }


def fingerprint(result: Any) -> tuple:
    """What two transpile results must share to be the same, per circuit: the QPY bytes of the circuit (gates,
    parameters, registers, global phase, metadata), its name, and its layout as index lists. The layout is not
    compared as QPY bytes: Qiskit writes a layout's registers in an order that varies from run to run."""
    from qiskit import qpy

    items = result if isinstance(result, list) else [result]
    out = []
    for circuit in items:
        layout = circuit.layout
        bare = circuit.copy()
        bare._layout = None
        buffer = io.BytesIO()
        qpy.dump(bare, buffer)
        where = None if layout is None else (tuple(layout.initial_index_layout(filter_ancillas=False)),
                                             tuple(layout.routing_permutation()), layout._input_qubit_count)
        out.append((buffer.getvalue(), circuit.name, where))
    return tuple(out)


KEPT = ("default", "backend=", "level 0", "level 1", "level 3", "statevector", "seed_simulator option")


def compare(plain: Callable, cached: Callable, ways: tuple[str, ...] | None = None,
            names: tuple[str, ...] | None = None, rounds: int = 2) -> list[str]:
    """The (circuit, call) pairs where `cached` differed from `plain`, on any of `rounds` calls (the first fills
    the caches, the next ones hit them); over the whole corpus unless `ways` or `names` pick some of it."""
    different = []
    corpus, every = circuits(), calls()
    for way in ways or tuple(every):
        call = every[way]
        for name, qc in corpus.items():
            if names is not None and name not in names:
                continue
            if way in ("device", "from_backend", "coupling map") and qc.num_qubits > 12:
                continue
            try:
                expected = fingerprint(call(plain, qc))
            except Exception as exc:  # noqa: BLE001 - then the cached call must fail the same way
                expected = ("raises", type(exc).__name__)
            for _ in range(rounds):
                try:
                    got = fingerprint(call(cached, qc))
                except Exception as exc:  # noqa: BLE001
                    got = ("raises", type(exc).__name__)
                if got != expected:
                    different.append(f"{name} / {way}")
                    break
    return different
