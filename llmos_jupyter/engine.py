"""LLMOS: the engine behind %%llmos, the Python API and the CLI. It runs each request through the
stages in pipeline/ and orchestrates plans; no Jupyter imports here."""
from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .dispatch.dispatcher import Decision, Dispatcher, Thresholds
from .dispatch.modes import Mode
from .dispatch.plan import plan as split_steps
from .errors import BudgetExhausted, ConfigError, LLMOSError
from .events import EventBus, ModeChosen, RequestStarted, Status, StepStarted
from .ledger import Ledger, Usage
from .memory import Memory
from .pipeline import record as recording
from .pipeline.ask import NO_PROGRAM, Asking, ask, ask_for_plan
from .pipeline.decide import REPLAY_MODES, decide, fall_back
from .pipeline.execute import execute as run_program
from .pipeline.execute import not_run, run_saying_so
from .pipeline.guard import guard, guard_problem
from .pipeline.learn import Learning
from .pipeline.normalize import normalize
from .pipeline.records import Answer, Attempt, Request, Run
from .pipeline.replay import replay
from .pipeline.runners import KernelRunner, WorkerRunner
from .pipeline.result import Result, Tokens
from .pipeline.toolbox import ToolBox
from .pipeline.verify import verify_answer, verify_replay, verify_variation
from .prices import PriceTable
from .providers import Provider, make_provider, resolve_auto
from .providers import provider_class as make_provider_class
from .sentience import Sentience
from .settings import Settings
from .store import Store

__all__ = ["LLMOS", "Result", "Tokens"]

MAX_STEPS = 8  # a plan longer than this is more likely pasted text than a task
NOT_RUN = "Not run (--no-exec)."


class LLMOS:
    """Answer quantum-programming requests: choose a mode, replay verified memory or ask a model, run the
    code on Aer, verify, learn, and count every token. Keyword arguments are `Settings` fields."""

    def __init__(self, home: str | Path | None = None, provider: str | None = None, model: str | None = None,
                 base_url: str | None = None, api_key: str | None = None, starter_skills: bool | None = None, *,
                 namespace: dict[str, Any] | None = None, settings: Settings | None = None, **options: Any):
        given = {"home": home, "provider": provider, "model": model, "base_url": base_url,
                 "starter_skills": starter_skills}
        changes = {k: (str(v) if k == "home" else v) for k, v in given.items() if v is not None}
        self.settings = s = (settings or Settings()).with_(**changes, **options)
        self._api_key = api_key  # kept in memory only: never stored, logged or exported
        self.home = Path(s.home).expanduser()
        self.namespace = namespace if namespace is not None else {}
        self.store = Store(self.home)
        self.ledger = Ledger(self.store)
        self.memory = Memory(self.store, self.home, starter_skills=s.starter_skills)
        self.sentience = Sentience(self.store)
        self.events = EventBus(state=self._state_events)
        self.thresholds = Thresholds.of(s)
        self.dispatcher = Dispatcher(self.memory.traces, self.memory.embedder, self.thresholds, self.memory.limits)
        self.toolbox = ToolBox(self.memory)
        self.prices = PriceTable(s.prices)
        self._asking = Asking(self.memory, self.toolbox, self.ledger, self.prices, self.events, s.max_tokens,
                              s.stream)
        self._kernel = KernelRunner()
        self._worker = WorkerRunner(protect=(self.home,), outputs=Path(s.outputs), timeout=s.run_timeout,
                                    disk_mb=s.disk_mb,
                                    saved_manifest=self.home / "saved-files.json")  # the worker cannot write the home
        self._learning = Learning(self.memory, self.events, s.crystallize_uses, self.guard_problem,
                                  self._runner(trust=False))
        self._recorder = recording.Recorder(self.ledger, self.memory, self.sentience, self.events, self._saved_usd)
        self._consensus = None
        self._providers: dict[tuple, Provider] = {}

    def __repr__(self) -> str:
        return f"LLMOS(home={str(self.home)!r}, provider={self.settings.provider!r}, model={self.settings.model!r})"

    def _state_events(self):
        return [recording.ledger_totals(self.ledger), recording.valence(self.sentience)]

    # -- providers -------------------------------------------------------------------------------
    def provider(self, name: str | None = None, model: str | None = None, base_url: str | None = None) -> Provider:
        """The provider for a run; created on first use and kept (the local model loads once). `base_url`: a
        tier's own server (e.g. vLLM serving an adapter)."""
        s = self.settings
        configured = name in (None, s.provider)
        chosen = resolve_auto(name or s.provider)
        # The configured model, base URL and key belong to the configured provider only.
        model = model or (s.model if configured else None)
        base_url, api_key = (base_url or s.base_url, self._api_key) if configured else (base_url, None)
        key = (chosen, model, base_url)
        if key not in self._providers:
            options = {"timeout": s.timeout, "max_retries": s.max_retries}
            if chosen != "local":
                options.update(base_url=base_url, api_key=api_key)
            else:
                options["adapters"] = self.home / "adapters"  # local:<name> is an adapter fine-tuned here
            self._providers[key] = make_provider(chosen, model, **options)
        return self._providers[key]

    def _model_for(self, mode: Mode, provider: str | None, model: str | None, terms: frozenset = frozenset(),
                   *, variation: str | None = None, skip: frozenset = frozenset()
                   ) -> tuple[Provider, str | None, str | None]:
        """The model for this call, its tier and why: the cell's choice, else the tier for the mode when tiers
        are configured (finetune.routing: T0 for new values of families its adapter learned, T1 MIXED, T2
        LEARNER, T3 planning; `skip`: tiers already tried), else the configured provider."""
        tiers = self.settings.tiers
        if provider is None and model is None and tiers:
            from .finetune import routing

            tier, why = routing.choose(tiers, mode, terms, self.sentience.policy().tier_shift, self.home,
                                       variation=variation, skip=skip)
            if tier is not None:
                spec = routing.parse(tier, tiers[tier])
                return self.provider(spec.provider, spec.model, spec.base_url), tier, why
            return self.provider(provider, model), None, why
        return self.provider(provider, model), None, None

    # -- running ---------------------------------------------------------------------------------
    def run(self, text: str, *, provider: str | None = None, model: str | None = None, execute: bool = True,
            namespace: dict[str, Any] | None = None, on_text: Callable[[str], None] | None = None,
            trust: bool = False, plan: bool = False, _context: list[tuple[str, str]] | None = None,
            _parent_id: str | None = None) -> Result:
        """Answer one request: a cell is one request, whatever its line breaks or 'then's. Provider and
        configuration failures raise LLMOSError; a program that raises, or an answer with no program, comes
        back as `Result.error`. Model-written code passes the guard before it runs, unless `trust` is set.
        ORCHESTRATOR runs when `plan` is set (the model is asked for the steps) or when the model answers with
        a plan; each step is dispatched again as a request of its own and can replay."""
        request_id = uuid.uuid4().hex
        request = normalize(text, request_id, parent_id=_parent_id, context=tuple(_context or ()))
        started = time.perf_counter()
        namespace = namespace if namespace is not None else self.namespace
        self.events.publish(RequestStarted(request_id, request.text, _parent_id))
        if not self.memory.loaded:
            if execute:
                self._runner(trust=trust).start()  # the worker preloads qiskit in its own process meanwhile
            self.events.publish(Status(request_id, "Loading the memory (embedding model)…"))
        self.memory.ready()
        options = dict(provider=provider, model=model, execute=execute, namespace=namespace, on_text=on_text,
                       trust=trust)
        if plan and _parent_id is None:
            planning = self._plan(request, provider, model)
            return self._orchestrate(request, list(planning.plan), started, options, planning)
        return self._dispatch(request, started, **options)

    def _plan(self, request: Request, provider: str | None, model: str | None) -> Answer:
        """--plan: the model splits the task into steps (a `plan` tool call). A model without tools (the local
        one) gets the rule-based split of numbered lists, semicolons and 'then'."""
        llm, tier, _ = self._model_for(Mode.ORCHESTRATOR, provider, model)
        if llm.name == "local":
            steps = tuple(split_steps(request.text))
            answer = Answer(Mode.ORCHESTRATOR, None, plan=steps, why={"planner": "rules"})
        else:
            answer = ask_for_plan(request, llm, self._asking, tier=tier)
        if len(answer.plan) > MAX_STEPS:
            raise ConfigError(f"The plan has {len(answer.plan)} steps; the orchestrator takes at most {MAX_STEPS}. "
                              "Split the task over several cells.")
        if not answer.plan:
            raise ConfigError("--plan asked for a plan, but the model gave no steps. Run the cell without --plan, "
                              "or write the steps as a numbered list.")
        return answer

    def _dispatch(self, request: Request, started: float, *, provider, model, execute, namespace, on_text,
                  trust) -> Result:
        """normalize → decide → replay | ask → guard → execute → verify → learn → record, for one request."""
        policy = self.sentience.policy()
        sentience = self.sentience.snapshot()
        dispatch_started = time.perf_counter()
        decision = decide(self.dispatcher, request, self.thresholds, policy)
        timings = {"dispatch": (time.perf_counter() - dispatch_started) * 1000}
        self.events.publish(ModeChosen(request.request_id, str(decision.mode), decision.why, request.parent_id))
        attempt, miss, llm = None, False, None
        error: str | None = None
        try:
            if decision.mode in REPLAY_MODES:
                attempt = self._replay(request, decision, namespace, execute, trust, timings)
                if attempt.verification.verified is False:
                    miss, origin = True, decision.mode
                    decision = fall_back(decision, list(attempt.verification.problems))
                    attempt = None  # the failed replay's records stay behind; `why` names the fallback
                    self.events.publish(ModeChosen(request.request_id, str(decision.mode), decision.why,
                                                   request.parent_id, fallback_from=str(origin)))
            if attempt is None:
                llm, attempt = self._ask_tiered(request, decision, provider, model, namespace, execute, trust,
                                                on_text, timings)
        except LLMOSError as exc:
            error = str(exc)
            raise
        except BaseException:
            error = "interrupted"
            raise
        finally:
            planned = attempt is not None and bool(attempt.answer.plan) and request.parent_id is None
            if not planned:
                result = self._close(request, decision, attempt, error, timings, sentience, started, miss, llm)
        if planned:  # the model answered with a plan: this request becomes its ORCHESTRATOR parent
            options = dict(provider=provider, model=model, execute=execute, namespace=namespace, on_text=on_text,
                           trust=trust)
            return self._orchestrate(request, list(attempt.answer.plan[:MAX_STEPS]), started, options, attempt.answer)
        return result

    def _runner(self, *, trust: bool) -> KernelRunner | WorkerRunner:
        """The sandboxed worker, unless the user chose the kernel (--trust, or execution = 'kernel')."""
        return self._kernel if trust or self.settings.execution == "kernel" else self._worker

    def _replay(self, request: Request, decision: Decision, namespace, execute: bool, trust: bool,
                timings) -> Attempt:
        answer = replay(request, decision, self.memory)
        if not execute:
            return Attempt(answer, run=not_run(NOT_RUN))
        run = run_program(answer, namespace, request.request_id, self.events, self._runner(trust=trust), clean=True)
        timings["execute"] = timings.get("execute", 0.0) + run.ms
        verification = verify_replay(decision, answer, run)
        learned = self._learning.replay(decision, verification)
        return Attempt(answer, run=run, verification=verification, learned=learned)

    def _ask_tiered(self, request: Request, decision: Decision, provider, model, namespace, execute: bool,
                    trust: bool, on_text, timings) -> tuple[Provider, Attempt]:
        """Ask the model for the request's tier. A program from the local adapter (T0) that fails is followed by
        the next tier's answer, both calls billed, the reason in `why`."""
        terms = request.normalized.terms
        llm, tier, tier_why = self._model_for(decision.mode, provider, model, terms,
                                              variation=decision.why.get("variation_of"))
        attempt = self._ask(request, decision, llm, tier, namespace, execute, trust, on_text, timings, tier_why)
        if tier != "T0" or not execute or attempt.verification.verified is True:
            return llm, attempt
        failed = (", ".join(attempt.verification.problems) or attempt.answer.why.get("edit_error")
                  or (attempt.run.error or NO_PROGRAM).strip().splitlines()[-1])
        llm, tier, tier_why = self._model_for(decision.mode, provider, model, terms, skip=frozenset({"T0"}))
        return llm, self._ask(request, decision, llm, tier, namespace, execute, trust, on_text, timings,
                              f"{tier_why}; T0's program failed ({failed[:160]})", earlier=attempt.answer)

    def _ask(self, request: Request, decision: Decision, llm: Provider, tier: str | None, namespace, execute: bool,
             trust: bool, on_text, timings, tier_why: str | None = None, earlier: Answer | None = None) -> Attempt:
        left = self.sentience.budget_left()
        if left is not None and left <= 0:
            raise BudgetExhausted(
                f"The token budget of {self.sentience.budget:,} is spent ({self.sentience.spent:,} billed), so the "
                "model was not asked. Answers from memory still work at zero tokens. Raise the budget with "
                "%llmos budget 100000, or clear it with %llmos budget off.")
        answer = ask(request, decision, llm, self._asking, tier=tier, on_text=on_text)
        if tier_why:
            answer = replace(answer, why={**answer.why, "tier_reason": tier_why})
        if earlier is not None:  # an earlier tier's call for this request is billed with this answer
            cost = None if earlier.cost_usd is None or answer.cost_usd is None else earlier.cost_usd + answer.cost_usd
            answer = replace(answer, usage=earlier.usage + answer.usage, cost_usd=cost,
                             saved=max(0, answer.saved - earlier.usage.total))
        timings["llm"] = timings.get("llm", 0.0) + answer.llm_ms
        if answer.code is None:
            if answer.plan and request.parent_id is None:
                return Attempt(answer)
            return Attempt(answer, run=Run(executed=False, error=NO_PROGRAM))
        if not execute:
            return Attempt(answer, run=not_run(NOT_RUN))
        runner = self._runner(trust=trust)
        verdict = guard(answer, request.request_id, self.events, strict=self.strict_guard, trust=trust,
                        sandboxed=runner.where == "worker")
        if not verdict.allowed:
            return Attempt(answer, verdict)
        run = run_program(answer, namespace, request.request_id, self.events, runner, bounded=False)
        if verdict.warned:
            runner.restart()
        timings["execute"] = timings.get("execute", 0.0) + run.ms
        verification = verify_answer(decision, run)
        if tier == "T0":
            verification = verify_variation(decision, run, verification)
        learned = self._learning.answer(request, decision, answer, run) if verification.learnable else None
        return Attempt(answer, verdict, run, verification, learned)

    def _close(self, request: Request, decision: Decision, attempt: Attempt | None, error: str | None, timings,
               sentience, started: float, miss: bool, llm: Provider | None) -> Result:
        saved = attempt.answer.saved if attempt is not None else 0
        result = recording.assemble(
            request, decision, attempt, error=error, timings=timings, sentience=sentience,
            duration_ms=(time.perf_counter() - started) * 1000,
            cumulative_saved=self.ledger.cumulative_saved() + saved,
            provider=llm.name if llm else None, model=llm.model if llm else None)
        self._recorder.record(result, miss=miss)
        return result

    def _orchestrate(self, request: Request, steps: list[str], started: float, options: dict[str, Any],
                     planning: Answer) -> Result:
        """ORCHESTRATOR: each step goes through the dispatcher again, as a request of its own (parent_id set),
        in one namespace, with the earlier steps' code as context; the results compose into one answer."""
        rid = request.request_id
        who = "the rules (--plan, a model without tools)" if planning.why.get("planner") == "rules" else "the model"
        why = {"plan": steps, "planned_by": planning.why.get("planner", "model"),
               "reason": f"{len(steps)} steps planned by {who}, each dispatched as a request of its own"}
        self.events.publish(ModeChosen(rid, str(Mode.ORCHESTRATOR), why, request.parent_id))
        sentience = self.sentience.snapshot()
        context: list[tuple[str, str]] = []
        subs: list[Result] = []
        error = notice = None
        blocked: list[str] = []
        try:
            for index, step in enumerate(steps, start=1):
                self.events.publish(StepStarted(rid, index, len(steps), step))
                sub = self.run(step, _context=context, _parent_id=rid, **options)
                subs.append(sub)
                if sub.code:
                    context.append((step, sub.code))
                if sub.error:
                    error = f"Step {index} ({step}) failed:\n{sub.error}"
                    break
                if sub.blocked and not sub.executed:
                    blocked = [f"step {index}: {b}" for b in sub.blocked]
                    notice = f"Step {index} ({step}) was not run, so the plan stopped there.\n{sub.notice}"
                    break
        except BaseException:
            error = error or "interrupted"
            raise
        finally:
            result = self._composed(request, steps, subs, planning, why, sentience, started, error, notice, blocked)
            self._recorder.record(result, saved_in_steps=True)
        return result

    def _composed(self, request: Request, steps: list[str], subs: list[Result], planning: Answer, why, sentience,
                  started: float, error: str | None, notice: str | None, blocked: list[str]) -> Result:
        """One ORCHESTRATOR Result from its steps' Results and the planning call."""
        usage = sum((Usage(s.tokens.input, s.tokens.output, s.tokens.cache_read, s.tokens.cache_write,
                           s.tokens.reported) for s in subs), planning.usage)
        costs = [planning.cost_usd, *(s.cost_usd for s in subs)]
        measured = [s for s in subs if s.counts]
        titled = [(i, steps[i - 1], s) for i, s in enumerate(subs, start=1)]
        return Result(
            request=request.text, mode=Mode.ORCHESTRATOR, agent="orchestrator", why=why,
            tokens=Tokens(usage.input, usage.output, sum(s.tokens.saved for s in subs),
                          self.ledger.cumulative_saved(), usage.cache_read, usage.cache_write, usage.reported),
            code="\n\n".join(f"# step {i}: {step}\n{s.code.rstrip()}" for i, step, s in titled if s.code) or None,
            output="\n".join(f"# step {i}: {step}\n{s.output.rstrip()}" for i, step, s in titled if s.output),
            executed=any(s.output for s in subs),
            counts=measured[-1].counts if measured else None, shots=measured[-1].shots if measured else None,
            error=error, notice=notice, blocked=blocked,
            steps=[{"step": step, "mode": str(s.mode), "trace_id": s.trace_id,
                    "tokens": {"input": s.tokens.input, "output": s.tokens.output, "saved": s.tokens.saved},
                    "counts": s.counts, "error": s.error, "notice": s.notice} for _, step, s in titled],
            cost_usd=None if None in costs else sum(costs),
            response="Plan: " + " → ".join(f"{i}. {s}" for i, s in enumerate(steps, start=1)),
            sentience=sentience, execution_time_ms=(time.perf_counter() - started) * 1000,
            request_id=request.request_id, parent_id=request.parent_id)

    @property
    def strict_guard(self) -> bool:
        return self.sentience.policy().strict_guard

    def guard_problem(self, code: str) -> str | None:
        """For imported memory and generated tools: why `code` may not be stored, or None."""
        return guard_problem(code, strict=self.strict_guard)

    def _saved_usd(self, saved: int) -> float | None:
        """Saved tokens priced as input to the configured model (a floor: output tokens cost more)."""
        if not saved:
            return 0.0
        name = resolve_auto(self.settings.provider)
        model = self.settings.model or getattr(make_provider_class(name), "default_model", "")
        price = self.prices.price(name, model)
        return None if price is None else saved * price.input / 1e6

    def set_budget(self, tokens: int | None) -> None:
        """A token budget: energy falls as it is spent; when it is gone, only zero-token answers run."""
        self.sentience.set_budget(tokens)
        self.events.publish(recording.valence(self.sentience))

    def costs(self) -> dict[str, Any]:
        from .finetune.adapters import names
        from .providers.local import LocalProvider

        return {**self.ledger.costs(), "total_usd": self.ledger.total_cost(),
                "saved_tokens": self.ledger.cumulative_saved(),
                "prices": self.prices.rows([LocalProvider.default_model, *names(self.home)])}

    # -- fine-tuning -----------------------------------------------------------------------------
    def finetune(self, name: str = "qiskit-t0", *, steps: int = 300, base: str = "local", evaluate: int = 8,
                 progress="bar") -> dict:
        """Train adapter `name` with AdaLoRA on this home's verified traces (starter and imported skills
        included), save it under home/adapters/<name>/ and return its card (llmos_jupyter.finetune). Serve it
        with `tiers={"T0": "local:<name>"}`."""
        from .finetune import finetune

        self.memory.ready()
        card = finetune(self.home, self.memory.traces.all(), name=name, steps=steps, base=base, evaluate=evaluate,
                        runner=self._runner(trust=False), progress=progress)
        # A provider made for the adapter's earlier version holds its old card: the next call loads the new one.
        self._providers = {k: v for k, v in self._providers.items() if k[:2] != ("local", name)}
        return card

    # -- consensus -------------------------------------------------------------------------------
    def consensus(self, prompt: str, providers, *, namespace: dict[str, Any] | None = None, trust: bool = False,
                  **options):
        """Ask several models in parallel and weigh their answers with the thermodynamic consensus engine
        (llmos_jupyter.consensus); every billed call goes to this ledger. `providers`: "anthropic:model,
        openai:model,local" or a list of specs or Provider objects. Program answers are each run apart in the
        sandboxed worker and weighed by what they compute; the chosen one then runs in `namespace` (the
        user's, where the cell runs) the way any answer does."""
        from .consensus import ConsensusEngine
        from .consensus.pipeline import run_consensus

        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError("The request is empty. Write the question the models should answer.")
        if self._consensus is None:
            self._consensus = ConsensusEngine(device="auto", seed=0)
        self.memory.ready()
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        options.setdefault("provider_options", {"timeout": self.settings.timeout,
                                                "max_retries": self.settings.max_retries})
        result = run_consensus(prompt.strip(), providers, ledger=self.ledger, events=self.events,
                               request_id=request_id, embedder=self.memory.embedder, prices=dict(self.settings.prices),
                               engine=self._consensus, runner=self._worker, **options)
        if result.program is not None and namespace is not None:
            result.ran = run_saying_so(self._runner(trust=trust), result.program, namespace, request_id, self.events,
                                       bounded=False)
        self.ledger.record_request(request_id, prompt.strip(), "CONSENSUS", None, None, 0, True,
                                   (time.perf_counter() - started) * 1000)
        return result

    # -- memory ----------------------------------------------------------------------------------
    def tool(self, name: str):
        """A crystallized tool as a Python function: `llmos.tool("ghz_state")(qubits=5)`. Only the file that passed
        its examples runs (a changed one is set aside and refused), and it runs where programs run: in the
        sandboxed worker, in a session of its own, unless you chose execution = "kernel". The callable has the
        tool's name, signature and docstring."""
        from .memory.crystallize import Tool, ToolRefused, checked_source, kernel_function
        from .sandbox.remote import RemoteError, RemoteFunction

        self.memory.ready()
        source = checked_source(self.memory.traces, self.memory.tools_dir, name)
        if self.settings.execution == "kernel":  # the user's choice: everything runs in the kernel, guarded there
            problem = self.guard_problem(source)
            if problem:
                raise ToolRefused(f"{name}.py was not run in your kernel: {problem}.")
            return kernel_function(source, self.memory.tools_dir, name)
        session, held = f"tool:{name}", []  # its own session: it sees none of the cells' names, they none of its

        def remote() -> RemoteFunction:
            box = self._worker._sandbox()
            if held and held[0][0] is box and held[0][1].generation == box.generation:
                return held[0][1]
            ran = box.run(source, session=session)  # (again) after a restart: the new worker has never seen it
            function = ran.namespace.get(name)
            if ran.error or not isinstance(function, RemoteFunction) or function.__name__ != name:
                raise ToolRefused(f"{name}.py did not define {name}() in the sandboxed worker"
                                  + (f":\n{ran.error}" if ran.error else "."))
            held[:] = [(box, function)]
            return function

        def call(*args, **kwargs):
            try:
                return remote()(*args, **kwargs)
            except RemoteError as exc:
                if exc.remote_type != "SessionGone":
                    raise
                held.clear()  # its process went (more sessions than the worker keeps): load the tool again
                return remote()(*args, **kwargs)

        remote()  # now, so a tool that cannot load says so here rather than at its first call
        return Tool(name, source, call)

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
                                "provider_setting": self.settings.provider,
                                "provider": resolve_auto(self.settings.provider)}
        try:
            info.update(self.provider().describe())
        except LLMOSError as exc:
            info["provider_error"] = str(exc)
        info["ledger"] = {"requests": totals.requests, "input": totals.input, "output": totals.output,
                          "cache_read": totals.cache_read, "cache_write": totals.cache_write,
                          "saved": totals.saved}
        info["memory"] = {"traces": self.memory.traces.count(), "starter_skills": self.settings.starter_skills}
        info["sentience"] = self.sentience.snapshot()
        return info

    def reset(self, *, ledger: bool = False) -> None:
        """Forget the providers made so far (so new settings take effect); with ledger=True also clear
        the token ledger in home."""
        self._providers.clear()
        if ledger:
            self.ledger.clear()

    def close(self) -> None:
        self._worker.close()
        self.store.close()
