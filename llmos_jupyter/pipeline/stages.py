"""The stages a program passes once it is found, written once: guard → execute → verify → learn.

Every way in runs its program through `Stages.through`: a cell's replay or answer, a plan's step (a request of
its own), a tier retry, and the program a consensus chose. A `Route` declares which stages apply to which kind
of program; nothing else decides it. The stages return records; only learn changes memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .dispatcher import Decision
from ..events import EventBus
from ..providers import CallOptions
from ..sentience import Sentience
from .execute import execute, not_run
from .guard import guard
from .learn import Learning
from .records import Answer, Attempt, Request, Run, Verification
from .runners import Runners
from .verify import verify_answer, verify_replay, verify_variation

NOT_RUN = "Not run (--no-exec)."


@dataclass(frozen=True)
class RunOptions:
    """How the caller wants one request run: the model it chose (and that model's own server and key variable,
    from an alias), the parameters its calls take, whether to run the program, where its names go, who hears
    the streamed text, whether the guard is overridden for this request, and what form the answer takes."""
    provider: str | None = None
    model: str | None = None
    execute: bool = True
    namespace: dict[str, Any] = field(default_factory=dict, compare=False)
    on_text: Callable[[str], None] | None = None
    trust: bool = False
    call: CallOptions = CallOptions()
    base_url: str | None = None
    api_key_name: str | None = None
    answer_as: str | None = None  # None: run the program; "code": the program only; else a prose form (prose.py)
    functions: tuple[str, ...] = ()  # names of the user's functions offered to the model as tools ({&fn})


@dataclass(frozen=True)
class Route:
    """Which stages a kind of program passes. `bounded`: keeps the runner's timeout (a replay, whose cost is
    known) instead of running until it ends or the user interrupts it; `clean`: runs in a clean process of the
    worker's, never beside what earlier programs changed; `verify`: how what ran is checked; `learn`: whether
    the outcome goes to memory."""
    name: str
    bounded: bool
    clean: bool
    verify: str  # "replay" | "answer" | "variation" | "none"
    learn: bool


# Replays pass the guard too: a trace learned while programs ran in the worker (where findings only warn) must
# not run unguarded in the kernel after the user switches to execution = "kernel".
REPLAY = Route("replay", bounded=True, clean=True, verify="replay", learn=True)
ANSWER = Route("answer", bounded=False, clean=False, verify="answer", learn=True)
# A program written after calling the user's own functions may hold what they returned: it is not stored, so it
# never replays for a request that did not call them.
CALLED = Route("answer that called your functions", bounded=False, clean=False, verify="answer", learn=False)
# A fine-tuned local model's answer to a new value of a family it learned must also pass that family's checks.
VARIATION = Route("local model's variation", bounded=False, clean=False, verify="variation", learn=True)
# The program a consensus chose runs where the user works; it was weighed, not verified against a request.
CHOSEN = Route("consensus choice", bounded=False, clean=False, verify="none", learn=False)


def _verify(route: Route, request: Request, decision: Decision | None, answer: Answer, run: Run) -> Verification:
    if route.verify == "replay":
        return verify_replay(decision, answer, run)
    if route.verify in ("answer", "variation"):
        # a step of a larger task reads the earlier steps' names by design (prompts.with_context)
        verification = verify_answer(decision, run, None if request.context else answer.code)
        return verify_variation(decision, run, verification) if route.verify == "variation" else verification
    return Verification(None) if run.error or not run.executed else Verification(True)


class Stages:
    """guard → execute → verify → learn for one program, with what those stages need from the engine."""

    def __init__(self, events: EventBus, learning: Learning, runners: Runners, sentience: Sentience):
        self.events = events
        self.learning = learning
        self.runners = runners  # trust -> where programs run (the worker unless the user chose the kernel)
        self.sentience = sentience  # its policy may tighten the guard

    def through(self, route: Route, request: Request, decision: Decision | None, answer: Answer,
                options: RunOptions) -> Attempt:
        if answer.code is None:
            raise ValueError("an answer with no program has nothing to run")  # callers decide what no program means
        if not options.execute:
            return Attempt(answer, run=not_run(NOT_RUN))
        replayed = decision.trace if route is REPLAY and decision is not None else None
        runner = self.runners(options.trust, replayed.verified_by if replayed is not None else None)
        verdict = guard(answer, request.request_id, self.events, strict=self.sentience.policy().strict_guard,
                        trust=options.trust,
                        sandboxed=runner.where == "worker")
        if not verdict.allowed:
            return Attempt(answer, verdict)
        run = execute(answer, options.namespace, request.request_id, self.events, runner, bounded=route.bounded,
                      clean=route.clean)
        if verdict.warned and not route.clean:
            runner.restart()  # what a flagged program patched stays in the process it ran in, which goes now
        verification = _verify(route, request, decision, answer, run)
        return Attempt(answer, verdict, run, verification, self._learn(route, request, decision, answer, run,
                                                                       verification))

    def _learn(self, route: Route, request: Request, decision: Decision | None, answer: Answer, run: Run,
               verification: Verification):
        if not route.learn:
            return None
        if route is REPLAY:
            return self.learning.replay(decision, answer, verification)
        return self.learning.answer(request, decision, answer, run) if verification.learnable else None


def with_earlier(answer: Answer, earlier: Answer | None, reason: str | None) -> Answer:
    """An answer that follows an earlier tier's failed one for the same request: both calls are billed with it,
    and the reason the tier was chosen travels with it."""
    if reason:
        answer = replace(answer, tier_reason=reason)
    if earlier is None:
        return answer
    cost = None if earlier.cost_usd is None or answer.cost_usd is None else earlier.cost_usd + answer.cost_usd
    return replace(answer, usage=earlier.usage + answer.usage, cost_usd=cost, llm_ms=earlier.llm_ms + answer.llm_ms,
                   saved=max(0, answer.saved - earlier.usage.total))
