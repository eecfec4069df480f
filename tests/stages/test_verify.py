"""The verify stage (pipeline/verify.py) over constructed records: a replay must pass the checks its trace
recorded and produce what its verified runs produced; a fresh answer must match the request's own numbers and
must have produced something; a fine-tuned model's variation must also pass its family's checks."""
from __future__ import annotations

import pytest

from llmos_jupyter.modes import Mode
from llmos_jupyter.pipeline.records import NOT_RUN, Verification
from llmos_jupyter.pipeline.verify import NO_RESULT, verify_answer, verify_replay, verify_variation

from .build import GHZ_COUNTS, answer, decision, ran, trace

DEFINES_BELL = {"defined": {"bell": "def(n)"}}  # what a trace's verified runs defined


@pytest.mark.parametrize("mode,checks,results,run,verified,problems", [
    (Mode.FOLLOWER, ("ghz_support",), None, NOT_RUN, None, ()),
    (Mode.FOLLOWER, (), None, ran(error="Traceback (most recent call last):\nZeroDivisionError: division by zero\n"),
     False, ("raised ZeroDivisionError: division by zero",)),
    (Mode.FOLLOWER, ("ghz_support",), None, ran(counts=GHZ_COUNTS), True, ()),
    (Mode.FOLLOWER, ("ghz_support",), None, ran(counts={"00": 50, "11": 50}), False, ("width_is_qubits",)),
    (Mode.FOLLOWER, (), None, ran(counts={"000": 60, "111": 30}), False, ("total_shots",)),
    (Mode.FOLLOWER, ("single_outcome",), None, ran(counts=GHZ_COUNTS), False, ("single_outcome",)),
    (Mode.FOLLOWER, ("ghz_support",), None, ran(output="done\n"), False, ("no_counts",)),
    (Mode.FOLLOWER, ("runs",), None, ran(output="done\n"), True, ()),
    (Mode.FOLLOWER, (), DEFINES_BELL, ran(counts=GHZ_COUNTS), False, ("defines bell def(n)",)),
    (Mode.FOLLOWER, (), DEFINES_BELL, ran(counts=GHZ_COUNTS, produced=DEFINES_BELL), True, ()),
    (Mode.CRYSTALLIZED, (), DEFINES_BELL, ran(counts=GHZ_COUNTS), True, ()),
], ids=["not run: nothing to check", "an error fails, naming it", "counts that pass the recorded checks",
        "a register of another width", "another number of shots", "a recorded check that fails is named",
        "no counts where its runs measured", "a program recorded only to run", "a name its runs defined is missing",
        "the names its runs defined", "a tool is not asked for the program's names"])
def test_a_replay_passes_only_what_its_trace_recorded(mode, checks, results, run, verified, problems):
    v = verify_replay(decision(mode, trace(checks, results)), answer(mode), run)
    assert (v.verified, v.problems, v.learnable) == (verified, problems, verified is True)


@pytest.mark.parametrize("run,verified,problems,says", [
    (NOT_RUN, None, (), None),
    (ran(error="Traceback (most recent call last):\nValueError: no\n"), None, (), None),
    (ran(), False, ("no_result",), NO_RESULT),
    (ran(output="42\n"), True, (), None),
    (ran(produced={"defined": {"f": "def(x)"}}), True, (), None),
    (ran(counts={"000": 100}), True, (), None),
    (ran(counts={"00": 100}), False, ("width_is_qubits",), "does not match the request (width_is_qubits)"),
    (ran(counts={"000": 50}), False, ("total_shots",), "so it was not stored in memory"),
], ids=["not run: nothing to check", "an error is the run's, not verify's", "no answer is an error",
        "printed output is an answer", "a defined name is an answer", "counts of the request's size",
        "counts of another width than asked", "counts of another shot count"])
def test_a_fresh_answer_must_answer_the_request(run, verified, problems, says):
    v = verify_answer(decision(Mode.LEARNER), run)
    assert (v.verified, v.problems, v.learnable) == (verified, problems, verified is True)
    said = v.error if problems == ("no_result",) else v.notice
    assert said is None if says is None else says in said
    assert v.error is None or verified is False  # an error is never a success


PASSED = Verification(True, learnable=True)


@pytest.mark.parametrize("family,before,run,problems", [
    (trace(("single_outcome",)), Verification(False, ("total_shots",)), ran(counts=GHZ_COUNTS), None),
    (None, PASSED, ran(counts=GHZ_COUNTS), None),
    (trace(("ghz_support",), DEFINES_BELL), PASSED, ran(counts=GHZ_COUNTS, produced=DEFINES_BELL), None),
    (trace(("single_outcome",)), PASSED, ran(counts=GHZ_COUNTS), ("single_outcome",)),
    (trace((), DEFINES_BELL), PASSED, ran(counts=GHZ_COUNTS), ("defines bell def(n)",)),
], ids=["an answer already failed stays failed", "no family: nothing more to pass", "passes its family's checks",
        "fails a family check", "misses what the family defined"])
def test_a_local_models_variation_must_pass_its_familys_checks(family, before, run, problems):
    v = verify_variation(decision(Mode.LEARNER, family, values={}), run, before)
    if problems is None:
        assert v is before
    else:
        assert (v.verified, v.problems, v.learnable) == (False, problems, False)
        assert "does not pass the checks of the family it learned" in v.notice


def test_an_answer_that_reads_names_an_earlier_program_left_is_not_stored():
    """It ran only because the session still held `np`; a replay starts clean and would raise NameError."""
    from llmos_jupyter.pipeline.verify import borrowed_names

    v = verify_answer(decision(Mode.LEARNER), ran(output="3.14\n"), "x = np.pi\nprint(x)\n")
    assert v.verified is True and v.learnable is False and "np" in v.notice
    assert verify_answer(decision(Mode.LEARNER), ran(output="3.14\n"), "import numpy as np\nprint(np.pi)\n").learnable
    code = ("from qiskit import QuantumCircuit as QC\nimport numpy.linalg\ndef f(n, *a, k=1):\n    global g\n"
            "    g = [i for i in range(n)]\n    return QC(n), numpy.linalg, a, k\ntry:\n    f(2)\nexcept ValueError as e:\n"
            "    print(e, len(g))\nwith open('x') as fh:\n    pass\nclass C:\n    pass\nprint(C, fh, __name__, display)\n")
    assert borrowed_names(code) == []
    assert borrowed_names("def f():\n    return qc.depth()\n") == ["qc"]
