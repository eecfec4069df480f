"""Every way into the engine passes the same stages under the same settings: a cell, a plan's step and the
program a consensus chose are refused by the guard alike in the kernel without --trust (real openai SDK over HTTP
to the scripted server, programs run in the kernel as `execution = "kernel"` asks)."""
from __future__ import annotations

from conftest import Reply, fenced

SECRET = "llmos-test-secret-4711"
# The worker has no such variable (it gets no environment), so the compared candidates run there and print "none".
READS_SECRET = ("import os\nfrom qiskit import QuantumCircuit\nqc = QuantumCircuit(1)\n"
                "print(os.environ.get('LLMOS_SECRET', 'none'))\n")


def _answering(server, code: str, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")  # consensus makes its providers from specs, as a cell's --consensus
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    server.responder = lambda req: Reply(text=fenced(code), input_tokens=30, output_tokens=40,
                                         model=req.body.get("model", "m"))


def test_consensus_in_the_kernel_refuses_what_run_refuses(make_engine, server, monkeypatch):
    monkeypatch.setenv("LLMOS_SECRET", SECRET)
    _answering(server, READS_SECRET, monkeypatch)
    engine = make_engine()
    ran = engine.run("Make a one-qubit circuit and print the LLMOS_SECRET variable", namespace={})
    assert ran.blocked and not ran.executed and SECRET not in (ran.output or "")

    namespace: dict = {}
    res = engine.consensus("Make a one-qubit circuit and print the LLMOS_SECRET variable",
                           "openai:m1,openai:m2", namespace=namespace, causal=False)
    assert res.program is not None
    assert res.blocked and res.ran is not None and not res.ran.executed
    assert SECRET not in (res.ran.output or "") and "qc" not in namespace
    assert "not run in your kernel" in str(res) and "not run in your kernel" in res._repr_mimebundle_()["text/html"]


def test_consensus_with_trust_runs_the_chosen_program_as_a_trusted_cell_does(make_engine, server, monkeypatch,
                                                                              capsys):
    monkeypatch.setenv("LLMOS_SECRET", SECRET)
    _answering(server, READS_SECRET, monkeypatch)
    engine = make_engine()
    namespace: dict = {}
    res = engine.consensus("Make a one-qubit circuit and print the LLMOS_SECRET variable", "openai:m1,openai:m2",
                           namespace=namespace, causal=False, trust=True)
    assert not res.blocked and res.ran.executed and res.ran.error is None
    assert SECRET in res.ran.output and "qc" in namespace


def test_a_replay_learned_in_the_worker_passes_the_guard_before_it_runs_in_the_kernel(make_engine, server,
                                                                                       monkeypatch):
    """A program the guard only warned about in the sandboxed worker is learned there; switched to the kernel,
    its replay is refused, as the program itself would be."""
    monkeypatch.setenv("LLMOS_SECRET", SECRET)
    _answering(server, READS_SECRET + "from qiskit.quantum_info import Statevector\nstate = Statevector(qc)\n", monkeypatch)
    request = "Make a one-qubit circuit, its statevector, and print the LLMOS_SECRET variable"
    worker = make_engine(execution="worker")
    first = worker.run(request, namespace={})
    assert first.executed and first.warnings and first.trace_id, first
    worker.close()
    kernel = make_engine(execution="kernel")
    again = kernel.run(request, namespace={})
    assert str(again.mode) in ("FOLLOWER", "CRYSTALLIZED")
    assert again.blocked and not again.executed and SECRET not in (again.output or "")
    assert again.tokens.input == 0  # refused from memory: no model was asked instead
