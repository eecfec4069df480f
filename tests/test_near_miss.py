"""A word that changes the circuit is never ignored: a replay needs every content word of the request to
be said by the trace's verified requests (and nothing they all say to be left out); otherwise the
request goes to the model, with the trace as its worked example.

Each pair is one circuit apart by a word or two while its embedding stays close. The model is scripted
to write the right program for each request, so what a request runs shows whose program answered it.
"""
import pytest

from conftest import Reply
from llmos_jupyter import Mode
from llmos_jupyter.testing import qiskit_model


def program(body: str, qubits: int, clbits: int | None = None) -> str:
    register = f"{qubits}" if clbits is None else f"{qubits}, {clbits}"
    measure = "qc.measure_all()\n" if clbits is None else ""
    return ("from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\n"
            f"qc = QuantumCircuit({register})\n{body}{measure}sim = AerSimulator()\n"
            "print(sim.run(transpile(qc, sim), shots=1024).result().get_counts())\n")


QFT_101 = "from qiskit.circuit.library import QFTGate\nqc.x(0)\nqc.x(2)\nqc.append(QFTGate(3), range(3))\n"
GHZ_4 = "qc.h(0)\nfor q in range(3):\n    qc.cx(q, q + 1)\n"


def every(n: int) -> set[str]:
    return {format(i, f"0{n}b") for i in range(2 ** n)}


PROGRAMS = {  # request -> (its program, the outcomes it must produce)
    "Apply a Hadamard to each of 4 qubits and measure": (program("qc.h(range(4))\n", 4), every(4)),
    "Apply a Hadamard to each of 4 qubits twice and measure": (
        program("qc.h(range(4))\nqc.h(range(4))\n", 4), {"0000"}),  # H·H is the identity
    "Apply the QFT to the basis state 101": (program(QFT_101, 3), every(3)),
    "Apply the QFT to the basis state 101 and then its inverse": (
        program(QFT_101 + "qc.append(QFTGate(3).inverse(), range(3))\n", 3), {"101"}),
    "Apply an X gate to each of 3 qubits and measure": (program("qc.x(range(3))\n", 3), {"111"}),
    "Apply a Hadamard to each of 3 qubits and measure": (program("qc.h(range(3))\n", 3), every(3)),
    "Prepare the Bell state Phi+": (program("qc.h(0)\nqc.cx(0, 1)\n", 2), {"00", "11"}),
    "Prepare the Bell state Psi+": (program("qc.h(0)\nqc.cx(0, 1)\nqc.x(1)\n", 2), {"01", "10"}),
    "Prepare the standard Bell state Psi+": (program("qc.h(0)\nqc.cx(0, 1)\nqc.x(1)\n", 2), {"01", "10"}),
    "Prepare a Bell state": (program("qc.h(0)\nqc.cx(0, 1)\n", 2), {"00", "11"}),
    "Prepare a Bell state and flip qubit 0": (program("qc.h(0)\nqc.cx(0, 1)\nqc.x(0)\n", 2), {"01", "10"}),
    "Prepare a GHZ state on 4 qubits and measure it": (program(GHZ_4, 4), {"0000", "1111"}),
    "Prepare a GHZ state on 4 qubits and measure only the first 2 qubits": (
        program(GHZ_4 + "qc.measure([0, 1], [0, 1])\n", 4, 4), {"0000", "0011"}),
    "Prepare 2 entangled qubits in superposition": (program("qc.h(0)\nqc.cx(0, 1)\n", 2), {"00", "11"}),
    "Prepare 2 unentangled qubits in superposition": (program("qc.h(0)\nqc.h(1)\n", 2), every(2)),
    # the scripted model's Deutsch-Jozsa reads out only the input register
    "Run Deutsch-Jozsa with a constant oracle on 3 qubits": (None, {"000"}),
    "Run Deutsch-Jozsa with a balanced oracle on 3 qubits": (None, {"111"}),
    "Apply X then H to one qubit": (program("qc.x(0)\nqc.h(0)\n", 1), every(1)),  # |->
    "Apply H then X to one qubit": (program("qc.h(0)\nqc.x(0)\n", 1), every(1)),  # |+>
}
PAIRS = [
    ("Apply a Hadamard to each of 4 qubits and measure", "Apply a Hadamard to each of 4 qubits twice and measure"),
    ("Apply the QFT to the basis state 101", "Apply the QFT to the basis state 101 and then its inverse"),
    ("Apply a Hadamard to each of 3 qubits and measure", "Apply an X gate to each of 3 qubits and measure"),
    ("Prepare the Bell state Phi+", "Prepare the Bell state Psi+"),
    ("Prepare a Bell state", "Prepare a Bell state and flip qubit 0"),
    ("Prepare a GHZ state on 4 qubits and measure it",
     "Prepare a GHZ state on 4 qubits and measure only the first 2 qubits"),
    ("Prepare 2 entangled qubits in superposition", "Prepare 2 unentangled qubits in superposition"),
    ("Run Deutsch-Jozsa with a constant oracle on 3 qubits", "Run Deutsch-Jozsa with a balanced oracle on 3 qubits"),
]


def answer(req):
    """The right program for every request above; the scripted Qiskit model for the rest."""
    code = PROGRAMS.get(req.last_user_text().strip(), (None,))[0]
    if code is None:
        return qiskit_model.respond(req)
    return Reply(text=f"```python\n{code}```", input_tokens=200, output_tokens=80)


@pytest.fixture
def engine(make_engine, server):
    server.responder = answer
    return make_engine("openai")


def teach(engine, text):
    first = engine.run(text)
    assert first.verified and first.trace_id and set(first.counts) == PROGRAMS.get(text, (None, set(first.counts)))[1]
    return first


@pytest.mark.parametrize("first,second", PAIRS + [(b, a) for a, b in PAIRS], ids=lambda text: text[:40])
def test_a_near_miss_goes_to_the_model_and_runs_its_own_program(engine, server, first, second):
    teach(engine, first)
    calls = len(server.requests)
    r = engine.run(second)
    assert r.mode in (Mode.MIXED, Mode.LEARNER), r.why
    assert len(server.requests) == calls + 1 and set(r.counts) == PROGRAMS[second][1]


def test_the_rejected_replay_names_the_words_it_never_verified(engine):
    first = teach(engine, "Apply a Hadamard to each of 4 qubits and measure")
    r = engine.run("Apply a Hadamard to each of 4 qubits twice and measure")
    assert r.mode == Mode.MIXED and r.counts == {"0000": 1024}
    assert f"{first.trace_id}: the verified requests never say 'twice'" in r.why["reason"]


def test_leaving_out_a_word_every_verified_request_says_is_a_near_miss_too(engine):
    twice = teach(engine, "Apply a Hadamard to each of 4 qubits twice and measure")
    r = engine.run("Apply a Hadamard to each of 4 qubits and measure")
    assert r.mode == Mode.MIXED and r.counts != {"0000": 1024}
    assert f"{twice.trace_id}: every verified request says more: the request never says 'twice'" in r.why["reason"]


@pytest.mark.parametrize("first,paraphrase", [
    ("Prepare a Bell state", "Please create the Bell state"),
    ("Prepare a Bell state", "Can you build a Bell state?"),
    ("Apply a Hadamard to each of 4 qubits and measure",
     "Please apply a Hadamard to each of the 4 qubits and measure them"),
    ("Apply a Hadamard to each of 4 qubits and measure", "Could you apply a Hadamard to each of 4 qubits and measure?"),
    ("Prepare the Bell state Psi+", "Could you prepare the Bell state Psi+?"),
    ("Prepare the Bell state Psi+", "Prepare the Psi+ Bell state"),
])
def test_a_paraphrase_that_changes_only_fixed_words_still_replays(engine, server, first, paraphrase):
    taught = teach(engine, first)
    calls = len(server.requests)
    r = engine.run(paraphrase)
    assert r.mode == Mode.FOLLOWER and r.trace_id == taught.trace_id and len(server.requests) == calls, r.why


def test_a_new_wording_verified_once_replays_after(engine, server):
    taught = teach(engine, "Prepare the Bell state Psi+")
    wording = "Prepare the standard Bell state Psi+"
    first = engine.run(wording)
    assert first.mode == Mode.MIXED and "never say 'standard'" in first.why["reason"]
    assert first.trace_id == taught.trace_id and first.why["learned"]["new"] is False  # now an alias
    calls = len(server.requests)
    again = engine.run(wording)
    assert again.mode == Mode.FOLLOWER and again.trace_id == taught.trace_id and len(server.requests) == calls


def test_gates_named_in_another_order_are_another_circuit(engine, server):
    taught = teach(engine, "Apply X then H to one qubit")
    calls = len(server.requests)
    r = engine.run("Apply H then X to one qubit")
    assert r.mode == Mode.MIXED and len(server.requests) == calls + 1
    assert "qc.h(0)\nqc.x(0)" in r.code  # its own program ran, not the learned X-then-H
    assert f"{taught.trace_id}: no verified request names the gates h, x in this order" in r.why["reason"]


def test_under_the_follower_threshold_the_words_still_decide(make_engine, server):
    server.responder = answer
    engine = make_engine("openai", follower_threshold=0.999, reworded_margin=0.2)  # band from 0.799
    taught = teach(engine, "Prepare a GHZ state on 4 qubits and measure it")
    calls = len(server.requests)
    same = engine.run("Could you build me the GHZ state with 4 qubits and measure it?")  # fixed words differ
    assert same.mode == Mode.FOLLOWER and same.trace_id == taught.trace_id and len(server.requests) == calls
    assert 0.799 <= same.why["score"] < 0.999 and "content words in its order" in same.why["reason"]
    other = engine.run("Prepare an entangled GHZ state on 4 qubits")  # one word more: the model is asked
    assert other.mode == Mode.MIXED and len(server.requests) == calls + 1
    assert "the verified requests never say 'entangled'" in other.why["reason"]
    off = make_engine("openai", home=engine.home.parent / "off", follower_threshold=0.999, reworded_margin=0)
    teach(off, "Prepare a GHZ state on 4 qubits and measure it")
    assert off.run("Could you build me the GHZ state with 4 qubits and measure it?").mode == Mode.MIXED


def test_content_words_leave_out_slots_and_only_the_fixed_words():
    from llmos_jupyter.text.normalize import normalize
    from llmos_jupyter.text.words import content_words

    def words(text):
        return set(content_words(normalize(text).key).values())

    assert words("Can you please write Qiskit code that builds a Bell state circuit for me?") == {"bell", "state"}
    # prepositions, conjunctions, measuring and repeating are content: they compose the program
    assert words("Apply a Hadamard to each of 4 qubits twice and measure") == {
        "apply", "hadamard", "to", "each", "qubits", "twice", "and", "measure"}  # "of <n> qubits" is the width
    assert words("Don't measure the Bell state") == {"not", "measure", "bell", "state"}
    assert words("Prepare the Phi+ Bell state") == {"phi", "+", "bell", "state"}
    same = content_words(normalize("Measuring the entangled qubits").key)
    assert same.keys() == content_words(normalize("measure an entangle qubit").key).keys()


# Issue #24: one pair per kind of word or symbol that changes the program; each asked after the other was
# learned goes to the model and runs its own program.
def expectation(pauli: str) -> str:
    return ("from qiskit import QuantumCircuit\nfrom qiskit.quantum_info import SparsePauliOp, Statevector\n\n"
            "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\n"
            f"print(round(float(Statevector(qc).expectation_value(SparsePauliOp('{pauli}')).real), 6))\n")


def ghz_depth(measured: bool) -> str:
    return ("from qiskit import QuantumCircuit\n\nqc = QuantumCircuit(3)\nqc.h(0)\nqc.cx(0, 1)\nqc.cx(1, 2)\n"
            + ("qc.measure_all()\n" if measured else "") + "print(qc.depth())\n")


def layer(gamma: float, beta: float) -> str:
    return (f"from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\ngamma = {gamma}\n"
            f"beta = {beta}\nqc = QuantumCircuit(1)\nqc.rx(2 * gamma, 0)\nqc.rz(beta, 0)\nqc.measure_all()\n"
            "sim = AerSimulator()\nprint(sim.run(transpile(qc, sim), shots=1024).result().get_counts())\n")


KINDS = {  # kind -> (learned, its program, asked, its program, what the asked program prints or counts)
    "identity in a tensor product": (
        "What is the expectation value of X⊗X for a Bell pair?", expectation("XX"),
        "What is the expectation value of X⊗I for a Bell pair?", expectation("XI"), "0.0"),
    "identity in a Pauli string": (
        "Give me <ZZ> of the Bell state", expectation("ZZ"), "Give me <IZ> of the Bell state", expectation("IZ"), "0.0"),
    "identity as a gate": (
        "Apply X to qubit 0 and X to qubit 1", program("qc.x(0)\nqc.x(1)\n", 2),
        "Apply I to qubit 0 and X to qubit 1", program("qc.id(0)\nqc.x(1)\n", 2), {"10"}),
    "measurement": (
        "Build a 3-qubit GHZ circuit and print its depth", ghz_depth(False),
        "Build a 3-qubit GHZ circuit with measurements and print its depth", ghz_depth(True), "4"),
    "measured": (
        "Report the depth of a 3-qubit GHZ circuit", ghz_depth(False),
        "Report the depth of a measured 3-qubit GHZ circuit", ghz_depth(True), "4"),
    "composition": (
        "Apply the inverse of T then S to a qubit in superposition", program("qc.h(0)\nqc.tdg(0)\nqc.s(0)\n", 1),
        "Apply T then the inverse of S to a qubit in superposition", program("qc.h(0)\nqc.t(0)\nqc.sdg(0)\n", 1),
        "qc.t(0)\nqc.sdg(0)"),
    "undo": (
        "Put 2 qubits into a Bell state", program("qc.h(0)\nqc.cx(0, 1)\n", 2),
        "Put 2 qubits into a Bell state and back", program("qc.h(0)\nqc.cx(0, 1)\nqc.cx(0, 1)\nqc.h(0)\n", 2),
        {"00"}),
}
PROGRAMS.update({text: (code, None) for a, a_code, b, b_code, _ in KINDS.values()
                 for text, code in ((a, a_code), (b, b_code))})


def shows(r, expected) -> bool:
    """Whether a result is the asked program's own: its counts, its printed line, or its code."""
    if isinstance(expected, set):
        return set(r.counts or {}) == expected
    return expected in r.output or expected in (r.code or "")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_word_or_symbol_of_each_kind_is_content(engine, server, kind):
    learned, _, asked, _, expected = KINDS[kind]
    first = engine.run(learned)
    assert first.trace_id and not first.error, first.why
    calls = len(server.requests)
    r = engine.run(asked)
    assert r.mode in (Mode.MIXED, Mode.LEARNER) and len(server.requests) == calls + 1, r.why
    assert shows(r, expected), (r.output, r.code)


def test_named_values_bind_by_name_in_either_order(engine, server):
    said = "Run one QAOA layer on a qubit with gamma = 0.7 and beta = 0.2"
    PROGRAMS[said] = (layer(0.7, 0.2), None)
    first = engine.run(said)
    assert first.trace_id and first.verified, first.why
    calls = len(server.requests)
    r = engine.run("Run one QAOA layer on a qubit with beta = 0.2 and gamma = 0.7")
    assert r.mode == Mode.FOLLOWER and len(server.requests) == calls, r.why
    assert "gamma = 0.7\nbeta = 0.2" in r.code and r.why["bound"]["gamma"] == 0.7 and r.why["bound"]["beta"] == 0.2
    swapped = "Run one QAOA layer on a qubit with beta = 0.7 and gamma = 0.2"
    PROGRAMS[swapped] = (layer(0.2, 0.7), None)
    r = engine.run(swapped)  # never the learned gamma = 0.7: either rebound by name or asked anew
    assert "gamma = 0.2" in r.code and "beta = 0.7" in r.code, r.why


@pytest.mark.parametrize("word", ["wobbly", "sideways", "mirrored"])  # words on no list anywhere
def test_a_word_no_verified_request_said_blocks_the_replay_at_any_similarity(make_engine, server, word):
    server.responder = answer
    engine = make_engine("openai", follower_threshold=0.3, mixed_threshold=0.2, reworded_margin=0)
    taught = teach(engine, "Prepare a Bell state")
    calls = len(server.requests)
    r = engine.run(f"Prepare a {word} Bell state")
    assert r.mode == Mode.MIXED and len(server.requests) == calls + 1
    assert f"{taught.trace_id}: the verified requests never say '{word}'" in r.why["reason"]


@pytest.mark.parametrize("prefix", ["Please help me with this. ", "Quick task: ", "Hey, can you help me with this? ",
                                    "Hello! I have a question for you: "])
def test_a_politeness_only_preamble_still_replays(engine, server, prefix):
    taught = teach(engine, "Prepare a GHZ state on 4 qubits and measure it")
    calls = len(server.requests)
    r = engine.run(prefix + "Prepare a GHZ state on 4 qubits and measure it")
    assert r.mode == Mode.FOLLOWER and r.trace_id == taught.trace_id and len(server.requests) == calls, r.why
    r = engine.run("Prepare a GHZ state on 4 qubits and measure it. Thank you!")
    assert r.mode == Mode.FOLLOWER and len(server.requests) == calls, r.why
