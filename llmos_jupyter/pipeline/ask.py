"""Stage 3b, ask (MIXED, LEARNER): the model writes the program, with the nearest verified trace as a
worked example (MIXED) or with the tools that tool search found and relevant facts (LEARNER). Every
call is written to the ledger at once, from the provider's own usage figures."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .dispatcher import Decision
from ..modes import Mode
from ..events import EventBus, LLMCall, LLMText
from ..finetune import prompt as adapter_prompt
from ..ledger import Ledger, Usage
from ..memory import Memory
from ..prices import PriceTable
from ..prompts import PLANNER_SYSTEM, learner_system, mixed_system, restore, shown_example, with_context
from ..providers import CallOptions, Message, Provider
from .baseline import lean_baseline
from .kernel_tools import KernelTools
from .records import Answer, Request
from ..tools.extract import PLAN_TOOL, code_blocks, plan_from
from .toolbox import ToolBox

MAX_ROUNDS = 3  # search_tools rounds before the model must answer
NO_PROGRAM = ("The model's reply holds no program, so nothing ran and there is no result. Ask for what the "
              "program should produce (e.g. 'Write Qiskit code that prepares ... and returns the counts'), or "
              "try another model with --model.")


@dataclass(frozen=True)
class Asking:
    """What the ask stage needs from the engine, named once."""
    memory: Memory
    toolbox: ToolBox
    ledger: Ledger
    prices: PriceTable
    events: EventBus
    max_tokens: int
    stream: bool
    tool_steps: int  # calls of the user's {&fn} functions one request may make (Settings.tool_steps)


def ask(request: Request, decision: Decision, llm: Provider, deps: Asking, *, tier: str | None = None,
        on_text: Callable[[str], None] | None = None, call: CallOptions = CallOptions(),
        kernel: KernelTools | None = None) -> Answer:
    """The model's program for the request. `kernel`: the user's functions offered as tools ({&fn}); the model
    may call them (kernel_tools checks each call) before it answers."""
    mode = decision.mode
    messages = [Message("user", request.text)]  # the request reaches the model verbatim, last
    if tier == "T0" and decision.trace is not None:
        # T0 is an adapter fine-tuned here: it gets the prompt it was trained on, whatever serves it.
        system = adapter_prompt.SYSTEM
        messages = [Message("user", adapter_prompt.user(request.text, decision.trace.worked_example()))]
        tools = None
    elif mode == Mode.MIXED and decision.trace is not None:
        system = mixed_system(*decision.trace.worked_example())
        tools = None
    else:
        system = learner_system(deps.memory.facts.relevant(request.text), request.text)
        tools = deps.toolbox.for_request(request.text) if llm.name != "local" else None
    if kernel:  # flow asks LEARNER, never the local model, when the request offers the user's functions
        tools = (tools or []) + kernel.specs()
    system = with_context(system, list(request.context))

    def stream(piece: str) -> None:
        deps.events.publish(LLMText(request.request_id, piece))
        if on_text is not None:
            on_text(piece)

    billed = Billed(call)
    completion, code, how = None, None, None
    for _round in range(MAX_ROUNDS + (kernel.steps + 1 if kernel else 0)):
        completion = billed.call(llm, request, deps, system, messages, tools,
                                 stream if (deps.stream or on_text is not None) else None)
        code, how = deps.toolbox.code_for(completion)
        searches = [c for c in completion.tool_calls if c.name == "search_tools"]
        mine = [c for c in completion.tool_calls if kernel and c.name in kernel]
        if code or not (searches or mine) or tools is None:
            break
        # search_tools and the user's functions: answer them and let the model go on with what it found.
        messages.append(Message("assistant", completion.text, tool_calls=tuple(completion.tool_calls)))
        messages += kernel.answer(mine) if mine else []
        for tool_call in completion.tool_calls:
            if kernel and tool_call.name in kernel:
                continue
            if tool_call.name != "search_tools":
                messages.append(Message("tool", "not run", tool_call_id=tool_call.id))
                continue
            found_text, found = deps.toolbox.answer_search(str(tool_call.arguments.get("query", request.text)))
            messages.append(Message("tool", found_text, tool_call_id=tool_call.id))
            tools = tools + [t for t in found if t.name not in {x.name for x in tools}]
    edit_error = None
    if tier == "T0" and decision.trace is not None:
        try:  # T0 answers with an edit of the guide's program (finetune.prompt)
            code, how = adapter_prompt.program_from(completion.text, decision.trace.worked_example()), "T0:edit"
        except adapter_prompt.EditError as exc:
            code, how, edit_error = None, None, str(exc)
    elif mode == Mode.MIXED and decision.trace is not None and _has_diff(completion.text):
        asked, example = decision.trace.worked_example()
        imports, shown, originals = shown_example(example, asked)
        try:  # MIXED may answer with an edit of the example as it was shown (prompts.mixed_system)
            edited = restore(adapter_prompt.program_from(completion.text, (asked, shown)), originals)
            code, how = (imports + "\n" + edited if imports else edited), "edit"
        except adapter_prompt.EditError as exc:
            code, how, edit_error = None, None, str(exc)
    saved = 0
    if mode == Mode.MIXED and decision.trace is not None and code:
        saved = max(0, lean_baseline(request.text, code) - billed.usage.total)
    plan = () if code else plan_from(completion.tool_calls)
    why = {"answer": how or ("tool:plan" if plan else None), **({"tier": tier} if tier else {}),
           **({"edit_error": edit_error} if edit_error else {}),
           **({"your_functions_called": list(kernel.calls)} if kernel else {})}
    return Answer(mode=mode, code=code, response=completion.text, provider=llm.name, model=completion.model,
                  usage=billed.usage, cost_usd=billed.cost, saved=saved, llm_ms=billed.ms, why=why, plan=plan,
                  tier=tier, edit_error=edit_error,
                  notice="\n".join(kernel.problems) if kernel and kernel.problems else None)


def _has_diff(text: str) -> bool:
    return any(lang in ("diff", "patch") for lang, _ in code_blocks(text))


def ask_for_plan(request: Request, llm: Provider, deps: Asking, *, tier: str | None = None,
                 call: CallOptions = CallOptions()) -> Answer:
    """--plan: one call that asks the model to split the task into steps with the `plan` tool."""
    billed = Billed(call)
    completion = billed.call(llm, request, deps, PLANNER_SYSTEM, [Message("user", request.text)], [PLAN_TOOL], None)
    why = {"planner": "model", **({"tier": tier} if tier else {})}
    return Answer(mode=Mode.ORCHESTRATOR, code=None, response=completion.text, agent="orchestrator",
                  provider=llm.name, model=completion.model, usage=billed.usage, cost_usd=billed.cost,
                  llm_ms=billed.ms, why=why, plan=plan_from(completion.tool_calls), planner="model", tier=tier)


class Billed:
    """Model calls for one request, each with the user's model parameters (`call`): each written to the ledger
    at once and announced, and their sum."""

    def __init__(self, call: CallOptions = CallOptions()) -> None:
        self.usage, self.cost, self.ms = Usage(), 0.0, 0.0
        self.options = call

    def call(self, llm: Provider, request: Request, deps: Asking, system: str, messages, tools, on_text):
        started = time.perf_counter()
        completion = llm.complete(system, messages, tools=tools, max_tokens=self.options.max_tokens or deps.max_tokens,
                                  on_text=on_text, options=self.options)
        self.ms += (time.perf_counter() - started) * 1000
        u = completion.usage
        cost = deps.prices.cost(completion.provider, completion.model, u)
        deps.ledger.record_call(request.request_id, completion.provider, completion.model, u, cost)
        deps.events.publish(LLMCall(request.request_id, completion.provider, completion.model, u.input, u.output,
                                    u.cache_read, u.cache_write, cost, u.reported))
        self.usage = self.usage + u
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        return completion
