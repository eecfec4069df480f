"""Any kind of program: answers that define functions, return objects or draw are shown, remembered and
replayed, and a replay is checked for the same kinds of results."""
from conftest import Reply, fenced

from llmos_jupyter import Mode

GHZ_FUNCTION = '''\
from qiskit import QuantumCircuit


def ghz_circuit(n: int) -> QuantumCircuit:
    """A GHZ state on n qubits, unmeasured."""
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc
'''

STATEVECTOR = '''\
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
Statevector.from_instruction(qc)
'''

REQUEST = ("Write a function ghz_circuit(n) that returns a GHZ circuit on n qubits.\n"
           "You must implement this using a function named ghz_circuit.")


def test_a_function_defining_answer_shows_its_signature_and_replays_on_repeat(make_engine, server):
    server.enqueue(Reply(text=fenced(GHZ_FUNCTION), input_tokens=120, output_tokens=60))
    engine = make_engine()
    ns: dict = {}
    first = engine.run(REQUEST, namespace=ns)
    assert first.mode == Mode.LEARNER and first.error is None and first.counts is None
    assert first.defined == {"ghz_circuit": "def(n: int) -> qiskit.circuit.quantumcircuit.QuantumCircuit"}
    assert ns["ghz_circuit"](3).num_qubits == 3
    assert first.trace_id and first.why["learned"]["new"]

    again: dict = {}
    second = engine.run(REQUEST, namespace=again)
    assert second.mode == Mode.FOLLOWER and (second.tokens.input, second.tokens.output) == (0, 0)
    assert second.verified is True and second.tokens.saved > 0
    assert again["ghz_circuit"](4).num_qubits == 4
    assert len(server.requests) == 1


def test_a_replay_that_no_longer_defines_the_function_fails_verification(make_engine, server):
    server.enqueue(Reply(text=fenced(GHZ_FUNCTION)))
    engine = make_engine()
    first = engine.run(REQUEST, namespace={})
    # The stored program is changed behind memory's back: it now defines another name.
    engine.memory.traces.modify(first.trace_id, lambda t: setattr(t, "code", t.code.replace(
        "def ghz_circuit", "def other_circuit")))
    server.enqueue(Reply(text=fenced(GHZ_FUNCTION)))
    second = engine.run(REQUEST, namespace={})
    assert second.mode == Mode.MIXED
    assert second.why["fallback"]["failed_checks"] == [
        "defines ghz_circuit def(n: int) -> qiskit.circuit.quantumcircuit.QuantumCircuit"]


def test_imported_functions_are_not_what_a_program_defines_so_a_repeat_in_the_same_namespace_replays(
        make_engine, server):
    code = ("from math import acos, sqrt\nfrom qiskit import QuantumCircuit\n\nqc = QuantumCircuit(1)\n"
            "qc.ry(2 * acos(sqrt(0.5)), 0)\nqc\n")
    server.enqueue(Reply(text=fenced(code)))
    engine = make_engine()
    ns: dict = {}
    first = engine.run("Return a one-qubit circuit with an equal-weight RY rotation", namespace=ns)
    assert first.error is None and "acos" not in first.defined
    again = engine.run("Return a one-qubit circuit with an equal-weight RY rotation", namespace=ns)
    assert again.mode == Mode.FOLLOWER and again.verified is True, again.why


def test_the_value_of_a_last_expression_is_the_result(make_engine, server):
    server.enqueue(Reply(text=fenced(STATEVECTOR)))
    engine = make_engine()
    r = engine.run("Give me the statevector of a Bell state")
    assert r.error is None and type(r.value).__name__ == "Statevector"
    assert r.to_dict()["metadata"]["value"].startswith("Statevector(")
    server.enqueue(Reply(text=fenced(STATEVECTOR)))
    again = engine.run("Give me the statevector of a Bell state")
    assert again.mode == Mode.FOLLOWER and type(again.value).__name__ == "Statevector"


def test_a_program_that_produces_nothing_is_an_error_not_a_success(make_engine, server):
    server.enqueue(Reply(text=fenced("from qiskit import QuantumCircuit\n")))
    engine = make_engine()
    r = engine.run("Build me something")
    assert r.executed and r.verified is False and "produced nothing" in r.error
    assert engine.memory.traces.count() == 0  # not remembered


def test_a_number_in_a_general_program_does_not_rebind_from_one_run(make_engine, server):
    code = "from qiskit import QuantumCircuit\nqc = QuantumCircuit(3)\nqc.h(range(3))\nqc\n"
    server.enqueue(Reply(text=fenced(code)))
    engine = make_engine()
    engine.run("Return a circuit with a Hadamard on each of 3 qubits", namespace={})
    server.enqueue(Reply(text=fenced(code.replace("3", "5"))))
    r = engine.run("Return a circuit with a Hadamard on each of 5 qubits", namespace={})
    assert r.mode in (Mode.MIXED, Mode.LEARNER) and r.value.num_qubits == 5


def test_a_trace_rewritten_behind_llmos_is_refused_named_and_asked_anew(make_engine, server):
    import sqlite3

    server.enqueue(Reply(text=fenced(GHZ_FUNCTION)))
    engine = make_engine()
    first = engine.run(REQUEST, namespace={})
    with sqlite3.connect(engine.store.path) as db:  # what a hostile program with write access would do
        db.execute("UPDATE traces SET code = ? WHERE id = ?",
                   ("import os\nos.system('touch /tmp/pwned')\n" + GHZ_FUNCTION, first.trace_id))
    server.enqueue(Reply(text=fenced(GHZ_FUNCTION)))
    second = engine.run(REQUEST, namespace={})
    assert second.mode == Mode.LEARNER and "os.system" not in (second.code or "")
    assert first.trace_id in second.why["refused"][0] and "forgotten" in second.why["refused"][0]
    assert engine.memory.traces.get(first.trace_id) is None


def test_a_tool_file_changed_after_it_passed_is_never_run(make_engine, server):
    engine = make_engine(starter_skills=True, crystallize_uses=1)
    engine.run("Create a GHZ state with 3 qubits")
    tool = engine.memory.traces.get("starter-ghz_state").tool_name
    path = engine.memory.tools_dir / f"{tool}.py"
    with open(path, "a") as f:  # a hostile append, imported unchecked after a restart in the old design
        f.write("\nopen('/tmp/llmos-tool-canary', 'w').write('ran')\n")
    r = engine.run("Create a GHZ state with 3 qubits")
    assert r.mode == Mode.FOLLOWER and "not the file that passed its examples" in r.why["refused"]
    assert set(r.counts) == {"000", "111"}
    assert not __import__("os").path.exists("/tmp/llmos-tool-canary")
    assert (path.parent / f".{tool}.py.refused").exists()  # set aside, out of reach of imports
    # The verified replay made the tool again, from the verified program.
    assert "llmos-tool-canary" not in path.read_text()
    assert engine.run("Create a GHZ state with 3 qubits").mode == Mode.CRYSTALLIZED
