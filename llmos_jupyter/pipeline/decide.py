"""Stage 2, decide: which mode answers the request, and why (the dispatcher's choice, with the
thresholds the sentience layer shifted for this request)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from .dispatcher import Decision, Dispatcher, Thresholds
from ..modes import Mode
from ..sentience import Policy
from .records import Request

REPLAY_MODES = (Mode.CRYSTALLIZED, Mode.FOLLOWER)


def shifted(base: Thresholds, policy: Policy) -> Thresholds:
    """The configured thresholds, shifted by what the sentience layer asks for."""
    return replace(base, follower=round(base.follower + policy.follower_delta, 4),
                   mixed=round(base.mixed + policy.mixed_delta, 4))


def decide(dispatcher: Dispatcher, request: Request, thresholds: Thresholds, policy: Policy) -> Decision:
    """The dispatcher's choice. A trace whose stored program no longer matches its seal (changed behind
    LLMOS's back) is never replayed nor shown to a model: the choice is made again without it, and the decision
    names it in `broken` for the record stage to forget (this stage only reads memory)."""
    broken: list[str] = []
    for _ in range(3):
        decision = dispatcher.choose(request.normalized, shifted(thresholds, policy),
                                     require_checks=policy.require_checks, exclude=frozenset(broken))
        trace = decision.trace
        if trace is None or trace.intact:
            break
        broken.append(trace.id)
    else:  # still finding broken seals: ask the model with no memory at all
        decision = Decision(Mode.LEARNER, request_values=decision.request_values, why=decision.why)
    if not broken:
        return decision
    refused = [f"trace {t}: its stored program is not the one that was verified (changed outside LLMOS), so it "
               "was forgotten" for t in broken]
    return replace(decision, why={**decision.why, "refused": refused}, broken=tuple(broken))


def fall_back(decision: Decision, problems: list[str]) -> Decision:
    """A replay failed verification: the same trace becomes the worked example for MIXED."""
    trace = decision.trace
    why: dict[str, Any] = {**decision.why,
                           "fallback": {"from": str(decision.mode), "failed_checks": list(problems)},
                           "reason": f"replay of {trace.id} failed verification ({', '.join(problems)}): "
                                     "asked the LLM"}
    return replace(decision, mode=Mode.MIXED, values={}, why=why, fallback_from=decision.mode)
