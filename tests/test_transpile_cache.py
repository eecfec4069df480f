"""tools/transpile_cache.py: `transpile` keeps the preset pass manager of a plain simulator and the transpiled form
of a circuit it saw, and gives what Qiskit's own transpile gives, byte for byte; what could change a result (a seed,
a coupling map, basis gates, a noise model, another backend, a circuit it cannot key) passes through untouched."""
import pytest

pytest.importorskip("qiskit_aer")

import qiskit  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402

from conftest import ghz  # noqa: E402
from llmos_jupyter import LLMOS, Mode  # noqa: E402
from llmos_jupyter.testing import transpile_corpus  # noqa: E402
from llmos_jupyter.testing.qiskit_model import respond  # noqa: E402
from llmos_jupyter.tools import transpile_cache  # noqa: E402

PLAIN = qiskit.compiler.transpiler.transpile


@pytest.fixture
def cache():
    transpile_cache.clear()
    with transpile_cache.installed():
        yield transpile_cache
    transpile_cache.clear()


def ghz_circuit(n: int, name: str | None = None) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=name)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def test_kept_calls_give_qiskits_result_on_the_whole_corpus(cache):
    assert transpile_corpus.compare(PLAIN, qiskit.transpile, ways=transpile_corpus.KEPT) == []
    assert cache.stats["circuit_hits"] > 0 and cache.stats["manager_hits"] > 0  # the second rounds hit


def test_calls_that_could_change_a_result_pass_through_and_agree(cache):
    others = tuple(w for w in transpile_corpus.calls() if w not in transpile_corpus.KEPT)
    names = ("ghz4", "labels, reset, ctrl_state")
    assert transpile_corpus.compare(PLAIN, qiskit.transpile, ways=others, names=names) == []
    # A list is transpiled with a kept pass manager, but only one circuit at a time is kept whole.
    assert cache.stats["circuit_hits"] == cache.stats["circuit_misses"] == 0


@pytest.mark.parametrize("call", [
    lambda qc: qiskit.transpile(qc, AerSimulator(), seed_transpiler=7),
    lambda qc: qiskit.transpile(qc, AerSimulator(noise_model=_noise())),
    lambda qc: qiskit.transpile(qc, AerSimulator(), coupling_map=[[0, 1], [1, 2], [2, 3]], basis_gates=["u", "cx"]),
    lambda qc: qiskit.transpile(qc, AerSimulator(), basis_gates=["u", "cx"]),
    lambda qc: qiskit.transpile(qc, AerSimulator(), initial_layout=[3, 2, 1, 0]),
], ids=["seed_transpiler", "noise model", "coupling map", "basis gates", "initial layout"])
def test_a_call_with_an_option_of_its_own_neither_uses_nor_fills_the_caches(cache, call):
    qiskit.transpile(ghz_circuit(4), AerSimulator())  # fills both caches for the plain call
    before = dict(cache.stats)
    call(ghz_circuit(4))
    assert cache.stats == before


def test_a_seed_from_the_environment_is_not_answered_from_the_cache(cache, monkeypatch):
    qiskit.transpile(ghz_circuit(4), AerSimulator())
    monkeypatch.setenv("QISKIT_TRANSPILER_SEED", "5")
    before = dict(cache.stats)
    assert transpile_corpus.fingerprint(qiskit.transpile(ghz_circuit(4, "g"), AerSimulator())) == \
        transpile_corpus.fingerprint(PLAIN(ghz_circuit(4, "g"), AerSimulator()))
    assert cache.stats == before


def test_the_same_content_under_another_name_hits_and_keeps_its_own_name(cache):
    first = qiskit.transpile(ghz_circuit(5, "first"), AerSimulator())
    second = qiskit.transpile(ghz_circuit(5, "second"), AerSimulator())
    assert cache.stats["circuit_hits"] == 1 and cache.stats["manager_builds"] == 1
    assert (first.name, second.name) == ("first", "second") and second is not first
    assert transpile_corpus.fingerprint(second) == transpile_corpus.fingerprint(PLAIN(ghz_circuit(5, "second"),
                                                                                       AerSimulator()))


@pytest.mark.parametrize("change", [
    lambda qc: QuantumCircuit.rz(qc, 0.5, 0),
    lambda qc: QuantumCircuit.cx(qc, 0, 1, ctrl_state=0),
    lambda qc: setattr(qc, "global_phase", 0.25),
], ids=["another angle", "a control state", "a global phase"])
def test_another_content_misses(cache, change):
    qiskit.transpile(ghz_circuit(3), AerSimulator())
    other = ghz_circuit(3)
    change(other)
    got = qiskit.transpile(other, AerSimulator())
    assert cache.stats["circuit_hits"] == 0
    assert transpile_corpus.fingerprint(got) == transpile_corpus.fingerprint(PLAIN(other, AerSimulator()))


def test_changing_what_transpile_returned_does_not_change_the_next_call(cache):
    expected = transpile_corpus.fingerprint(PLAIN(ghz_circuit(4, "g"), AerSimulator()))
    for _ in range(3):
        out = qiskit.transpile(ghz_circuit(4, "g"), AerSimulator())
        assert transpile_corpus.fingerprint(out) == expected
        out.x(0)
        out.data.pop(1)
        out.global_phase = 1.0
        out.metadata["changed"] = True
        out.name = "changed"
    assert cache.stats["circuit_hits"] == 2


def test_simulator_options_are_part_of_the_key(cache):
    sim = AerSimulator()
    qiskit.transpile(ghz_circuit(3), sim)
    sim.set_options(method="stabilizer")
    got = qiskit.transpile(ghz_circuit(3, "g"), sim)
    assert cache.stats["circuit_hits"] == 0 and cache.stats["manager_builds"] == 2
    assert transpile_corpus.fingerprint(got) == transpile_corpus.fingerprint(
        PLAIN(ghz_circuit(3, "g"), AerSimulator(method="stabilizer")))


def test_the_kept_pass_manager_is_never_handed_to_a_program(cache):
    from qiskit.transpiler import generate_preset_pass_manager

    qiskit.transpile(ghz_circuit(3), AerSimulator())
    a = qiskit.compiler.transpiler.generate_preset_pass_manager(2, backend=AerSimulator())
    b = generate_preset_pass_manager(2, backend=AerSimulator())
    assert a is not b and all(m is not a and m is not b for m in transpile_cache._managers.values())


def test_the_kernel_path_installs_it_only_while_a_program_runs():
    from llmos_jupyter.pipeline.runners import KernelRunner

    transpile_cache.clear()
    namespace: dict = {}
    KernelRunner().run(ghz(3, 100).replace("print(", "counts = (") + "t = transpile\n", namespace)
    KernelRunner().run(ghz(3, 100), {})
    assert namespace["t"] is transpile_cache.transpile and qiskit.transpile is PLAIN
    assert transpile_cache.stats["circuit_hits"] == 1


def test_a_replay_in_the_worker_measures_what_the_first_run_did(server, home):
    server.responder = respond
    llmos = LLMOS(home=home, provider="openai", base_url=server.openai_base_url, api_key="k", max_retries=0,
                  starter_skills=False, stream=False)
    try:
        first = llmos.run("Create a GHZ state with 4 qubits")
        again = [llmos.run("Create a GHZ state with 4 qubits") for _ in range(2)]
    finally:
        llmos.close()
    assert first.mode == Mode.LEARNER and all(r.mode == Mode.FOLLOWER for r in again)
    for r in (first, *again):
        assert set(r.counts) == {"0000", "1111"} and sum(r.counts.values()) == 1024
        assert 300 < r.counts["0000"] < 724


def _noise():
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.01, 1), ["h", "x"])
    return noise


def test_the_workers_openmp_threads_wait_passively_unless_the_user_chose():
    from pathlib import Path

    from llmos_jupyter.sandbox.environment import worker_environment

    env, _ = worker_environment(Path("/w"), Path("/o"), [], parent={"PATH": "/bin"})
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    env, _ = worker_environment(Path("/w"), Path("/o"), [], parent={"PATH": "/bin", "OMP_WAIT_POLICY": "ACTIVE"})
    assert env["OMP_WAIT_POLICY"] == "ACTIVE"


def test_threads_transpiling_at_once_get_qiskits_results(cache):
    from concurrent.futures import ThreadPoolExecutor

    corpus = transpile_corpus.circuits()
    names = ["ghz4", "ghz8", "rotations", "bell registers", "labels, reset, ctrl_state"] * 4
    expected = {n: transpile_corpus.fingerprint(PLAIN(corpus[n], AerSimulator())) for n in set(names)}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda n: transpile_corpus.fingerprint(qiskit.transpile(corpus[n], AerSimulator())), names))
    assert got == [expected[n] for n in names]
