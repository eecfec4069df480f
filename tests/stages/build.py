"""Records for the stage tables, built in one place: when a record's fields change, only this file does.

Each builder takes the few fields a row cares about and fills the rest as a plain verified run would have them:
a learned trace of 3 qubits at 100 shots, a request asking for the same.
"""
from __future__ import annotations

from typing import Any

from llmos_jupyter.pipeline.dispatcher import Decision
from llmos_jupyter.modes import Mode
from llmos_jupyter.memory.traces import Trace
from llmos_jupyter.pipeline.normalize import normalize
from llmos_jupyter.pipeline.records import Answer, Request, Run

REQUEST_TEXT = "Create a GHZ state with 3 qubits and 100 shots"
VALUES = {"SLOT_qubits_0": 3, "SLOT_shots_0": 100}  # what the request asks for
GHZ_COUNTS = {"000": 52, "111": 48}  # 3 qubits, 100 shots
BELL = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=100).result().get_counts()
print(counts)
"""


def request(text: str = REQUEST_TEXT, request_id: str = "r1") -> Request:
    return normalize(text, request_id)


def trace(checks: tuple[str, ...] = (), results: dict | None = None, **fields: Any) -> Trace:
    """A learned trace verified on 3 qubits and 100 shots, with `checks` recorded and `results` expected."""
    bound = ("SLOT_qubits_0", "SLOT_shots_0")
    made = dict(id="t1", origin="learner", title=REQUEST_TEXT, request=REQUEST_TEXT,
                template="create a ghz state with <qubits> qubits and <shots> shots", signature=("qubits", "shots"),
                code=BELL, bound=bound, shape="", generalized=bound, examples=[dict(VALUES)], checks=checks,
                results=results or {}, uses=2)
    return Trace(**{**made, **fields})


def decision(mode: Mode = Mode.FOLLOWER, trace: Trace | None = None, *, values: dict | None = None,
             request_values: dict | None = None, why: dict | None = None) -> Decision:
    """A decision for REQUEST_TEXT: a replay binds the request's own values."""
    asked = dict(VALUES) if request_values is None else request_values
    bound = (dict(asked) if trace is not None else {}) if values is None else values
    return Decision(mode, trace, bound, asked, why or {})


def answer(mode: Mode = Mode.LEARNER, code: str | None = BELL, **fields: Any) -> Answer:
    return Answer(mode=mode, code=code, **fields)


def ran(**fields: Any) -> Run:
    """A run that happened (executed), with `fields` as it produced them."""
    return Run(executed=True, **fields)
