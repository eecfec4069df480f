"""The execute stage (pipeline/execute.py) with the kernel runner: a tiny program runs, and its `Run` record holds
what it printed, raised, measured, returned and defined; a program the guard stopped gets a `Run` that says so
and ran nothing. (The sandboxed worker has tests of its own: test_sandbox*.py.)"""
from __future__ import annotations

import pytest

from llmos_jupyter.modes import Mode
from llmos_jupyter.events import EventBus, Executed, ExecutionStarted
from llmos_jupyter.pipeline.execute import execute, not_run
from llmos_jupyter.pipeline.runners import KernelRunner

from .build import answer

ONE_OUTCOME = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit(2)
qc.x(0)
qc.measure_all()
sim = AerSimulator()
print(sim.run(transpile(qc, sim), shots=100).result().get_counts())
"""
TOOL = "def ones(n):\n    return {'1' * n: 10}\n"  # a crystallized tool's source runs first, unseen


@pytest.mark.parametrize("code,setup,expected", [
    ("print('hello')", "", dict(output="hello\n", error=None, counts=None, value=None, has_result=True)),
    ("x = 1 / 0", "", dict(output="", error="ZeroDivisionError: division by zero", has_result=False)),
    (ONE_OUTCOME, "", dict(output="{'01': 100}\n", error=None, counts={"01": 100}, shots=100, has_result=True)),
    ("x = 6 * 7\nx", "", dict(error=None, value=42, defined={"x": "int"}, has_result=True)),
    ("answer = 42", "", dict(output="", value=None, defined={"answer": "int"}, has_result=True)),
    ("pass", "", dict(output="", error=None, counts=None, value=None, defined={}, has_result=False)),
    ("counts = ones(3)\nprint(counts)", TOOL,
     dict(output="{'111': 10}\n", error=None, defined={"counts": "dict", "ones": "def(n)"}, has_result=True)),
], ids=["output", "an error, its last line", "counts and shots from Aer", "the last expression's value",
        "a defined name", "nothing produced", "a tool's source runs before the call"])
def test_a_program_runs_and_its_run_holds_what_it_produced(code, setup, expected):
    namespace = {}
    run = execute(answer(code=code, setup=setup), namespace, "r1", EventBus(), KernelRunner())
    found = {"error": run.error and run.error.strip().splitlines()[-1], "has_result": run.has_result,
             "defined": run.produced.get("defined")}
    assert run.executed and run.protections["where"] == "kernel"
    assert {k: found[k] if k in found else getattr(run, k) for k in expected} == expected
    assert set(run.produced.get("defined", {})) <= set(namespace)  # in the kernel, its names are the cell's


def test_the_displays_hear_it_start_and_end_with_what_it_produced():
    events, heard = EventBus(), []
    events.subscribe(heard.append, (ExecutionStarted, Executed))
    run = execute(answer(Mode.FOLLOWER, code=ONE_OUTCOME), {}, "r7", events, KernelRunner())
    assert heard == [ExecutionStarted("r7"), Executed("r7", run.output, None, {"01": 100})]


def test_a_program_that_may_not_run_gets_a_run_that_ran_nothing():
    reason = "Not run: the guard warns that this program reads the environment."
    run = not_run(reason)
    assert (run.executed, run.output, run.error, run.counts, run.notice, run.has_result) == (
        False, "", None, None, reason, False)
