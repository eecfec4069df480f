"""A scripted "LLM" for general Qiskit programs (not count-producing state preparations).

For benchmarks/general_programs.py and benchmarks/near_miss_general.py: plug `respond` into a
ScriptedLLMServer. Like testing/qiskit_model.py it is not a model: it reads the request's own words
(keywords for the kind of program, numbers and named values for its parameters, Pauli labels, gate names
in the order written, 'with measurements', 'inverse of') and writes the program a careful model would,
with each parameter assigned once at the top (`n = 4`, `theta = 0.7`) and the answer as the last
expression. Token counts are cl100k_base counts of what was sent and returned. A request it cannot read
gets a plain-text reply with no code.

Kinds of program (the words it looks for):

- Statevector of a GHZ state on n qubits                      'GHZ' + 'statevector' / 'state vector' / 'amplitudes'
- Operator of the n-qubit QFT, or of its inverse             'QFT' / 'Fourier' + 'operator' / 'unitary' / 'matrix'
- Operator of a sequence of one-qubit gates, in order        'operator' / 'unitary' + gate names (H, S, T, X, ...)
- GHZ transpiled to cx/rz/sx/x at an optimization level      'transpile' + 'GHZ'; 'measure' adds measurements
- depolarizing or amplitude-damping noise model              'noise model' + 'depolarizing' / 'amplitude damping'
- EstimatorV2 expectation of a Pauli on RY(theta) + CX       'estimator'
- SamplerV2 counts of a GHZ state                            'sampler'
- OpenQASM 2 export of a GHZ circuit (measured or not)      'qasm' + 'export' / 'dump' / 'serialize' / 'string'
- Operator of an OpenQASM 2 program given in the request    'OPENQASM 2.0;' in the request
- real_amplitudes ansatz bound to one angle, its Statevector 'real amplitudes' / 'RealAmplitudes'
- number of parameters of an efficient_su2 ansatz           'efficient su2' / 'EfficientSU2'
- RY(theta) then RZ(phi) bound by name, its Statevector       'bind' / 'assign' + theta and phi
- Pauli expectation value on a GHZ state                     'expectation' + a Pauli label + 'GHZ'
- Pauli evolution exp(-i t P) as an Operator                 'evolution' / 'exp(' + a Pauli label
- lowest eigenvalue of a * ZZ + b * XX                       'eigenvalue' / 'ground' + a and b
- reduced density matrix of qubit 0 after RY(theta) + CX     'reduced' / 'partial trace'
- a function returning a GHZ circuit, or an RX layer          'function' + 'GHZ' / 'RX'
"""
from __future__ import annotations

import re

from .llm_server import Reply, Request
from .qiskit_model import _qubits, reply_with

MODEL_NAME = "scripted-general"
KINDS = ("Statevectors, Operators, transpiles, noise models, estimators, samplers, QASM, ansätze, parameter binding, "
         "Pauli expectations and evolutions, eigenvalues, reduced states and small functions")

_FLOAT = r"[-+]?\d+(?:\.\d+)?"
_GATES = {"h": "h", "hadamard": "h", "s": "s", "t": "t", "x": "x", "y": "y", "z": "z", "sdg": "sdg", "tdg": "tdg",
          "sx": "sx"}
_ORDINALS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "once": 1, "twice": 2, "thrice": 3}


def _named(text: str, *names: str) -> float | None:
    """A value written beside its name: 'theta = 0.3', 'θ: 0.3', 'p of 0.01', 'gamma 0.2'."""
    for name in names:
        m = re.search(rf"(?<![A-Za-z]){re.escape(name)}\s*(?:=|:|\bof\b|\bis\b|\bset to\b)?\s*({_FLOAT})(?!\d)(?!\.\d)",
                      text, re.IGNORECASE)
        if m:
            return float(m.group(1))
    return None


def _pauli(text: str) -> str | None:
    """A Pauli label as Qiskit writes it: 'X⊗I', 'X ⊗ I', 'XI' -> 'XI' (upper case only: 'is' is a word)."""
    m = re.search(r"(?<![A-Za-z0-9_])([IXYZ](?:\s*(?:⊗|\\otimes|\btensor\b)\s*[IXYZ])+|[IXYZ]{2,})(?![A-Za-z0-9_])",
                  text)
    return re.sub(r"tensor|[^IXYZ]", "", m.group(1)) if m else None


def _level(text: str) -> int:
    m = re.search(r"optimi[sz]ation[\s-]+level\s*(\d)|\blevel[\s-]*(\d)\b|\bo(\d)\b", text, re.IGNORECASE)
    return int(next(g for g in m.groups() if g)) if m else 1


def _reps(text: str) -> int:
    m = re.search(r"\b(\d+|one|two|three|four|five|six)\s+(?:reps?|repetitions?|layers?)\b"
                  r"|\breps?\s*[=:]\s*(\d+)", text, re.IGNORECASE)
    if not m:
        return 1
    word = (m.group(1) or m.group(2)).lower()
    return int(word) if word.isdigit() else _ORDINALS[word]


def _shots(text: str) -> int:
    m = re.search(r"\b(\d[\d,]*)\s*(?:shots?|times|samples)\b|\bshots\s*[=:]\s*(\d+)", text)
    return int((m.group(1) or m.group(2)).replace(",", "")) if m else 1024


def _measured(low: str) -> bool:
    """'with measurements', 'measured', 'measure all', 'and measure': a circuit that ends in measurements;
    'without measurements', 'unmeasured' and 'no measurements' do not."""
    if re.search(r"\b(?:without|no)\s+(?:final\s+)?measure|\bunmeasured\b", low):
        return False
    return bool(re.search(r"\bmeasure(?:d|ments?|s)?\b", low))


def _gate_sequence(low: str) -> list[str] | None:
    """One-qubit gates in the order they act: 'H then S then T', 'T after H' (after reverses), 'the inverse
    of S' (adjoint), 'X twice'. None when the request names no gate."""
    low = re.sub(r"\bhadamard\b", "h", low)
    low = re.sub(r"\b(?:s|t)[\s-]*(?:dagger|†|dg)\b", lambda m: m.group(0)[0] + "dg", low)
    low = re.sub(r"\b(?:the\s+)?(?:inverse|adjoint)\s+of\s+(?:an?\s+|the\s+)?(s|t)\b(?:\s+gate)?", r"\1dg", low)
    parts = re.split(r"\s*(?:,\s*)?\b(?:then|followed by|and then|before)\b\s*|\s*,\s*", low)
    seq: list[str] = []
    for part in parts:
        after = re.split(r"\bafter\b", part)
        chunks = []
        for chunk in reversed(after):  # 'T after H': H acts first
            gates = [(_GATES[g], chunk) for g in re.findall(r"\b(sdg|tdg|sx|h|s|t|x|y|z)\b(?:\s*gates?)?", chunk)]
            chunks += gates
        for gate, chunk in chunks:
            m = re.search(r"\b(twice|thrice|(?:two|three|four)\s+times)\b", chunk)
            times = _ORDINALS.get(m.group(1).split()[0], 1) if m else 1
            seq += [gate] * times
    return seq or None


def _qasm_source(text: str) -> str | None:
    i = text.find("OPENQASM")
    return text[i:].strip().strip("`").strip() if i >= 0 else None


def _lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p is not None) + "\n"


def program(request: str) -> str | None:
    """The program for a request, or None when this model cannot read it."""
    raw = request
    low = request.lower()
    n = _qubits(low)
    ghz = bool(re.search(r"\bghz\b|\bcat[\s-]+state", low))
    qasm = _qasm_source(raw)
    fn = re.search(r"\b(?:called|named)\s+[`'\"]?([a-z_][a-z0-9_]*)", raw, re.IGNORECASE) \
        or re.search(r"\b(?:function|def)\b[^`'\"]*?[`'\"]?([a-z_][a-z0-9_]*)\s*\(", raw, re.IGNORECASE)
    if qasm is not None:
        return _lines("from qiskit import qasm2", "from qiskit.quantum_info import Operator", "",
                      f"source = {qasm!r}", "qc = qasm2.loads(source)", "unitary = Operator(qc)", "unitary")
    if re.search(r"\bfunction\b|\bdef\b", low) and fn:
        name = fn.group(1)
        if ghz:
            return _lines("from qiskit import QuantumCircuit", "",
                          f"def {name}(n: int) -> QuantumCircuit:",
                          '    """An n-qubit GHZ circuit (no measurements)."""',
                          "    qc = QuantumCircuit(n)", "    qc.h(0)", "    for q in range(n - 1):",
                          "        qc.cx(q, q + 1)", "    return qc")
        if re.search(r"\brx\b|x[\s-]rotation", low):
            return _lines("from qiskit import QuantumCircuit", "",
                          f"def {name}(n: int, theta: float) -> QuantumCircuit:",
                          '    """RX(theta) on every one of n qubits."""',
                          "    qc = QuantumCircuit(n)", "    qc.rx(theta, range(n))", "    return qc")
        return None
    if re.search(r"\bnoise\s*model\b", low):
        p = _named(raw, "p", "probability", "gamma", "γ", "rate", "strength")
        if p is None:
            m = re.search(rf"({_FLOAT})", raw)
            p = float(m.group(1)) if m else None
        if p is None:
            return None
        head = ("from qiskit_aer.noise import NoiseModel, {}", "", f"p = {p}", "noise_model = NoiseModel()")
        if "amplitude" in low or "damping" in low:
            return _lines(head[0].format("amplitude_damping_error"), "", f"gamma = {p}", "noise_model = NoiseModel()",
                          'noise_model.add_all_qubit_quantum_error(amplitude_damping_error(gamma), ["x", "sx"])',
                          "noise_model")
        only_cx = bool(re.search(r"\bonly\b[^.]*\bcx\b|\bcx\b[^.]*\bonly\b|two-qubit gates only|only two-qubit", low))
        one = ('noise_model.add_all_qubit_quantum_error(depolarizing_error(p, 1), ["h", "x", "sx", "rz"])'
               if not only_cx else None)
        return _lines(head[0].format("depolarizing_error"), *head[1:], one,
                      'noise_model.add_all_qubit_quantum_error(depolarizing_error(p, 2), ["cx"])', "noise_model")
    if "estimator" in low:
        theta = _named(raw, "theta", "θ", "angle")
        pauli = _pauli(raw)
        if theta is None or pauli is None or len(pauli) != 2:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.quantum_info import SparsePauliOp",
                      "from qiskit.primitives import StatevectorEstimator", "", f"theta = {theta}",
                      f'observable = SparsePauliOp("{pauli}")', "", "qc = QuantumCircuit(2)", "qc.ry(theta, 0)",
                      "qc.cx(0, 1)", "result = StatevectorEstimator().run([(qc, observable)]).result()",
                      "expectation = float(result[0].data.evs)", "expectation")
    if "sampler" in low:
        n = n or 2
        return _lines("from qiskit import QuantumCircuit", "from qiskit.primitives import StatevectorSampler", "",
                      f"n = {n}", f"shots = {_shots(raw)}", "qc = QuantumCircuit(n)", "qc.h(0)",
                      "for q in range(n - 1):", "    qc.cx(q, q + 1)", "qc.measure_all()",
                      "result = StatevectorSampler().run([qc], shots=shots).result()",
                      "counts = result[0].data.meas.get_counts()", "counts")
    if "qasm" in low and ghz:
        n = n or 3
        measure = "qc.measure_all()" if _measured(low) else None
        return _lines("from qiskit import QuantumCircuit, qasm2", "", f"n = {n}", "qc = QuantumCircuit(n)", "qc.h(0)",
                      "for q in range(n - 1):", "    qc.cx(q, q + 1)", measure, "source = qasm2.dumps(qc)", "source")
    if re.search(r"\btranspil|\bcompil", low) and ghz:
        n = n or 3
        measure = "qc.measure_all()" if _measured(low) else None
        return _lines("from qiskit import QuantumCircuit, transpile", "", f"n = {n}", f"level = {_level(raw)}",
                      "qc = QuantumCircuit(n)", "qc.h(0)", "for q in range(n - 1):", "    qc.cx(q, q + 1)", measure,
                      'compiled = transpile(qc, basis_gates=["cx", "rz", "sx", "x"], optimization_level=level, '
                      "seed_transpiler=7)", "compiled")
    if re.search(r"real[\s_-]*amplitudes", low):
        theta = _named(raw, "theta", "θ", "angle", "value")
        if n is None or theta is None:
            return None
        return _lines("from qiskit.circuit.library import real_amplitudes",
                      "from qiskit.quantum_info import Statevector", "", f"n = {n}", f"reps = {_reps(raw)}",
                      f"theta = {theta}", "ansatz = real_amplitudes(n, reps=reps)",
                      "bound = ansatz.assign_parameters([theta] * ansatz.num_parameters)", "state = Statevector(bound)",
                      "state")
    if re.search(r"efficient[\s_-]*su\(?2", low):
        if n is None:
            return None
        return _lines("from qiskit.circuit.library import efficient_su2", "", f"n = {n}", f"reps = {_reps(raw)}",
                      "ansatz = efficient_su2(n, reps=reps)", "count = ansatz.num_parameters", "count")
    if re.search(r"\b(?:bind|bound|assign)", low):
        theta, phi = _named(raw, "theta", "θ"), _named(raw, "phi", "φ", "ϕ")
        if theta is None or phi is None:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.circuit import Parameter",
                      "from qiskit.quantum_info import Statevector", "", f"theta = {theta}", f"phi = {phi}",
                      'a, b = Parameter("theta"), Parameter("phi")', "qc = QuantumCircuit(1)", "qc.ry(a, 0)",
                      "qc.rz(b, 0)", "bound = qc.assign_parameters({a: theta, b: phi})", "state = Statevector(bound)",
                      "state")
    if re.search(r"\breduced\b|partial\s+trace|\btrace\s+out", low):
        theta = _named(raw, "theta", "θ", "angle")
        if theta is None:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.quantum_info import Statevector, partial_trace",
                      "", f"theta = {theta}", "qc = QuantumCircuit(2)", "qc.ry(theta, 0)", "qc.cx(0, 1)",
                      "rho = partial_trace(Statevector(qc), [1])  # keep qubit 0", "rho")
    if re.search(r"\beigen|\bground\b|\blowest\s+energy", low):
        # the coefficients by the names written before the Pauli terms: 'J ZZ + g XX', 'J*ZZ + g*XX'
        terms = re.findall(r"([A-Za-z]\w*)\s*\*?\s*([IXYZ]{2,})\b", raw)
        values = [(name, label, _named(raw.split("=", 1)[-1] if "H =" in raw else raw, name)) for name, label in terms]
        if not values or any(v is None for _, _, v in values):
            return None
        return _lines("import numpy as np", "from qiskit.quantum_info import SparsePauliOp", "",
                      *(f"{name} = {v}" for name, _, v in values),
                      f"hamiltonian = SparsePauliOp({[label for _, label, _ in values]!r}, "
                      f"coeffs=[{', '.join(name for name, _, _ in values)}])",
                      "energy = float(np.linalg.eigvalsh(hamiltonian.to_matrix())[0])", "energy")
    if re.search(r"evolution|\bexp\s*\(|\bevolve", low):
        t, pauli = _named(raw, "t", "time"), _pauli(raw)
        if t is None or pauli is None:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.circuit.library import PauliEvolutionGate",
                      "from qiskit.quantum_info import Operator, SparsePauliOp", "", f"t = {t}",
                      f'generator = SparsePauliOp("{pauli}")', "qc = QuantumCircuit(generator.num_qubits)",
                      "qc.append(PauliEvolutionGate(generator, time=t), range(generator.num_qubits))",
                      "unitary = Operator(qc)", "unitary")
    if re.search(r"expectation|<[^>]*>", low) and ghz:
        pauli = _pauli(raw)
        if pauli is None:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.quantum_info import SparsePauliOp, Statevector",
                      "", f'observable = SparsePauliOp("{pauli}")', "n = observable.num_qubits",
                      "qc = QuantumCircuit(n)", "qc.h(0)", "for q in range(n - 1):", "    qc.cx(q, q + 1)",
                      "value = float(Statevector(qc).expectation_value(observable).real)", "value")
    if ghz and re.search(r"state\s*vector|amplitudes", low):
        n = n or 3
        return _lines("from qiskit import QuantumCircuit", "from qiskit.quantum_info import Statevector", "",
                      f"n = {n}", "qc = QuantumCircuit(n)", "qc.h(0)", "for q in range(n - 1):", "    qc.cx(q, q + 1)",
                      "state = Statevector(qc)", "state")
    if re.search(r"\bqft\b|fourier", low):
        n = n or 3
        inverse = bool(re.search(r"\binverse\b|\binverted\b|\badjoint\b", low))
        return _lines("from qiskit import QuantumCircuit", "from qiskit.circuit.library import QFTGate",
                      "from qiskit.quantum_info import Operator", "", f"n = {n}", "qc = QuantumCircuit(n)",
                      "qc.append(QFTGate(n)" + (".inverse()" if inverse else "") + ", range(n))",
                      "unitary = Operator(qc)", "unitary")
    if re.search(r"\b(?:operator|unitary|matrix)\b", low):
        seq = _gate_sequence(low)
        if not seq:
            return None
        return _lines("from qiskit import QuantumCircuit", "from qiskit.quantum_info import Operator", "",
                      "qc = QuantumCircuit(1)", *(f"qc.{g}(0)" for g in seq), "unitary = Operator(qc)", "unitary")
    return None


def respond(req: Request) -> Reply:
    """ScriptedLLMServer responder: `server.responder = respond`."""
    code = program(req.last_user_text().rpartition("\nNew request: ")[2])
    return reply_with(req, code, refusal=f"I can only write {KINDS}.", note="It ends with the requested value.",
                      model=MODEL_NAME)
