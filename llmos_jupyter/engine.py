"""LLMOS: the engine behind %%llmos, the Python API and the CLI. It runs each request through the
stages in pipeline/ and orchestrates plans; no Jupyter imports here."""
from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .dispatch.dispatcher import Dispatcher, Thresholds
from .dispatch.modes import Mode
from .dispatch.plan import plan as split_steps
from .errors import ConfigError, LLMOSError
from .events import EventBus, ModeChosen, RequestStarted, Status, StepStarted
from .ledger import Ledger
from .memory import Memory
from .pipeline import record as recording
from .pipeline.ask import Asking, ask_for_plan
from .pipeline.flow import Flow
from .pipeline.guard import guard_problem
from .pipeline.learn import Learning
from .pipeline.normalize import normalize
from .pipeline.records import Answer, Request
from .pipeline.models import Models
from .pipeline.runners import KernelRunner, Runners, WorkerRunner
from .pipeline.result import Result, Tokens
from .pipeline.stages import CHOSEN, RunOptions, Stages
from .pipeline.toolbox import ToolBox
from .prices import PriceTable
from .providers import Provider, resolve_auto
from .sentience import Sentience
from .settings import FINETUNE, Settings
from .store import open_store

__all__ = ["LLMOS", "Result", "Tokens"]

MAX_STEPS = 8  # a plan longer than this is more likely pasted text than a task


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
        self.home = Path(s.home).expanduser()
        self.namespace = namespace if namespace is not None else {}
        self.member = s.who()
        self.store = open_store(s.store, self.home, timeout=s.store_timeout)
        self.ledger = Ledger(self.store, self.member)
        self.memory = Memory(self.store, self.home, starter_skills=s.starter_skills, member=self.member,
                             read_only=s.read_only)
        self.sentience = Sentience(self.store)
        self.events = EventBus(state=self._state_events)
        self.thresholds = Thresholds.of(s)
        self.dispatcher = Dispatcher(self.memory.traces, self.memory.embedder, self.thresholds, self.memory.limits)
        self.toolbox = ToolBox(self.memory)
        self.prices = PriceTable(s.prices)
        self._asking = Asking(self.memory, self.toolbox, self.ledger, self.prices, self.events, s.max_tokens,
                              s.stream)
        self._worker = WorkerRunner(protect=(self.home,), outputs=Path(s.outputs), timeout=s.run_timeout,
                                    disk_mb=s.disk_mb,
                                    saved_manifest=self.home / "saved-files.json")  # the worker cannot write the home
        self._runners = Runners(KernelRunner(), self._worker, s.execution, self.member)
        self._models = Models(s, api_key, self.home, self.sentience, self.prices)
        self._learning = Learning(self.memory, self.events, s.crystallize_uses, self.sentience, self._runners(False))
        self._recorder = recording.Recorder(self.ledger, self.memory, self.sentience, self.events,
                                            self._models.saved_usd)
        self._stages = Stages(self.events, self._learning, self._runners, self.sentience)
        self._flow = Flow(self.dispatcher, self.thresholds, self.memory, self.sentience, self.events, self._stages,
                          self._learning, self._recorder, self._asking, self._models)
        self._consensus = None

    def __repr__(self) -> str:
        return f"LLMOS(home={str(self.home)!r}, provider={self.settings.provider!r}, model={self.settings.model!r})"

    def _state_events(self):
        return [recording.ledger_totals(self.ledger), recording.valence(self.sentience)]

    # -- providers -------------------------------------------------------------------------------
    def provider(self, name: str | None = None, model: str | None = None, base_url: str | None = None) -> Provider:
        """The provider for a run; created on first use and kept (the local model loads once). `base_url`: a
        tier's own server (e.g. vLLM serving an adapter)."""
        return self._models.provider(name, model, base_url)

    # -- running ---------------------------------------------------------------------------------
    def run(self, text: str, *, provider: str | None = None, model: str | None = None, execute: bool = True,
            namespace: dict[str, Any] | None = None, on_text: Callable[[str], None] | None = None,
            trust: bool = False, plan: bool = False) -> Result:
        """Answer one request: a cell is one request, whatever its line breaks or 'then's. Provider and
        configuration failures raise LLMOSError; a program that raises, or an answer with no program, comes
        back as `Result.error`. Model-written code passes the guard before it runs, unless `trust` is set.
        ORCHESTRATOR runs when `plan` is set (the model is asked for the steps) or when the model answers with
        a plan; each step is dispatched again as a request of its own and can replay."""
        options = RunOptions(provider, model, execute, namespace if namespace is not None else self.namespace,
                             on_text, trust)
        return self._request(text, options, plan=plan)

    def _request(self, text: str, options: RunOptions, *, plan: bool = False, parent_id: str | None = None,
                 context: tuple[tuple[str, str], ...] = ()) -> Result:
        request = normalize(text, uuid.uuid4().hex, parent_id=parent_id, context=context)
        started = time.perf_counter()
        self.events.publish(RequestStarted(request.request_id, request.text, parent_id))
        if not self.memory.loaded:
            if options.execute:
                self._runners(options.trust).start()  # the worker preloads qiskit in its own process meanwhile
            self.events.publish(Status(request.request_id, "Loading the memory (embedding model)…"))
        self.memory.ready()
        if plan and parent_id is None:
            planning = self._plan(request, options)
            return self._orchestrate(request, list(planning.plan), started, options, planning)
        dispatched = self._flow.dispatch(request, started, options)
        if dispatched.plan is not None:  # the model answered with a plan: this request becomes its parent
            planning = dispatched.plan.answer
            return self._orchestrate(request, list(planning.plan[:MAX_STEPS]), started, options, planning)
        return dispatched.result

    def _plan(self, request: Request, options: RunOptions) -> Answer:
        """--plan: the model splits the task into steps (a `plan` tool call). A model without tools (the local
        one) gets the rule-based split of numbered lists, semicolons and 'then'."""
        llm, tier, _ = self._models.choose(Mode.ORCHESTRATOR, options)
        if llm.name == "local":
            steps = tuple(split_steps(request.text))
            answer = Answer(Mode.ORCHESTRATOR, None, plan=steps, planner="rules", why={"planner": "rules"})
        else:
            answer = ask_for_plan(request, llm, self._asking, tier=tier)
        if len(answer.plan) > MAX_STEPS:
            raise ConfigError(f"The plan has {len(answer.plan)} steps; the orchestrator takes at most {MAX_STEPS}. "
                              "Split the task over several cells.")
        if not answer.plan:
            raise ConfigError("--plan asked for a plan, but the model gave no steps. Run the cell without --plan, "
                              "or write the steps as a numbered list.")
        return answer

    def _orchestrate(self, request: Request, steps: list[str], started: float, options: RunOptions,
                     planning: Answer) -> Result:
        """ORCHESTRATOR: each step goes through the dispatcher again, as a request of its own (parent_id set),
        in one namespace, with the earlier steps' code as context; the results compose into one answer."""
        rid = request.request_id
        who = "the rules (--plan, a model without tools)" if planning.planner == "rules" else "the model"
        why = {"plan": steps, "planned_by": planning.planner or "model",
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
                sub = self._request(step, options, parent_id=rid, context=tuple(context))
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
        usage = sum((s.tokens for s in subs), planning.usage)
        costs = [planning.cost_usd, *(s.cost_usd for s in subs)]
        measured = [s for s in subs if s.counts]
        titled = [(i, steps[i - 1], s) for i, s in enumerate(subs, start=1)]
        return Result(
            request=request.text, mode=Mode.ORCHESTRATOR, agent="orchestrator", why=why,
            tokens=Tokens.of(usage, sum(s.tokens.saved for s in subs), self.ledger.cumulative_saved()),
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

    def own_trace(self, trace) -> bool:
        """Whether a replay of `trace` runs where this member's own programs run; a trace another member of a
        team store verified runs in the sandboxed worker."""
        return self._runners.own(trace.verified_by)

    @property
    def strict_guard(self) -> bool:
        return self.sentience.policy().strict_guard

    def guard_problem(self, code: str) -> str | None:
        """For imported memory and generated tools: why `code` may not be stored, or None."""
        return guard_problem(code, strict=self.strict_guard)

    def set_budget(self, tokens: int | None) -> None:
        """A token budget: energy falls as it is spent; when it is gone, only zero-token answers run."""
        self.sentience.set_budget(tokens)
        self.events.publish(recording.valence(self.sentience))

    def costs(self) -> dict[str, Any]:
        from .localmodel.adapters import names
        from .providers.local import LocalProvider

        return {**self.ledger.costs(), "total_usd": self.ledger.total_cost(),
                "saved_tokens": self.ledger.cumulative_saved(),
                "prices": self.prices.rows([LocalProvider.default_model, *names(self.home)])}

    # -- fine-tuning -----------------------------------------------------------------------------
    def finetune(self, name: str = FINETUNE.name, *, steps: int = FINETUNE.steps, base: str = FINETUNE.base,
                 evaluate: int = FINETUNE.evaluate, progress="bar") -> dict:
        """Train adapter `name` with AdaLoRA on this home's verified traces (starter and imported skills
        included), save it under home/adapters/<name>/ and return its card (llmos_jupyter.finetune). Serve it
        with `tiers={"T0": "local:<name>"}`."""
        from .finetune import finetune

        self.memory.ready()
        card = finetune(self.home, self.memory.traces.all(), name=name, steps=steps, base=base, evaluate=evaluate,
                        runner=self._runners(False), progress=progress)
        # A provider made for the adapter's earlier version holds its old card: the next call loads the new one.
        self._models.forget_adapter(name)
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
            # The chosen program passes the stages every program passes: in the kernel (execution = "kernel")
            # the guard refuses what it refuses for a cell, unless --trust.
            request = normalize(prompt.strip(), request_id)
            chosen = Answer(Mode.LEARNER, result.program, agent="consensus")
            attempt = self._stages.through(CHOSEN, request, None, chosen, RunOptions(namespace=namespace, trust=trust))
            result.ran = attempt.run if attempt.verdict is None or attempt.verdict.allowed else \
                replace(attempt.run, notice=attempt.verdict.notice)
            result.blocked = tuple(attempt.verdict.findings) if attempt.verdict and not attempt.verdict.allowed \
                else ()
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
        info: dict[str, Any] = {"home": str(self.home), "store": self.store.where,
                                "member": self.member + (" (read-only)" if self.settings.read_only else ""),
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
        self._models.clear()
        if ledger:
            self.ledger.clear()

    def close(self) -> None:
        self._worker.close()
        self.store.close()
