"""The declared sequence (pipeline/stages.py): each kind of program passes guard → execute → verify → learn as its
`Route` says, in the kernel here (the worker has tests of its own). One table, one row per way in; then the
timings a request's records add up to (pipeline/flow.py)."""
from __future__ import annotations

import pytest

from llmos_jupyter.modes import Mode
from llmos_jupyter.events import EventBus, GuardBlocked
from llmos_jupyter.pipeline.flow import timings
from llmos_jupyter.pipeline.records import Attempt, Verification
from llmos_jupyter.pipeline.runners import KernelRunner, Runners
from llmos_jupyter.sentience import Sentience
from llmos_jupyter.store import SQLiteStore as Store
from llmos_jupyter.pipeline.stages import ANSWER, CHOSEN, REPLAY, VARIATION, RunOptions, Stages, with_earlier
from llmos_jupyter.ledger import Usage

from .build import BELL, answer, decision, ran, request, trace

READS_ENV = "import os\nprint(os.environ.get('HOME', ''))\nx = 1\n"
GHZ = BELL.replace("QuantumCircuit(2)", "QuantumCircuit(3)").replace("qc.cx(0, 1)", "qc.cx(0, 1)\nqc.cx(1, 2)")


class Learned:
    """What the learn stage was asked to do, in order (the learn stage itself has its own tests: test_memory)."""

    def __init__(self):
        self.calls = []

    def replay(self, decision, answer, verification):
        self.calls.append(("replay", verification.verified))
        return None

    def answer(self, request, decision, answer, run):
        self.calls.append(("answer", run.executed))
        return None


@pytest.fixture
def stages(tmp_path):
    """The stages over the kernel runner, a fresh sentience layer (its policy sets the guard's strictness), and
    what the learn stage and the displays heard."""
    store = Store(tmp_path)
    events, heard, learned = EventBus(), [], Learned()
    events.subscribe(heard.append, GuardBlocked)
    yield Stages(events, learned, Runners(KernelRunner(), None, "kernel"), Sentience(store)), learned, heard
    store.close()


# route, program, trust, execute -> ran?, blocked by the guard?, verified, what learn was asked
@pytest.mark.parametrize("route,mode,code,trust,execute,expected", [
    (ANSWER, Mode.LEARNER, GHZ, False, True, (True, False, True, [("answer", True)])),
    (ANSWER, Mode.LEARNER, READS_ENV, False, True, (False, True, None, [])),
    (ANSWER, Mode.LEARNER, READS_ENV, True, True, (True, False, True, [("answer", True)])),
    (ANSWER, Mode.LEARNER, BELL, False, False, (False, False, None, [])),
    (REPLAY, Mode.FOLLOWER, GHZ, False, True, (True, False, True, [("replay", True)])),
    (REPLAY, Mode.FOLLOWER, READS_ENV, False, True, (False, True, None, [])),
    (VARIATION, Mode.LEARNER, GHZ, False, True, (True, False, True, [("answer", True)])),
    (CHOSEN, Mode.LEARNER, BELL, False, True, (True, False, True, [])),
    (CHOSEN, Mode.LEARNER, READS_ENV, False, True, (False, True, None, [])),
    (CHOSEN, Mode.LEARNER, READS_ENV, True, True, (True, False, True, [])),
], ids=["a model's answer runs, verifies and is learned", "in the kernel the guard refuses an answer",
        "--trust runs it", "--no-exec runs nothing and learns nothing",
        "a replay runs and counts as a use", "a replay passes the guard too",
        "a local model's variation is checked as an answer", "a consensus choice runs and is not learned",
        "the guard refuses a consensus choice as it refuses a cell", "--trust runs a consensus choice"])
def test_each_way_in_passes_the_stages_its_route_declares(stages, route, mode, code, trust, execute, expected):
    s, learned, heard = stages
    t = trace()
    d = decision(mode, t if route is REPLAY or route is VARIATION else None)
    attempt = s.through(route, request(), d, answer(mode, code=code), RunOptions(namespace={}, trust=trust,
                                                                                  execute=execute))
    blocked = attempt.verdict is not None and not attempt.verdict.allowed
    assert (attempt.run.executed, blocked, attempt.verification.verified, learned.calls) == expected
    assert bool(heard) == (code == READS_ENV and execute)  # the displays hear every finding, trusted or not


def test_an_answer_with_no_program_is_not_the_stages_to_judge(stages):
    s, _, _ = stages
    with pytest.raises(ValueError):
        s.through(ANSWER, request(), decision(Mode.LEARNER), answer(code=None), RunOptions())


@pytest.mark.parametrize("attempt,tried,expected", [
    (None, [], {"dispatch": 2.0}),
    (Attempt(answer(from_memory=True), run=ran(ms=5.0)), [], {"dispatch": 2.0, "execute": 5.0}),
    (Attempt(answer(llm_ms=30.0), run=ran(ms=5.0)), [Attempt(answer(from_memory=True), run=ran(ms=4.0))],
     {"dispatch": 2.0, "execute": 9.0, "llm": 30.0}),
    (Attempt(answer(llm_ms=30.0)), [], {"dispatch": 2.0, "llm": 30.0}),
], ids=["no answer", "a replay", "a failed replay, then the model", "the model's answer, not run"])
def test_timings_come_from_the_records(attempt, tried, expected):
    assert timings(2.0, attempt, tried) == expected


def test_a_retry_after_an_earlier_tier_bills_both_calls_and_says_why():
    earlier = answer(usage=Usage(10, 20), cost_usd=0.5, llm_ms=7.0)
    later = with_earlier(answer(usage=Usage(1, 2), cost_usd=0.25, llm_ms=3.0, saved=100), earlier, "T2: T0 failed")
    assert (later.usage, later.cost_usd, later.llm_ms, later.saved, later.tier_reason) == (
        Usage(11, 22), 0.75, 10.0, 70, "T2: T0 failed")
    assert with_earlier(answer(cost_usd=None), answer(cost_usd=1.0), None).cost_usd is None  # unknown stays unknown


def test_verification_of_a_consensus_choice_is_only_whether_it_ran(stages):
    s, _, _ = stages
    failing = s.through(CHOSEN, request(), None, answer(code="1 / 0"), RunOptions(namespace={}))
    assert failing.run.error and failing.verification == Verification(None)
