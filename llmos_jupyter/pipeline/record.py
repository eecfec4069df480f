"""Stage 8, record: the ledger, the session history and the sentience layer take the outcome, the
`Result` is assembled from the stages' records, and the displays hear how it ended."""
from __future__ import annotations

from typing import Any, Callable

from .dispatcher import Decision
from ..events import EventBus, LedgerTotals, RequestEnded, ValenceChanged
from ..ledger import Ledger
from ..memory import Memory
from ..sentience import Outcome, Sentience
from .records import Attempt, Request
from .result import Result, Tokens


def assemble(request: Request, decision: Decision, attempt: Attempt | None, *, error: str | None,
             timings: dict[str, float], sentience: dict[str, Any], duration_ms: float, cumulative_saved: int,
             provider: str | None = None, model: str | None = None) -> Result:
    """The Result of one dispatched request, from its final attempt (a failed replay's attempt is left
    behind: the fallback is named in `why`)."""
    why = dict(decision.why)
    if attempt is None:  # the model was never asked successfully (a provider error, an empty budget)
        return Result(request=request.text, mode=decision.mode, tokens=Tokens(cumulative_saved=cumulative_saved),
                      error=error, why=why, trace_id=decision.trace.id if decision.trace else None,
                      timings=timings, sentience=sentience, execution_time_ms=duration_ms,
                      request_id=request.request_id, parent_id=request.parent_id, provider=provider, model=model)
    answer, verdict, run, verification, learned = (attempt.answer, attempt.verdict, attempt.run,
                                                   attempt.verification, attempt.learned)
    why.update(answer.why)
    if answer.tier_reason:
        why["tier_reason"] = answer.tier_reason  # which tier answered, and why: shown with the result
    if verdict is not None and verdict.trusted:
        why["trusted"] = list(verdict.findings)
    trace_id = decision.trace.id if decision.trace else None
    if learned is not None and learned.trace_id:
        trace_id = learned.trace_id
        if not answer.from_memory:
            why["learned"] = learned.to_why()
    blocked = verdict is not None and not verdict.allowed
    warned = verdict is not None and verdict.warned
    notice = "\n".join(n for n in (verdict.notice if blocked or warned else None, run.notice, verification.notice,
                                   answer.notice) if n) or None
    return Result(
        request=request.text, mode=answer.mode, response=answer.response, code=answer.code,
        tokens=Tokens.of(answer.usage, answer.saved, cumulative_saved),
        output=run.output, error=error or run.error or verification.error, counts=run.counts, shots=run.shots,
        value=run.value, defined=dict(run.produced.get("defined", {})),
        provider=answer.provider, model=answer.model, agent=answer.agent, ptc_used=answer.from_memory,
        executed=run.executed, notice=notice, why=why, trace_id=trace_id, timings=timings,
        blocked=list(verdict.findings) if blocked or (verdict is not None and verdict.trusted) else [],
        warnings=list(verdict.findings) if warned else [], cost_usd=answer.cost_usd,
        figures=run.figures, saved=run.saved, protections=run.protections,
        verified=verification.verified, sentience=sentience, execution_time_ms=duration_ms,
        request_id=request.request_id, parent_id=request.parent_id)


def succeeded(result: Result) -> bool:
    """What the sentience layer counts as a success: no error, not shown wrong, and not stopped."""
    return result.error is None and result.verified is not False and not (result.blocked and not result.executed)


class Recorder:
    def __init__(self, ledger: Ledger, memory: Memory, sentience: Sentience, events: EventBus,
                 saved_usd: Callable[[int], float | None]):
        self.ledger = ledger
        self.memory = memory
        self.sentience = sentience
        self.events = events
        self.saved_usd = saved_usd

    def close(self, request: Request, decision: Decision, attempt: Attempt | None, *, error: str | None,
              timings: dict[str, float], sentience: dict[str, Any], duration_ms: float, miss: bool,
              provider: str | None, model: str | None) -> Result:
        """The request's Result, recorded. Traces the decide stage found changed behind LLMOS's back are
        forgotten here, whatever became of the request."""
        if decision.broken and not self.memory.read_only:
            self.memory.traces.forget(list(decision.broken))
        saved = attempt.answer.saved if attempt is not None else 0
        result = assemble(request, decision, attempt, error=error, timings=timings, sentience=sentience,
                          duration_ms=duration_ms, cumulative_saved=self.ledger.cumulative_saved() + saved,
                          provider=provider, model=model)
        self.record(result, miss=miss)
        return result

    def record(self, result: Result, *, miss: bool = False, saved_in_steps: bool = False) -> None:
        """Write the request's row and history, move the valence, and tell the displays. An orchestration's
        savings and outcomes are recorded by its steps; its own row must not count them twice."""
        saved = 0 if saved_in_steps else result.tokens.saved
        self.ledger.record_request(result.request_id, result.request, str(result.mode), result.provider,
                                   result.model, saved, result.error is None, result.execution_time_ms,
                                   self.saved_usd(saved))
        self.memory.remember(result.request, str(result.mode), result.trace_id, result.error is None)
        if not saved_in_steps:
            self.sentience.observe(Outcome(str(result.mode), succeeded(result), miss,
                                           result.tokens.input + result.tokens.output))
        self.events.publish(RequestEnded(result.request_id, result.summary(), result.parent_id))
        self.events.publish(ledger_totals(self.ledger, result.request_id))
        self.events.publish(valence(self.sentience, result.request_id))


def ledger_totals(ledger: Ledger, request_id: str | None = None) -> LedgerTotals:
    t = ledger.totals()
    return LedgerTotals(t.requests, t.input, t.output, t.saved, ledger.total_cost(), request_id)


def valence(sentience: Sentience, request_id: str | None = None) -> ValenceChanged:
    s = sentience.snapshot()
    return ValenceChanged(s["valence"], s["latent_mode"], tuple(s["behaviour"]), s.get("budget"), request_id)
