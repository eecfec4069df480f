"""Stage 7, learn: store a verified answer (a new trace, or one more example and alias of a known one),
count a replay as a verified use or a miss, and crystallize a trace used often enough into a tool."""
from __future__ import annotations


from .dispatcher import Decision
from ..events import Crystallized, EventBus
from ..memory import Memory
from ..sentience import Sentience
from .guard import guard_problem
from .records import Answer, Learned, Request, Run, Verification
from .runners import KernelRunner, WorkerRunner


class Learning:
    """What the learn stage needs from the engine: memory, when to crystallize, and the guard a tool
    must pass (a tool is code the user imports)."""

    def __init__(self, memory: Memory, events: EventBus, crystallize_uses: int, sentience: Sentience,
                 runner: KernelRunner | WorkerRunner):
        self.memory = memory
        self.events = events
        self.crystallize_uses = crystallize_uses
        self.sentience = sentience  # its policy may tighten the guard a tool must pass
        self.runner = runner  # a tool is checked where replays run

    def guard_problem(self, code: str) -> str | None:
        return guard_problem(code, strict=self.sentience.policy().strict_guard)

    def answer(self, request: Request, decision: Decision, answer: Answer, run: Run) -> Learned | None:
        from ..memory.learn import learn

        if self.memory.read_only:  # a read-only member of a team store: nothing is learned
            return None
        learned = learn(self.memory.traces, request.normalized, decision.request_values, answer.code, run.counts,
                        origin=str(answer.mode).lower(), billed_tokens=answer.usage.total, produced=run.produced)
        self.memory.facts.learn_from(answer.code, request.normalized.template)
        return Learned(learned.trace.id, learned.new, tuple(learned.generalized_now),
                       tool=self.crystallize(learned.trace.id))

    def replay(self, decision: Decision, answer: Answer, verification: Verification) -> Learned:
        from ..memory.learn import record_replay

        if self.memory.read_only:  # replayed, not counted: the store's writers keep the counts
            return Learned(decision.trace.id)
        if answer.tool_refused:
            self.refuse_tool(decision.trace.id, answer.tool_refused)
        values = {**decision.request_values, **decision.values}
        trace = record_replay(self.memory.traces, decision.trace, values, ok=bool(verification.verified))
        return Learned(trace.id, tool=self.crystallize(trace.id) if verification.verified else None)

    def refuse_tool(self, trace_id: str, tool_name: str) -> None:
        """A tool file changed or deleted since it passed its examples: set it aside, and make the tool again
        when the trace is next used often enough."""
        from ..memory.crystallize import set_aside

        set_aside(self.memory.tools_dir, tool_name)

        def drop(t) -> None:
            t.tool_name, t.tool_hash = None, ""

        self.memory.traces.modify(trace_id, drop)

    def crystallize(self, trace_id: str) -> str | None:
        from ..memory.crystallize import crystallize, tool_hash
        memory = self.memory
        trace = memory.traces.get(trace_id)
        if trace is None or trace.tool_name or trace.uses < self.crystallize_uses or self.guard_problem(trace.code):
            return None
        taken = {t.tool_name for t in memory.traces.all() if t.tool_name}
        function = crystallize(trace, memory.tools_dir, taken, memory.param_names(trace), run=self._check_run,
                               aliases=memory.traces.aliases(trace.id))
        if function:
            digest = tool_hash(memory.tools_dir, function)

            def adopt(t) -> None:
                t.tool_name, t.tool_hash = function, digest

            memory.traces.modify(trace.id, adopt)
            self.events.publish(Crystallized(trace.id, function))
        return function

    def _check_run(self, code: str, namespace: dict):
        return self.runner.run(code, namespace, session="tool-check", clean=True)
