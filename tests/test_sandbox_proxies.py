"""Functions and objects cross the sandbox boundary both ways (issue #23, items 1-3), each judged by using what
came back as a user would: a kernel function, lambda or object passed to a worker function runs there (shipped
as source); what a program defines or returns with no by-value form comes back as a proxy that answers as the
object would; a proxy passed back arrives as the original. Hostile cases: forged, foreign and released handles,
huge reprs, dunders that raise, and replies that try to name kernel code."""
from __future__ import annotations

import dataclasses
import enum

import numpy as np
import pytest
from qiskit import QuantumCircuit

from conftest import forge
from llmos_jupyter.sandbox import RemoteError, RemoteFunction, Sandbox, SandboxError
from llmos_jupyter.sandbox.proxies import RemoteClass, RemoteObject

PROGRAM = '''
import enum, dataclasses, math
from qiskit import QuantumCircuit

class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3

@dataclasses.dataclass
class Point:
    x: int
    y: int
    def norm2(self):
        return self.x ** 2 + self.y ** 2
    def moved(self, dx):
        return Point(self.x + dx, self.y)

class Counter:
    def __init__(self):
        self.n = 0
    def bump(self, by=1):
        self.n += by
        return self
    def fail(self):
        raise KeyError("missing")
    def __len__(self):
        return self.n
    def __iter__(self):
        return iter(range(self.n))
    def __contains__(self, x):
        return x == "in"
    def __getitem__(self, i):
        return i * 10

class BadEq:
    def __eq__(self, other):
        raise ValueError("no equality here")
    def __hash__(self):
        raise RuntimeError("no hash here")

class Huge:
    def __repr__(self):
        return "x" * (100 * 1024 * 1024)

def make_adder(n):
    def add(x):
        return x + n
    return add

def apply_oracle(oracle, n):
    qc = QuantumCircuit(n)
    oracle(qc)
    return dict(qc.count_ops())

def call_back(f, *args):
    return f(*args)

def distinguish(gate_maker):
    qc = QuantumCircuit(1)
    gate_maker(qc)
    return "X" if "x" in qc.count_ops() else "other"

def describe(thing):
    return type(thing).__name__, vars(thing) if hasattr(thing, "__dict__") else None

def is_point(p):
    return isinstance(p, Point)

def pair():
    return (Point(1, 2), Color.GREEN, 7)

def countdown(n):
    while n > 0:
        yield n
        n -= 1

p = Point(3, 4)
counter = Counter()
bad = BadEq()
huge = Huge()
favourite = Color.BLUE
'''


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxies")
    (root / "home").mkdir()
    with Sandbox(outputs=root / "llmos-outputs", protect=[root / "home"]) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def ns(box):
    ran = box.run(PROGRAM, session="proxies")
    assert ran.error is None, ran.error
    assert not ran.left_behind, ran.left_behind
    return ran.namespace


# ------------------------------------------------------------------ kernel -> worker: functions and objects

def oracle_x(qc):
    qc.x(0)
    qc.h(1)


def test_a_kernel_function_oracle_mutates_the_workers_circuit(ns):
    assert ns["apply_oracle"](oracle_x, 2) == {"x": 1, "h": 1}


def test_a_kernel_lambda_crosses(ns):
    assert ns["apply_oracle"](lambda qc: qc.cx(0, 1), 2) == {"cx": 1}


def test_a_callback_with_arguments(ns):
    assert ns["call_back"](lambda a, b: a * b, 6, 7) == 42


def test_a_kernel_function_uses_its_globals_and_modules(ns):
    def uses_numpy(x):
        return float(np.sqrt(x))
    assert ns["call_back"](uses_numpy, 16) == 4.0


def test_a_kernel_closure_keeps_its_cell_values(ns):
    factor = 3

    def scaled(x):
        return factor * x
    assert ns["call_back"](scaled, 5) == 15


def test_katas_distinguish_a_kernel_gate(ns):
    assert ns["distinguish"](lambda qc: qc.x(0)) == "X"
    assert ns["distinguish"](lambda qc: qc.z(0)) == "other"


class Kernelish:
    def __init__(self, v):
        self.v = v

    def doubled(self):
        return 2 * self.v


@dataclasses.dataclass
class KernelPoint:
    a: int
    b: int

    def total(self):
        return self.a + self.b


class Mode(enum.Enum):
    ON = 1
    OFF = 0

    def flipped(self):
        return Mode.OFF if self is Mode.ON else Mode.ON


def test_a_kernel_class_instance_passed_in(ns):
    assert ns["describe"](Kernelish(5)) == ("Kernelish", {"v": 5})
    assert ns["call_back"](lambda k: k.doubled(), Kernelish(21)) == 42


def test_a_kernel_dataclass_instance_passed_in(ns):
    assert ns["call_back"](lambda k: k.total(), KernelPoint(2, 3)) == 5


def test_a_kernel_enum_member_passed_in(ns):
    assert ns["call_back"](lambda m: m.flipped().name, Mode.ON) == "OFF"


def test_a_kernel_method_passed_in(ns):
    assert ns["call_back"](Kernelish(4).doubled) == 8


def test_a_library_function_goes_by_name(ns):
    assert ns["call_back"](np.cos, 0.0) == 1.0


def test_a_builtin_without_source_says_what_to_pass(ns):
    with pytest.raises(SandboxError, match="cannot travel.*own code"):
        ns["call_back"](object())


# ------------------------------------------------------------------ worker -> kernel: proxies

def test_program_classes_reach_the_namespace(ns):
    assert isinstance(ns["Point"], RemoteClass) and isinstance(ns["Color"], RemoteClass)


def test_an_instance_answers_attributes_and_methods(ns):
    p = ns["p"]
    assert isinstance(p, RemoteObject) and p.x == 3 and p.y == 4 and p.norm2() == 25
    assert repr(p) == "Point(x=3, y=4)" and str(p) == "Point(x=3, y=4)"


def test_construct_in_the_kernel_and_call_methods(ns):
    q = ns["Point"](1, 2)
    assert q.norm2() == 5 and q.moved(2).x == 3


def test_isinstance_against_a_proxied_class(ns):
    assert isinstance(ns["p"], ns["Point"]) and not isinstance(ns["p"], ns["Color"])
    assert not isinstance(3, ns["Point"])


def test_a_proxy_passed_back_is_the_original(ns):
    assert ns["is_point"](ns["p"]) is True
    assert ns["is_point"](ns["Point"](0, 0)) is True


def test_equality_is_decided_in_the_worker(ns):
    assert ns["Point"](1, 2) == ns["Point"](1, 2)
    assert ns["Point"](1, 2) != ns["Point"](2, 1)


def test_enum_members_compare_and_iterate(ns):
    color = ns["Color"]
    assert color.RED == color.RED and color.RED is color.RED and color.RED != color.GREEN
    assert [m.name for m in color] == ["RED", "GREEN", "BLUE"] and len(color) == 3
    assert ns["favourite"] == color.BLUE and color(2) == color.GREEN and color["BLUE"].value == 3


def test_a_tuple_holding_an_instance_and_an_enum(ns):
    point, color, n = ns["pair"]()
    assert n == 7 and point.norm2() == 5 and color == ns["Color"].GREEN and isinstance(point, ns["Point"])


def test_a_closure_comes_back_by_handle(ns):
    add = ns["make_adder"](10)
    assert isinstance(add, RemoteFunction) and add.__name__ == "add" and add(5) == 15
    assert ns["make_adder"](1)(1) == 2 and add(0) == 10  # two closures of the same name stay apart


def test_a_generator_iterates(ns):
    assert list(ns["countdown"](3)) == [3, 2, 1]


def test_dunders_len_iter_contains_getitem(ns):
    counter = ns["Counter"]()
    counter.bump(2).bump()
    assert len(counter) == 3 and list(counter) == [0, 1, 2] and "in" in counter and "out" not in counter
    assert counter[4] == 40 and counter.n == 3


def test_setattr_reaches_the_original(ns):
    q = ns["Point"](1, 1)
    q.x = 9
    assert q.norm2() == 82


def test_an_exception_from_a_method_keeps_its_type(ns):
    with pytest.raises(KeyError, match="missing"):
        ns["counter"].fail()
    with pytest.raises(AttributeError):
        ns["p"].no_such_attribute


def test_hash_and_bool_of_a_proxy(ns):
    assert hash(ns["Color"].RED) == hash(ns["Color"].RED) and bool(ns["p"]) is True


def test_a_kernel_object_and_a_proxy_in_one_call(ns):
    assert ns["call_back"](lambda k, p: k.doubled() + p.norm2(), Kernelish(1), ns["p"]) == 27


def test_ipython_display_probes_are_not_forwarded(ns):
    for name in ("_repr_html_", "_repr_markdown_", "_ipython_display_", "__array__"):
        assert not hasattr(ns["p"], name)


def test_help_reads_a_methods_signature(ns):
    import inspect
    assert str(inspect.signature(ns["p"].moved)) == "(dx)"


def test_imports_are_the_kernels_own(ns):
    import math
    assert ns["math"] is math and ns["QuantumCircuit"] is QuantumCircuit


def test_nested_containers_of_proxies_go_back_as_originals(ns):
    points = [ns["Point"](1, 0), ns["Point"](0, 2)]
    assert ns["call_back"](lambda d: sum(p.norm2() for p in d["ps"]), {"ps": (points[0], points[1])}) == 5


def test_a_kernel_class_passed_in_constructs_there(ns):
    assert ns["call_back"](lambda cls: cls(7).doubled(), Kernelish) == 14


def test_dir_lists_the_objects_names(ns):
    assert {"x", "y", "norm2", "moved"} <= set(dir(ns["p"]))


def test_a_kernel_oracle_that_uses_a_kernel_helper(ns):
    def helper(qc):
        qc.h(0)

    def oracle(qc):
        helper(qc)
        oracle_x(qc)
    assert ns["apply_oracle"](oracle, 2) == {"h": 2, "x": 1}


# ------------------------------------------------------------------ hostile

def test_a_worker_eq_or_hash_that_raises_raises_in_the_kernel(ns):
    with pytest.raises(ValueError, match="no equality"):
        ns["bad"] == 1  # noqa: B015
    with pytest.raises(RuntimeError, match="no hash"):
        hash(ns["bad"])


def test_a_100_mb_repr_is_capped(ns):
    assert len(repr(ns["huge"])) < 10_000


def test_a_forged_handle_id_is_refused(box, ns):
    with pytest.raises(RemoteError, match="no object"):
        box._request({"op": "handle", "session": "proxies", "handle": 10 ** 9, "action": "op", "name": "repr"},
                     "proxies", "forged", (), {})


def test_a_handle_from_another_session_is_refused(box, ns):
    other = box.run("class Other:\n    pass\nthing = Other()", session="elsewhere").namespace["thing"]
    with pytest.raises(RemoteError, match="no object"):
        box._request({"op": "handle", "session": "proxies", "handle": other._llmos_id, "action": "op",
                      "name": "repr"}, "proxies", "foreign", (), {})


def test_an_action_the_worker_does_not_serve_is_refused(box, ns):
    with pytest.raises(RemoteError, match="does not serve"):
        box._request({"op": "handle", "session": "proxies", "handle": ns["p"]._llmos_id, "action": "op",
                      "name": "__import__"}, "proxies", "forged", (), {})


def test_a_reply_cannot_make_the_kernel_build_code(box):
    forged = forge("run", """{"namespace": {
        "shipped": {"t": "source", "kind": "function", "name": "f", "source": "import os\\nf = os.getpid"},
        "module": {"t": "module", "module": "os", "qualname": "system"},
        "badtype": {"t": "handle", "session": "hostile", "id": "1", "kind": "object", "type": ["a", "b"], "repr": ""},
        "badkind": {"t": "handle", "session": "hostile", "id": 1, "kind": "builtins.eval", "type": ["a", "b"],
                    "repr": ""},
        "othersession": {"t": "handle", "session": "proxies", "id": 1, "kind": "object", "type": ["a", "b"],
                         "repr": ""}}}""")
    assert box.run(forged, session="hostile").error is None
    ran = box.run("x = 1", session="hostile")
    assert {"shipped", "module", "badtype", "badkind", "othersession"} <= set(ran.left_behind)
    assert not {"shipped", "module", "badtype", "badkind", "othersession"} & set(ran.namespace)
    assert all("stayed in the worker" in line for line in ran.refused)


def test_a_released_proxy_frees_the_worker_object(box):
    ran = box.run("class Tmp:\n    pass\nmade = [Tmp() for _ in range(3)]\ndef count():\n"
                  "    import sys\n    return len(sys.modules['llmos_jupyter.sandbox.worker'].__dict__) * 0",
                  session="release")
    made = ran.namespace["made"]
    ident = made[0]._llmos_id
    del made, ran
    import gc
    gc.collect()
    box.run("y = 2", session="release")  # carries the releases
    with pytest.raises(RemoteError, match="no object"):
        box._request({"op": "handle", "session": "release", "handle": ident, "action": "op", "name": "repr"},
                     "release", "released", (), {})


def test_a_proxy_from_a_restarted_worker_says_to_rerun(tmp_path):
    (tmp_path / "home").mkdir()
    with Sandbox(outputs=tmp_path / "out", protect=[tmp_path / "home"]) as short:
        thing = short.run("class T:\n    v = 1\nt = T()").namespace["t"]
        assert thing.v == 1
        short.restart()
        with pytest.raises(SandboxError, match="restarted.*run the cell"):
            thing.v  # noqa: B018
