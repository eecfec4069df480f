"""Stage 4, guard: may model-written code run? The AST guard's findings, or --trust."""
from __future__ import annotations

from ..events import EventBus, GuardBlocked
from .records import Answer, Verdict


def guard(answer: Answer, request_id: str, events: EventBus, *, strict: bool, trust: bool) -> Verdict:
    from ..tools.guard import check

    verdict = check(answer.code, strict=strict)
    if verdict.ok:
        return Verdict(allowed=True)
    findings = tuple(str(f) for f in verdict.findings)
    events.publish(GuardBlocked(request_id, findings, trusted=trust))
    if trust:
        return Verdict(allowed=True, findings=findings, trusted=True)
    return Verdict(allowed=False, findings=findings, notice=verdict.explain())


def guard_problem(code: str, *, strict: bool) -> str | None:
    """For imported memory and generated tools: why `code` may not be stored, or None."""
    from ..tools.guard import check

    verdict = check(code, strict=strict)
    return None if verdict.ok else "blocked by the guard: " + "; ".join(map(str, verdict.findings))
