"""What crosses from the sandboxed worker into the kernel, and what it may do there (issue #23, round 3).

A worker is untrusted: a program can patch the worker's own runner and send any reply. So each rule is
checked with ordinary programs and, where the kernel alone must hold it, with a forged reply (FORGE: a program
that makes the worker's next reply carry what it likes):

- names: nothing from the worker replaces a builtin, IPython's names, or a name the user defined or imported;
  such names are reported; the worker may rebind what it bound itself;
- exceptions: a worker function's ValueError / KeyError / ZeroDivisionError / qiskit error is raised in the
  kernel as that type, with the worker's traceback as a note; a class the program made arrives as
  RemoteError; a module the worker names is never imported because it named it;
- random streams: a call may move the kernel's stream only along the kernel's own sequence;
- imports: what the program imported from installed libraries is in the namespace afterwards, as the
  kernel's own objects."""
from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from conftest import Reply, fenced, forge
from llmos_jupyter.pipeline.runners import WorkerRunner
from llmos_jupyter.sandbox import RemoteError, RemoteFunction, Sandbox
from llmos_jupyter.sandbox.remote import from_sandbox, kernel_object



def ok(result):
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("boundary")
    (root / "home").mkdir()
    return root


@pytest.fixture(scope="module")
def box(folders):
    with Sandbox(outputs=folders / "llmos-outputs", protect=[folders / "home"]) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def runner(folders):
    made = WorkerRunner(protect=(folders / "home",), outputs=folders / "llmos-outputs", timeout=60.0)
    yield made
    made.close()


@pytest.fixture
def streams():
    """The test process's own random streams, put back afterwards."""
    python, legacy = random.getstate(), np.random.get_state()
    yield
    random.setstate(python)
    np.random.set_state(legacy)


# -------------------------------------------------------------------------------------------------- names

def test_a_forged_reply_cannot_replace_the_kernels_names(runner):
    sentinel, shell, history = object(), object(), ["%%llmos ..."]
    namespace = {"QiskitRuntimeService": sentinel, "get_ipython": shell, "In": history, "np": "the user's np"}
    ok(runner.run("def worker_function():\n    return 'from the worker'", namespace, session="forged-names"))
    forged = ["len", "print", "get_ipython", "In", "Out", "exit", "display", "_", "__", "_i3", "_7", "_oh",
              "__builtins__", "QiskitRuntimeService", "np"]
    description = "_runner.describe_function(worker_function)"
    ok(runner.run(forge("run", "{'namespace': {%s}, 'imports': {'np': ['numpy', None]}}"
                        % ", ".join(f"{name!r}: {description}" for name in forged + ["fresh"])),
                  namespace, session="forged-names"))
    ran = ok(runner.run("x = 1", namespace, session="forged-names"))
    assert namespace["QiskitRuntimeService"] is sentinel and namespace["get_ipython"] is shell
    assert namespace["In"] is history and namespace["np"] == "the user's np"
    assert not {"len", "print", "Out", "exit", "display", "_", "__", "_i3", "_7", "_oh", "__builtins__"} & set(namespace)
    assert isinstance(namespace["fresh"], RemoteFunction) and namespace["fresh"]() == "from the worker"
    assert namespace["x"] == 1
    notice = "\n".join(ran.notices)
    for name in forged:
        assert name in notice and name in ran.left_behind, name
    assert "len (a builtin)" in notice and "get_ipython (IPython's)" in notice
    assert "QiskitRuntimeService (yours)" in notice and "_i3 (not a plain name)" in notice


def test_the_worker_may_rebind_what_it_bound_but_not_what_the_user_did(runner):
    namespace: dict = {}
    ok(runner.run("counts = {'0': 1}\nlabel = 'first'", namespace, session="rebind"))
    assert namespace == {"counts": {"0": 1}, "label": "first"}
    namespace["label"] = "the user's own"  # the user rebinds one of the worker's names
    ran = ok(runner.run("counts = {'1': 2}\nlabel = 'second'", namespace, session="rebind"))
    assert namespace == {"counts": {"1": 2}, "label": "the user's own"}
    assert "label (yours)" in "\n".join(ran.notices) and "counts" not in "\n".join(ran.notices)
    # and the same worker, in another namespace (a throwaway one), does not make the user's names its own
    ok(runner.run("label = 'elsewhere'", {}, session="rebind"))
    ok(runner.run("label = 'third'", namespace, session="rebind"))
    assert namespace["label"] == "the user's own"


def test_an_answer_through_llmos_run_leaves_the_users_names_alone(make_engine, server, tmp_path):
    sentinel, shell = object(), object()
    namespace = {"QiskitRuntimeService": sentinel, "get_ipython": shell, "In": ["cell"]}
    server.enqueue(Reply(text=fenced("""\
import numpy as np
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator

def len(x):
    return 0

def print(*args, **kwargs):
    pass

def get_ipython():
    return None

In = []

def QiskitRuntimeService(channel=None, token=None):  # would receive the user's token in their next cell
    return token

qc = QuantumCircuit(1)
qc.x(0)
qc.measure_all()
counts = AerSimulator().run(qc, shots=16).result().get_counts()
""")))
    engine = make_engine(execution="worker", outputs=str(tmp_path / "llmos-outputs"))
    r = engine.run("Flip one qubit and measure it 16 times", namespace=namespace)
    assert r.error is None and r.counts == {"1": 16}, (r.error, r.notice)
    assert namespace["QiskitRuntimeService"] is sentinel and namespace["get_ipython"] is shell
    assert namespace["In"] == ["cell"] and "len" not in namespace and "print" not in namespace
    for reported in ("QiskitRuntimeService (yours)", "get_ipython (IPython's)", "In (IPython's)"):
        assert reported in (r.notice or ""), r.notice
    assert "dropped len, print" in r.output  # the worker drops names that shadow builtins, and says so
    assert {"get_ipython", "In", "QiskitRuntimeService"} <= set(r.protections["left_in_worker"])
    # what the program imported is there, as the kernel's own objects
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    assert namespace["QuantumCircuit"] is QuantumCircuit and namespace["np"] is np
    assert namespace["AerSimulator"] is AerSimulator and namespace["qc"].num_qubits == 1


# --------------------------------------------------------------------------------------------- exceptions

FAILING = '''
from qiskit.circuit.exceptions import CircuitError
from qiskit.exceptions import QiskitError

def fail(kind):
    if kind == "value":
        raise ValueError("a bad value")
    if kind == "key":
        return {}["missing"]
    if kind == "int key":
        return {}[3]
    if kind == "zero":
        return 1 / 0
    if kind == "circuit":
        raise CircuitError("no such qubit")
    if kind == "qiskit":
        raise QiskitError("plain qiskit")
    if kind == "own":
        own()


def own():
    class ValueError(Exception):  # the program's own class, named like a builtin
        pass
    raise ValueError("mine")
'''


@pytest.fixture(scope="module")
def fail(box):
    return ok(box.run(FAILING, session="errors")).namespace["fail"]


def test_a_builtin_exception_keeps_its_type(fail):
    with pytest.raises(ValueError, match="a bad value") as raised:
        fail("value")
    assert type(raised.value) is ValueError and raised.value.args == ("a bad value",)
    assert from_sandbox(raised.value) and raised.value.remote_type == "ValueError"
    note = "\n".join(raised.value.__notes__)
    assert "fail()" in note and 'raise ValueError("a bad value")' in note and "in fail" in note
    assert raised.value.remote_traceback in note
    with pytest.raises(ZeroDivisionError):
        fail("zero")
    try:
        fail("key")
    except KeyError as exc:  # the same message shape as a kernel KeyError: the key, not its repr twice
        assert str(exc) == str(KeyError("missing")) == "'missing'" and exc.args == ("missing",)
    with pytest.raises(KeyError) as raised:
        fail("int key")
    assert raised.value.args == (3,)


def test_a_qiskit_exception_keeps_its_type(fail):
    from qiskit.circuit.exceptions import CircuitError
    from qiskit.exceptions import QiskitError

    with pytest.raises(CircuitError, match="no such qubit") as raised:
        fail("circuit")
    assert raised.value.remote_type == "qiskit.circuit.exceptions.CircuitError"
    assert "raise CircuitError" in "\n".join(raised.value.__notes__)
    with pytest.raises(QiskitError, match="plain qiskit"):  # a base class catches it too
        fail("qiskit")


def test_an_exception_class_the_program_made_arrives_as_remote_error(fail):
    with pytest.raises(RemoteError, match="mine") as raised:
        try:
            fail("own")
        except ValueError:  # its name is ValueError, but it is not the builtin
            pytest.fail("the program's own ValueError was taken for the builtin")
    assert raised.value.remote_type == "__main__.own.<locals>.ValueError"
    assert from_sandbox(raised.value) and "mine" in raised.value.remote_traceback


def test_a_runs_error_type_is_exact(box):
    assert box.run("1 / 0", session="run-errors").error_type == "ZeroDivisionError"
    r = box.run("from qiskit.circuit.exceptions import CircuitError\nraise CircuitError('x')", session="run-errors")
    assert r.error_type == "qiskit.circuit.exceptions.CircuitError" and "CircuitError: 'x'" in r.error
    r = box.run("class Mine(Exception):\n    pass\nraise Mine('m')", session="run-errors")
    assert r.error_type == "__main__.Mine"
    r = box.run("class KeyError(Exception):\n    pass\nraise KeyError('k')", session="run-errors")
    assert r.error_type == "__main__.KeyError"  # not the builtin it shadows


def test_a_module_the_worker_names_is_never_imported_for_it(box, tmp_path):
    never = ("this", "tabnanny", "wave")
    assert not set(never) & set(sys.modules)
    ok(box.run("def quiet():\n    raise ValueError('x')", session="names"))
    ok(box.run(forge("call", "{'error_class': ['this', 'Error'], 'error_type': 'this.Error'}"), session="names"))
    with pytest.raises(RemoteError) as raised:
        ok(box.run("quiet", session="names")).value()
    assert raised.value.remote_type == "this.Error"
    ok(box.run(forge("run", "{'imports': {'zen': ['this', None], 'fly': ['tabnanny', 'check'], "
                            "'w': ['wave', 'open'], 'own': ['__main__', 'quiet'], "
                            "'errors': ['llmos_jupyter.sandbox.errors', None]}}"), session="names"))
    r = ok(box.run("n = 1", session="names"))
    assert not set(never) & set(sys.modules)
    assert {"zen", "fly", "w", "own", "errors"} <= set(r.left_behind) and r.namespace == {"n": 1}
    # a module the kernel has, but from outside the Python installation (say, a folder a program can write to)
    (tmp_path / "boundary_local.py").write_text("class Planted(Exception):\n    pass\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import boundary_local  # noqa: F401

        assert kernel_object("boundary_local", "Planted") is None
        assert kernel_object("llmos_jupyter.sandbox.errors", "RemoteError") is None
        assert kernel_object("builtins", "ValueError") is ValueError
        assert kernel_object("qiskit.exceptions", "QiskitError").__name__ == "QiskitError"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("boundary_local", None)


# -------------------------------------------------------------------------------------------- random streams

DRAWS = '''
import random
import numpy as np

def draws(n, reseed=False):
    if reseed:
        random.seed(0)
        np.random.seed(0)
    return [random.random() for _ in range(n)], np.random.rand(n).tolist()
'''


@pytest.fixture(scope="module")
def draws(box):
    return ok(box.run(DRAWS, session="rng")).namespace["draws"]


def test_a_kernel_seeded_stream_reproduces_and_moves_on(draws, streams):
    random.seed(11)
    np.random.seed(11)
    first, second, big = draws(3), draws(4), draws(2000)
    random.seed(11)
    np.random.seed(11)
    assert first == ([random.random() for _ in range(3)], np.random.rand(3).tolist())
    assert second == ([random.random() for _ in range(4)], np.random.rand(4).tolist())
    assert big == ([random.random() for _ in range(2000)], np.random.rand(2000).tolist())
    after = (random.random(), float(np.random.rand()))
    random.seed(11)
    np.random.seed(11)
    draws(3), draws(4), draws(2000)
    assert (random.random(), float(np.random.rand())) == after  # the kernel's stream moved on as far as the calls


def test_a_seed_inside_a_call_does_not_reseed_the_kernel(draws, streams):
    random.seed(5)
    np.random.seed(5)
    python, legacy = random.getstate(), np.random.get_state()
    draws(3, reseed=True)
    assert random.getstate() == python  # left where it was: the worker's stream is not the kernel's any more
    now = np.random.get_state()
    assert now[1].tolist() == legacy[1].tolist() and now[2] == legacy[2]
    assert random.random() != random.Random(0).random()


def test_a_forged_stream_position_cannot_rewind_or_choose_the_kernels_stream(box, streams):
    ok(box.run("def nothing():\n    return None", session="rng-forged"))
    nothing = ok(box.run("nothing", session="rng-forged")).value
    random.seed(7)
    random.random()  # the kernel has drawn two words of this block
    before = random.getstate()
    for moved in ({"twists": 0, "pos": 0, "gauss": True},  # back to words the kernel already drew
                  {"twists": 10**9, "pos": 3, "gauss": True},  # past what the kernel will follow
                  {"twists": -1, "pos": 3, "gauss": True}, {"twists": 1, "pos": 625, "gauss": True}):
        ok(box.run(forge("call", "{'rng': {'random': %r}}" % moved), session="rng-forged"))
        nothing()
        assert random.getstate() == before, moved
    # a position further along is taken, and rebuilt from the kernel's own copy: still the kernel's sequence
    ok(box.run(forge("call", "{'rng': {'random': {'twists': 1, 'pos': 5, 'gauss': True}}}"), session="rng-forged"))
    nothing()
    own = random.Random()
    own.setstate(before)
    own.getrandbits(32 * (624 - before[1][624] + 5))
    assert random.getstate()[1] == own.getstate()[1]


# -------------------------------------------------------------------------------------------------- imports

def test_imported_names_come_back_as_the_kernels_own(box):
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    r = ok(box.run("""
import numpy as np
import qiskit.quantum_info as qi
from math import sqrt
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector as SV
import sys, types
made = types.ModuleType("made_in_the_worker")
sys.modules["made_in_the_worker"] = made
""", session="imports"))
    import math

    import qiskit.quantum_info

    assert r.namespace["np"] is np and r.namespace["qi"] is qiskit.quantum_info and r.namespace["sqrt"] is math.sqrt
    assert r.namespace["QuantumCircuit"] is QuantumCircuit and r.namespace["SV"] is Statevector
    assert "made" not in r.namespace and "made" in r.left_behind and "made_in_the_worker" not in sys.modules


def test_a_kernel_function_never_comes_back_under_another_name(box):
    import shutil

    ok(box.run(forge("run", "{'imports': {'show_counts': ['shutil', 'rmtree'], 'rmtree': ['shutil', 'rmtree'], "
                            "'helpers': ['shutil', None], 'linalg': ['numpy.linalg', None]}}"), session="aliases"))
    r = ok(box.run("n = 1", session="aliases"))
    assert "show_counts" not in r.namespace and {"show_counts", "helpers"} <= set(r.left_behind)
    assert r.namespace["rmtree"] is shutil.rmtree  # under its own name it says what it is
    assert r.namespace["linalg"] is np.linalg  # aliases are fine from the libraries programs use


def test_a_new_engine_may_rebind_what_an_earlier_engines_worker_bound(tmp_path):
    """A %config change makes a new engine and runner: names the last one's answers bound stay the worker's."""
    from llmos_jupyter.pipeline.runners import WorkerRunner

    namespace: dict = {}
    first = WorkerRunner(protect=(), outputs=tmp_path / "out1", timeout=60)
    second = WorkerRunner(protect=(), outputs=tmp_path / "out2", timeout=60)
    try:
        assert not first.bind(namespace, {"qc": 1})
        assert not second.bind(namespace, {"qc": 2}) and namespace["qc"] == 2
        namespace["qc"] = "mine"
        assert "qc" in second.bind(namespace, {"qc": 3}) and namespace["qc"] == "mine"
    finally:
        first.close()
        second.close()
