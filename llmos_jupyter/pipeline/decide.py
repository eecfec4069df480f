"""Stage 2, decide: which mode answers the request, and why (the dispatcher's choice, with the
thresholds the sentience layer shifted for this request)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..dispatch.dispatcher import Decision, Dispatcher, Thresholds
from ..dispatch.modes import Mode
from ..sentience import Policy
from .records import Request

REPLAY_MODES = (Mode.CRYSTALLIZED, Mode.FOLLOWER)


def shifted(base: Thresholds, policy: Policy) -> Thresholds:
    """The configured thresholds, shifted by what the sentience layer asks for."""
    return Thresholds(round(base.follower + policy.follower_delta, 4), round(base.mixed + policy.mixed_delta, 4),
                      base.crystallize_uses)


def decide(dispatcher: Dispatcher, request: Request, thresholds: Thresholds, policy: Policy) -> Decision:
    return dispatcher.choose(request.normalized, shifted(thresholds, policy), require_checks=policy.require_checks)


def fall_back(decision: Decision, problems: list[str]) -> Decision:
    """A replay failed verification: the same trace becomes the worked example for MIXED."""
    trace = decision.trace
    why: dict[str, Any] = {**decision.why,
                           "fallback": {"from": str(decision.mode), "failed_checks": list(problems)},
                           "reason": f"replay of {trace.id} failed verification ({', '.join(problems)}): "
                                     "asked the LLM"}
    return replace(decision, mode=Mode.MIXED, values={}, why=why)
