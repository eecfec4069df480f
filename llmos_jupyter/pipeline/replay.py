"""Stage 3a, replay (FOLLOWER, CRYSTALLIZED): the verified program with its slots rebound, or a call
of the tool it became. No model is asked."""
from __future__ import annotations

from ..dispatch.dispatcher import Decision
from ..dispatch.modes import Mode
from ..memory import Memory
from ..memory.templates import instantiate
from .baseline import lean_baseline
from .records import Answer, Request


def replay(request: Request, decision: Decision, memory: Memory) -> Answer:
    trace = decision.trace
    program = instantiate(trace.code, decision.values)
    if decision.mode == Mode.CRYSTALLIZED:
        from ..memory.crystallize import call_snippet, tool_namespace

        code = call_snippet(trace, decision.values, memory.param_names(trace))
        namespace = tool_namespace(memory.tools_dir, trace.tool_name)
        response = f"Replayed verified trace {trace.id} as tool {trace.tool_name}()"
    else:
        code, namespace = program, {}
        response = f"Replayed verified trace {trace.id}"
    return Answer(mode=decision.mode, code=code, response=response, agent="memory", from_memory=True,
                  saved=lean_baseline(request.text, program), namespace=namespace)
