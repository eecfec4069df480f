"""Stage 3a, replay (FOLLOWER, CRYSTALLIZED): the verified program with its slots rebound, or a call
of the tool it became. No model is asked."""
from __future__ import annotations

from .dispatcher import Decision
from ..modes import Mode
from ..memory import Memory
from ..memory.templates import instantiate
from .baseline import lean_baseline
from .records import Answer, Request


def replay(request: Request, decision: Decision, memory: Memory) -> Answer:
    trace = decision.trace
    program = instantiate(trace.code, decision.values)
    saved = lean_baseline(request.text, program)

    def follow(**kw) -> Answer:  # the verified program with its slots rebound
        return Answer(mode=Mode.FOLLOWER, code=program, response=f"Replayed verified trace {trace.id}",
                      agent="memory", from_memory=True, saved=saved, **kw)

    if decision.mode == Mode.CRYSTALLIZED:
        from ..memory.crystallize import call_snippet, verified_source

        source = verified_source(memory.tools_dir, trace.tool_name, trace.tool_hash)
        if source is None and memory.shared and not (memory.tools_dir / f"{trace.tool_name}.py").exists():
            # Another home sharing this store made the tool; its verified program replays here, and the tool stays
            # that home's (dropping it would make the two kernels take turns making it again).
            return follow(why={"tool_elsewhere": f"tool {trace.tool_name}.py was made in another home that shares "
                                                 "this store: replayed the verified program"})
        if source is None:
            # Changed or deleted since it passed its examples: never run it; the verified program still may. The
            # learn stage sets the file aside and drops the tool from the trace (this stage only reads memory).
            return follow(tool_refused=trace.tool_name,
                          why={"refused": f"tool {trace.tool_name}.py in {memory.tools_dir} is not the file that "
                                          "passed its examples (changed or deleted): replayed the verified "
                                          "program instead; the file was set aside as ."
                                          f"{trace.tool_name}.py.refused and the tool will be made again"})
        code = call_snippet(trace, decision.values, memory.param_names(trace))
        return Answer(mode=Mode.CRYSTALLIZED, code=code, agent="memory", from_memory=True, saved=saved,
                      response=f"Replayed verified trace {trace.id} as tool {trace.tool_name}()", setup=source)
    return follow()
