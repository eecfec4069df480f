"""General programs: a stream of requests for Qiskit programs that are not count-producing state preparations.

What it measures
    A seeded stream (default 1,000 requests; --quick 200) over 20 families of programs (Statevectors, Operators,
    transpiles with properties, noise models, EstimatorV2 and SamplerV2 values, OpenQASM export and import,
    ansätze, parameter binding by name, Pauli expectations and evolutions, eigenvalues, reduced states,
    functions) goes through `LLMOS.run` with starter skills off, against the scripted model
    llmos_jupyter.testing.general_model behind a real HTTP ScriptedLLMServer reached through the openai SDK.
    Families arrive in five phases. Each request is one of
        first     a family's first request, or a wording of it not asked before with new values;
        value     a wording already asked, with new values (a new qubit count, angle, Pauli label, …);
        reworded  values already asked, in another wording of the family (several per family, questions,
                  imperative, "I need", lower case);
        near      a sibling of a family already asked, one word or symbol away (the inverse QFT after the QFT,
                  'with measurements', depolarizing noise on CX only, X⊗I for X⊗X);
        repeat    an exact repeat of an earlier request, more often a recent one.

    Every answer is judged from outside against a reference the benchmark computes itself, mostly without
    the construction the program uses: Statevectors by fidelity (≥ 1 − 1e-9) with amplitudes written down
    here, Operators with `equiv` against matrices built with numpy/scipy, noise models by their effect on a
    test circuit (Aer density matrices compared with those of a reference model), expectation values and
    eigenvalues to 1e-6 against closed forms, QASM strings loaded back and compared, SamplerV2 counts by
    their support, total and 6-sigma frequencies, functions called with new arguments. The value judged is
    the program's last expression (`Result.value`), or the requested function in the namespace.

    baseline  the lean call: for every request, one call with the one-sentence LEAN_SYSTEM and the request,
              billed by the same server (`usage`), repeats included (token_savings.lean_baseline).
    wrong     the judge found a problem with the answer; failed: `error` set or run() raised.

    Tables: totals (% saved against the lean baseline, wrong, failed), the curve per 50 requests, zero-token
    shares by kind (new values, rewordings, near misses, repeats), billed tokens per LEARNER and MIXED call
    as a multiple of the same request's lean call, per family, and every wrong or failed answer.

    python benchmarks/general_programs.py [--quick] [--requests N] [--seed S] [--log rows.jsonl]

Targets (issue #24): 0 wrong; ≥ 70 % saved; LEARNER ≤ 2× and MIXED ≤ 1.5× the lean call. A missed target is
printed, not an error. Runtime on this machine (2 shared cores, busy): the default 1,000 in 2.5–6 minutes
(76.5 % saved at seed 11); --quick (200) in 1–2.5 minutes, a smoke test: its 22 families arrive five times
as fast, so most of it is first requests (33 % saved, 0 wrong).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from llmos_jupyter import LLMOS  # noqa: E402
from llmos_jupyter.testing import ScriptedLLMServer  # noqa: E402
from llmos_jupyter.testing.edits import system_text  # noqa: E402
from llmos_jupyter.testing.general_model import MODEL_NAME, program, respond  # noqa: E402
from llmos_jupyter.tokencount import count_tokens  # noqa: E402
from token_savings import _forget_tool_modules, lean_baseline, learning_curve, pct  # noqa: E402

BLOCK = 50
MODES = ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER")
KINDS = ("first", "value", "reworded", "near", "repeat")

# -- numpy references ----------------------------------------------------------------------------------
I2 = np.eye(2)
PAULI = {"I": I2, "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1])}
GATE = {"h": np.array([[1, 1], [1, -1]]) / math.sqrt(2), "s": np.diag([1, 1j]),
        "t": np.diag([1, np.exp(1j * math.pi / 4)]),
        "x": PAULI["X"], "z": PAULI["Z"], "y": PAULI["Y"]}


def kron_label(label: str) -> np.ndarray:
    """A Pauli label's matrix, Qiskit's order: the leftmost letter acts on the highest qubit."""
    out = np.array([[1]])
    for c in label:
        out = np.kron(out, PAULI[c])
    return out


def ghz(n: int) -> np.ndarray:
    v = np.zeros(2 ** n, complex)
    v[0] = v[-1] = 1 / math.sqrt(2)
    return v


def ry(theta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]])


def rz(phi: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * phi), np.exp(0.5j * phi)])


def rx(theta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def dft(n: int) -> np.ndarray:
    size = 2 ** n
    w = np.exp(2j * math.pi / size)
    return np.array([[w ** (j * k) for k in range(size)] for j in range(size)]) / math.sqrt(size)


def ry_cx(theta: float) -> np.ndarray:
    """RY(theta) on qubit 0, then CX(0, 1): cos|00> + sin|11>."""
    v = np.zeros(4)
    v[0], v[3] = math.cos(theta / 2), math.sin(theta / 2)
    return v


# -- judging --------------------------------------------------------------------------------------------
def _is(value: Any, cls_name: str) -> str | None:
    return None if type(value).__name__ == cls_name else f"value is {type(value).__name__}, not {cls_name}"


def same_state(value: Any, want: np.ndarray) -> list[str]:
    bad = _is(value, "Statevector")
    if bad:
        return [bad]
    got = np.asarray(value.data)
    if got.shape != want.shape:
        return [f"{int(math.log2(got.size))} qubits, not {int(math.log2(want.size))}"]
    fidelity = abs(np.vdot(want, got)) ** 2
    return [] if fidelity > 1 - 1e-9 else [f"fidelity {fidelity:.6f}"]


def same_operator(value: Any, want: np.ndarray) -> list[str]:
    from qiskit.quantum_info import Operator

    bad = _is(value, "Operator")
    if bad:
        return [bad]
    if value.dim != (want.shape[0], want.shape[0]):
        return [f"dimension {value.dim}, not {want.shape}"]
    return [] if value.equiv(Operator(want)) else ["not equivalent to the reference unitary"]


def close(value: Any, want: float) -> list[str]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return [f"value is {type(value).__name__}, not a number"]
    return [] if abs(value - want) <= 1e-6 else [f"{value:.8f}, reference {want:.8f}"]


def circuit_state(qc) -> tuple[np.ndarray, int]:
    """(its Statevector without final measurements, how many measurements it had)."""
    from qiskit.quantum_info import Statevector

    measures = sum(1 for inst in qc.data if inst.operation.name == "measure")
    return np.asarray(Statevector(qc.remove_final_measurements(inplace=False)).data), measures


def noise_effect(model, circuit: Callable) -> np.ndarray:
    """The density matrix a test circuit ends in under `model` (Aer, exact)."""
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    qc = QuantumCircuit(2)
    circuit(qc)
    qc.save_density_matrix()
    sim = AerSimulator(method="density_matrix", noise_model=model)
    return np.asarray(sim.run(qc).result().data(0)["density_matrix"])


def noise_test(qc) -> None:
    qc.h(0)
    qc.cx(0, 1)
    qc.sx(1)
    qc.x(0)
    qc.rz(0.3, 1)
    qc.cx(1, 0)


def same_noise(value: Any, reference) -> list[str]:
    bad = _is(value, "NoiseModel")
    if bad:
        return [bad]
    got, want = noise_effect(value, noise_test), noise_effect(reference, noise_test)
    gap = float(np.abs(got - want).max())
    return [] if gap < 1e-9 else [f"its effect differs from the reference model's by {gap:.2e}"]


@dataclass(frozen=True)
class Family:
    name: str
    values: Callable[[random.Random], dict]  # new parameters for a request
    wordings: tuple[str, ...]  # format strings over the parameters
    judge: Callable[[dict, Any, dict], list[str]]  # (parameters, the result's value, the namespace) -> problems
    sibling: str | None = None  # a family one word or symbol away (a near miss of this one)


def _n(lo: int, hi: int) -> Callable[[random.Random], dict]:
    return lambda rng: {"n": rng.randint(lo, hi)}


def _angle(rng: random.Random) -> float:
    return round(rng.uniform(0.1, 3.0), 2)


def _gates(rng: random.Random) -> dict:
    seq = [rng.choice("hstxz") for _ in range(rng.randint(2, 4))]
    return {"seq": seq}


def _seq_words(p: dict, joiner: str) -> str:
    return joiner.join(g.upper() for g in p["seq"])


def _qasm(rng: random.Random) -> dict:
    lines = []
    for _ in range(rng.randint(2, 4)):
        kind = rng.choice(["h", "x", "s", "t", "cx", "rz"])
        a = rng.randint(0, 1)
        if kind == "cx":
            lines.append(f"cx q[{a}],q[{1 - a}];")
        elif kind == "rz":
            lines.append(f"rz({_angle(rng)}) q[{a}];")
        else:
            lines.append(f"{kind} q[{a}];")
    return {"src": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n' + "\n".join(lines)}


def _pauli_ghz(rng: random.Random) -> dict:
    n = rng.randint(2, 4)
    label = "".join(rng.choice("IXYZ") for _ in range(n))
    if set(label) == {"I"}:
        label = "Z" + label[1:]
    return {"pauli": label, "shown": "⊗".join(label) if rng.random() < 0.4 else label}


def _fn_name(names: list[str]) -> Callable[[random.Random], dict]:
    return lambda rng: {"name": rng.choice(names)}


def _judge_qasm_export(p: dict, value: Any, ns: dict) -> list[str]:
    from qiskit import qasm2

    if not isinstance(value, str):
        return [f"value is {type(value).__name__}, not a QASM string"]
    try:
        qc = qasm2.loads(value)
    except Exception as exc:  # noqa: BLE001 - an unreadable string is a wrong answer
        return [f"does not load as OpenQASM 2 ({type(exc).__name__})"]
    state, measures = circuit_state(qc)
    out = same_state(_sv(state), ghz(p["n"]))
    want = p["n"] if p.get("measured") else 0
    return out + ([] if measures == want else [f"{measures} measurements, asked {want}"])


def _judge_transpile(p: dict, value: Any, ns: dict) -> list[str]:
    bad = _is(value, "QuantumCircuit")
    if bad:
        return [bad]
    extra = set(value.count_ops()) - {"cx", "rz", "sx", "x", "measure", "barrier"}
    state, measures = circuit_state(value)
    want = p["n"] if p.get("measured") else 0
    return ([f"gates outside the basis: {sorted(extra)}"] if extra else []) + same_state(_sv(state), ghz(p["n"])) \
        + ([] if measures == want else [f"{measures} measurements, asked {want}"])


def _sv(data: np.ndarray):
    from qiskit.quantum_info import Statevector

    return Statevector(data)


def _judge_sampler(p: dict, value: Any, ns: dict) -> list[str]:
    if not isinstance(value, dict):
        return [f"value is {type(value).__name__}, not counts"]
    n, shots = p["n"], p["shots"]
    allowed = {"0" * n, "1" * n}
    out = [] if sum(value.values()) == shots else [f"{sum(value.values())} shots, asked {shots}"]
    if set(value) - allowed:
        out.append(f"outcomes outside the GHZ support: {sorted(set(value) - allowed)[:3]}")
    mean = shots / 2
    if abs(value.get("0" * n, 0) - mean) > 6 * math.sqrt(shots / 4) + 2:
        out.append(f"P(0…0) = {value.get('0' * n, 0) / shots:.3f}, exact 0.5")
    return out


def _reference_depolarizing(p: float, one_qubit: bool):
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    model = NoiseModel()
    if one_qubit:
        model.add_all_qubit_quantum_error(depolarizing_error(p, 1), ["h", "x", "sx", "rz"])
    model.add_all_qubit_quantum_error(depolarizing_error(p, 2), ["cx"])
    return model


def _reference_damping(gamma: float):
    from qiskit_aer.noise import NoiseModel, amplitude_damping_error

    model = NoiseModel()
    model.add_all_qubit_quantum_error(amplitude_damping_error(gamma), ["x", "sx"])
    return model


def _judge_function(p: dict, ns: dict, calls: list[tuple[tuple, np.ndarray]], as_operator: bool) -> list[str]:
    fn = ns.get(p["name"])
    if not callable(fn):
        return [f"no function `{p['name']}` in the namespace"]
    from qiskit.quantum_info import Operator, Statevector

    out = []
    for args, want in calls:
        try:
            qc = fn(*args)
            got = Operator(qc) if as_operator else Statevector(qc)
        except Exception as exc:  # noqa: BLE001 - a function that raises is a wrong answer
            return [f"{p['name']}{args} raised {type(exc).__name__}: {exc}"]
        out += [f"{p['name']}{args}: {x}" for x in (same_operator(got, want) if as_operator else same_state(got, want))]
    return out


def _rx_layer(n: int, theta: float) -> np.ndarray:
    out = np.array([[1]])
    for _ in range(n):
        out = np.kron(out, rx(theta))
    return out


def _seq_unitary(seq: list[str]) -> np.ndarray:
    u = np.eye(2)
    for g in seq:
        u = GATE[g] @ u
    return u


def _evolution(p: dict) -> np.ndarray:
    from scipy.linalg import expm

    return expm(-1j * p["t"] * kron_label(p["pauli"]))


FAMILIES: dict[str, Family] = {f.name: f for f in [
    # phase 1
    Family("ghz_statevector", _n(2, 6), (
        "Give me the statevector of a GHZ state on {n} qubits",
        "What are the amplitudes of the {n}-qubit GHZ state?",
        "Compute the Statevector of a GHZ circuit with {n} qubits",
        "I need the GHZ state vector for {n} qubits",
    ), lambda p, v, ns: same_state(v, ghz(p["n"]))),
    Family("qft_operator", _n(2, 4), (
        "Compute the unitary of the {n}-qubit quantum Fourier transform",
        "Give me the Operator of a QFT on {n} qubits",
        "What is the matrix of the QFT on {n} qubits?",
        "Build the QFT for {n} qubits and return its unitary",
    ), lambda p, v, ns: same_operator(v, dft(p["n"])), sibling="iqft_operator"),
    Family("gate_sequence", _gates, (
        "What is the unitary of {then} on one qubit?",
        "Give me the Operator of a single qubit that gets {followed}",
        "Compute the matrix of applying {then} to a qubit",
    ), lambda p, v, ns: same_operator(v, _seq_unitary(p["seq"]))),
    Family("estimator", lambda rng: {"theta": _angle(rng), "pauli": rng.choice(["ZZ", "XX", "YY", "ZI", "IZ", "XI"])}, (
        "Use EstimatorV2 to compute <{pauli}> for RY(theta) on qubit 0 followed by a CX, theta = {theta}",
        "With the Estimator primitive, find the expectation value of {pauli} after ry(theta) on qubit 0 and cx(0, 1), "
        "theta = {theta}",
        "Estimate {pauli} with the V2 estimator on the state from RY(theta) and a CNOT, with theta = {theta}",
    ), lambda p, v, ns: close(v, float(np.real(ry_cx(p["theta"]) @ kron_label(p["pauli"]) @ ry_cx(p["theta"]))))),
    # phase 2
    Family("iqft_operator", _n(2, 4), (
        "Give me the Operator of the inverse QFT on {n} qubits",
        "Compute the unitary of the inverse quantum Fourier transform on {n} qubits",
        "What is the matrix of the inverse QFT for {n} qubits?",
    ), lambda p, v, ns: same_operator(v, dft(p["n"]).conj().T), sibling="qft_operator"),
    Family("transpile_ghz", lambda rng: {"n": rng.randint(2, 5), "level": rng.randint(0, 3)}, (
        "Transpile a {n}-qubit GHZ circuit to the basis cx, rz, sx, x at optimization level {level}",
        "Compile the GHZ circuit on {n} qubits into cx/rz/sx/x gates with optimization level {level}",
        "Can you transpile an unmeasured GHZ circuit of {n} qubits for the basis cx, rz, sx and x, "
        "optimization level {level}?",
    ), _judge_transpile, sibling="transpile_ghz_measured"),
    Family("noise_depolarizing", lambda rng: {"p": rng.choice([0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05])}, (
        "Build an Aer noise model with depolarizing error p = {p} on one-qubit gates and on CX",
        "Make a depolarizing noise model, p = {p}, for single-qubit gates and CX gates",
        "Create a NoiseModel with depolarizing noise of probability p = {p} on all gates",
    ), lambda p, v, ns: same_noise(v, _reference_depolarizing(p["p"], True)), sibling="noise_depolarizing_cx"),
    Family("qasm_export", _n(2, 5), (
        "Export a {n}-qubit GHZ circuit to OpenQASM 2",
        "Give me the OpenQASM 2 string of a GHZ circuit on {n} qubits",
        "Serialize an unmeasured GHZ circuit with {n} qubits as OpenQASM 2",
    ), _judge_qasm_export, sibling="qasm_export_measured"),
    # phase 3
    Family("transpile_ghz_measured",
           lambda rng: {"n": rng.randint(2, 5), "level": rng.randint(0, 3), "measured": True}, (
        "Transpile a {n}-qubit GHZ circuit with measurements to the basis cx, rz, sx, x at optimization level {level}",
        "Compile the measured GHZ circuit on {n} qubits into cx/rz/sx/x gates with optimization level {level}",
    ), _judge_transpile, sibling="transpile_ghz"),
    Family("qasm_export_measured", lambda rng: {"n": rng.randint(2, 5), "measured": True}, (
        "Export a {n}-qubit GHZ circuit with measurements to OpenQASM 2",
        "Give me the OpenQASM 2 string of a measured GHZ circuit on {n} qubits",
    ), _judge_qasm_export, sibling="qasm_export"),
    Family("pauli_ghz", _pauli_ghz, (
        "What is the expectation value of {shown} on a GHZ state?",
        "Compute <{shown}> for the GHZ state on as many qubits as the label has",
        "Expectation of the Pauli operator {shown} in the GHZ state",
    ), lambda p, v, ns: close(v, float(np.real(ghz(len(p["pauli"])).conj() @ kron_label(p["pauli"])
                                               @ ghz(len(p["pauli"])))))),
    Family("bind_named", lambda rng: {"theta": _angle(rng), "phi": _angle(rng)}, (
        "Bind theta = {theta} and phi = {phi} in a one-qubit circuit with RY(theta) then RZ(phi) and give me "
        "the Statevector",
        "Assign phi = {phi} and theta = {theta} to a circuit applying RY(theta) then RZ(phi) to one qubit; "
        "return the Statevector",
        "Give me the Statevector after binding theta = {theta}, phi = {phi} in RY(theta) followed by RZ(phi) on "
        "a qubit",
    ), lambda p, v, ns: same_state(v, rz(p["phi"]) @ ry(p["theta"]) @ np.array([1, 0]))),
    # phase 4
    Family("noise_depolarizing_cx", lambda rng: {"p": rng.choice([0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05])}, (
        "Build an Aer noise model with depolarizing error p = {p} on CX gates only",
        "Make a depolarizing noise model, p = {p}, for two-qubit gates only",
    ), lambda p, v, ns: same_noise(v, _reference_depolarizing(p["p"], False)), sibling="noise_depolarizing"),
    Family("noise_damping", lambda rng: {"gamma": rng.choice([0.01, 0.05, 0.1, 0.2, 0.3])}, (
        "Build a noise model with amplitude damping gamma = {gamma} on X and SX gates",
        "Create an amplitude damping noise model (gamma = {gamma}) for x and sx",
    ), lambda p, v, ns: same_noise(v, _reference_damping(p["gamma"]))),
    Family("qasm_import", _qasm, (
        "Here is an OpenQASM 2 program; give me its unitary.\n{src}",
        "What Operator does this OpenQASM 2 code implement?\n{src}",
        "Load this QASM and return the Operator:\n{src}",
    ), lambda p, v, ns: same_operator(v, _qasm_unitary(p["src"]))),
    Family("real_amplitudes", lambda rng: {"n": rng.randint(2, 4), "reps": rng.randint(1, 3), "theta": _angle(rng)}, (
        "Build a real_amplitudes ansatz on {n} qubits with {reps} reps, bind every parameter to theta = {theta} "
        "and return its Statevector",
        "Statevector of a RealAmplitudes circuit on {n} qubits with {reps} reps, all parameters set to "
        "theta = {theta}",
    ), lambda p, v, ns: same_state(v, _real_amplitudes(p))),
    # phase 5
    Family("efficient_su2_count", lambda rng: {"n": rng.randint(2, 6), "reps": rng.randint(1, 4)}, (
        "How many parameters does an EfficientSU2 ansatz on {n} qubits with {reps} reps have?",
        "Count the parameters of an efficient_su2 circuit with {n} qubits and {reps} reps",
    ), lambda p, v, ns: [] if v == 2 * p["n"] * (p["reps"] + 1) and isinstance(v, int)
        else [f"{v!r}, reference {2 * p['n'] * (p['reps'] + 1)}"]),
    Family("pauli_evolution", lambda rng: {"t": _angle(rng), "pauli": rng.choice(["ZZ", "XX", "XI", "IZ", "YZ"])}, (
        "Give me the unitary of the Pauli evolution exp(-i t {pauli}) with t = {t}",
        "Operator of a PauliEvolutionGate for {pauli} with time t = {t}",
    ), lambda p, v, ns: same_operator(v, _evolution(p))),
    Family("ground_energy", lambda rng: {"J": _angle(rng), "g": _angle(rng)}, (
        "Lowest eigenvalue of H = J ZZ + g XX with J = {J} and g = {g}",
        "Find the ground energy of J*ZZ + g*XX for g = {g}, J = {J}",
    ), lambda p, v, ns: close(v, -abs(p["J"]) - abs(p["g"]))),
    Family("reduced_state", lambda rng: {"theta": _angle(rng)}, (
        "Reduced density matrix of qubit 0 after RY(theta) on qubit 0 and a CX, theta = {theta}",
        "Trace out qubit 1 from the state made by ry(theta) on qubit 0 then cx(0, 1), theta = {theta}",
    ), lambda p, v, ns: _judge_reduced(p, v)),
    Family("function_ghz", _fn_name(["make_ghz", "ghz_circuit", "build_ghz"]), (
        "Write a function {name}(n) that returns an n-qubit GHZ circuit",
        "I need a Python function called {name} taking n and returning a GHZ QuantumCircuit on n qubits",
    ), lambda p, v, ns: _judge_function(p, ns, [((2,), ghz(2)), ((5,), ghz(5))], as_operator=False)),
    Family("function_rx", _fn_name(["rx_layer", "rotate_all", "rx_wall"]), (
        "Write a function {name}(n, theta) returning a circuit with RX(theta) on every qubit",
        "Define a Python function named {name} that takes n and theta and returns a circuit applying rx(theta) "
        "to each of n qubits",
    ), lambda p, v, ns: _judge_function(p, ns, [((3, 0.37), _rx_layer(3, 0.37)), ((1, 2.0), _rx_layer(1, 2.0))],
                                        as_operator=True)),
]}
PHASES = [(0.0, ["ghz_statevector", "qft_operator", "gate_sequence", "estimator"]),
          (0.15, ["iqft_operator", "transpile_ghz", "noise_depolarizing", "qasm_export"]),
          (0.3, ["transpile_ghz_measured", "qasm_export_measured", "pauli_ghz", "bind_named"]),
          (0.45, ["noise_depolarizing_cx", "noise_damping", "qasm_import", "real_amplitudes"]),
          (0.6, ["efficient_su2_count", "pauli_evolution", "ground_energy", "reduced_state", "function_ghz",
                 "function_rx"])]


def _qasm_unitary(src: str) -> np.ndarray:
    """The unitary of the two-qubit QASM programs above, built gate by gate with numpy."""
    u = np.eye(4, dtype=complex)
    for line in src.splitlines()[3:]:
        name, _, args = line.rstrip(";").partition(" ")
        qubits = [int(c) for c in args if c.isdigit()][-2:] if name == "cx" else [int(args[2])]
        if name == "cx":
            c, t = qubits
            g = np.zeros((4, 4))
            for k in range(4):
                g[k ^ (1 << t) if k >> c & 1 else k, k] = 1
        else:
            one = rz(float(name[3:-1])) if name.startswith("rz(") else GATE[name]
            g = np.kron(I2, one) if qubits[0] == 0 else np.kron(one, I2)
        u = g @ u
    return u


def _real_amplitudes(p: dict) -> np.ndarray:
    """RY(theta) on every qubit, then per rep a CX chain (reverse linear) and RY(theta) again: the ansatz with
    every parameter bound to one angle, built from its definition."""
    n, theta = p["n"], p["theta"]
    layer = np.array([[1]])
    for _ in range(n):
        layer = np.kron(layer, ry(theta))
    state = np.zeros(2 ** n)
    state[0] = 1
    state = layer @ state
    for _ in range(p["reps"]):
        for c in reversed(range(n - 1)):  # reverse_linear: cx(n-2, n-1), …, cx(0, 1)
            t = c + 1
            new = state.copy()
            for k in range(2 ** n):
                if k >> c & 1:
                    new[k ^ (1 << t)] = state[k]
            state = new
        state = layer @ state
    return state


def _judge_reduced(p: dict, value: Any) -> list[str]:
    bad = _is(value, "DensityMatrix")
    if bad:
        return [bad]
    c, s = math.cos(p["theta"] / 2) ** 2, math.sin(p["theta"] / 2) ** 2
    gap = float(np.abs(np.asarray(value.data) - np.diag([c, s])).max()) if value.dim == 2 else 1.0
    return [] if gap < 1e-9 else [f"differs from diag(cos², sin²) by {gap:.2e}"]


# -- the stream ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    text: str
    family: str
    params: dict
    wording: int
    kind: str


def render(family: Family, wording: int, params: dict, rng: random.Random) -> str:
    shown = dict(params)
    if "seq" in params:
        shown["then"] = _seq_words(params, " then ")
        shown["followed"] = _seq_words(params, " followed by ")
    text = family.wordings[wording].format(**shown)
    if family.name != "qasm_import" and rng.random() < 0.15:
        # how people type: sometimes a closing period, sometimes all lower case where case carries nothing
        if rng.random() < 0.5 and program(text.lower()) == program(text):  # where case carries nothing
            text = text.lower()
        elif not text.endswith("?"):
            text += "."
    return text


def stream(n_requests: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    active: list[str] = []
    newest: list[str] = []
    starts = {int(frac * n_requests): fams for frac, fams in PHASES}
    for i in range(n_requests):
        if i in starts:
            newest = starts[i]
            active += newest
        if items and rng.random() < 0.25:  # an exact repeat, more often of something recent
            j = len(items) - 1 - min(int(rng.expovariate(1 / 15)), len(items) - 1)
            items.append(Item(items[j].text, items[j].family, items[j].params, items[j].wording, "repeat"))
            continue
        name = rng.choices(active, [3 if f in newest else 1 for f in active])[0]
        family = FAMILIES[name]
        seen = [it for it in items if it.family == name]
        # a near miss: the first requests of a family whose sibling (one word or symbol away) was asked before
        near = not seen and bool(family.sibling) and any(it.family == family.sibling for it in items)
        if seen and rng.random() < 0.35 and len(family.wordings) > 1:  # the same values, said another way
            base = rng.choice(seen)
            wording = rng.choice([w for w in range(len(family.wordings)) if w != base.wording])
            params, kind = base.params, "reworded"
        else:
            params = family.values(rng)
            wording = rng.randrange(len(family.wordings))
            kind = "near" if near else "value" if wording in {it.wording for it in seen} else "first"
        items.append(Item(render(family, wording, params, rng), name, params, wording, kind))
    return items


# -- running -------------------------------------------------------------------------------------------
@dataclass
class Row:
    item: Item
    index: int
    mode: str = ""
    billed: int = 0
    baseline: int = 0
    calls: int = 0
    wrong: list[str] = field(default_factory=list)
    failed: str | None = None
    reason: str = ""
    ms: float = 0.0
    parts: dict = field(default_factory=dict)  # billed prompt tokens by part, summed over the request's calls

    @property
    def zero(self) -> bool:
        return not self.failed and self.billed == 0


def prompt_parts(requests) -> dict:
    """Where a request's billed prompt tokens went: the instruction, its notes (facts), the worked example,
    the tool schemas, the messages (the request itself, and tool rounds)."""
    parts = Counter()
    for req in requests:
        system = system_text(req)
        head, _, example = system.partition("\nWorked example: ")
        head, _, notes = head.partition("\nNotes:\n")
        parts["instruction"] += count_tokens(head)
        parts["notes"] += count_tokens(notes) if notes else 0
        parts["example"] += count_tokens(example) if example else 0
        parts["tools"] += count_tokens(json.dumps(req.body.get("tools", []))) if req.body.get("tools") else 0
        parts["messages"] += count_tokens(json.dumps([m for m in req.body.get("messages", [])
                                                      if m.get("role") != "system"]))
    return dict(parts)


def judge(item: Item, result, namespace: dict) -> list[str]:
    try:
        return FAMILIES[item.family].judge(item.params, result.value, namespace)
    except Exception as exc:  # noqa: BLE001 - a value the judge cannot even read is a wrong answer
        return [f"judge raised {type(exc).__name__}: {exc}"[:200]]


def run_stream(srv: ScriptedLLMServer, items: list[Item], baseline: list[int]) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="llmos-general-") as tmp, contextlib.chdir(tmp):
        home = Path(tmp) / "home"
        llmos = LLMOS(home=home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url, api_key="x",
                      starter_skills=False, stream=False, max_retries=0)
        try:
            for i, item in enumerate(items):
                row = Row(item, i, baseline=baseline[i])
                namespace: dict = {}
                before = len(srv.requests)
                started = time.perf_counter()
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        r = llmos.run(item.text, namespace=namespace)
                except Exception as exc:  # noqa: BLE001 - a raised error is a failed answer, not a crash
                    row.mode, row.failed = "ERROR", f"{type(exc).__name__}: {exc}"[:200]
                    rows.append(row)
                    continue
                row.ms = (time.perf_counter() - started) * 1000
                row.calls = len(srv.requests) - before
                row.mode, row.billed = str(r.mode), r.tokens.input + r.tokens.output
                row.reason = str(r.why.get("reason", ""))[:300]
                row.parts = prompt_parts(srv.requests[before:])
                row.parts["output"] = r.tokens.output
                if r.error:
                    lines = [ln for ln in r.error.strip().splitlines() if ln.strip()]
                    row.failed = lines[-1][:200] if lines else "error"
                else:
                    row.wrong = judge(item, r, namespace)
                rows.append(row)
                if (i + 1) % 50 == 0:
                    print(f"  … {i + 1}/{len(items)} requests", file=sys.stderr, flush=True)
        finally:
            llmos.close()
            _forget_tool_modules(home)
    return rows


# -- tables --------------------------------------------------------------------------------------------
def multiples(rows: list[Row], mode: str) -> tuple[int, float, float, float]:
    """(calls, billed per call / the same request's lean call: ratio of sums, median, max) for one mode."""
    sel = [r for r in rows if r.mode == mode and r.calls and r.baseline]
    if not sel:
        return 0, 0.0, 0.0, 0.0
    ratios = sorted(r.billed / r.calls / r.baseline for r in sel)
    calls = sum(r.calls for r in sel)
    return calls, sum(r.billed for r in sel) / sum(r.baseline * r.calls for r in sel), ratios[len(ratios) // 2], \
        ratios[-1]


def print_tables(rows: list[Row], seconds: float) -> dict[str, float]:
    billed = sum(r.billed for r in rows)
    base = sum(r.baseline for r in rows)
    wrong = sum(1 for r in rows if r.wrong)
    failed = sum(1 for r in rows if r.failed)
    print("\n### Totals\n")
    print("| requests | LLM calls | billed tokens | lean baseline | % saved | zero-token answers | wrong | failed "
          "| time |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(rows)} | {sum(r.calls for r in rows)} | {billed:,} | {base:,} | {pct(base - billed, base)} | "
          f"{pct(sum(r.zero for r in rows), len(rows))} | {wrong} | {failed} | {seconds:.0f} s |")

    print("\n### Zero-token answers by kind of request\n")
    print("| kind | requests | at zero tokens | share | wrong |")
    print("|---|---:|---:|---:|---:|")
    for kind in KINDS:
        sel = [r for r in rows if r.item.kind == kind]
        print(f"| {kind} | {len(sel)} | {sum(r.zero for r in sel)} | {pct(sum(r.zero for r in sel), len(sel))} | "
              f"{sum(1 for r in sel if r.wrong)} |")

    print("\n### Model calls against the lean call (billed tokens per call / the same request's lean call)\n")
    print("| mode | calls | ratio of sums | median | max | target |")
    print("|---|---:|---:|---:|---:|---:|")
    out = {}
    for mode, target in (("LEARNER", 2.0), ("MIXED", 1.5)):
        calls, ratio, median, top = multiples(rows, mode)
        out[mode] = ratio
        print(f"| {mode} | {calls} | {ratio:.2f}× | {median:.2f}× | {top:.2f}× | ≤ {target:.1f}× |")

    print("\nWhere the prompt tokens of those calls go (mean per call; the lean call's prompt and output "
          "beside them):\n")
    print("| mode | instruction | notes (facts) | worked example | tool schemas | messages | output | lean call |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in ("LEARNER", "MIXED"):
        sel = [r for r in rows if r.mode == mode and r.calls]
        calls = sum(r.calls for r in sel) or 1
        mean = {k: sum(r.parts.get(k, 0) for r in sel) / calls for k in
                ("instruction", "notes", "example", "tools", "messages", "output")}
        lean = sum(r.baseline for r in sel) / (len(sel) or 1)
        print(f"| {mode} | " + " | ".join(f"{v:.0f}" for v in mean.values()) + f" | {lean:.0f} |")

    print(f"\n### Curve per {BLOCK} requests\n")
    learning_curve(rows, BLOCK, MODES, name_families=False)

    print("\n### Per family\n")
    print("| family | requests | zero-token | LEARNER | MIXED | billed | baseline | % saved | wrong |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in FAMILIES:
        sel = [r for r in rows if r.item.family == name]
        if not sel:
            continue
        b, bb = sum(r.billed for r in sel), sum(r.baseline for r in sel)
        print(f"| {name} | {len(sel)} | {sum(r.zero for r in sel)} | {sum(r.mode == 'LEARNER' for r in sel)} | "
              f"{sum(r.mode == 'MIXED' for r in sel)} | {b:,} | {bb:,} | {pct(bb - b, bb)} | "
              f"{sum(1 for r in sel if r.wrong)} |")

    bad = [r for r in rows if r.wrong or r.failed]
    if bad:
        print("\n### Wrong or failed answers\n")
        print("| # | family | kind | request | mode | problem |")
        print("|---:|---|---|---|---|---|")
        for r in bad[:40]:
            text = r.item.text.replace("\n", " ").replace("|", "\\|")[:90]
            print(f"| {r.index + 1} | {r.item.family} | {r.item.kind} | {text} | {r.mode} | "
                  f"{('; '.join(r.wrong) or 'failed: ' + str(r.failed))[:160]} |")
    out.update(saved=(base - billed) / base if base else 0.0, wrong=wrong, failed=failed)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 requests")
    ap.add_argument("--requests", type=int, help="stream length (default 1000; 200 with --quick)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--log", type=Path, help="write one JSON line per request here")
    args = ap.parse_args()
    n = args.requests or (200 if args.quick else 1000)
    items = stream(n, args.seed)
    kinds = Counter(i.kind for i in items)
    print(f"## General programs: {n} requests over {len({i.family for i in items})} families, seed {args.seed}, "
          f"scripted model `{MODEL_NAME}` over HTTP (openai SDK), starter skills off\n")
    print("Stream: " + ", ".join(f"{kinds[k]} {k}" for k in KINDS) + f"; {len({i.text for i in items})} distinct "
          "texts. Baseline: every request sent alone with the one-sentence system prompt, billed by the same server.")
    with ScriptedLLMServer() as srv:
        srv.responder = respond
        baseline = lean_baseline(srv, items)
        srv.reset()
        srv.responder = respond
        started = time.perf_counter()
        rows = run_stream(srv, items, baseline)
        seconds = time.perf_counter() - started
    got = print_tables(rows, seconds)
    met = got["wrong"] == 0 and got["saved"] >= 0.7 and got["LEARNER"] <= 2.0 and got["MIXED"] <= 1.5
    print("\nTargets (0 wrong, ≥ 70 % saved, LEARNER ≤ 2×, MIXED ≤ 1.5× the lean call): "
          f"{'met' if met else 'NOT met'} "
          f"({100 * got['saved']:.1f} % saved, {got['wrong']} wrong, {got['failed']} failed, LEARNER "
          f"{got['LEARNER']:.2f}×, MIXED {got['MIXED']:.2f}×).")
    if args.log:
        with args.log.open("w") as f:
            for r in rows:
                f.write(json.dumps({"text": r.item.text, "family": r.item.family, "kind": r.item.kind,
                                    "mode": r.mode, "billed": r.billed, "baseline": r.baseline, "calls": r.calls,
                                    "wrong": r.wrong, "failed": r.failed, "reason": r.reason,
                                    "ms": round(r.ms, 1)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
