"""LLMOS: the engine behind %%llmos, the Python API and the CLI. No Jupyter imports here."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .dispatch.dispatcher import Decision, Dispatcher, Thresholds, check_values
from .dispatch.modes import Mode
from .dispatch.normalize import normalize
from .dispatch.plan import plan
from .errors import BudgetExhausted, ConfigError, LLMOSError
from .events import EventBus
from .ledger import Ledger, Usage
from .memory import Memory
from .memory.checks import failures
from .prices import PriceTable
from .prompts import learner_system, mixed_system, with_context
from .providers import Message, Provider, make_provider, resolve_auto
from .providers import provider_class as make_provider_class
from .sentience import Outcome, Sentience
from .store import Store
from .tools.search import ToolBox


@dataclass
class Tokens:
    input: int = 0
    output: int = 0
    saved: int = 0
    cumulative_saved: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reported: bool = True  # False if a provider sent no usage figures for some call

    def to_dict(self) -> dict[str, int]:
        return {"input": self.input, "output": self.output, "saved": self.saved,
                "cumulative_saved": self.cumulative_saved}


@dataclass
class Result:
    request: str
    mode: Mode
    tokens: Tokens
    response: str = ""
    code: str | None = None
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    provider: str | None = None
    model: str | None = None
    agent: str = "quantum-architect"
    ptc_used: bool = False
    executed: bool = False
    notice: str | None = None
    why: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # ms: dispatch, llm, execute (summed per phase)
    blocked: list[str] = field(default_factory=list)  # what the guard stopped, if it stopped the code
    steps: list[dict[str, Any]] = field(default_factory=list)  # ORCHESTRATOR: each step's mode and tokens
    cost_usd: float | None = 0.0  # what the billed calls cost; None when a price is unknown
    verified: bool | None = None  # None: nothing to verify (no run, or no counts)
    sentience: dict[str, Any] = field(default_factory=dict)
    execution_time_ms: float = 0.0
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens.to_dict()
        tokens.update(cache_read=self.tokens.cache_read, cache_write=self.tokens.cache_write)
        return {
            "response": self.response,
            "output": self.output,
            "metadata": {
                "agent": self.agent,
                "mode": str(self.mode),
                "tokens": tokens,
                "ptc_used": self.ptc_used,
                "execution_time_ms": round(self.execution_time_ms, 1),
                "sentience": self.sentience,
                "provider": self.provider,
                "model": self.model,
                "code": self.code,
                "counts": self.counts,
                "shots": self.shots,
                "error": self.error,
                "notice": self.notice,
                "why": self.why,
                "trace_id": self.trace_id,
                "verified": self.verified,
                "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
                "blocked": self.blocked,
                "steps": self.steps,
                "cost_usd": self.cost_usd,
                "request_id": self.request_id,
            },
        }


MAX_STEPS = 8  # a plan longer than this is more likely pasted text than a task


class LLMOS:
    """Answer quantum-programming requests: choose a mode, replay verified memory or ask a model, run the
    code on Aer, verify, learn, and count every token."""

    def __init__(self, home: str | Path = ".llmos", provider: str = "auto", model: str | None = None,
                 base_url: str | None = None, api_key: str | None = None, starter_skills: bool = True, *,
                 namespace: dict[str, Any] | None = None, max_tokens: int = 2048, timeout: float = 60.0,
                 max_retries: int = 2, stream: bool = True, follower_threshold: float = 0.92,
                 mixed_threshold: float = 0.75, crystallize_uses: int = 5,
                 tiers: dict[str, str] | None = None, prices: dict[str, tuple[float, float]] | None = None):
        self.home = Path(home).expanduser()
        self.provider_name = provider
        self.model = model
        self.base_url = base_url
        self._api_key = api_key  # kept in memory only: never stored, logged or exported
        self.starter_skills = starter_skills
        self.namespace = namespace if namespace is not None else {}
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.stream = stream
        self.events = EventBus()
        self.store = Store(self.home)
        self.ledger = Ledger(self.store)
        self.memory = Memory(self.store, self.home, starter_skills=starter_skills)
        self.thresholds = Thresholds(follower_threshold, mixed_threshold, crystallize_uses)
        self.dispatcher = Dispatcher(self.memory.traces, self.memory.embedder, self.thresholds, self.memory.limits)
        self.toolbox = ToolBox(self.memory)
        self.sentience = Sentience(self.store)
        self.tiers = dict(tiers or {})  # "T0".."T3" -> "provider[:model]"
        self.prices = PriceTable(prices)
        self._price_overrides = dict(prices or {})
        self._consensus = None
        self._providers: dict[tuple, Provider] = {}

    def __repr__(self) -> str:
        return f"LLMOS(home={str(self.home)!r}, provider={self.provider_name!r}, model={self.model!r})"

    # -- providers -------------------------------------------------------------------------------
    def provider(self, name: str | None = None, model: str | None = None) -> Provider:
        """The provider for a run; created on first use and kept (the local model loads once)."""
        configured = name in (None, self.provider_name)
        chosen = resolve_auto(name or self.provider_name)
        # The configured model, base URL and key belong to the configured provider only.
        model = model or (self.model if configured else None)
        base_url, api_key = (self.base_url, self._api_key) if configured else (None, None)
        key = (chosen, model, base_url)
        if key not in self._providers:
            options = {"timeout": self.timeout, "max_retries": self.max_retries}
            if chosen != "local":
                options.update(base_url=base_url, api_key=api_key)
            self._providers[key] = make_provider(chosen, model, **options)
        return self._providers[key]

    # -- running ---------------------------------------------------------------------------------
    def run(self, text: str, *, provider: str | None = None, model: str | None = None, execute: bool = True,
            namespace: dict[str, Any] | None = None, on_text: Callable[[str], None] | None = None,
            trust: bool = False, _context: list[tuple[str, str]] | None = None) -> Result:
        """Answer one request. Provider and configuration failures raise LLMOSError; a program that raises
        comes back as `Result.error` with its traceback. Model-written code passes the guard before it runs,
        unless `trust` is set. A multi-step request is planned and each step dispatched again (ORCHESTRATOR)."""
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("The request is empty. Write what you want, e.g. 'Create a Bell state circuit'.")
        request = text.strip()
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        namespace = namespace if namespace is not None else self.namespace
        self.events.publish("request.start", request_id=request_id, request=request)
        if not self.memory.loaded:
            self.events.publish("status", request_id=request_id, text="Loading the memory (embedding model)…")
        self.memory.ready()
        if _context is None:
            steps = plan(request)
            if len(steps) > MAX_STEPS:
                raise ConfigError(f"The request reads as {len(steps)} steps; the orchestrator takes at most "
                                  f"{MAX_STEPS}. Split it over several cells.")
            if len(steps) > 1:
                return self._orchestrate(request, request_id, steps, started, provider=provider, model=model,
                                         execute=execute, namespace=namespace, on_text=on_text, trust=trust)

        policy = self.sentience.policy()
        dispatch_started = time.perf_counter()
        normalized = normalize(request)
        decision = self.dispatcher.choose(normalized, self._thresholds(policy), require_checks=policy.require_checks)
        dispatch_ms = (time.perf_counter() - dispatch_started) * 1000
        result = Result(request=request, mode=decision.mode, tokens=Tokens(), why=dict(decision.why),
                        request_id=request_id, sentience=self.sentience.snapshot(),
                        trace_id=decision.trace.id if decision.trace else None, timings={"dispatch": dispatch_ms})
        self.events.publish("mode", request_id=request_id, mode=str(decision.mode), why=decision.why)
        miss = False
        try:
            if decision.mode in (Mode.CRYSTALLIZED, Mode.FOLLOWER):
                if not self._replay(result, decision, namespace, execute):
                    miss = True
                    result.mode = decision.mode = Mode.MIXED
                    self.events.publish("mode", request_id=request_id, mode=str(Mode.MIXED), why=result.why)
            if result.mode in (Mode.MIXED, Mode.LEARNER):
                self._ask(result, decision, provider, model, on_text, _context or [])
                if result.code and execute:
                    if self._guarded(result, trust):
                        self._execute(result, namespace)
                        self._learn(result, decision, normalized)
                elif result.code:
                    result.notice = "Not run (--no-exec)."
        except LLMOSError as exc:
            result.error = str(exc)
            self._close(result, started, miss)
            raise
        except BaseException:
            result.error = "interrupted"
            self._close(result, started, miss)
            raise
        self._close(result, started, miss)
        return result

    def _thresholds(self, policy) -> Thresholds:
        """The configured thresholds, shifted by what the sentience layer asks for."""
        base = self.thresholds
        return Thresholds(round(base.follower + policy.follower_delta, 4), round(base.mixed + policy.mixed_delta, 4),
                          base.crystallize_uses)

    def _orchestrate(self, request: str, request_id: str, steps: list[str], started: float, **options) -> Result:
        """ORCHESTRATOR: each step goes through the dispatcher again, in one namespace, with the earlier
        steps' code as context; the results compose into one answer."""
        result = Result(request=request, mode=Mode.ORCHESTRATOR, tokens=Tokens(), request_id=request_id,
                        sentience=self.sentience.snapshot(), agent="orchestrator",
                        why={"plan": steps, "reason": f"a multi-step request: {len(steps)} steps, each dispatched"})
        self.events.publish("mode", request_id=request_id, mode=str(Mode.ORCHESTRATOR), why=result.why)
        context: list[tuple[str, str]] = []
        codes, outputs = [], []
        try:
            for index, step in enumerate(steps, start=1):
                self.events.publish("orchestrator.step", request_id=request_id, index=index, step=step)
                sub = self.run(step, _context=context, **options)
                t = result.tokens
                t.input, t.output = t.input + sub.tokens.input, t.output + sub.tokens.output
                t.cache_read, t.cache_write = t.cache_read + sub.tokens.cache_read, t.cache_write + sub.tokens.cache_write
                t.saved += sub.tokens.saved
                result.cost_usd = None if None in (result.cost_usd, sub.cost_usd) else result.cost_usd + sub.cost_usd
                result.steps.append({"step": step, "mode": str(sub.mode), "trace_id": sub.trace_id,
                                     "tokens": {"input": sub.tokens.input, "output": sub.tokens.output,
                                                "saved": sub.tokens.saved},
                                     "counts": sub.counts, "error": sub.error, "notice": sub.notice})
                if sub.code:
                    context.append((step, sub.code))
                    codes.append(f"# step {index}: {step}\n{sub.code.rstrip()}")
                if sub.output:
                    outputs.append(f"# step {index}: {step}\n{sub.output.rstrip()}")
                if sub.counts:
                    result.counts, result.shots = sub.counts, sub.shots
                if sub.error:
                    result.error = f"Step {index} ({step}) failed:\n{sub.error}"
                    break
                if sub.blocked and not sub.executed:
                    result.blocked = [f"step {index}: {b}" for b in sub.blocked]
                    result.notice = f"Step {index} ({step}) was not run, so the plan stopped there.\n{sub.notice}"
                    break
        finally:
            result.code = "\n\n".join(codes) or None
            result.output = "\n".join(outputs)
            result.executed = bool(outputs)
            result.response = "Plan: " + " → ".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))
            self._close(result, started, saved_in_steps=True)
        return result
    def _replay(self, result: Result, decision: Decision, namespace: dict[str, Any], execute: bool) -> bool:
        """FOLLOWER / CRYSTALLIZED: run the stored program with rebound slots, then verify. False: fall back."""
        from .memory.crystallize import call_snippet, own_module
        from .memory.learn import record_replay
        from .memory.templates import instantiate

        trace = decision.trace
        crystallized = decision.mode == Mode.CRYSTALLIZED
        if crystallized:
            own_module(trace.tool_name, self.memory.tools_dir)
        result.code = (call_snippet(trace, decision.values, self.memory.param_names(trace)) if crystallized
                       else instantiate(trace.code, decision.values))
        result.ptc_used = True
        result.agent = "memory"
        result.response = f"Replayed verified trace {trace.id}" + (f" as tool {trace.tool_name}()" if crystallized else "")
        result.tokens.saved = self._lean_baseline(result.request, instantiate(trace.code, decision.values))
        if not execute:
            result.notice = "Not run (--no-exec)."
            return True
        self._execute(result, namespace)
        values = {**decision.request_values, **decision.values}
        problems = [f"raised {result.error.strip().splitlines()[-1]}"] if result.error else \
            failures(result.counts, check_values(values), trace.checks)
        record_replay(self.memory.traces, trace, values, ok=not problems)
        if problems:
            result.why["fallback"] = {"from": str(decision.mode), "failed_checks": problems}
            result.why["reason"] = f"replay of {trace.id} failed verification ({', '.join(problems)}): asked the LLM"
            result.code = result.error = result.counts = result.shots = None
            result.output, result.response, result.ptc_used, result.agent = "", "", False, "quantum-architect"
            result.tokens.saved = 0
            return False
        result.verified = True
        self._maybe_crystallize(trace.id)
        return True

    def _ask(self, result: Result, decision: Decision, provider: str | None, model: str | None,
             on_text: Callable[[str], None] | None, context: list[tuple[str, str]]) -> None:
        """MIXED / LEARNER: ask the model, with a worked example (MIXED) or found tools and facts (LEARNER)."""
        from .memory.templates import instantiate

        left = self.sentience.budget_left()
        if left is not None and left <= 0:
            raise BudgetExhausted(
                f"The token budget of {self.sentience.budget:,} is spent ({self.sentience.spent:,} billed), so the "
                "model was not asked. Answers from memory still work at zero tokens. Raise the budget with "
                "%llmos budget 100000, or clear it with %llmos budget off.")
        llm = self._model_for(result, provider, model)
        result.provider, result.model = llm.name, llm.model
        use_tools = llm.name != "local"
        if result.mode == Mode.MIXED and decision.trace is not None:
            example = decision.trace
            system = mixed_system(example.request, instantiate(example.code, example.examples[0]))
            tools = None
        else:
            system = learner_system(self.memory.facts.relevant(result.request))
            tools = self.toolbox.for_request(result.request) if use_tools else None
        system = with_context(system, context)
        messages = [Message("user", result.request)]  # the request reaches the model verbatim, last

        def stream(piece: str) -> None:
            self.events.publish("llm.text", request_id=result.request_id, text=piece)
            if on_text is not None:
                on_text(piece)

        for _round in range(3):
            llm_started = time.perf_counter()
            completion = llm.complete(system, messages, tools=tools, max_tokens=self.max_tokens,
                                      on_text=stream if (self.stream or on_text is not None) else None)
            self._time(result, "llm", llm_started)
            cost = self.prices.cost(completion.provider, completion.model, completion.usage)
            self.ledger.record_call(result.request_id, completion.provider, completion.model, completion.usage, cost)
            self._add_usage(result, completion.usage)
            result.cost_usd = None if cost is None or result.cost_usd is None else result.cost_usd + cost
            result.model = completion.model
            self.events.publish("llm.call", request_id=result.request_id, provider=completion.provider,
                                model=completion.model, input=completion.usage.input,
                                output=completion.usage.output)
            result.response = completion.text
            code, how = self.toolbox.code_for(completion)
            searches = [c for c in completion.tool_calls if c.name == "search_tools"]
            if code or not searches or tools is None:
                break
            # search_tools: answer it and let the model go on with what it found.
            messages.append(Message("assistant", completion.text, tool_calls=tuple(completion.tool_calls)))
            for call in completion.tool_calls:
                found_text, found = self.toolbox.answer_search(str(call.arguments.get("query", result.request)))
                messages.append(Message("tool", found_text if call.name == "search_tools" else "not run",
                                        tool_call_id=call.id))
                tools = tools + [t for t in found if t.name not in {x.name for x in tools}]
        result.code = code
        result.why["answer"] = how
        if decision.trace is not None and result.mode == Mode.MIXED and code:
            billed = result.tokens.input + result.tokens.output
            result.tokens.saved = max(0, self._lean_baseline(result.request, code) - billed)
        if result.code is None:
            result.notice = ("The reply holds no Python code, so nothing ran. "
                             "If you wanted a program, ask for one explicitly (e.g. 'Write Qiskit code that ...').")

    @staticmethod
    def _lean_baseline(request: str, code: str) -> int:
        """What always asking the LLM would have billed for this request: the lean LEARNER prompt and the
        request in, the program out (cl100k estimate, plus a few tokens of chat framing). Savings are
        counted against this, never against the bigger prompts LEARNER sends when it adds tools and facts."""
        from .prompts import LEARNER_SYSTEM
        from .tokencount import count_tokens

        return count_tokens(LEARNER_SYSTEM) + count_tokens(request) + count_tokens(code) + 12

    def _model_for(self, result: Result, provider: str | None, model: str | None) -> Provider:
        """The model for this call: the cell's choice, else the tier for the mode (when tiers are configured:
        LEARNER → T2, MIXED → T1, one tier down when energy is low), else the configured provider."""
        if provider is None and model is None and self.tiers:
            wanted = {Mode.MIXED: 1, Mode.LEARNER: 2}.get(result.mode, 2) + self.sentience.policy().tier_shift
            available = sorted(int(t[1:]) for t in self.tiers if re.fullmatch(r"T[0-3]", t))
            if available:
                tier = min(available, key=lambda t: (abs(t - wanted), -t))
                name, _, tier_model = self.tiers[f"T{tier}"].partition(":")
                result.why["tier"] = f"T{tier}"
                return self.provider(name, tier_model or None)
        return self.provider(provider, model)

    def _guarded(self, result: Result, trust: bool) -> bool:
        """True when the code may run: the guard found nothing, or the user trusts this cell."""
        from .tools.guard import check

        verdict = check(result.code, strict=self.strict_guard)
        if verdict.ok:
            return True
        result.blocked = [str(f) for f in verdict.findings]
        self.events.publish("guard.blocked", request_id=result.request_id, findings=result.blocked)
        if trust:
            result.why["trusted"] = result.blocked
            return True
        result.notice = verdict.explain()
        return False

    @property
    def strict_guard(self) -> bool:
        return self.sentience.policy().strict_guard

    def guard_problem(self, code: str) -> str | None:
        """For imported memory and generated tools: why `code` may not be stored, or None."""
        from .tools.guard import check

        verdict = check(code, strict=self.strict_guard)
        return None if verdict.ok else "blocked by the guard: " + "; ".join(map(str, verdict.findings))

    def _learn(self, result: Result, decision: Decision, normalized) -> None:
        """Store a verified answer; an answer that does not match the request is shown but not remembered."""
        from .memory.learn import learn

        if result.error:
            return
        values = decision.request_values
        if not result.counts:
            # Nothing measured, so nothing to check against the request: remember it only when the
            # request has no parameters it could get wrong (a plot, a comparison, a step of a plan).
            if any(not name.startswith("SLOT_shots_") for name in values):
                return
        problems = failures(result.counts, check_values(values)) if result.counts else []
        if problems:
            result.verified = False
            result.notice = (f"The program ran but does not match the request ({', '.join(problems)}), "
                             "so it was not stored in memory.")
            return
        result.verified = True
        learned = learn(self.memory.traces, normalized, values, result.code, result.counts,
                        origin=str(result.mode).lower(), billed_tokens=result.tokens.input + result.tokens.output)
        self.memory.facts.learn_from(result.code, normalized.template)
        result.trace_id = learned.trace.id
        result.why["learned"] = {"trace_id": learned.trace.id, "new": learned.new,
                                 "generalized_now": list(learned.generalized_now)}
        self._maybe_crystallize(learned.trace.id)

    def _maybe_crystallize(self, trace_id: str) -> None:
        from .memory.crystallize import crystallize

        trace = self.memory.traces.get(trace_id)
        if trace is None or trace.tool_name or trace.uses < self.thresholds.crystallize_uses:
            return
        if self.guard_problem(trace.code):
            return  # a tool is code the user imports: it must pass the same guard
        taken = {t.tool_name for t in self.memory.traces.all() if t.tool_name}
        function = crystallize(trace, self.memory.tools_dir, taken, self.memory.param_names(trace))
        if function:
            self.memory.traces.modify(trace.id, lambda t: setattr(t, "tool_name", function))
            self.events.publish("crystallized", trace_id=trace.id, tool=function)

    @staticmethod
    def _time(result: Result, phase: str, started: float) -> None:
        result.timings[phase] = result.timings.get(phase, 0.0) + (time.perf_counter() - started) * 1000

    @staticmethod
    def _add_usage(result: Result, usage: Usage) -> None:
        t = result.tokens
        t.input += usage.input
        t.output += usage.output
        t.cache_read += usage.cache_read
        t.cache_write += usage.cache_write
        t.reported = t.reported and usage.reported

    def _execute(self, result: Result, namespace: dict[str, Any]) -> None:
        from .tools.qiskit_exec import run_code  # imports qiskit-aer on first use

        self.events.publish("execution.start", request_id=result.request_id)
        execute_started = time.perf_counter()
        execution = run_code(result.code, namespace)
        self._time(result, "execute", execute_started)
        result.executed = True
        result.output = execution.output
        result.error = execution.error
        result.counts = execution.counts
        result.shots = execution.shots
        self.events.publish("execution", request_id=result.request_id, output=execution.output,
                            error=execution.error, counts=execution.counts)

    def _close(self, result: Result, started: float, miss: bool = False, saved_in_steps: bool = False) -> None:
        result.execution_time_ms = (time.perf_counter() - started) * 1000
        # An orchestration's savings are recorded by its steps; its own row must not count them twice.
        saved = 0 if saved_in_steps else result.tokens.saved
        self.ledger.record_request(result.request_id, result.request, str(result.mode), result.provider,
                                   result.model, saved, result.error is None, result.execution_time_ms,
                                   self._saved_usd(saved))
        self.memory.remember(result.request, str(result.mode), result.trace_id, result.error is None)
        if not saved_in_steps:
            ok = result.error is None and result.verified is not False and not (result.blocked and not result.executed)
            self.sentience.observe(Outcome(str(result.mode), ok, miss, result.tokens.input + result.tokens.output))
        result.tokens.cumulative_saved = self.ledger.cumulative_saved()
        self.events.publish("tokens", request_id=result.request_id, **result.tokens.to_dict())
        self.events.publish("sentience", request_id=result.request_id, **self.sentience.snapshot())
        self.events.publish("request.end", request_id=result.request_id, result=result.to_dict())

    def _saved_usd(self, saved: int) -> float | None:
        """Saved tokens priced as input to the configured model (a floor: output tokens cost more)."""
        if not saved:
            return 0.0
        name = resolve_auto(self.provider_name)
        model = self.model or getattr(make_provider_class(name), "default_model", "")
        price = self.prices.price(name, model)
        return None if price is None else saved * price.input / 1e6

    def set_budget(self, tokens: int | None) -> None:
        """A token budget: energy falls as it is spent; when it is gone, only zero-token answers run."""
        self.sentience.set_budget(tokens)

    def costs(self) -> dict[str, Any]:
        return {**self.ledger.costs(), "total_usd": self.ledger.total_cost(),
                "saved_tokens": self.ledger.cumulative_saved()}

    # -- consensus -------------------------------------------------------------------------------
    def consensus(self, prompt: str, providers, **options):
        """Ask several models in parallel and weigh their answers with the thermodynamic consensus engine
        (llmos_jupyter.consensus); every billed call goes to this ledger. `providers`: "anthropic:model,
        openai:model,local" or a list of specs or Provider objects."""
        from .consensus import ConsensusEngine

        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError("The request is empty. Write the question the models should answer.")
        if self._consensus is None:
            self._consensus = ConsensusEngine(device="auto", seed=0, events=self.events)
        self.memory.ready()
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        options.setdefault("provider_options", {"timeout": self.timeout, "max_retries": self.max_retries})
        result = self._consensus.run(prompt.strip(), providers, ledger=self.ledger, request_id=request_id,
                                     embedder=self.memory.embedder, prices=self._price_overrides, **options)
        self.ledger.record_request(request_id, prompt.strip(), "CONSENSUS", None, None, 0, True,
                                   (time.perf_counter() - started) * 1000)
        return result

    # -- memory ----------------------------------------------------------------------------------
    def tool(self, name: str):
        """A crystallized tool as a Python function."""
        import importlib

        from .memory.crystallize import module_name, own_module

        own_module(name, self.memory.tools_dir)
        return getattr(importlib.import_module(module_name(name)), name)

    def export_memory(self, path: str | Path, text: str | None = None) -> int:
        from .memory.exchange import export

        self.memory.ready()
        return export(self.memory.traces, path, text)

    def import_memory(self, path: str | Path) -> tuple[int, int]:
        from .memory.exchange import import_

        self.memory.ready()
        return import_(self.memory.traces, path, guard=self.guard_problem)

    def forget(self, what: str) -> int:
        """Forget traces by id or by text they match; returns how many."""
        self.memory.ready()
        ids = [t.id for t in self.memory.traces.all(what)]
        return self.memory.traces.forget(ids) if ids else 0

    # -- introspection ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What `%llmos status` and `llmos status` show. Creating the provider is cheap; the local
        model itself loads on first request."""
        totals = self.ledger.totals()
        info: dict[str, Any] = {"home": str(self.home), "store": str(self.store.path),
                                "provider_setting": self.provider_name, "provider": resolve_auto(self.provider_name)}
        try:
            info.update(self.provider().describe())
        except LLMOSError as exc:
            info["provider_error"] = str(exc)
        info["ledger"] = {"requests": totals.requests, "input": totals.input, "output": totals.output,
                          "cache_read": totals.cache_read, "cache_write": totals.cache_write,
                          "saved": totals.saved}
        info["memory"] = {"traces": self.memory.traces.count(), "starter_skills": self.starter_skills}
        info["sentience"] = self.sentience.snapshot()
        return info

    def reset(self, *, ledger: bool = False) -> None:
        """Forget the providers made so far (so new settings take effect); with ledger=True also clear
        the token ledger in home."""
        self._providers.clear()
        if ledger:
            self.ledger.clear()

    def close(self) -> None:
        self.store.close()
