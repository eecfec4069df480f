"""Starter skills: hand-written, verified programs for the circuits users ask for most.

Each skill is a complete Qiskit 2.x program in which the request's parameters are
placeholders (`SLOT_<kind>_<i>`, the i-th slot of that kind in the request, as
`text.normalize` reads it). Instantiating a skill replaces each placeholder with the
Python literal of its value. `checks` names the checks from `checks.CHECKS` that hold for
every valid parameter value, so a replay of the skill can be verified like a learned trace.

Qiskit orders bits little-endian: in a counts key such as '101' qubit 0 is the rightmost
character, so the programs read bit strings with `reversed(...)`.
"""
from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

from ..settings import DEFAULT_SHOTS
from .templates import PLACEHOLDER



@dataclass(frozen=True)
class Param:
    placeholder: str  # "SLOT_qubits_0"
    name: str  # python parameter name: "qubits", "shots", "marked", "layers", ...
    kind: str  # qubits | shots | bits | number | ket
    default: object  # used when the request does not give it
    minimum: int | None = None  # ints: the valid range; bits: bounds on the string's length
    maximum: int | None = None

    def check(self, value: object) -> object:
        """The value, validated (and normalized: 5.0 -> 5); ValueError naming the parameter otherwise."""
        if self.kind == "bits":
            if not isinstance(value, str) or not re.fullmatch(r"[01]+", value):
                raise ValueError(f"{self.name} must be a string of 0s and 1s, got {value!r}")
            if not self._within(len(value)):
                size = f"exactly {self.minimum}" if self.minimum == self.maximum else self._range()
                raise ValueError(f"{self.name} must have {size} bits, got {value!r} ({len(value)} bits)")
            return value
        if self.kind == "ket":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{self.name} must be a ket label, got {value!r}")
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{self.name} must be an integer in {self._range()}, got {value!r}")
        value = int(value)
        if not self._within(value):
            raise ValueError(f"{self.name} must be in {self._range()}, got {value}")
        return value

    def _within(self, x: int) -> bool:
        return (self.minimum is None or x >= self.minimum) and (self.maximum is None or x <= self.maximum)

    def _range(self) -> str:
        lo = "-inf" if self.minimum is None else f"{self.minimum:_}"
        hi = "inf" if self.maximum is None else f"{self.maximum:_}"
        return f"{lo}..{hi}"


@dataclass(frozen=True)
class Skill:
    name: str  # python identifier, e.g. "ghz_state"
    title: str  # "GHZ state"
    phrases: tuple[str, ...]  # natural requests meaning this skill
    params: tuple[Param, ...]  # always includes shots (SLOT_shots_0)
    code: str  # complete program with the placeholders; ends by printing `counts`
    checks: tuple[str, ...]  # names from checks.CHECKS that hold for every valid parameter value

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def values(self, **given) -> dict[str, object]:
        """placeholder -> value, defaults filled in and every value range-checked (ValueError)."""
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"{self.name} has no parameter {', '.join(unknown)} "
                             f"(parameters: {', '.join(p.name for p in self.params)})")
        return {p.placeholder: p.check(given.get(p.name, p.default)) for p in self.params}

    def check_values(self, **given) -> dict[str, object]:
        """{kind: value} (first parameter of each kind), as `checks.failures` takes them."""
        by_placeholder = self.values(**given)
        out: dict[str, object] = {}
        for p in self.params:
            out.setdefault(p.kind, by_placeholder[p.placeholder])
        return out

    def instantiate(self, **given) -> str:
        """The runnable program; `given` is keyed by Param.name."""
        values = self.values(**given)
        return PLACEHOLDER.sub(lambda m: repr(values[m.group(0)]), self.code)

    @property
    def defaults(self) -> dict[str, object]:
        """placeholder -> default value."""
        return {p.placeholder: p.default for p in self.params}


SHOTS = Param("SLOT_shots_0", "shots", "shots", DEFAULT_SHOTS, 1, 1_000_000)


def _program(body: str, *imports: str, qiskit: str = "QuantumCircuit, transpile") -> str:
    """A complete program: imports (plain ones first), the body, then the shared run-and-print tail."""
    plain = [i for i in imports if not i.startswith("from qiskit")]
    library = [i for i in imports if i.startswith("from qiskit")]
    head = [*plain, f"from qiskit import {qiskit}", "from qiskit_aer import AerSimulator", *library]
    return "\n".join(head) + "\n\n" + body.strip("\n") + """

sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=shots).result().get_counts()
print(counts)
"""


BELL_STATE = Skill(
    name="bell_state",
    title="Bell state",
    phrases=(
        "Create a Bell state circuit",
        "Prepare an EPR pair and measure it",
        "Make a Bell pair and sample it with 2,048 shots",
        "Entangle a pair of qubits into a Bell state",
        "Prepare an EPR pair on two qubits",
        "Build the Phi+ Bell state with a Hadamard and a CNOT",
        "Simulate a Bell state with 500 shots",
    ),
    params=(SHOTS,),
    code=_program("""
shots = SLOT_shots_0

# (|00> + |11>)/sqrt(2): a Hadamard, then a CNOT
qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
qc.measure_all()
"""),
    checks=("ghz_support",),
)

GHZ_STATE = Skill(
    name="ghz_state",
    title="GHZ state",
    phrases=(
        "Create a GHZ state with five qubits, 2,048 shots",
        "Prepare a 4-qubit GHZ state",
        "Make a cat state on 6 qubits",
        "Build a Greenberger-Horne-Zeilinger state",
        "GHZ circuit with 8 qubits and 4096 shots",
        "Entangle three qubits in a GHZ state and measure them",
    ),
    params=(Param("SLOT_qubits_0", "qubits", "qubits", 3, 2, 20), SHOTS),
    code=_program("""
n = SLOT_qubits_0
shots = SLOT_shots_0

# (|0...0> + |1...1>)/sqrt(2): a Hadamard, then a chain of CNOTs
qc = QuantumCircuit(n)
qc.h(0)
for q in range(n - 1):
    qc.cx(q, q + 1)
qc.measure_all()
"""),
    checks=("ghz_support",),
)

UNIFORM_SUPERPOSITION = Skill(
    name="uniform_superposition",
    title="Uniform superposition",
    phrases=(
        "Put 4 qubits in an equal superposition",
        "Apply a Hadamard to every qubit of a 3-qubit register and measure",
        "Create a uniform superposition over all basis states",
        "Generate random bits with Hadamard gates on 8 qubits",
        "Prepare the uniform superposition on five qubits with 10000 shots",
    ),
    params=(Param("SLOT_qubits_0", "qubits", "qubits", 3, 1, 12), SHOTS),
    code=_program("""
n = SLOT_qubits_0
shots = SLOT_shots_0

# A Hadamard on every qubit: all 2**n outcomes equally likely
qc = QuantumCircuit(n)
qc.h(range(n))
qc.measure_all()
"""),
    checks=(),
)

BASIS_STATE = Skill(
    name="basis_state",
    title="Basis state preparation",
    phrases=(
        "Prepare the basis state |101>",
        "Prepare the computational basis state 0110 and measure it",
        "Flip qubits with X gates to encode 1001",
        "Initialize the register in state |11010> and measure",
        "Load the bitstring 0111 into qubits and measure with 100 shots",
    ),
    params=(Param("SLOT_bits_0", "bits", "bits", "101", 1, 16), SHOTS),
    code=_program("""
bits = SLOT_bits_0
shots = SLOT_shots_0
n = len(bits)

# X on every qubit whose bit is 1 (qubit 0 is the rightmost bit)
qc = QuantumCircuit(n)
for q, bit in enumerate(reversed(bits)):
    if bit == "1":
        qc.x(q)
qc.measure_all()
"""),
    checks=("exact_bits", "width_is_bits", "single_outcome"),
)

QFT = Skill(
    name="qft",
    title="QFT round trip",
    phrases=(
        "Apply the QFT to |101> and then the inverse QFT",
        "Quantum Fourier transform round trip on the basis state 0110",
        "Encode 1101 in the Fourier basis and decode it with the inverse QFT",
        "Show that the inverse QFT undoes the QFT on |0011>",
        "Run a QFT followed by an inverse QFT",
    ),
    params=(Param("SLOT_bits_0", "bits", "bits", "101", 1, 10), SHOTS),
    code=_program("""
bits = SLOT_bits_0
shots = SLOT_shots_0
n = len(bits)

qc = QuantumCircuit(n)
for q, bit in enumerate(reversed(bits)):  # prepare |bits> (qubit 0 is the rightmost bit)
    if bit == "1":
        qc.x(q)
qc.append(QFTGate(n), range(n))  # into the Fourier basis
qc.append(QFTGate(n).inverse(), range(n))  # and back: the outcome is `bits` again
qc.measure_all()
""", "from qiskit.circuit.library import QFTGate"),
    checks=("exact_bits", "width_is_bits", "single_outcome"),
)

GROVER_SEARCH = Skill(
    name="grover_search",
    title="Grover search",
    phrases=(
        "Run Grover search for the marked state 101",
        "Use Grover's algorithm to find |0110> with 4000 shots",
        "Grover search for the item 11",
        "Implement Grover's algorithm with an oracle marking 1010",
        "Find the marked element 00111 with amplitude amplification",
        "Run Grover's search algorithm",
    ),
    params=(Param("SLOT_bits_0", "marked", "bits", "101", 2, 6), SHOTS),
    code=_program("""
marked = SLOT_bits_0
shots = SLOT_shots_0
n = len(marked)
iterations = math.floor(math.pi / 4 * math.sqrt(2 ** n))
zeros = [q for q, bit in enumerate(reversed(marked)) if bit == "0"]  # qubit 0 is the rightmost bit


def flip_all_ones(qc):  # multi-controlled Z: phase -1 on |1...1>
    qc.mcp(math.pi, list(range(n - 1)), n - 1)


qc = QuantumCircuit(n)
qc.h(range(n))
for _ in range(iterations):
    # oracle: X on the 0 bits turns |marked> into |1...1>, whose phase is flipped
    if zeros:
        qc.x(zeros)
    flip_all_ones(qc)
    if zeros:
        qc.x(zeros)
    # diffuser: reflect about the uniform superposition
    qc.h(range(n))
    qc.x(range(n))
    flip_all_ones(qc)
    qc.x(range(n))
    qc.h(range(n))
qc.measure_all()
""", "import math"),
    checks=("top_is_bits", "width_is_bits"),
)

BERNSTEIN_VAZIRANI = Skill(
    name="bernstein_vazirani",
    title="Bernstein-Vazirani",
    phrases=(
        "Find the secret string 1011 with Bernstein-Vazirani",
        "Run BV with secret 110",
        "Bernstein-Vazirani algorithm for the hidden bitstring 10101",
        "Recover the secret 0111 with one oracle query",
        "Implement the Bernstein-Vazirani algorithm",
    ),
    params=(Param("SLOT_bits_0", "secret", "bits", "1011", 1, 12), SHOTS),
    code=_program("""
secret = SLOT_bits_0
shots = SLOT_shots_0
n = len(secret)

qc = QuantumCircuit(n + 1, n)
qc.x(n)  # ancilla in |->
qc.h(range(n + 1))
for q, bit in enumerate(reversed(secret)):  # oracle f(x) = secret . x (mod 2); qubit 0 is the rightmost bit
    if bit == "1":
        qc.cx(q, n)
qc.h(range(n))
qc.measure(range(n), range(n))  # reads out the secret
"""),
    checks=("exact_bits", "width_is_bits", "single_outcome"),
)

DEUTSCH_JOZSA_BALANCED = Skill(
    name="deutsch_jozsa_balanced",
    title="Deutsch-Jozsa (balanced oracle)",
    phrases=(
        "Run Deutsch-Jozsa with a balanced oracle on 4 qubits",
        "Deutsch-Jozsa algorithm with a balanced function",
        "Show Deutsch-Jozsa detecting a balanced oracle on three qubits",
        "DJ algorithm, balanced oracle, 5 qubits, 2000 shots",
        "Test whether a balanced function is constant with the Deutsch-Jozsa algorithm",
    ),
    params=(Param("SLOT_qubits_0", "qubits", "qubits", 3, 1, 10), SHOTS),
    code=_program("""
n = SLOT_qubits_0  # input qubits
shots = SLOT_shots_0

qc = QuantumCircuit(n + 1, n)
qc.x(n)  # ancilla in |->
qc.h(range(n + 1))
for q in range(n):  # balanced oracle: f(x) = parity of x
    qc.cx(q, n)
qc.h(range(n))
qc.measure(range(n), range(n))  # never all zeros: the function is balanced
"""),
    checks=("never_all_zero", "single_outcome"),
)

DEUTSCH_JOZSA_CONSTANT = Skill(
    name="deutsch_jozsa_constant",
    title="Deutsch-Jozsa (constant oracle)",
    phrases=(
        "Run Deutsch-Jozsa with a constant oracle on 4 qubits",
        "Deutsch-Jozsa algorithm with a constant function",
        "Show Deutsch-Jozsa recognizing a constant oracle on three qubits",
        "DJ algorithm, constant oracle, 6 qubits",
        "Deutsch-Jozsa with a constant oracle using 512 shots",
    ),
    params=(Param("SLOT_qubits_0", "qubits", "qubits", 3, 1, 10), SHOTS),
    code=_program("""
n = SLOT_qubits_0  # input qubits
shots = SLOT_shots_0

qc = QuantumCircuit(n + 1, n)
qc.x(n)  # ancilla in |->
qc.h(range(n + 1))
qc.x(n)  # constant oracle: f(x) = 1 for every x
qc.h(range(n))
qc.measure(range(n), range(n))  # always all zeros: the function is constant
"""),
    checks=("all_zero", "single_outcome"),
)

W_STATE = Skill(
    name="w_state",
    title="W state",
    phrases=(
        "Prepare a W state on 4 qubits",
        "Create a W state",
        "Build a W state with five qubits and 2000 shots",
        "Make a W state with 6 qubits and check every outcome is one-hot",
        "Generate the W state on three qubits",
    ),
    params=(Param("SLOT_qubits_0", "qubits", "qubits", 3, 2, 10), SHOTS),
    code=_program("""
n = SLOT_qubits_0
shots = SLOT_shots_0

# Start from |0...01>, then pass the excitation along: qubit q keeps it with
# probability 1/(n - q) and hands it to qubit q + 1 otherwise.
qc = QuantumCircuit(n)
qc.x(0)
for q in range(n - 1):
    qc.cry(2 * np.arccos(np.sqrt(1 / (n - q))), q, q + 1)
    qc.cx(q + 1, q)
qc.measure_all()
""", "import numpy as np"),
    checks=("one_hot",),
)

TELEPORTATION = Skill(
    name="teleportation",
    title="Quantum teleportation",
    phrases=(
        "Teleport |1> from Alice to Bob",
        "Demonstrate quantum teleportation of the state |0>",
        "Build a quantum teleportation circuit",
        "Teleport a qubit in state |1> and measure Bob's qubit with 1000 shots",
        "Show how Alice sends |0> to Bob with teleportation",
    ),
    params=(Param("SLOT_bits_0", "state", "bits", "1", 1, 1), SHOTS),
    code=_program("""
state = SLOT_bits_0  # the basis state to teleport: "0" or "1"
shots = SLOT_shots_0

msg, alice, bob = QuantumRegister(1, "msg"), QuantumRegister(1, "alice"), QuantumRegister(1, "bob")
result = ClassicalRegister(1, "result")
qc = QuantumCircuit(msg, alice, bob, result)

if state == "1":
    qc.x(msg)  # the state to send
qc.h(alice)  # Alice and Bob share a Bell pair
qc.cx(alice, bob)
qc.barrier()
qc.cx(msg, alice)  # Alice's Bell-basis measurement, rotated to the Z basis
qc.h(msg)
qc.barrier()
# Bob's corrections, controlled by Alice's qubits (deferred measurement: the same as
# measuring them and applying X and Z under `if_test`)
qc.cx(alice, bob)
qc.cz(msg, bob)
qc.measure(bob, result)
""", qiskit="ClassicalRegister, QuantumCircuit, QuantumRegister, transpile"),
    checks=("exact_bits", "width_is_bits", "single_outcome"),
)

VQE_ANSATZ = Skill(
    name="vqe_ansatz",
    title="VQE ansatz (RealAmplitudes)",
    phrases=(
        "Build a VQE ansatz on 4 qubits with 2 reps",
        "Build a hardware-efficient VQE ansatz with three layers on four qubits",
        "Create a RealAmplitudes ansatz with random parameters and measure it",
        "Sample a hardware-efficient ansatz on 6 qubits",
        "Make a parameterized VQE ansatz with 3 repetitions on 5 qubits and 2048 shots",
    ),
    params=(
        Param("SLOT_qubits_0", "qubits", "qubits", 4, 2, 10),
        Param("SLOT_number_0", "reps", "number", 2, 1, 5),
        SHOTS,
    ),
    code=_program("""
n = SLOT_qubits_0
reps = SLOT_number_0
shots = SLOT_shots_0

# Hardware-efficient ansatz: RY layers with CNOT entanglers, bound to fixed random angles
ansatz = real_amplitudes(n, reps=reps)
rng = np.random.default_rng(seed=7)
qc = ansatz.assign_parameters(rng.uniform(0, 2 * np.pi, ansatz.num_parameters))
qc.measure_all()
""", "from qiskit.circuit.library import real_amplitudes", "import numpy as np"),
    checks=(),
)

QAOA_MAXCUT = Skill(
    name="qaoa_maxcut",
    title="QAOA MaxCut on a ring",
    phrases=(
        "QAOA MaxCut on a 6-node ring with two layers",
        "Run QAOA for max-cut on a ring of 5 nodes with 2 layers",
        "Solve MaxCut on a ring graph with QAOA",
        "QAOA max cut for a 4-node cycle graph with 1 layer and 4096 shots",
        "Build a QAOA circuit for MaxCut on a ring with 8 nodes",
    ),
    params=(
        Param("SLOT_number_0", "nodes", "number", 4, 3, 10),
        Param("SLOT_number_1", "layers", "number", 1, 1, 4),
        SHOTS,
    ),
    code=_program("""
nodes = SLOT_number_0
layers = SLOT_number_1  # p
shots = SLOT_shots_0

edges = [(i, (i + 1) % nodes) for i in range(nodes)]  # a ring
# Fixed angles on a linear ramp: gamma grows and beta shrinks from layer to layer
t = (np.arange(layers) + 0.5) / layers
gammas, betas = 0.8 * t, 0.8 * (1 - t)

qc = QuantumCircuit(nodes)
qc.h(range(nodes))
for gamma, beta in zip(gammas, betas):
    for i, j in edges:  # cost layer: exp(-i gamma (1 - Z_i Z_j)) per edge
        qc.rzz(-2 * gamma, i, j)
    qc.rx(2 * beta, range(nodes))  # mixer layer: exp(-i beta X) per qubit
qc.measure_all()
""", "import numpy as np"),
    checks=(),
)

SKILLS: tuple[Skill, ...] = (
    BELL_STATE, GHZ_STATE, UNIFORM_SUPERPOSITION, BASIS_STATE, QFT, GROVER_SEARCH, BERNSTEIN_VAZIRANI,
    DEUTSCH_JOZSA_BALANCED, DEUTSCH_JOZSA_CONSTANT, W_STATE, TELEPORTATION, VQE_ANSATZ, QAOA_MAXCUT,
)
_BY_NAME = {s.name: s for s in SKILLS}


def skill(name: str) -> Skill:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no starter skill {name!r}; skills: {', '.join(_BY_NAME)}") from None
