"""Model calls as lean as the request needs (issue #24), seen in the request bodies the scripted server recorded,
and the general-program benchmark's judge, which must catch a wrong answer."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from llmos_jupyter import Mode
from llmos_jupyter.prompts import LEARNER_FILES, LEARNER_SAMPLING, learner_system, mixed_system, shown_example
from llmos_jupyter.testing import Reply
from llmos_jupyter.testing.general_model import program, respond
from llmos_jupyter.tokencount import count_tokens

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture
def engine(make_engine, server):
    server.responder = respond
    return make_engine("openai")


def system_of(body: dict) -> str:
    return body["messages"][0]["content"]


def test_a_learner_call_without_close_skills_sends_no_tool_schemas(engine, server):
    r = engine.run("Give me the statevector of a GHZ state on 3 qubits", namespace={})
    assert r.mode == Mode.LEARNER and r.verified
    body = server.requests[-1].body
    assert not body.get("tools")
    # a Statevector is not counts: the sampling recipe and the file rule are left out
    assert LEARNER_SAMPLING not in system_of(body) and LEARNER_FILES not in system_of(body)


def test_the_learner_instruction_carries_only_what_the_request_needs():
    assert LEARNER_SAMPLING in learner_system([], "Prepare a Bell state and measure it 500 times")
    assert LEARNER_SAMPLING in learner_system([], "Create a GHZ state with 4 qubits")  # counts are the default
    assert LEARNER_SAMPLING not in learner_system([], "Give me the Operator of the inverse QFT on 3 qubits")
    assert LEARNER_FILES in learner_system([], "Make a Bell circuit and write it as 'bell.qpy'")
    assert LEARNER_FILES not in learner_system([], "Write a function make_ghz(n) returning a GHZ circuit")
    assert learner_system(["Use QFTGate."], "QFT operator").endswith("Notes:\n- Use QFTGate.")


def test_mixed_gets_the_example_without_imports_and_answers_with_an_edit(engine, server):
    first = engine.run("Give me the Operator of a QFT on 3 qubits", namespace={})
    namespace: dict = {}
    r = engine.run("Give me the Operator of the inverse QFT on 3 qubits", namespace=namespace)
    assert first.verified and r.mode == Mode.MIXED and r.verified and r.why.get("answer") == "edit"
    system = system_of(server.requests[-1].body)
    example = system.split("```python\n", 1)[1]
    assert "import" not in example and "#" not in example and "\n\n" not in example
    assert not server.requests[-1].body.get("tools")
    # the reply was a diff, far smaller than the program; the program that ran has its imports back
    assert "```diff" in r.response and count_tokens(r.response) < count_tokens(program(r.request)) / 2
    assert r.code.startswith("from qiskit import QuantumCircuit") and ".inverse()" in r.code
    from qiskit.circuit.library import QFTGate
    from qiskit.quantum_info import Operator

    assert r.value.equiv(Operator(QFTGate(3).inverse()))


def test_an_edit_that_does_not_fit_the_example_is_an_error_and_nothing_is_stored(engine, server):
    engine.run("Give me the Operator of a QFT on 3 qubits", namespace={})
    traces = engine.memory.traces.count()
    server.responder = None
    server.enqueue(Reply(text="```diff\n@@\n-qc.append(QFT(n), range(n))\n"
                              "+qc.append(QFTGate(n).inverse(), range(n))\n```"))
    r = engine.run("Give me the Operator of the inverse QFT on 3 qubits", namespace={})
    assert r.mode == Mode.MIXED and r.error and "edit of the worked example does not fit" in r.error
    assert not r.executed and engine.memory.traces.count() == traces


def test_mixed_keeps_a_whole_program_reply(engine, server):
    engine.run("Give me the Operator of a QFT on 3 qubits", namespace={})
    server.responder = None
    whole = program("Give me the Operator of the inverse QFT on 3 qubits")
    server.enqueue(Reply(text=f"```python\n{whole}```"))
    r = engine.run("Give me the Operator of the inverse QFT on 3 qubits", namespace={})
    assert r.mode == Mode.MIXED and r.verified and r.code.strip() == whole.strip()


def test_shown_example_splits_the_leading_imports():
    code = "import numpy as np\nfrom qiskit import (\n    QuantumCircuit)\nx = 1  # why\n\nx\n"
    imports, body, _ = shown_example(code)
    assert imports == "import numpy as np" and body.startswith("from qiskit import (")  # a wrapped import stays
    assert mixed_system("ask", "from a import b\nb()\n").endswith("Worked example: ask\n```python\nb()\n```")


# -- the benchmark's judge: it must fail wrong answers ---------------------------------------------
def _value(code: str, ns: dict | None = None):
    ns = {} if ns is None else ns
    lines = code.rstrip().splitlines()
    exec("\n".join(lines[:-1]), ns)
    return eval(lines[-1], ns)


def test_the_general_benchmark_judge_accepts_right_and_catches_wrong_answers():
    import general_programs as g

    def verdict(family: str, params: dict, text: str) -> list[str]:
        ns: dict = {}
        code = program(text)
        value = None if code.rstrip().splitlines()[-1].startswith(" ") else _value(code, ns)
        if value is None:
            exec(code, ns)
        return g.FAMILIES[family].judge(params, value, ns)

    assert verdict("iqft_operator", {"n": 3}, "Give me the Operator of the inverse QFT on 3 qubits") == []
    assert verdict("iqft_operator", {"n": 3}, "Give me the Operator of the QFT on 3 qubits")  # not inverted
    assert verdict("qasm_export", {"n": 3}, "Export a 3-qubit GHZ circuit to OpenQASM 2") == []
    assert verdict("qasm_export", {"n": 3}, "Export a 3-qubit GHZ circuit with measurements to OpenQASM 2")
    assert verdict("noise_depolarizing", {"p": 0.01},
                   "Build an Aer noise model with depolarizing error p = 0.01 on CX gates only")
    assert verdict("noise_depolarizing", {"p": 0.01},
                   "Build an Aer noise model with depolarizing error p = 0.02 on one-qubit gates and on CX")
    assert verdict("pauli_ghz", {"pauli": "XI"}, "What is the expectation value of XX on a GHZ state?")
    assert verdict("bind_named", {"theta": 0.3, "phi": 1.2},
                   "Bind theta = 1.2 and phi = 0.3 in a one-qubit circuit with RY(theta) then RZ(phi)")
    assert verdict("gate_sequence", {"seq": ["h", "s"]}, "What is the unitary of S then H on one qubit?")
    assert verdict("function_ghz", {"name": "make_ghz"}, "Write a function build_ghz(n) that returns a GHZ circuit")
    assert verdict("estimator", {"theta": 0.8, "pauli": "ZI"},
                   "Use EstimatorV2 to compute <ZZ> for RY(theta) on qubit 0 followed by a CX, theta = 0.8")


def test_the_general_benchmark_stream_has_every_kind_of_request():
    import general_programs as g

    items = g.stream(400, 11)
    kinds = {i.kind for i in items}
    assert kinds == set(g.KINDS) and len({i.family for i in items}) >= 15
    assert all(program(i.text) is not None for i in items)  # every request is one the model can answer
    assert json.dumps([i.text for i in items]) == json.dumps([i.text for i in g.stream(400, 11)])  # seeded


def test_gates_composed_with_then_do_not_read_as_staged_work():
    from llmos_jupyter.text.plan import reads_staged

    assert not reads_staged("What is the unitary of H then Z on one qubit?")  # one program: no `plan` schema
    assert reads_staged("Prepare a Bell state, then add depolarizing noise")
    assert reads_staged("Build a GHZ circuit then plot the counts")


def test_a_skill_that_cannot_take_the_requests_values_is_not_offered(engine, server):
    engine.run("I need the GHZ state vector for 6 qubits", namespace={})
    name = engine.toolbox.tool_name(engine.memory.traces.all()[0])  # verified once: no parameter yet
    assert name in [s.name for s in engine.toolbox.find("What are the amplitudes of the 6-qubit GHZ state?",
                                                        fitting=True)]
    assert name not in [s.name for s in engine.toolbox.find("What are the amplitudes of the 5-qubit GHZ state?",
                                                            fitting=True)]
    r = engine.run("What are the amplitudes of the 5-qubit GHZ state?", namespace={})
    assert r.mode == Mode.LEARNER and r.verified
    assert name not in [t["function"]["name"] for t in server.requests[-1].body.get("tools") or []]


QASM_A = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\nrz(0.25) q[1];'
QASM_B = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nx q[1];\ncx q[1],q[0];\nt q[0];'


def test_mixed_shows_a_string_its_request_carries_elided_and_puts_it_back():
    from llmos_jupyter.prompts import ELIDED, restore

    asked = f"What Operator does this OpenQASM 2 code implement?\n{QASM_A}"
    imports, body, originals = shown_example(program(asked), asked)
    assert "OPENQASM" not in body and f"source = {ELIDED}" in body and "qasm2" in imports
    assert restore(body, originals) == program(asked).split("\n\n", 1)[1].replace("\n\n", "\n")
    # a string the request does not carry is shown as it is
    assert "OPENQASM" in shown_example(program(asked), "What Operator does this code implement?")[1]


def test_a_mixed_edit_of_an_elided_example_runs_the_new_source(engine, server):
    engine.run(f"What Operator does this OpenQASM 2 code implement?\n{QASM_A}", namespace={})
    r = engine.run(f"Load this QASM and return the Operator:\n{QASM_B}", namespace={})
    assert r.mode == Mode.MIXED and r.why.get("answer") == "edit" and r.verified
    assert "OPENQASM" not in system_of(server.requests[-1].body).split("Worked example:", 1)[1].split("```python")[1]
    from qiskit import qasm2
    from qiskit.quantum_info import Operator

    assert r.value.equiv(Operator(qasm2.loads(QASM_B)))
