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


STAGE_FILES = ("normalize", "decide", "replay", "ask", "guard", "execute", "verify", "learn", "record")


def _journey(engine, request: str) -> tuple[list[str], int]:
    """(stage files in the order the engine or another pipeline file hands the request to them, entries into
    engine.py from elsewhere once the flow has begun), for one request run on this thread."""
    import os
    import sys

    pipeline = os.path.join("llmos_jupyter", "pipeline") + os.sep
    entered, back, flowing = [], [0], [False]

    def name(frame) -> str:
        return frame.f_code.co_filename

    def profile(frame, event, _arg):
        if event != "call" or frame.f_back is None:
            return
        callee, caller = name(frame), name(frame.f_back)
        if callee == caller:
            return
        if callee.endswith(os.path.join("pipeline", "flow.py")):
            flowing[0] = True
        if flowing[0] and callee.endswith(os.path.join("llmos_jupyter", "engine.py")):
            back[0] += 1
        # A hand-over: the engine or another pipeline file calls into a stage (a provider streaming into ask's
        # callback is inside the ask stage, not a new entry).
        handed = pipeline in caller or caller.endswith(os.path.join("llmos_jupyter", "engine.py"))
        if handed and pipeline in callee and os.path.basename(callee)[:-3] in STAGE_FILES:
            entered.append(os.path.basename(callee)[:-3])

    sys.setprofile(profile)
    try:
        result = engine.run(request, namespace={})
    finally:
        sys.setprofile(None)
    assert result.error is None and result.executed, result
    return entered, back[0]


def test_a_request_enters_the_engine_once_and_each_stage_file_once(make_engine, server):
    """The journey, checked: from LLMOS.run the request goes into the flow and never comes back to engine.py
    before its Result exists; each stage file is entered once, in the declared order (a model's answer, then
    its replay)."""
    from conftest import ghz

    server.enqueue(Reply(text=fenced(ghz(3, 1024))))
    engine = make_engine()
    request = "Create a GHZ state with 3 qubits and 1024 shots"
    asked, back = _journey(engine, request)
    assert back == 0
    assert asked == ["normalize", "decide", "ask", "guard", "execute", "verify", "learn", "record"]
    replayed, back = _journey(engine, request)
    assert back == 0
    assert replayed == ["normalize", "decide", "replay", "guard", "execute", "verify", "learn", "record"]
