"""What crosses the sandbox boundary as the Qiskit object it was (sandbox/qiskit_kinds.py): values a function
in the worker returns, arguments it is given and changes in place, and the random streams it draws from.
One worker for the module; every value is compared with what the same code gives in the kernel."""
from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest

from llmos_jupyter.sandbox import Sandbox, codec
from llmos_jupyter.sandbox.errors import UnsafePayload


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    with Sandbox(outputs=root / "llmos-outputs") as sandbox:
        yield sandbox


def remote(box, source: str, name: str):
    r = box.run(source, session="kinds")
    assert r.error is None, r.error
    return r.namespace[name]


KINDS = '''
import numpy as np
from qiskit import QuantumCircuit
from qiskit.converters import circuit_to_dag
from qiskit.quantum_info import Clifford, CNOTDihedral, ScalarOp, Choi, Kraus, StabilizerState, random_clifford
from qiskit.transpiler import CouplingMap, Target, InstructionProperties
from qiskit.circuit.library import XGate, CXGate, UGate
from qiskit.circuit import Parameter

def bell():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    return qc

def make(kind):
    if kind == "dag":
        return circuit_to_dag(bell())
    if kind == "gate":
        return bell().to_gate(label="bell")
    if kind == "singleton":
        return XGate()
    if kind == "clifford":
        return random_clifford(3, seed=5)
    if kind == "stabilizer":
        return StabilizerState(bell())
    if kind == "dihedral":
        qc = QuantumCircuit(2)
        qc.cx(0, 1)
        qc.t(1)
        return CNOTDihedral(qc)
    if kind == "scalar":
        return ScalarOp((2, 2), coeff=0.5j)
    if kind == "choi":
        return Choi(np.eye(4))
    if kind == "kraus":
        return Kraus([np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * np.array([[0, 1], [1, 0]])])
    if kind == "coupling":
        cmap = CouplingMap([(0, 1), (1, 2)], description="line")
        cmap.add_physical_qubit(3)
        return cmap
    if kind == "target":
        target = Target(num_qubits=2, dt=1e-9)
        theta, phi, lam = Parameter("t"), Parameter("p"), Parameter("l")
        target.add_instruction(UGate(theta, phi, lam), {(0,): InstructionProperties(5e-8, 1e-4),
                                                        (1,): InstructionProperties(6e-8, 2e-4)})
        target.add_instruction(CXGate(), {(0, 1): InstructionProperties(3e-7, 1e-2)})
        return target
'''


@pytest.mark.parametrize("kind", ["dag", "gate", "singleton", "clifford", "stabilizer", "dihedral", "scalar", "choi",
                                  "kraus", "coupling", "target"])
def test_a_qiskit_object_comes_back_as_itself(box, kind):
    here: dict = {}
    exec(KINDS, here)
    expected, got = here["make"](kind), remote(box, KINDS, "make")(kind)
    assert type(got) is type(expected)
    if kind == "dag":
        from qiskit.converters import dag_to_circuit
        from qiskit.quantum_info import Operator

        assert Operator(dag_to_circuit(got)).equiv(Operator(dag_to_circuit(expected)))
    elif kind == "gate":
        from qiskit.quantum_info import Operator

        assert got.label == "bell" and Operator(got).equiv(Operator(expected))
    elif kind == "stabilizer":
        assert got.equiv(expected)
    elif kind == "coupling":
        assert sorted(got.get_edges()) == sorted(expected.get_edges()) and list(got.physical_qubits) == [0, 1, 2, 3]
        assert got.description == "line"
    elif kind == "target":
        assert set(got.operation_names) == {"u", "cx"} and got.dt == expected.dt
        assert got["u"][(1,)].error == 2e-4 and got["cx"][(0, 1)].duration == 3e-7
    else:
        assert got == expected


PRIMITIVES = '''
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorSampler, StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

def bell():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    return qc

def sample():
    qc = bell()
    qc.measure_all()
    return StatevectorSampler(seed=3).run([qc], shots=200)

def estimate():
    return StatevectorEstimator().run([(bell(), SparsePauliOp("ZZ"))]).result()
'''


def test_a_primitive_job_comes_back_done_and_its_result_reads_as_in_the_kernel(box):
    from qiskit.primitives import PrimitiveJob, PrimitiveResult

    job = remote(box, PRIMITIVES, "sample")()
    assert isinstance(job, PrimitiveJob) and job.job_id()
    counts = job.result()[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200
    result = remote(box, PRIMITIVES, "estimate")()
    assert isinstance(result, PrimitiveResult) and result[0].data.evs.item() == pytest.approx(1.0)


NOISE = '''
import warnings
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

def noise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NoiseModel.from_backend(FakeManilaV2())

def width(backend):
    return backend.num_qubits, backend.name
'''


def test_a_backend_noise_model_comes_back_equal_and_a_fake_backend_travels_by_name(box):
    from qiskit_aer.noise import NoiseModel
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = NoiseModel.from_backend(FakeManilaV2())
    got = remote(box, NOISE, "noise")()
    assert type(got) is NoiseModel and got == expected and len(got._custom_noise_passes) == 1
    assert remote(box, NOISE, "width")(FakeManilaV2()) == [5, "fake_manila"] or \
        remote(box, NOISE, "width")(FakeManilaV2()) == (5, "fake_manila")


def test_a_returned_figure_comes_back_as_a_figure_with_its_artists(box):
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    make = remote(box, "import matplotlib.pyplot as plt\ndef plot():\n    fig, ax = plt.subplots(figsize=(3, 2))\n"
                       "    ax.bar(['00', '11'], [500, 524], color='#336699', label='counts')\n"
                       "    ax.plot([0, 1], [512, 512], 'r--', label='ideal')\n    ax.text(0, 500, '500')\n"
                       "    ax.set_title('Bell')\n    ax.set_ylabel('count')\n    ax.legend()\n    return fig", "plot")
    fig = make()
    assert type(fig) is Figure and tuple(fig.get_size_inches()) == pytest.approx((3, 2))
    ax = fig.gca()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["00", "11"]
    assert [r.get_height() for r in ax.findobj(Rectangle)[:2]] == [500, 524]
    assert ax.get_title() == "Bell" and ax.get_ylabel() == "count" and [t.get_text() for t in ax.texts] == ["500"]
    assert list(ax.lines[0].get_ydata()) == [512, 512] and ax.lines[0].get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ideal", "counts"]  # lines first, as matplotlib
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_a_figure_payload_is_checked_field_by_field():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="a")
    ax.legend()
    good = codec.encode(fig)
    plt.close(fig)
    assert codec.decode(good).axes[0].lines[0].get_label() == "a"
    for path, bad in ((("lines", 0, "color"), "red; import os"), (("lines", 0, "linestyle"), "(0, (1e9, 1))"),
                      (("lines", 0, "marker"), "$\\x$"), (("rect",), [0, 0, 1e9, 1]), (("texts",), [1]),
                      (("ticks", "x", "scale"), "function"), (("legend", "entries", 0, "kind"), "image")):
        tampered = __import__("copy").deepcopy(good)
        target = tampered["axes"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        with pytest.raises(UnsafePayload):
            codec.decode(tampered)


def test_an_axes_with_artists_that_are_not_plain_comes_back_as_its_picture(box):
    from matplotlib.figure import Figure

    make = remote(box, "from qiskit import QuantumCircuit\nfrom qiskit.quantum_info import Statevector\n"
                       "from qiskit.visualization import plot_state_city\ndef city():\n    qc = QuantumCircuit(2)\n"
                       "    qc.h(0)\n    qc.cx(0, 1)\n    return plot_state_city(Statevector(qc))", "city")
    fig = make()
    assert type(fig) is Figure and len(fig.axes) == 2  # the real and imaginary parts, each as its picture
    assert all(ax.images and not ax.axison for ax in fig.axes)


HXH_PASS = '''
from qiskit import QuantumRegister
from qiskit.dagcircuit import DAGCircuit
from qiskit.transpiler.basepasses import TransformationPass
from qiskit.circuit.library import ZGate, HGate, XGate

def make_pass():
    class HXHPass(TransformationPass):
        def run(self, dag):
            for node in dag.op_nodes():
                if isinstance(node.op, ZGate):
                    sub = DAGCircuit()
                    sub.add_qreg(QuantumRegister(1))
                    for gate in (HGate(), XGate(), HGate()):
                        sub.apply_operation_back(gate, [sub.qubits[0]])
                    dag.substitute_node_with_dag(node, sub)
            return dag
    return HXHPass()
'''


def test_a_transpiler_pass_the_program_made_runs_in_the_worker_under_the_kernels_pass_manager(box):
    from qiskit import QuantumCircuit
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.basepasses import TransformationPass

    hxh = remote(box, HXH_PASS, "make_pass")()
    assert isinstance(hxh, TransformationPass) and hxh.name() == "HXHPass" and "sandbox" in repr(hxh)
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.z(0)
    qc.cz(0, 1)
    out = PassManager(hxh).run(qc)
    assert [i.operation.name for i in out.data] == ["x", "h", "x", "h", "cz"]


def test_arguments_changed_in_place_change_in_the_kernel(box):
    from qiskit import QuantumCircuit

    add = remote(box, "def add(qc, log, seen):\n    qc.h(0)\n    qc.measure_all()\n    log.append(len(qc.data))\n"
                      "    seen['h'] = True\n", "add")
    qc, log, seen = QuantumCircuit(1), [], {}
    assert add(qc, log, seen=seen) is None
    assert [i.operation.name for i in qc.data] == ["h", "barrier", "measure"] and qc.num_clbits == 1
    assert log == [3] and seen == {"h": True}


def test_a_seeded_numpy_stream_in_the_kernel_is_the_one_the_call_draws_from(box):
    draw = remote(box, "import numpy as np\nimport random\ndef draw():\n    return np.random.randint(1000, size=4).tolist(), "
                       "random.random()", "draw")
    import random

    np.random.seed(12345)
    random.seed(7)
    expected = (np.random.randint(1000, size=4).tolist(), random.random())
    after_here = np.random.randint(1000)
    np.random.seed(12345)
    random.seed(7)
    assert tuple(draw()) == expected
    assert np.random.randint(1000) == after_here  # the kernel's stream moved on as far as the call took it


def test_kinds_refuse_what_they_cannot_check():
    def payload(tag, **fields):
        return {"t": tag, **fields}

    bad_tableau = io.BytesIO()
    np.save(bad_tableau, np.zeros((3, 3), dtype=bool), allow_pickle=False)
    for message in (payload("clifford", tableau=base64.b64encode(bad_tableau.getvalue()).decode()),
                    payload("fakebackend", name="os"), payload("fakebackend", name="FakeProviderForBackendV2"),
                    payload("databin", shape=[], fields={"__class__": 1}),
                    payload("channel", kind="Operator"), payload("figure", png="aGVsbG8=", size=[1, 1], dpi=100, axes=[]),
                    payload("target", instructions=[{"name": "x", "class": "Parameter", "props": []}], num_qubits=1)):
        with pytest.raises(UnsafePayload):
            codec.decode(message)


def test_a_value_without_a_safe_form_comes_back_as_a_proxy(box):
    make = remote(box, "class Pass:\n    def name(self):\n        return 'pass'\ndef make():\n    return (1, Pass())",
                  "make")
    one, made = make()
    assert one == 1 and made.name() == "pass"  # the instance stays in the worker; its proxy answers
