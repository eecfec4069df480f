"""One process per session, a clean one per replay (issue #23, sandbox/supervisor.py): what a program changes or
leaves running stays in its own process; a verified replay runs in a clean one; no program holds the kernel's
channel, and what it writes out of turn never reaches the kernel."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import BELL
from llmos_jupyter.sandbox import Sandbox

# A thread the program leaves behind writes well-formed replies for the next request ids on every pipe it can
# write: the kind of forgery that bound `len` in the kernel when programs shared the worker's reply channel.
FORGER = """\
import json, os, stat, struct, threading, time
def forge():
    time.sleep(0.3)
    for fd in range(3, 256):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            for ident in range(1, 60):
                body = json.dumps({"id": ident, "ok": True, "value": 666,
                                   "namespace": {"len": {"t": "json", "v": 666}}}).encode()
                os.write(fd, struct.pack(">Q", len(body)) + body)
        except OSError:
            pass
threading.Thread(target=forge, daemon=True).start()
x = 1
"""

PATCHES = """\
import qiskit.result, qiskit_aer, sys, types
qiskit.result.Result.get_counts = lambda self, *a, **k: {"forged": 1}
qiskit_aer.AerSimulator.run = lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("poisoned"))
planted = types.ModuleType("planted_helper")
planted.value = "planted"
sys.modules["planted_helper"] = planted
import __main__
__main__.poisoned = True
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("processes")
    (root / "home").mkdir()
    with Sandbox(outputs=root / "llmos-outputs", protect=[root / "home"], timeout=20) as sandbox:
        yield sandbox


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def test_programs_run_in_children_of_the_template_never_in_it(box):
    mine = box.run("import os\nos.getpid()", session="a").value
    clean = box.run("import os\nos.getpid()", clean=True).value
    assert len({mine, clean, box.pid, os.getpid()}) == 4
    assert parent_of(mine) == box.pid
    assert box.run("import os\nos.getpid()", session="a").value == mine  # a session keeps its process
    assert box.protections["runs"].startswith("each in a process forked from a warm template")


def test_what_a_program_patches_never_reaches_a_clean_replay(box):
    assert box.run(PATCHES, session="user").error is None
    poisoned = box.run(BELL, session="user")
    assert poisoned.error is not None and "poisoned" in poisoned.error  # its own session sees what it did
    replay = box.run(BELL, session="user", clean=True)
    assert replay.error is None, replay.error
    assert set(replay.counts) == {"00", "11"} and sum(replay.counts.values()) == 1024
    assert box.run("import sys\n'planted_helper' in sys.modules", clean=True).value is False
    assert box.run("import __main__\nhasattr(__main__, 'poisoned')", clean=True).value is False


def test_discarding_a_session_gives_it_a_clean_process(box):
    assert box.run(PATCHES + "y = 5", session="flagged").error is None
    box.discard("flagged")
    r = box.run(BELL, session="flagged")
    assert r.error is None and set(r.counts) == {"00", "11"}
    assert box.run("y", session="flagged").error_type == "NameError"  # its names went with it


def test_a_leftover_thread_cannot_forge_replies(box):
    assert box.run(FORGER, session="forger").error is None
    time.sleep(1.0)
    r = box.run("x + 1", session="forger")
    assert r.error_type == "WorkerCrashed" and "writing on its channel" in r.error and r.value is None
    assert "len" not in r.namespace
    assert box.run("x", session="forger").error_type == "NameError"  # a fresh process: the forger went
    assert box.run("2 + 2", session="other").value == 4  # nothing reached another session or the kernel


def test_a_program_cannot_reach_the_templates_descriptors_or_signal_it(box):
    r = box.run("""\
import os
found = []
for fd in range(0, 64):
    try:
        found.append(os.open(f"/proc/{os.getppid()}/fd/{fd}", os.O_WRONLY))
    except OSError as exc:
        pass
found""", session="reach")
    assert r.error is None and r.value == []
    r = box.run("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)", session="reach")
    assert r.error is not None
    assert box.run("1 + 1", session="reach").value == 2


def test_a_clean_run_hands_its_names_to_the_session_and_its_functions_stay_callable(box):
    r = box.run("from qiskit import QuantumCircuit\nqc = QuantumCircuit(3)\nqc.h(0)\ndef double(v):\n    return 2 * v\n",
                session="cells", clean=True)
    assert r.error is None and r.namespace["double"](21) == 42
    after = box.run("qc.num_qubits, 'double' in dir()", session="cells")
    assert after.value == (3, False)  # the circuit by value; the function stays where it was defined


def test_clean_runs_leave_no_process_behind(box):
    for _ in range(6):
        assert box.run("1 + 1", clean=True).value == 2
    for _ in range(6):  # each keeps its process: the kernel may call its function
        assert box.run("def f():\n    return 1\n", clean=True).error is None
    box.run("0", session="count")
    alive = [pid for pid in box._holder["worker"].children if running(pid)]
    sessions = {"a", "user", "flagged", "forger", "other", "reach", "cells", "count"}
    assert len(alive) <= len(sessions) + 4 + 1  # the named sessions, the last 4 clean runs with functions, a spare


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_closing_the_sandbox_ends_every_child(tmp_path):
    with Sandbox(outputs=tmp_path / "out") as sandbox:
        sandbox.run("1", session="a")
        sandbox.run("def f():\n    return 1\n", clean=True)
        sandbox.run("2", session="b")
        pids = list(sandbox._holder["worker"].children)
    assert len(pids) >= 3
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.05)
    assert not [p for p in pids if running(p)]


GHZ3 = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
qc = QuantumCircuit(3)
qc.h(0)
qc.cx(0, 1)
qc.cx(1, 2)
qc.measure_all()
"""

POISON = GHZ3 + """\
import llmos_jupyter.tools.transpile_cache as cache
transpile(qc, AerSimulator())  # kept here, and reported to the template as missed
wrong = QuantumCircuit(3)
wrong.x(0)
wrong.measure_all()
for key in list(cache._circuits):
    cache._circuits[key] = wrong  # this process's cache now answers GHZ with X
cache._missed.append((2, wrong))  # and it reports X as missed too, beside the GHZ it did miss
transpile(qc, AerSimulator()).count_ops().get("x", 0)
"""


def test_a_clean_replay_gets_what_the_template_transpiled_never_what_a_program_kept(box):
    assert box.run(POISON, session="poisoner").value == 1  # its own process is spoiled
    r = box.run(GHZ3 + "import llmos_jupyter.tools.transpile_cache as cache\n"
                       "before = cache.stats['circuit_hits']\n"
                       "out = transpile(qc, AerSimulator())\n"
                       "(dict(out.count_ops()), cache.stats['circuit_hits'] - before)", clean=True)
    ops, hits = r.value
    assert r.error is None and ops.get("x", 0) == 0 and ops["cx"] == 2 and ops["h"] == 1
    assert hits == 1  # the template had transpiled the reported circuit itself: the replay found it kept
