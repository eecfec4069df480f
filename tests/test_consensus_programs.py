"""Consensus over programs judged by what they compute: each distance kind, programs run apart in the
sandboxed worker, a failing program left out and named, and %%llmos --consensus running the chosen program
in the user's namespace (real SDKs over HTTP to the scripted server, real Qiskit and Aer). CPU only."""
from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from conftest import Reply, fenced
from llmos_jupyter.consensus import ConsensusEngine, run_consensus
from llmos_jupyter.consensus.behaviour import (Behaviour, behaviour_distance, calls_behaviour, distance,
                                               distance_matrix, observe, script_behaviour)


# -- each distance kind -------------------------------------------------------------------------------------
def test_counts_by_total_variation_and_circuits_by_their_exact_distribution():
    from qiskit import QuantumCircuit

    assert distance(observe({"00": 500, "11": 500}), observe({"0 0": 250, "1 1": 250})) == 0.0
    assert distance(observe({"00": 3, "11": 1}), observe({"00": 1, "11": 3})) == pytest.approx(0.5)
    assert distance(observe({"0": 10}), observe({"1": 10})) == 1.0
    assert distance(observe({"Heads": 990, "Tails": 1010}), observe({"Heads": 1010, "Tails": 990})) == \
        pytest.approx(0.01)
    assert observe({"depth": 3, "width": 2}).kind == "value"  # a few small integers are facts, not a sample
    a = QuantumCircuit(2, 2)
    a.h(0)
    a.cx(0, 1)
    a.measure([0, 1], [0, 1])
    b = QuantumCircuit(2, 2)  # reads differently, computes the same distribution
    b.h(1)
    b.cx(1, 0)
    b.measure([0, 1], [0, 1])
    c2 = QuantumCircuit(2, 2)  # reads alike (x for h), computes |11> only
    c2.x(0)
    c2.cx(0, 1)
    c2.measure([0, 1], [0, 1])
    assert observe(a).kind == "counts" and observe(a).data == {"00": pytest.approx(0.5), "11": pytest.approx(0.5)}
    assert distance(observe(a), observe(b)) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(a), observe(c2)) == pytest.approx(0.5)
    # Which qubit lands in which clbit matters: qubit 1 measured into clbit 0.
    m = QuantumCircuit(2, 2)
    m.x(1)
    m.measure(1, 0)
    m.measure(0, 1)
    assert observe(m).data == {"01": 1.0}


def test_a_transpiled_circuit_is_judged_on_its_virtual_qubits():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector
    from qiskit.transpiler import CouplingMap
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

    ghz = QuantumCircuit(4)
    ghz.h(0)
    for q in (1, 2, 3):
        ghz.cx(0, q)
    line = CouplingMap.from_line(12)  # wider than anything simulated whole; routing needs swaps
    pm = generate_preset_pass_manager(optimization_level=1, coupling_map=line, basis_gates=["cx", "rz", "sx", "x"],
                                      seed_transpiler=5)
    laid_out = pm.run(ghz)
    assert laid_out.num_qubits == 12 and observe(laid_out).kind == "state"
    assert distance(observe(laid_out), observe(Statevector(ghz))) == pytest.approx(0.0, abs=1e-9)
    assert distance(observe(laid_out), observe(Statevector.from_label("0000"))) == pytest.approx(0.5)


def test_states_by_fidelity_and_operators_up_to_global_phase():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Operator, Statevector

    plus, zero = Statevector.from_label("+"), Statevector.from_label("0")
    assert distance(observe(plus), observe(Statevector(-1j * plus.data))) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(plus), observe(zero)) == pytest.approx(0.5)
    assert distance(observe(zero), observe(Statevector.from_label("1"))) == pytest.approx(1.0)
    h = QuantumCircuit(1)
    h.h(0)
    hz = QuantumCircuit(1)  # H = e^{i pi/2} RY(pi/2) Z ... up to a global phase: the same operator
    hz.ry(np.pi / 2, 0)
    hz.x(0)
    phased = h.copy()
    phased.global_phase = 0.7
    x = QuantumCircuit(1)
    x.x(0)
    assert observe(h).kind == "operator"
    assert distance(observe(h), observe(hz)) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(h), observe(phased)) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(h), observe(Operator(x))) > 0.2
    # Two circuits that send |0> to the same state but are different unitaries are different operators.
    z_then_h = QuantumCircuit(1)
    z_then_h.z(0)
    z_then_h.h(0)
    assert distance(observe(Statevector(h)), observe(Statevector(z_then_h))) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(h), observe(z_then_h)) > 0.2


def test_values_by_equality_and_kinds_never_match_each_other():
    assert distance(observe(7), observe(7)) == 0.0 and distance(observe(7), observe(8)) == 1.0
    assert distance(observe([1, 2]), observe((1, 2))) == 1.0  # a wrong return type is a different value
    assert distance(observe("[1, 2]"), observe([1, 2])) == 1.0
    # Estimates (floats) are near when they are near; a per-shot memory is a sample of a distribution.
    assert distance(observe(0.1 + 0.2), observe(0.3)) == pytest.approx(0.0, abs=1e-12)
    assert distance(observe(0.5), observe(0.52)) == pytest.approx(0.02 / 1.02)
    assert distance(observe(0.5), observe(-0.5)) == 1.0
    assert distance(observe(["00", "11", "11", "00"]), observe({"00": 5, "11": 5})) == 0.0
    assert distance(observe({"a": 1.0}), observe({"a": 1.0})) == 0.0
    assert distance(observe(ValueError("x")), observe(ValueError("y"))) == 0.0  # both raise the same error
    assert distance(observe(3), observe({"0": 3})) == 1.0
    # Function behaviour: call by call.
    f = calls_behaviour([{"0": 5, "1": 5}, 2.0])
    g = calls_behaviour([{"0": 6, "1": 4}, 2.0])
    assert behaviour_distance(f, g) == pytest.approx(0.05)
    assert behaviour_distance(f, Behaviour()) == 1.0


CNOT_ON_ZERO = """from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector


def bell(n):
    qc = QuantumCircuit(n)
    qc.cx(1, 0)  # the test counts two CNOTs; this one acts on |00> and changes nothing
    qc.h(0)
    qc.cx(0, 1)
    return Statevector(qc)
"""


def test_programs_that_compute_alike_are_told_apart_by_how_alike_they_are_written():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    from llmos_jupyter.consensus.behaviour import distance_matrix
    from llmos_jupyter.consensus.structure import WEIGHT, distance as written

    renamed = CNOT_ON_ZERO.replace("qc", "circuit").replace("(n)", "(width)")
    dropped = CNOT_ON_ZERO.replace("    qc.cx(1, 0)  # the test counts two CNOTs; this one acts on |00> and changes "
                                   "nothing\n", "")
    assert written(CNOT_ON_ZERO, renamed) == 0.0 < written(CNOT_ON_ZERO, dropped) < 1.0
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    same = calls_behaviour([Statevector(qc)])  # all three compute the same state
    codes = [dropped, CNOT_ON_ZERO, renamed]
    D, _ = distance_matrix([same] * 3, codes=codes)
    assert D[1, 2] == pytest.approx(0.0, abs=1e-12) and D[0, 1] == pytest.approx(D[0, 2]) and 1e-6 < D[0, 1] <= WEIGHT
    weights = ConsensusEngine(device="cpu", seed=0).weigh(distances=D).weights
    assert np.argmax(weights) in (1, 2) and weights[0] < weights[1]  # the program two models wrote alike
    assert np.allclose(distance_matrix([same] * 3)[0], 0)  # without the code, behaviour alone cannot tell them apart


@pytest.fixture(scope="module")
def embedder():
    from llmos_jupyter.memory.embed import Embedder

    return Embedder()


def test_prose_by_text_embedding_and_prose_never_near_a_program(embedder):
    texts = ["Dephasing destroys the GHZ coherence n times faster than one qubit's.",
             "A GHZ state loses coherence n times faster under dephasing than a single qubit.",
             "Bananas are yellow and rich in potassium.", "a program"]
    prog = script_behaviour({"00": 10}, {})
    D, basis = distance_matrix([None, None, None, prog], texts, embedder)
    assert basis == ["text", "text", "text", "behaviour (counts)"]
    assert D[0, 1] < D[0, 2] and D[0, 1] < 0.5 and np.all(D[3, :3] == 1.0) and np.allclose(D, D.T)


# -- programs run apart, in the worker ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    from llmos_jupyter.pipeline.runners import WorkerRunner

    r = WorkerRunner(protect=(tmp_path_factory.mktemp("home"),), outputs=tmp_path_factory.mktemp("out"), timeout=60)
    yield r
    r.close()


def test_programs_run_apart_from_one_another(worker):
    from llmos_jupyter.consensus.programs import run_apart

    runs = run_apart([("a", "secret = 41\nsecret"), ("b", "answer = secret + 1"), ("c", "answer = 7")],
                     worker, run_id="apart")
    assert runs[0].ok and runs[0].behaviour.slots["value"] == observe(41)
    assert not runs[1].ok and "NameError" in runs[1].problem()  # b never sees a's names
    assert runs[2].ok and runs[2].behaviour.slots == {"name:answer": observe(7)}
    assert len({r.session for r in runs}) == 3


# -- the pipeline and the cell, over real HTTP --------------------------------------------------------------
def bell(first: int, second: int, *, seed: int, extra: str = "") -> str:
    return f"""\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

circuit = QuantumCircuit(2)
circuit.h({first})
{extra}circuit.cx({first}, {second})
circuit.measure_all()
backend = AerSimulator(seed_simulator={seed})
counts = backend.run(transpile(circuit, backend), shots=2000).result().get_counts()
print(counts)
"""


PROGRAMS = {
    # m1 and m2 read differently and compute the same Bell distribution (sampled with different seeds);
    "m1": fenced(bell(0, 1, seed=1)),
    "m2": fenced("import qiskit\nfrom qiskit_aer import AerSimulator\nq = qiskit.QuantumCircuit(2)\nq.h(1)\n"
                 "q.cx(1, 0)\nq.measure_all()\nsim = AerSimulator(seed_simulator=2)\n"
                 "result = sim.run(qiskit.transpile(q, sim), shots=1000).result().get_counts()\nprint(result)\n",
                 before="Sure, a Bell pair:"),
    # m3 reads almost like m1 and computes something else (an X before the CNOT: |01>+|10>);
    "m3": fenced(bell(0, 1, seed=3, extra="circuit.x(1)\n")),
    "m4": fenced("from qiskit import QuantumCircuit\nqc = QuantumCircuit(2)\nqc.cx(0, 5)\n"),  # raises
}


def test_run_judges_programs_by_behaviour_and_names_the_failing_one(server, worker):
    from llmos_jupyter.providers import make_provider

    server.responder = lambda req: Reply(text=PROGRAMS[req.body["model"]], input_tokens=40, output_tokens=60)
    providers = [make_provider("openai", m, base_url=server.openai_base_url, api_key="x", max_retries=0)
                 for m in ("m1", "m2", "m3", "m4")]
    res = run_consensus("Make a Bell pair and sample it", providers, runner=worker, causal=False,
                        engine=ConsensusEngine(device="cpu", seed=0))
    assert res.models == ["openai:m1", "openai:m2", "openai:m3"]
    assert [f["model"] for f in res.failures] == ["openai:m4"] and res.failures[0]["kind"] == "program"
    assert "CircuitError" in res.failures[0]["message"] or "index" in res.failures[0]["message"]
    assert res.basis == ["behaviour (counts)"] * 3
    assert res.distances[0, 1] < 0.05 and res.distances[0, 2] > 0.9  # by what they compute, not how they read
    assert res.weights[:2].sum() > 0.99 and res.weights[2] < 0.01
    assert res.program is not None and res.answer_source in ("openai:m1", "openai:m2")
    assert len(server.requests) == 4  # no synthesis for programs: the top program stands, as it was run
    hists = res.histograms()
    assert set(hists[2]) == {"01", "10"} and set(hists[0]) == {"00", "11"}
    html = res._repr_mimebundle_()["text/html"]
    assert html.count("llmos-histogram") == 3 and "judged by behaviour (counts)" in str(res)


def test_prose_consensus_is_written_by_the_top_model_and_billed(server, embedder):
    from llmos_jupyter.ledger import Ledger
    from llmos_jupyter.providers import make_provider
    from llmos_jupyter.store import SQLiteStore as Store

    texts = {"p1": "Dephasing destroys the GHZ coherence n times faster than one qubit's.",
             "p2": "A GHZ state loses coherence n times faster under dephasing than a single qubit does.",
             "p3": "Bananas are yellow and rich in potassium."}

    def reply(req):
        prompt = str(req.body["messages"])
        if "consensus weight" in prompt:
            return Reply(text=f"Synthesis by {req.body['model']}: coherence decays n times faster.",
                         input_tokens=300, output_tokens=9)
        return Reply(text=texts[req.body["model"]], input_tokens=20, output_tokens=15)

    server.responder = reply
    providers = [make_provider("openai", m, base_url=server.openai_base_url, api_key="x", max_retries=0)
                 for m in texts]
    import tempfile
    from pathlib import Path

    store = Store(Path(tempfile.mkdtemp()) / "home")
    res = run_consensus("Why is a GHZ state fragile?", providers, causal=False, ledger=Ledger(store),
                        request_id="syn", engine=ConsensusEngine(device="cpu", seed=0), embedder=embedder)
    top = res.models[int(np.argmax(res.weights))]
    assert top in ("openai:p1", "openai:p2")
    assert res.answer == f"Synthesis by {top.split(':')[1]}: coherence decays n times faster."
    assert res.answer_source == f"synthesis:{top}" and res.tokens[f"synthesis:{top}"].usage.input == 300
    calls = store.query("SELECT model, input_tokens FROM llm_calls WHERE request_id = 'syn'")
    assert sorted(tuple(c) for c in calls) == sorted([("p1", 20), ("p2", 20), ("p3", 20), (top.split(":")[1], 300)])
    store.close()


def test_consensus_cell_runs_the_chosen_program_in_the_users_namespace(server, home, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    server.responder = lambda req: Reply(text=PROGRAMS[req.body["model"]], input_tokens=40, output_tokens=60,
                                         model=req.body["model"])
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    ip.run_line_magic("config", f"LLMOS.home = {str(home)!r}")
    for name in ("counts", "result", "circuit", "q"):
        ip.user_ns.pop(name, None)
    try:
        with capture_output() as cap:
            ip.run_cell_magic("llmos", "--consensus openai:m1,openai:m3,openai:m2,openai:m4",
                              "Make a Bell pair and sample it")
        res = ip.user_ns["_llmos"]
        assert res.answer_source in ("openai:m1", "openai:m2") and res.ran is not None and res.ran.error is None
        # The chosen program's names are the user's now; the others' are not.
        chosen = "counts" if res.answer_source == "openai:m1" else "result"
        other = "result" if chosen == "counts" else "counts"
        assert set(ip.user_ns[chosen]) == {"00", "11"} and other not in ip.user_ns
        assert [f["model"] for f in res.failures] == ["openai:m4"]
        shown = "".join(o.data.get("text/html", "") for o in cap.outputs)
        assert "openai:m4" in shown and shown.count("llmos-histogram") == 3
        engine = ip.magics_manager.registry["LLMOSMagics"].engine
        assert engine.ledger.totals().billed == 4 * 100
    finally:
        ip.run_line_magic("config", "LLMOS.home = '.llmos'")
