"""Stage 4, guard: may model-written code run? The AST guard's findings, or --trust."""
from __future__ import annotations

from ..events import EventBus, GuardBlocked
from .records import Answer, Verdict


def guard(answer: Answer, request_id: str, events: EventBus, *, strict: bool, trust: bool,
          sandboxed: bool) -> Verdict:
    """In the kernel the guard decides; in the sandboxed worker (where the OS stops what it would) its
    findings are a readable warning."""
    from ..tools.guard import check

    verdict = check(answer.code, strict=strict)
    if verdict.ok:
        return Verdict(allowed=True)
    findings = tuple(str(f) for f in verdict.findings)
    events.publish(GuardBlocked(request_id, findings, trusted=trust or sandboxed))
    if trust:
        return Verdict(allowed=True, findings=findings, trusted=True)
    if sandboxed:
        lines = "\n".join(f"  - {f}" for f in findings)
        return Verdict(allowed=True, findings=findings, warned=True, notice=(
            f"Warning: this program does things a Qiskit answer rarely needs:\n{lines}\nIt ran in the sandboxed "
            "worker, which has no API keys, no network and no write access outside its folders."))
    return Verdict(allowed=False, findings=findings, notice=verdict.explain())


def guard_problem(code: str, *, strict: bool) -> str | None:
    """For imported memory and generated tools: why `code` may not be stored, or None."""
    from ..tools.guard import check

    verdict = check(code, strict=strict)
    return None if verdict.ok else "blocked by the guard: " + "; ".join(map(str, verdict.findings))
