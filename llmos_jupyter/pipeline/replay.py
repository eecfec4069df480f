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
    saved = lean_baseline(request.text, program)
    if decision.mode == Mode.CRYSTALLIZED:
        from ..memory.crystallize import call_snippet, tool_namespace

        try:
            namespace = tool_namespace(memory.tools_dir, trace.tool_name)
        except FileNotFoundError:  # the tool file was deleted (or an older home named it otherwise)
            return Answer(mode=Mode.FOLLOWER, code=program, response=f"Replayed verified trace {trace.id}",
                          agent="memory", from_memory=True, saved=saved,
                          why={"tool_missing": f"{trace.tool_name}.py is gone from {memory.tools_dir}: "
                                               "replayed the verified program instead"})
        code = call_snippet(trace, decision.values, memory.param_names(trace))
        return Answer(mode=Mode.CRYSTALLIZED, code=code, agent="memory", from_memory=True, saved=saved,
                      response=f"Replayed verified trace {trace.id} as tool {trace.tool_name}()", namespace=namespace)
    return Answer(mode=Mode.FOLLOWER, code=program, response=f"Replayed verified trace {trace.id}", agent="memory",
                  from_memory=True, saved=saved)
