"""The record stage's assembly (pipeline/record.py, `assemble` and `succeeded`) over constructed records: the
`Result` is built once from the decision and the final attempt. A result with no answer is an error; the tokens
are the answer's usage; `why` merges what decided the mode with how the answer was found."""
from __future__ import annotations

import pytest

from llmos_jupyter.modes import Mode
from llmos_jupyter.ledger import Usage
from llmos_jupyter.pipeline.record import assemble, succeeded
from llmos_jupyter.pipeline.records import NOT_RUN, Attempt, Learned, Verdict, Verification
from llmos_jupyter.pipeline.verify import NO_RESULT

from .build import GHZ_COUNTS, answer, decision, ran, request, trace

FINDING = "line 2: this program reads the environment, where API keys live (os.environ)"
VERIFIED = Verification(True, learnable=True)
BILLED = dict(usage=Usage(120, 30, cache_read=5), cost_usd=0.01, provider="openai", model="gpt-test")


def tokens(result):
    t = result.tokens
    return (t.input, t.output, t.saved, t.cumulative_saved, t.cache_read)


@pytest.mark.parametrize("decided,attempt,error,expected,success", [
    (decision(Mode.LEARNER), None, "The provider refused the request (401).",
     dict(mode=Mode.LEARNER, error="The provider refused the request (401).", executed=False, verified=None,
          tokens=(0, 0, 0, 7, 0), trace_id=None), False),
    (decision(Mode.LEARNER, why={"score": 0.42}),
     Attempt(answer(why={"answer": "text"}, **BILLED), Verdict(True), ran(output="ok\n", counts=GHZ_COUNTS),
             VERIFIED, Learned("t9", new=True)), None,
     dict(mode=Mode.LEARNER, error=None, executed=True, verified=True, counts=GHZ_COUNTS, tokens=(120, 30, 0, 7, 5),
          trace_id="t9", cost_usd=0.01, provider="openai", model="gpt-test",
          why={"score": 0.42, "answer": "text", "learned": {"trace_id": "t9", "new": True, "generalized_now": []}}),
     True),
    (decision(Mode.LEARNER),
     Attempt(answer(**BILLED), Verdict(True), ran(), Verification(False, ("no_result",), error=NO_RESULT)), None,
     dict(error=NO_RESULT, executed=True, verified=False, tokens=(120, 30, 0, 7, 5)), False),
    (decision(Mode.LEARNER),
     Attempt(answer(), Verdict(False, (FINDING,), notice="Not run: the guard warns ..."), NOT_RUN), None,
     dict(error=None, executed=False, blocked=[FINDING], warnings=[], notice="Not run: the guard warns ..."), False),
    (decision(Mode.LEARNER),
     Attempt(answer(), Verdict(True, (FINDING,), trusted=True), ran(output="ok\n"), VERIFIED), None,
     dict(error=None, executed=True, blocked=[FINDING], warnings=[], why={"trusted": [FINDING]}), True),
    (decision(Mode.LEARNER),
     Attempt(answer(), Verdict(True, (FINDING,), warned=True, notice="Warning: ..."), ran(output="ok\n"), VERIFIED),
     None, dict(error=None, executed=True, blocked=[], warnings=[FINDING], notice="Warning: ..."), True),
    (decision(Mode.LEARNER),
     Attempt(answer(), Verdict(True), ran(error="ZeroDivisionError: division by zero\n")), None,
     dict(error="ZeroDivisionError: division by zero\n", executed=True, verified=None), False),
    (decision(Mode.LEARNER),
     Attempt(answer(), Verdict(True), ran(counts={"00": 100}),
             Verification(False, ("width_is_qubits",), notice="The program ran but does not match the request.")),
     None, dict(error=None, verified=False, notice="The program ran but does not match the request."), False),
    (decision(Mode.FOLLOWER, trace(("ghz_support",)), why={"score": 0.97}),
     Attempt(answer(Mode.FOLLOWER, from_memory=True, saved=250, agent="memory"), Verdict(True),
             ran(counts=GHZ_COUNTS), VERIFIED, Learned("t1")), None,
     dict(mode=Mode.FOLLOWER, tokens=(0, 0, 250, 7, 0), ptc_used=True, agent="memory", trace_id="t1",
          why={"score": 0.97}, verified=True), True),
    (decision(Mode.LEARNER, why={"answer": "decided", "score": 0.5}),
     Attempt(answer(why={"answer": "tool:execute_qiskit_code"}), Verdict(True), ran(output="ok\n"), VERIFIED), None,
     dict(why={"answer": "tool:execute_qiskit_code", "score": 0.5}), True),
    (decision(Mode.LEARNER),
     Attempt(answer(**BILLED), Verdict(True), ran(output="ok\n"), VERIFIED), "The token budget is spent.",
     dict(error="The token budget is spent.", executed=True, tokens=(120, 30, 0, 7, 5)), False),
], ids=["no attempt: the provider's error is the result", "a verified answer: billed, learned, why merged",
        "a run with no answer is an error", "blocked by the guard: not run, findings listed",
        "trusted: ran, the findings kept in why", "warned in the worker: findings as warnings",
        "the program's error is the result's", "shown wrong: not verified, no error",
        "a replay costs nothing and names its savings", "the answer's why wins over the decision's",
        "an error from the engine wins"])
def test_a_result_is_assembled_from_the_final_records(decided, attempt, error, expected, success):
    result = assemble(request(), decided, attempt, error=error, timings={"llm": 12.0}, sentience={"valence": 0.1},
                      duration_ms=30.0, cumulative_saved=7)
    found = {k: tokens(result) if k == "tokens" else getattr(result, k) for k in expected}
    assert found == expected
    assert (result.request, result.request_id, result.timings, result.execution_time_ms) == (
        request().text, "r1", {"llm": 12.0}, 30.0)
    assert succeeded(result) is success
    assert result.code == (None if attempt is None else attempt.answer.code)


def test_an_answer_never_asked_keeps_the_decisions_trace_and_the_named_model():
    result = assemble(request(), decision(Mode.MIXED, trace()), None, error="timed out", timings={}, sentience={},
                      duration_ms=0.0, cumulative_saved=0, provider="anthropic", model="claude-test")
    assert (result.trace_id, result.provider, result.model, result.code) == ("t1", "anthropic", "claude-test", None)
