"""Tool search: the LLM sees only the tools that fit the request, plus `search_tools` to find more; a
request that no skill is close to gets no tools at all.

The tools are every verified skill in memory (starter skills,
crystallized tools): a skill's parameters are its generalized slots, and its input
examples come from its verified runs. A call to a skill becomes its program, so what
runs is always code the memory has verified.
"""
from __future__ import annotations

import json

from .dispatcher import bind, request_values
from ..text.plan import reads_staged
from ..memory import Memory
from ..memory.templates import instantiate
from ..memory.traces import Trace
from ..providers.base import Completion, ToolSpec
from ..tools.extract import EXECUTE_TOOL, PLAN_TOOL, code_from_text

SEARCH_TOOL = ToolSpec(
    name="search_tools",
    description="Find verified Qiskit skills in memory by a short description.",
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
_TYPES = {int: "integer", float: "number", str: "string"}


def takes(trace: Trace, wanted: dict[str, object]) -> bool:
    """Whether a call of the skill can answer a request with these slot values: each is one of the skill's
    parameters or the value it was verified with (a skill for 6 qubits with no parameter does not fit 5)."""
    for name, value in wanted.items():
        if name.startswith("SLOT_shots_") or name in trace.generalized:
            continue
        if any(ex.get(name) == value for ex in trace.examples):
            continue
        if name.startswith("SLOT_qubits_") and name not in trace.bound and not any(name in ex for ex in trace.examples):
            continue  # the skill never wrote this count down; its run is checked for the register width
        return False
    return True


class ToolBox:
    def __init__(self, memory: Memory, min_score: float = 0.5, limit: int = 3, search_score: float = 0.6):
        self.memory = memory
        self.min_score = min_score
        # `search_tools` (~60 tokens on every call) only when a skill is this close: any Qiskit request scores
        # ~0.55 against any other, and a search then finds nothing that fits (issue #24: lean calls)
        self.search_score = search_score
        self.limit = limit
        self.offered: dict[str, Trace] = {}

    def tool_name(self, trace: Trace) -> str:
        if trace.tool_name:
            return trace.tool_name
        if trace.origin == "starter":
            return trace.id.removeprefix("starter-")
        return f"skill_{trace.id}"

    def spec(self, trace: Trace) -> ToolSpec:
        params = [p for p in trace.bound if p in trace.generalized]
        names = self.memory.param_names(trace)
        properties, required = {}, []
        for p in params:
            sample = trace.defaults.get(p, trace.examples[0].get(p) if trace.examples else None)
            properties[names[p]] = {"type": _TYPES.get(type(sample), "string"),
                                    "description": f"{p.split('_')[1]} slot"}
            if p not in trace.defaults:
                required.append(names[p])
        # Lean (every schema is billed on every call): the request it was verified on, two examples of its values.
        examples = tuple({names[p]: ex[p] for p in params if p in ex} for ex in trace.examples[:2])
        return ToolSpec(
            name=self.tool_name(trace),
            description=f"Verified skill: {trace.title}",
            input_schema={"type": "object", "properties": properties, "required": required},
            input_examples=tuple(e for e in examples if e),
        )

    def find(self, text: str, *, fitting: bool = False, min_score: float | None = None) -> list[ToolSpec]:
        """Skills whose aliases are close to `text`; `fitting` also wants every domain term the alias
        names ('ghz', 'balanced') in `text`, so a GHZ skill is not offered for a superposition request, and a
        skill that can take the request's values (`takes`)."""
        from ..text.normalize import normalize

        n = normalize(text)
        hits = self.memory.traces.search(self.memory.embedder.one(n.key), k=12)
        specs, seen = [], set()
        for hit in hits:
            too_far = hit.score < (self.min_score if min_score is None else min_score)
            if too_far or hit.trace_id in seen or (fitting and not hit.terms <= n.terms):
                continue
            seen.add(hit.trace_id)
            trace = self.memory.traces.get(hit.trace_id)
            if trace is None or (fitting and not takes(trace, request_values(n))):
                continue
            spec = self.spec(trace)
            self.offered[spec.name] = trace
            specs.append(spec)
            if len(specs) == self.limit:
                break
        return specs

    def for_request(self, text: str) -> list[ToolSpec] | None:
        """What LEARNER offers, only what the request needs (every schema is billed on every call): `plan`
        when the request reads as staged work; the skills that fit, or when skills are close but none fits,
        `search_tools`. None when nothing is offered: the model answers with a ```python block. The model's
        own `search_tools` queries get every close skill (`answer_search`)."""
        self.offered = {}
        tools = [PLAN_TOOL] if reads_staged(text) else []
        if self.memory.traces.count():
            # Skills that fit are offered as they are; `search_tools` only when skills are close but none fits.
            fitting = self.find(text, fitting=True)
            close = fitting or self.find(text, min_score=self.search_score)
            self.offered = {s.name: self.offered[s.name] for s in fitting}
            tools += fitting or ([SEARCH_TOOL] if close else [])
        return tools or None

    def answer_search(self, query: str) -> tuple[str, list[ToolSpec]]:
        found = self.find(query)
        listing = [{"name": s.name, "description": s.description, "parameters": s.input_schema} for s in found]
        return json.dumps(listing or "no matching skills; write the program in a ```python block"), found

    def code_for(self, completion: Completion) -> tuple[str | None, str | None]:
        """(program, how it was given): a tool call to run, a skill call made concrete, or a fenced block."""
        for call in reversed(completion.tool_calls):
            if call.name == EXECUTE_TOOL.name and isinstance(call.arguments.get("code"), str):
                return call.arguments["code"], "tool:execute_qiskit_code"
            trace = self.offered.get(call.name)
            if trace is not None:
                names = self.memory.param_names(trace)
                wanted = {p: call.arguments[names[p]] for p in trace.bound
                          if p in trace.generalized and names[p] in call.arguments}
                for p in trace.bound:  # the fixed parts of a skill keep their verified values
                    if p not in trace.generalized and trace.examples:
                        wanted.setdefault(p, trace.examples[0].get(p))
                values, reason = bind(trace, wanted, self.memory.limits(trace))
                if values is not None:
                    return instantiate(trace.code, values), f"tool:{call.name}"
        code = code_from_text(completion.text)
        return code, ("text" if code else None)
