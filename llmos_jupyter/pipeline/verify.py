"""Stage 6, verify: does what ran answer the request? A replay must pass the checks its trace recorded;
a fresh answer must match the request's own numbers (qubits, shots, bitstrings) before it may be stored."""
from __future__ import annotations

from ..dispatch.dispatcher import Decision
from ..memory.checks import check_values, failures
from .records import Run, Verification


def verify_replay(decision: Decision, run: Run) -> Verification:
    if not run.executed:
        return Verification(None)
    values = {**decision.request_values, **decision.values}
    problems = ([f"raised {run.error.strip().splitlines()[-1]}"] if run.error else
                failures(run.counts, check_values(values), decision.trace.checks))
    return Verification(not problems, tuple(problems), learnable=not problems)


def verify_answer(decision: Decision, run: Run) -> Verification:
    if not run.executed or run.error:
        return Verification(None)
    values = decision.request_values
    if not run.counts:
        # Nothing measured, so nothing to check against the request: remember it only when the
        # request has no parameters it could get wrong (a plot, a comparison, a step of a plan).
        if any(not name.startswith("SLOT_shots_") for name in values):
            return Verification(None)
        return Verification(True, learnable=True)
    problems = failures(run.counts, check_values(values))
    if problems:
        return Verification(False, tuple(problems), notice=(
            f"The program ran but does not match the request ({', '.join(problems)}), "
            "so it was not stored in memory."))
    return Verification(True, learnable=True)
