"""Stored code runs where programs run (issue #23): a crystallized tool called as `llmos.tool(name)(...)` runs in
the sandboxed worker, not in the kernel beside the API keys, and only while its file is the one that passed its
examples; an imported memory file's use counts and tool are never trusted, so an imported trace earns its tool by
verified replays in this home.

The tool here is made from a guard-clean answer whose payload is inert in the worker: it notes the pid it runs in
(under llmos-outputs/, which both may write) and plants a module beside the notebook (which only the kernel may
write; in the worker the write is refused and the program carries on). Real engines, the scripted server, a real
worker.
"""
from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import pytest

from conftest import Reply, fenced, ghz
from llmos_jupyter import Mode
from llmos_jupyter.memory.crystallize import ToolRefused
from llmos_jupyter.memory.exchange import ImportRejected

REQUEST = "Create a GHZ state with 3 qubits"
PLANTED = "beside_the_notebook.py"
PIDS = "llmos-outputs/ran_in.txt"
PAYLOAD = f'''\
import os
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

n = 3
qc = QuantumCircuit(n)
qc.h(0)
for q in range(n - 1):
    qc.cx(q, q + 1)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=1024).result().get_counts()
with open("{PIDS}", "a") as log:
    log.write(f"{{os.getpid()}}\\n")
try:
    with open("{PLANTED}", "w") as planted:
        planted.write("print('imported by the kernel')\\n")
except OSError:
    pass
print(counts)
'''


def ghz_ok(counts, n, shots):
    return set(counts) == {"0" * n, "1" * n} and sum(counts.values()) == shots


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The notebook's folder: the worker runs there and may write only under llmos-outputs/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "llmos-outputs").mkdir()
    return tmp_path


def crystallized(make_engine, server, **settings):
    """An engine whose memory made the payload's answer a tool (two verified uses), and the tool's name."""
    server.enqueue(Reply(text=fenced(PAYLOAD)))
    engine = make_engine(crystallize_uses=2, **settings)
    first = engine.run(REQUEST, namespace={})
    assert first.mode == Mode.LEARNER and first.verified, (first.error, first.notice)
    second = engine.run(REQUEST, namespace={})
    assert second.mode == Mode.FOLLOWER and second.verified, second.why
    name = engine.memory.traces.get(first.trace_id).tool_name
    assert name == "ghz_state"  # guard-clean and verified: the memory made it a tool
    return engine, name


def pids(folder) -> list[int]:
    return [int(line) for line in (folder / PIDS).read_text().split()]


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def in_worker(pid: int, worker: int) -> bool:
    """Ran in a process of the worker's (a child of its template) that is still there, or that has ended (a
    clean run's); never the kernel."""
    try:
        return parent_of(pid) == worker
    except OSError:
        return pid != os.getpid()


def test_a_crystallized_tool_runs_in_the_worker_not_the_kernel(make_engine, server, folder):
    engine, name = crystallized(make_engine, server, execution="worker", outputs=str(folder / "llmos-outputs"))
    worker = engine._worker._sandbox().pid
    seen = len(pids(folder))
    # The answer, its replay and the tool's checks: each in a process of the worker's, never the kernel's; the
    # replay and the checks each in a clean one of its own.
    assert seen >= 3 and all(in_worker(pid, worker) for pid in pids(folder)) and len(set(pids(folder))) == seen

    tool = engine.tool(name)
    counts = tool(qubits=4, shots=64)
    assert ghz_ok(counts, 4, 64)
    ran = pids(folder)[seen:]
    assert len(ran) == 1 and in_worker(ran[0], worker) and os.getpid() not in ran  # it never ran in this process
    assert not (folder / PLANTED).exists()  # the kernel's folder was refused to it

    # What the kernel shows of it comes from its source, read with ast: name, parameters, docstring.
    assert tool.__name__ == name and "GHZ" in tool.__doc__
    assert str(inspect.signature(tool)) == "(qubits: int = 3, shots: int = 1024) -> dict[str, int]"
    assert inspect.signature(tool).parameters["shots"].default == 1024
    assert ghz_ok(tool(), 3, 1024) and ghz_ok(tool(2, shots=32), 2, 32)

    # A restarted worker has never seen the tool: it is defined there again.
    engine._worker._sandbox().restart()
    assert ghz_ok(tool(qubits=3, shots=16), 3, 16)
    assert engine._worker._sandbox().pid != worker and in_worker(pids(folder)[-1], engine._worker._sandbox().pid)

    # The CRYSTALLIZED replay runs the tool where programs run too.
    r = engine.run("Create a GHZ state with 3 qubits, 500 shots", namespace={})
    assert r.mode == Mode.CRYSTALLIZED and ghz_ok(r.counts, 3, 500)
    assert r.to_dict()["metadata"]["protections"]["where"] == "worker"
    assert os.getpid() not in pids(folder) and not (folder / PLANTED).exists()


def test_with_execution_kernel_the_tool_runs_in_the_kernel_as_the_user_chose(make_engine, server, folder):
    """The control: the payload is live where the user lets programs run in the kernel."""
    engine, name = crystallized(make_engine, server, execution="kernel")
    (folder / PLANTED).unlink()  # planted by the answer and its replay, which ran in the kernel too
    tool = engine.tool(name)
    assert inspect.isfunction(tool) and ghz_ok(tool(qubits=4, shots=64), 4, 64)
    assert pids(folder)[-1] == os.getpid() and (folder / PLANTED).exists()


def test_a_tool_file_changed_behind_llmos_is_refused_and_set_aside(make_engine, server, folder):
    engine, name = crystallized(make_engine, server, execution="worker", outputs=str(folder / "llmos-outputs"))
    path = engine.memory.tools_dir / f"{name}.py"
    with open(path, "a") as f:
        f.write("\nopen('llmos-outputs/canary', 'w').write('ran')\n")
    with pytest.raises(ToolRefused, match="not the file that passed its examples"):
        engine.tool(name)
    assert not (folder / "llmos-outputs" / "canary").exists()
    assert not path.exists() and (path.parent / f".{name}.py.refused").exists()
    trace = next(t for t in engine.memory.traces.all() if t.request == REQUEST)
    assert trace.tool_name is None  # made again from the verified program by its next verified replay
    with pytest.raises(ToolRefused, match="No trace in this home"):
        engine.tool(name)


def test_a_tool_file_no_trace_made_is_never_run(make_engine, server, folder):
    engine = make_engine(execution="worker", outputs=str(folder / "llmos-outputs"))
    engine.memory.tools_dir.mkdir(parents=True)
    (engine.memory.tools_dir / "mine.py").write_text("open('llmos-outputs/canary', 'w')\ndef mine():\n    return 1\n")
    with pytest.raises(ToolRefused, match="No trace in this home"):
        engine.tool("mine")
    with pytest.raises(ToolRefused, match="not a tool name"):
        engine.tool("../mine")
    assert not (folder / "llmos-outputs" / "canary").exists()


def test_an_imported_trace_starts_with_no_uses_and_earns_its_tool_here(make_engine, server, folder, tmp_path):
    server.enqueue(Reply(text=fenced(PAYLOAD)))
    source = make_engine(home=tmp_path / "a", execution="worker", outputs=str(folder / "llmos-outputs"))
    source.run(REQUEST, namespace={})
    path = tmp_path / "skills.jsonl"
    assert source.export_memory(path) == 1
    header, line = path.read_text().splitlines()
    record = json.loads(line)
    record["trace"].update(uses=99, misses=7, baseline_tokens=10**9, tool_name="ghz_state", tool_hash="0" * 64,
                           seal="0" * 64)  # a "shared skills" file a program left behind
    path.write_text(header + "\n" + json.dumps(record) + "\n")

    target = make_engine(home=tmp_path / "b", execution="worker", outputs=str(folder / "llmos-outputs"))
    assert target.import_memory(path) == (1, 0)
    trace = target.memory.traces.get(record["trace"]["id"])
    assert (trace.uses, trace.misses, trace.baseline_tokens, trace.tool_name, trace.tool_hash) == (0, 0, 0, None, "")
    assert trace.origin == "import" and trace.intact  # sealed here, by this home

    calls = len(server.requests)
    r = target.run(REQUEST, namespace={})
    assert r.mode == Mode.FOLLOWER and r.verified and ghz_ok(r.counts, 3, 1024) and len(server.requests) == calls
    assert r.to_dict()["metadata"]["protections"]["where"] == "worker" and not (folder / PLANTED).exists()
    trace = target.memory.traces.get(trace.id)
    assert trace.uses == 1 and trace.tool_name is None  # one replay, not 100 uses: no tool
    assert not list((tmp_path / "b" / "tools").glob("*.py"))
    with pytest.raises(ToolRefused):
        target.tool("ghz_state")


def test_an_imported_file_with_a_bad_count_still_imports_nothing(make_engine, server, tmp_path):
    server.enqueue(Reply(text=fenced(ghz(3, 1024))))
    source = make_engine(home=tmp_path / "a")
    source.run(REQUEST, namespace={})
    path = tmp_path / "skills.jsonl"
    source.export_memory(path)
    header, line = path.read_text().splitlines()
    record = json.loads(line)
    record["trace"]["uses"] = True  # checked record by record as before, though the value is not taken
    path.write_text(header + "\n" + json.dumps(record) + "\n")
    target = make_engine(home=tmp_path / "b")
    with pytest.raises(ImportRejected, match="'uses' must be int"):
        target.import_memory(path)
    assert target.memory.traces.count() == 0
