"""One request, start to end: decide → replay | ask (with tier retries) → the program's stages → record.

The engine hands a normalized request in once and gets its `Result` back; between the two the request does not
return to the engine. A failed replay falls back to the model; a local model's (T0) failed answer is followed by
the next tier's. Timings come from the records.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from .dispatcher import Decision, Dispatcher, Thresholds
from ..modes import Mode
from ..errors import BudgetExhausted, ConfigError, LLMOSError
from ..events import EventBus, ModeChosen
from ..providers import Provider
from ..sentience import Sentience
from .ask import NO_PROGRAM, Asking, ask
from .decide import REPLAY_MODES, decide, fall_back
from .kernel_tools import KernelTools
from .models import Models
from .learn import Learning
from .prose import PROSE, ask_prose
from .record import Recorder
from .records import Attempt, Request, Run
from .replay import replay
from .result import Result
from .stages import ANSWER, CALLED, REPLAY, VARIATION, RunOptions, Stages, with_earlier

@dataclass(frozen=True)
class Dispatched:
    """What one request came to: its Result, or a plan the model answered with (the caller orchestrates it)."""
    result: Result | None
    plan: Attempt | None = None


class Flow:
    def __init__(self, dispatcher: Dispatcher, thresholds: Thresholds, memory, sentience: Sentience,
                 events: EventBus, stages: Stages, learning: Learning, recorder: Recorder, asking: Asking,
                 models: Models):
        self.dispatcher = dispatcher
        self.thresholds = thresholds
        self.memory = memory
        self.sentience = sentience
        self.events = events
        self.stages = stages
        self.learning = learning
        self.recorder = recorder
        self.asking = asking
        self.models = models

    def dispatch(self, request: Request, started: float, options: RunOptions) -> Dispatched:
        policy = self.sentience.policy()
        sentience = self.sentience.snapshot()
        dispatch_started = time.perf_counter()
        decision = self._decide(request, options, policy)
        dispatch_ms = (time.perf_counter() - dispatch_started) * 1000
        self.events.publish(ModeChosen(request.request_id, str(decision.mode), decision.why, request.parent_id))
        tried: list[Attempt] = []  # attempts this request left behind (a failed replay, a failed T0 answer)
        attempt, llm, error = None, None, None
        try:
            if options.answer_as in PROSE:
                llm, attempt = self._prose(request, options)
            elif decision.mode in REPLAY_MODES:
                attempt = self.stages.through(REPLAY, request, decision, replay(request, decision, self.memory),
                                              options)
                if attempt.verification.verified is False:
                    tried.append(attempt)
                    attempt, decision = None, fall_back(decision, list(attempt.verification.problems))
                    self.events.publish(ModeChosen(request.request_id, str(decision.mode), decision.why,
                                                   request.parent_id, fallback_from=str(decision.fallback_from)))
            if attempt is None:
                llm, attempt = self._ask_tiered(request, decision, options, tried)
        except LLMOSError as exc:
            error = str(exc)
            raise
        except BaseException:
            error = "interrupted"
            raise
        finally:
            planned = attempt is not None and bool(attempt.answer.plan) and request.parent_id is None
            if not planned:
                result = self._close(request, decision, attempt, tried, error, dispatch_ms, sentience, started, llm)
        return Dispatched(None, attempt) if planned else Dispatched(result)

    def _decide(self, request: Request, options: RunOptions, policy) -> Decision:
        """decide, with what the asked-for form rules out: memory holds programs, so a prose answer is the
        model's; a program for a new cell (-f code) is the verified program, not a call of a tool whose source
        the cell would lack."""
        if options.answer_as in PROSE:
            return Decision(Mode.LEARNER, why={"reason": f"a {options.answer_as} answer was asked for: the model "
                                                         "answers in prose; nothing is replayed or run"})
        if options.functions:
            return Decision(Mode.LEARNER, why={"reason": "the request offers your functions "
                                                         f"({', '.join(options.functions)}) as tools: the model is "
                                                         "asked, and its program is not stored"})
        decision = decide(self.dispatcher, request, self.thresholds, policy)
        if options.answer_as == "code" and decision.mode == Mode.CRYSTALLIZED:
            decision = replace(decision, mode=Mode.FOLLOWER, why={
                **decision.why, "program": "-f code: the verified program, not the call of its tool"})
        return decision

    def _prose(self, request: Request, options: RunOptions) -> tuple[Provider, Attempt]:
        llm, _tier, _why = self.models.choose(Mode.LEARNER, options)
        self._check_budget()
        answer = ask_prose(request, llm, self.asking, options.answer_as, on_text=options.on_text, call=options.call,
                           kernel=self._kernel(options, llm))
        return llm, Attempt(answer)

    def _kernel(self, options: RunOptions, llm: Provider) -> KernelTools | None:
        """The user's functions this request offers, for one model call loop; the local model calls no tools."""
        if not options.functions:
            return None
        if llm.name == "local":
            raise ConfigError(f"{{&{options.functions[0]}}} offers your function as a tool, but the local model "
                              "cannot call tools. Choose a remote model (e.g. %%llmos openai:gpt-5.5), or write "
                              "the function's result into the request with {name}.")
        return KernelTools(options.functions, options.namespace, self.asking.tool_steps)

    def _check_budget(self) -> None:
        left = self.sentience.budget_left()
        if left is not None and left <= 0:
            raise BudgetExhausted(
                f"The token budget of {self.sentience.budget:,} is spent ({self.sentience.spent:,} billed), so the "
                "model was not asked. Answers from memory still work at zero tokens. Raise the budget with "
                "%llmos budget 100000, or clear it with %llmos budget off.")

    def _ask_tiered(self, request: Request, decision: Decision, options: RunOptions,
                    tried: list[Attempt]) -> tuple[Provider, Attempt]:
        """Ask the model for the request's tier. A program from the local adapter (T0) that fails is followed by
        the next tier's answer, both calls billed, the reason on the answer."""
        terms = request.normalized.terms
        llm, tier, tier_why = self.models.choose(decision.mode, options, terms, decision.variation_of, frozenset())
        attempt = self._ask(request, decision, options, llm, tier, tier_why)
        if tier != "T0" or not options.execute or attempt.verification.verified is True:
            return llm, attempt
        tried.append(attempt)
        failed = (", ".join(attempt.verification.problems) or attempt.answer.edit_error
                  or (attempt.run.error or NO_PROGRAM).strip().splitlines()[-1])
        llm, tier, tier_why = self.models.choose(decision.mode, options, terms, None, frozenset({"T0"}))
        return llm, self._ask(request, decision, options, llm, tier, f"{tier_why}; T0's program failed ({failed[:160]})",
                              earlier=attempt.answer)

    def _ask(self, request: Request, decision: Decision, options: RunOptions, llm: Provider, tier: str | None,
             tier_why: str | None, earlier=None) -> Attempt:
        self._check_budget()
        answer = with_earlier(ask(request, decision, llm, self.asking, tier=tier, on_text=options.on_text,
                                  call=options.call, kernel=self._kernel(options, llm)), earlier, tier_why)
        if answer.code is None:
            if answer.plan and request.parent_id is None:
                return Attempt(answer)
            misfit = answer.edit_error and (f"The model's edit of the worked example does not fit it "
                                           f"({answer.edit_error}), so nothing ran. Ask again; a reworded request "
                                           "may get a whole program.")
            return Attempt(answer, run=Run(executed=False, error=misfit or NO_PROGRAM))
        route = VARIATION if tier == "T0" else CALLED if options.functions else ANSWER
        return self.stages.through(route, request, decision, answer, options)

    def _close(self, request: Request, decision: Decision, attempt: Attempt | None, tried: list[Attempt],
               error: str | None, dispatch_ms: float, sentience: dict[str, Any], started: float,
               llm: Provider | None) -> Result:
        return self.recorder.close(request, decision, attempt, error=error, timings=timings(dispatch_ms, attempt, tried),
                                   sentience=sentience, duration_ms=(time.perf_counter() - started) * 1000,
                                   miss=any(a.answer.from_memory for a in tried),
                                   provider=llm.name if llm else None, model=llm.model if llm else None)


def timings(dispatch_ms: float, attempt: Attempt | None, tried: list[Attempt]) -> dict[str, float]:
    """Milliseconds spent choosing, running programs (every attempt's) and waiting for the model (the final
    answer carries an earlier tier's call with its own)."""
    out = {"dispatch": dispatch_ms}
    runs = [a.run for a in (*tried, attempt) if a is not None and a.run.executed]
    if runs:
        out["execute"] = sum(r.ms for r in runs)
    if attempt is not None and not attempt.answer.from_memory:
        out["llm"] = attempt.answer.llm_ms
    return out
