"""The sandboxed worker (llmos_jupyter.sandbox): what a program in it cannot reach - the kernel's secrets, the
network, files outside its workdir and outputs, protected folders, new processes - checked with the audit
hook on and, where the OS layers should hold on their own, with it off; values that come back typed and
only through safe formats; and a worker that survives timeouts, crashes and leftover threads.

Few workers are started (each takes a second or two to preload Qiskit); tests share them where they can.
Nothing here asserts on wall-clock time: waits are for conditions, with generous bounds."""
from __future__ import annotations

import base64
import io
import json
import os
import pickle
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from llmos_jupyter.sandbox import RemoteFunction, Sandbox, SandboxError, WorkerResult
from llmos_jupyter.sandbox import codec, notices, paths, seccomp
from llmos_jupyter.sandbox.errors import UnsafePayload

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the OS layers are Linux's")
FAKE_KEY = "sk-llmos-test-fake-0123456789"


class _Layout:
    def __init__(self, root: Path):
        self.root = root
        self.outputs = root / "llmos-outputs"
        self.home = root / "home"  # stands for the LLMOS home: store, tools
        self.outside = root / "outside"
        for folder in (self.outputs, self.home, self.outside):
            folder.mkdir(parents=True, exist_ok=True)
        (self.home / "store.json").write_text('{"secret": "store"}')


def _start(layout: _Layout, **options) -> Sandbox:
    box = Sandbox(outputs=layout.outputs, protect=[layout.home], **options)
    box.pid  # start it while the fake key is in the environment
    return box


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return _Layout(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="module")
def box(layout):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", FAKE_KEY)
        mp.setenv("LAB_SESSION_TOKEN", FAKE_KEY)
        sandbox = _start(layout)
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def bare(layout):
    """The OS layers alone (the audit hook off), to show they hold without it."""
    sandbox = _start(layout, audit_hook=False)
    yield sandbox
    sandbox.close()


@pytest.fixture(params=["audit hook and OS", "OS layers alone"])
def any_box(request, box, bare):
    return box if request.param.startswith("audit") else bare


def ok(result: WorkerResult) -> WorkerResult:
    assert result.error is None, result.error
    return result


def refused(result: WorkerResult) -> str:
    assert result.error_type == "PermissionError", (result.error_type, result.error, result.output)
    return result.error


def wait_for(condition, bound: float = 60.0):
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never came true")
        time.sleep(0.05)


# ------------------------------------------------------------------------------------- secrets & process

def test_the_worker_is_another_process(box):
    assert box.pid != os.getpid() and box.protections["process"] is True


def test_the_environment_has_no_secrets(box):
    r = ok(box.run(f"""
import os
seen = {{
    "environ": any({FAKE_KEY!r} in v for v in os.environ.values()) or "OPENAI_API_KEY" in os.environ,
    "proc": {FAKE_KEY!r}.encode() in open("/proc/self/environ", "rb").read(),
    "expandvars": os.path.expandvars("$OPENAI_API_KEY") != "$OPENAI_API_KEY",
    "token": "LAB_SESSION_TOKEN" in os.environ,
}}
seen
"""))
    assert r.value == {"environ": False, "proc": False, "expandvars": False, "token": False}
    assert {"OPENAI_API_KEY", "LAB_SESSION_TOKEN"} <= set(box.protections["environment_dropped"])
    assert box.protections["environment"] == "scrubbed"


def test_the_kernel_process_cannot_be_read_or_signalled(any_box):
    r = any_box.run("import os\nopen(f'/proc/{os.getppid()}/environ', 'rb').read()")
    refused(r)
    refused(any_box.run("import os, signal\nos.kill(os.getppid(), signal.SIGCONT)"))


# ------------------------------------------------------------------------------------------------ network

@linux_only
def test_no_network_not_even_the_hosts_loopback(any_box):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        for code in (f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
                     f"import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', {port}))",
                     "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))"):
            refused(any_box.run(code))
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever knocked


# ------------------------------------------------------------------------------------------------ files

def test_writes_outside_workdir_and_outputs_fail(any_box, layout):
    victim = layout.outside / "victim.txt"
    for code in (f"open({str(victim)!r}, 'w').write('x')",
                 f"import os\nos.open({str(victim)!r}, os.O_WRONLY | os.O_CREAT)",
                 f"import pathlib\npathlib.Path({str(victim)!r}).write_text('x')",
                 f"import shutil\nshutil.copy('/etc/hostname', {str(victim)!r})",
                 # the kernel's folder, relative, past the redirect that stages such writes (test_sandbox_files.py)
                 "import _io\n_io.open('results.json', 'w').write('{}')"):
        refused(any_box.run(code))
    assert not victim.exists() and not (Path.cwd() / "results.json").exists()


def test_outputs_are_writable_and_visible_to_the_kernel(any_box, layout):
    name = f"counts-{'bare' if any_box.protections['audit_hook'] is not True else 'audit'}.json"
    r = ok(any_box.run(f"""
import json, os
with open(os.path.join(os.environ["LLMOS_OUTPUTS"], {name!r}), "w") as f:
    json.dump({{"00": 510, "11": 514}}, f)
"""))
    assert json.loads((layout.outputs / name).read_text()) == {"00": 510, "11": 514}
    assert r.error is None


def test_a_relative_path_under_outputs_means_what_it_means_in_the_kernel(layout, monkeypatch):
    monkeypatch.chdir(layout.root)
    with Sandbox(outputs=Path("llmos-outputs"), protect=[layout.home]) as local:
        ok(local.run("from pathlib import Path\nPath('llmos-outputs/relative.txt').write_text('here')"))
    assert (layout.outputs / "relative.txt").read_text() == "here"


def test_a_protected_folder_can_be_neither_read_nor_written(any_box, layout):
    store = layout.home / "store.json"
    for code in (f"open({str(store)!r}).read()", f"import os\nos.listdir({str(layout.home)!r})",
                 f"open({str(layout.home / 'tool.py')!r}, 'w').write('evil')",
                 f"open({str(store)!r}, 'a').write('tamper')",
                 f"import os\nos.symlink({str(store)!r}, 'llmos-outputs/link')\nopen('llmos-outputs/link').read()"):
        refused(any_box.run(f"import os\nos.chdir({str(layout.root)!r})\n" + code))
    assert store.read_text() == '{"secret": "store"}' and sorted(os.listdir(layout.home)) == ["store.json"]


@linux_only
def test_a_protected_folder_is_left_out_of_every_read_rule(box, layout):
    grants = box.protections["paths"]
    home = paths.real(layout.home)
    assert home in grants["protected"]
    assert not any(paths.under(home, r) for r in grants["readable"] + grants["writable"])
    assert box.protections["filesystem"] == "landlock"


def test_granting_around_a_protected_folder_keeps_its_siblings(tmp_path):
    (tmp_path / "a" / "home" / "x").mkdir(parents=True)
    (tmp_path / "a" / "lib").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("n")
    (tmp_path / "b").mkdir()
    around = paths._children_around(str(tmp_path), [str(tmp_path / "a" / "home")], [100])
    assert sorted(around) == sorted(str(tmp_path / p) for p in ("a/lib", "a/notes.txt", "b"))


def test_a_layout_the_rules_cannot_honour_is_refused(tmp_path):
    with pytest.raises(ValueError, match="inside the protected folder"):
        Sandbox(outputs=tmp_path / "home" / "out", protect=[tmp_path / "home"])
    with pytest.raises(ValueError, match="lies inside the sandbox's outputs"):
        Sandbox(outputs=tmp_path, protect=[tmp_path / "home"])
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ValueError, match="sys.path"):
            Sandbox(workdir=tmp_path, outputs=tmp_path / "out")
    finally:
        sys.path.remove(str(tmp_path))


# ------------------------------------------------------------------------------------------- processes

def test_new_processes_are_refused(any_box, layout):
    marker = layout.outputs / f"spawned-{os.getpid()}"
    touch = f"touch {marker}"
    for code in ("import subprocess\nsubprocess.run(['id'])", f"import os\nassert os.system({touch!r}) == 0",
                 "import os\nos.fork()", "import os\nos.execv('/bin/true', ['true'])",
                 "import os\nos.posix_spawn('/bin/true', ['true'], {})",
                 "import _posixsubprocess, os\nr, w = os.pipe()\n_posixsubprocess.fork_exec([b'/bin/true'], "
                 "[b'/bin/true'], True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, False, None, "
                 "None, None, -1, None, False)"):
        r = any_box.run(code)
        assert r.error_type in ("PermissionError", "AssertionError"), (code, r.error)
    assert not marker.exists()


@linux_only
def test_the_seccomp_filter_is_a_valid_program():
    for arch in seccomp.ARCHES.values():
        ops = seccomp.program(arch)
        assert ops[-1][3] == seccomp.RET_ERRNO | 38 and len(ops) < 256  # ENOSYS last; BPF's jump range


def test_native_code_cannot_be_loaded_after_the_preload(box):
    r = refused(box.run("import ctypes\nctypes.CDLL(None).system(b'id')"))
    assert "ctypes.dlopen" in r
    assert "import" in refused(box.run("import cffi"))


def test_another_audit_hook_is_never_added(box, layout):
    marker = layout.outputs / "hook-ran"
    r = box.run(f"import sys\nsys.addaudithook(lambda e, a: open({str(marker)!r}, 'w').close())\nimport os\nos.getcwd()")
    assert "refused sys.addaudithook" in r.output
    box.run("import json")
    assert not marker.exists()


def test_a_timer_thread_cannot_write_after_the_run_and_dies_with_a_restart(layout):
    victim = layout.outside / "timer-victim.txt"
    report = layout.outputs / "timer-report.txt"
    with Sandbox(outputs=layout.outputs, protect=[layout.home]) as timer_box:
        baseline = ok(timer_box.run("import threading\nthreading.active_count()")).value
        ok(timer_box.run(f"""
import threading

def later():
    try:
        open({str(victim)!r}, "w").write("written after the run")
        outcome = "wrote"
    except Exception as exc:
        outcome = f"{{type(exc).__name__}}: {{exc}}"
    open({str(report)!r}, "w").write(outcome)

threading.Timer(0.2, later).start()
threading.Thread(target=lambda: threading.Event().wait(), daemon=True).start()
"""))
        wait_for(report.exists)
        assert report.read_text().startswith("PermissionError") and not victim.exists()
        old = timer_box._holder["worker"]
        timer_box.restart()
        assert old.proc.poll() is not None  # the old process, and every thread in it, is gone
        assert ok(timer_box.run("import threading\nthreading.active_count()")).value == baseline


def test_nothing_the_worker_leaves_in_its_folders_turns_the_kernels_own_file_access(layout):
    victim = layout.outside / "kernel-file.txt"
    victim.write_text("the kernel's own file")
    with Sandbox(outputs=layout.outputs, protect=[layout.home]) as box:
        log = box.workdir / "worker.log"
        refused(box.run(f"import os\nos.remove({str(log)!r})\nos.symlink({str(victim)!r}, {str(log)!r})"))
        refused(box.run(f"import os\nos.symlink({str(victim)!r}, 'llmos-outputs/planted')"))
        if log.exists():
            log.unlink()
        log.symlink_to(victim)  # as if a program had got one there after all
        crashed = box.run("import os\nos._exit(1)")  # the kernel reads the log's tail: not through the link
        assert crashed.error_type == "WorkerCrashed" and "the kernel's own file" not in crashed.error
        assert ok(box.run("1")).value == 1  # and starts a fresh log for the new worker
    assert victim.read_text() == "the kernel's own file" and not log.is_symlink()


def test_a_run_cannot_poison_the_next_one(box, layout):
    marker = layout.outputs / "poisoned"
    touch = f"__import__('builtins').open({str(marker)!r}, 'w').close()"
    r = ok(box.run(f"""
import builtins, signal, sys
from os import *
here = sys._getframe().f_code.co_filename
plain_print = builtins.print
builtins.print = lambda *a, **k: ({touch}, plain_print(*a, **k))
builtins.sneaky = 1
signal.signal(signal.SIGALRM, lambda *a: {touch})
signal.setitimer(signal.ITIMER_REAL, 2.0)
sys.modules["json"] = None
sys.settrace(lambda frame, *a: {touch} if frame.f_code.co_filename.startswith("<llmos-cell") and
             frame.f_code.co_filename != here else None)
""", session="poison"))
    assert "The sandbox dropped" in r.output and "open" in r.output
    time.sleep(2.5)  # past the itimer, had it survived the run
    later = ok(box.run("""
import builtins, json, signal, sys
print("hello")
[type(print).__name__ == "builtin_function_or_method", open is builtins.open, hasattr(builtins, "sneaky"),
 signal.getsignal(signal.SIGALRM) is signal.SIG_DFL, sys.gettrace() is None, json.dumps([1])]
""", session="poison"))
    assert later.value == [True, True, False, True, True, "[1]"]
    assert not marker.exists()
    ok(box.run("__builtins__ = {'print': None}", session="poison"))
    assert ok(box.run("print('still printing')\nlen([1, 2])", session="poison")).value == 2


# --------------------------------------------------------------------------------------- restarts

def test_a_timeout_stops_the_program_and_the_next_run_works(layout):
    with Sandbox(outputs=layout.outputs, protect=[layout.home], timeout=3) as quick:
        ok(quick.run("x = 41"))
        first = quick.pid
        r = quick.run("while True:\n    pass")
        assert r.error_type == "Timeout"
        assert "ran past 3 s and was stopped. Its process was discarded, so the names earlier programs defined" in r.error
        assert "Sandbox(timeout=" in r.error
        assert quick.pid == first  # the template lives on: only the session's process went
        assert quick.run("x + 1").error_type == "NameError"  # a fresh process for the session
        assert ok(quick.run("2 + 2")).value == 4


def test_a_clean_run_that_times_out_costs_the_session_nothing(layout):
    with Sandbox(outputs=layout.outputs, protect=[layout.home], timeout=3) as quick:
        ok(quick.run("x = 41"))
        r = quick.run("while True:\n    pass", clean=True)
        assert r.error_type == "Timeout" and "ran past 3 s" in r.error and "names" not in r.error
        assert ok(quick.run("x + 1")).value == 42


def test_crashes_restart_the_worker(layout):
    with Sandbox(outputs=layout.outputs, protect=[layout.home], memory_mb=2048) as fragile:
        r = fragile.run("import os\nos._exit(3)")
        assert r.error_type == "WorkerCrashed" and "exited with status 3" in r.error and "discarded" in r.error
        assert ok(fragile.run("1 + 1")).value == 2

        r = fragile.run("import faulthandler\nfaulthandler._sigsegv()")
        assert r.error_type == "WorkerCrashed" and "SIGSEGV" in r.error and "Segmentation fault" in r.error

        os.kill(fragile.pid, signal.SIGKILL)  # from outside, between runs
        wait_for(lambda: fragile._holder["worker"].proc.poll() is not None)
        r = fragile.run("1 + 2")
        assert r.error_type == "WorkerCrashed" and "SIGKILL" in r.error and "before the program was sent" in r.error
        assert ok(fragile.run("1 + 3")).value == 4

        r = fragile.run("blob = bytearray(3 * 1024 ** 3)")  # over the 2048 MiB address space
        assert r.error_type == "MemoryError" and "Sandbox(memory_mb=4096)" in r.error
        assert ok(fragile.run("1 + 4")).value == 5
        assert fragile.protections["rlimits"]["address_space_mb"] == 2048


def run_until_interrupted(sandbox: Sandbox, started: Path, before: str = "", **options) -> WorkerResult:
    """Run a program that loops forever once it has made `started`, and interrupt the worker then, as Ctrl-C in
    the kernel does."""
    import threading

    def interrupt_once_running():
        wait_for(started.exists)
        sandbox._holder["worker"].interrupt()

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    return sandbox.run(f"{before}import time\nopen({str(started)!r}, 'w').close()\nwhile True:\n    time.sleep(0.01)",
                       **options)


def test_an_interrupt_reaches_the_program_and_the_worker_lives_on(box, layout):
    r = run_until_interrupted(box, layout.outputs / "interrupt-started", "kept = 7\n", session="interrupt")
    assert r.error_type == "KeyboardInterrupt"
    assert ok(box.run("kept", session="interrupt")).value == 7


def test_an_interrupt_reaches_the_program_of_a_kernel_started_with_sigint_ignored(layout):
    """A kernel launched as a background job of a shell without job control has SIGINT ignored, and a child
    inherits that; the worker takes SIGINT back so that Ctrl-C still stops the program."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sandbox = _start(layout, timeout=30)
    finally:
        signal.signal(signal.SIGINT, previous)
    with sandbox:
        r = run_until_interrupted(sandbox, layout.outputs / "interrupt-ignored-started")
        assert r.error_type == "KeyboardInterrupt", r.error


def test_the_worker_ends_with_the_kernel_and_the_next_sandbox_removes_its_workdir(tmp_path):
    """The worker is killed the moment its kernel ends (PR_SET_PDEATHSIG), with no time to empty its temporary
    workdir; the kernel's lock beside that folder goes with the kernel, and the next Sandbox removes it."""
    script = (f"import os\nfrom llmos_jupyter.sandbox import Sandbox\n"
              f"box = Sandbox(outputs={str(tmp_path / 'out')!r})\n"
              "r = box.run('open(' + repr(str(box.workdir / 'scratch.txt')) + ', \"w\").write(\"x\")')\n"
              "assert r.error is None and (box.workdir / 'scratch.txt').exists(), r.error\n"
              "print(box.pid, box.workdir, flush=True)\nos._exit(0)\n")
    import subprocess

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    pid, workdir = out.stdout.split()
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text())
    with Sandbox(outputs=tmp_path / "out") as later:  # made without starting a worker: the sweep is in __init__
        assert not Path(workdir).exists()
        assert later.workdir.exists() and Path(str(later.workdir) + ".lock").exists()
    assert not Path(str(later.workdir) + ".lock").exists()


def test_native_writes_to_fd1_do_not_corrupt_the_protocol(box):
    r = ok(box.run("import os\nos.write(1, b'straight to fd 1\\n')\nos.write(2, b'and fd 2\\n')\nprint('python')"))
    assert "python" in r.output and "straight to fd 1" in r.output and "and fd 2" in r.output
    assert ok(box.run("3 * 3")).value == 9


# ------------------------------------------------------------------------------------------------ values

def test_values_come_back_typed(box):
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector

    r = ok(box.run("""
import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector
from qiskit_aer import AerSimulator

theta = Parameter("θ")
qc = QuantumCircuit(2, name="bell")
qc.h(0)
qc.cx(0, 1)
qc.rz(theta, 1)
bound = qc.assign_parameters({theta: 0.5})
sv = Statevector(bound)
rho = DensityMatrix(sv)
op = Operator(bound)
ham = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5j)])
arr = np.arange(6, dtype=np.int16).reshape(2, 3)
meas = bound.copy()
meas.measure_all()
sim = AerSimulator(seed_simulator=1)
counts = sim.run(transpile(meas, sim), shots=100).result().get_counts()
plain = {"n": 3, "xs": [1.5, None, True], "t": (1, "a"), 2: "int key", "z": 1 + 2j, "nan": float("nan")}
qc
"""))
    ns = r.namespace
    expected = QuantumCircuit(2, name="bell")
    theta = Parameter("θ")
    expected.h(0)
    expected.cx(0, 1)
    expected.rz(theta, 1)
    assert isinstance(r.value, QuantumCircuit) and r.value.name == "bell" and len(r.value.parameters) == 1
    assert ns["bound"] == expected.assign_parameters({theta: 0.5})
    assert isinstance(ns["sv"], Statevector) and ns["sv"] == Statevector(ns["bound"])
    assert isinstance(ns["rho"], DensityMatrix) and ns["rho"] == DensityMatrix(ns["sv"])
    assert isinstance(ns["op"], Operator) and ns["op"] == Operator(ns["bound"])
    assert isinstance(ns["ham"], SparsePauliOp) and ns["ham"] == SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5j)])
    assert isinstance(ns["arr"], np.ndarray) and ns["arr"].dtype == np.int16 and ns["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(ns["counts"]) is dict and sum(ns["counts"].values()) == 100 and ns["counts"] == r.counts
    plain = ns["plain"]
    assert plain["n"] == 3 and plain["xs"] == [1.5, None, True] and plain["t"] == (1, "a") and plain[2] == "int key"
    assert plain["z"] == 1 + 2j and plain["nan"] != plain["nan"]
    # a simulator and a Parameter stay in the worker, held by proxies that answer as they would
    assert not {"sim", "theta"} & set(r.left_behind) and str(ns["theta"]) == "θ" and ns["sim"].name == "aer_simulator"
    assert r.produced["value"] == "QuantumCircuit" and r.counts and r.shots == 100


def test_the_session_namespace_persists_like_a_kernel(box):
    ok(box.run("carried = [1, 2]", session="persist"))
    assert ok(box.run("carried + [3]", session="persist")).value == [1, 2, 3]
    assert box.run("carried", session="another").error_type == "NameError"


def test_a_defined_function_is_callable_from_the_kernel_and_runs_in_the_worker(box):
    from qiskit import QuantumCircuit

    r = ok(box.run('''
import os
from qiskit import QuantumCircuit

def ghz(n: int = 3, label: str = "ghz") -> QuantumCircuit:
    """A GHZ circuit on n qubits; also says where it ran."""
    print("building", n)
    qc = QuantumCircuit(n, name=f"{label}-{os.getpid()}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc

def where(*_):
    return os.getpid()

def width(circuit, by=len):
    return by(circuit.qubits) if callable(by) else circuit.num_qubits

def fails():
    raise ValueError("on purpose")
''', session="fn"))
    ghz = r.namespace["ghz"]
    assert isinstance(ghz, RemoteFunction) and ghz.__name__ == "ghz" and "A GHZ circuit" in ghz.__doc__
    assert str(ghz.__signature__) == "(n: int = 3, label: str = 'ghz') -> qiskit.circuit.quantumcircuit.QuantumCircuit"
    assert r.produced["defined"]["ghz"] == "def" + str(ghz.__signature__) == "def" + ghz.signature_text
    where = r.namespace["where"]()  # the session's process: a child of the worker's template, never the kernel
    assert where != os.getpid() and int(Path(f"/proc/{where}/stat").read_text().rpartition(")")[2].split()[1]) == box.pid
    circuit = ghz(4, label="four")
    assert isinstance(circuit, QuantumCircuit) and circuit.num_qubits == 4 and circuit.name == f"four-{where}"
    assert r.namespace["width"](circuit) == 4  # a circuit travels to the worker as an argument, too
    assert r.namespace["width"](circuit, by=r.namespace["where"]) == where  # and a remote function
    with pytest.raises(ValueError, match="on purpose") as raised:  # its own type (test_sandbox_boundary.py)
        r.namespace["fails"]()
    assert raised.value.remote_type == "ValueError"
    with pytest.raises(SandboxError, match="cannot travel"):
        ghz(object())  # a builtin instance has no source to ship
    assert r.namespace["width"](circuit, by=lambda qubits: 10 * len(qubits)) == 40  # a kernel lambda, shipped


def test_a_remote_function_from_a_restarted_worker_says_so(layout):
    with Sandbox(outputs=layout.outputs, protect=[layout.home]) as short:
        f = ok(short.run("def f():\n    return 1")).namespace["f"]
        assert f() == 1
        short.restart()
        with pytest.raises(SandboxError, match="restarted"):
            f()


def test_values_without_a_safe_form_come_back_as_proxies(box):
    r = ok(box.run("import numpy as np\nobjects = np.array([object()])\nclass Thing: pass\nthing = Thing()\nn = 1",
                   session="left-behind"))
    assert not r.left_behind and r.namespace["n"] == 1 and r.namespace["np"] is np
    assert isinstance(r.namespace["thing"], r.namespace["Thing"]) and len(r.namespace["objects"]) == 1


def test_pickle_never_loads_in_either_direction(box, layout):
    marker = layout.outputs / "unpickled"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payload = base64.b64encode(pickle.dumps(Boom())).decode()
    for message in ({"t": "pickle", "b64": payload}, {"t": "ndarray", "npy": payload},
                    {"t": "circuit", "qpy": payload}, {"t": "statevector", "data": payload, "dims": [2]}):
        with pytest.raises(UnsafePayload):
            codec.decode(message)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePayload):
        codec.decode({"t": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(codec.Unconvertible):
        codec.encode(np.array([Boom()], dtype=object))
    # Straight into the worker's request pipe, past the kernel's own encoder:
    ok(box.run("def echo(x):\n    return x", session="pickle"))
    worker = box._holder["worker"]
    reply = worker.request({"op": "call", "session": "pickle", "name": "echo",
                            "args": {"t": "list", "v": [{"t": "pickle", "b64": payload}]}, "kwargs": {"t": "dict", "v": []}},
                           time.monotonic() + 30)
    assert reply["ok"] is False and reply["error_type"] == "UnsafePayload" and "never pickle" in reply["error"]
    assert not marker.exists()


def test_old_qpy_versions_are_refused():
    from qiskit import QuantumCircuit, qpy

    buffer = io.BytesIO()
    qpy.dump(QuantumCircuit(1), buffer, version=qpy.QPY_COMPATIBILITY_VERSION)
    raw = bytearray(buffer.getvalue())
    raw[6] = 9  # claims a version whose expressions went through symengine
    with pytest.raises(UnsafePayload, match="QPY version 9"):
        codec.decode({"t": "circuit", "qpy": base64.b64encode(bytes(raw)).decode()})


def test_figures_come_back_as_png(box):
    if "matplotlib.pyplot" not in box.protections["preloaded"]:
        pytest.skip("matplotlib is not installed for the worker")
    r = ok(box.run("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.figure()\nplt.plot([1, 2])"))
    assert len(r.figures) == 2 and all(f.startswith(b"\x89PNG") for f in r.figures) and r.produced["figures"] == 2
    assert ok(box.run("import matplotlib.pyplot as plt\nplt.get_fignums()")).value == []  # closed in the worker


# ------------------------------------------------------------------------------------------ protections

@linux_only
def test_protections_list_what_is_in_force(box):
    p = box.protections
    assert p["process"] is True and p["environment"] == "scrubbed" and p["audit_hook"] is True
    assert p["network"] in ("namespace", "user+network namespace")
    assert p["filesystem"] == "landlock" and p["syscalls"] == "seccomp" and p["no_new_privs"] is True
    assert p["rlimits"]["core"] == 0 and p["rlimits"]["file_mb"] == 1024 and p["rlimits"]["address_space_mb"] == 8192
    assert p["capabilities"] in ("dropped", "none held")
    if os.getuid() == 0:
        assert p["rlimits"]["nproc"].startswith("exempt (root)")
        # With seccomp refusing process creation the exemption changes nothing: no notice in the user's cell.
        assert not any("RLIMIT_NPROC" in n for n in box.notices)
        said = notices.notices({**p, "syscalls": "off: no seccomp here"})
        assert any("RLIMIT_NPROC does not bind" in n and "ordinary user" in n for n in said)
    assert ok(box.run("1")).protections == {k: v for k, v in p.items()}


def test_a_protection_that_is_off_is_said_in_a_notice():
    said = notices.notices({"network": "off: unshare(CLONE_NEWNET) failed (EPERM: Operation not permitted)",
                            "filesystem": "off: landlock_create_ruleset failed (ENOSYS: Function not implemented)",
                            "no_new_privs": False, "audit_hook": True, "rlimits": {"nproc": 300}})
    assert any(n.startswith("Network isolation is off: unshare(CLONE_NEWNET) failed (EPERM") for n in said)
    assert any(n.startswith("Filesystem confinement (Landlock) is off") for n in said)
    assert any("no_new_privs" in n for n in said) and len(said) == 3


def test_landlock_degrades_with_a_reason_where_the_kernel_has_none(monkeypatch):
    from llmos_jupyter.sandbox import landlock, libc

    monkeypatch.setattr(libc, "syscall_number", lambda name: None)
    version, why = landlock.abi()
    assert version == 0 and "ENOSYS" in why
    grants = paths.Grants(readable=(), writable=(), protected=())
    assert landlock.restrict(grants)["filesystem"].startswith("off: ")
