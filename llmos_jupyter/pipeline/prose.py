"""Stage 3b for a prose answer (`-f markdown|text|html|math|json`): the model answers in that form and nothing
runs. A request for prose is never replayed (memory holds programs) and its answer is never learned; code in the
answer is text to read, not a program to run. The page shows it through render.prose_bundle, never raw."""
from __future__ import annotations

from typing import Callable

from ..modes import Mode
from ..events import LLMText
from ..providers import CallOptions, Message, Provider
from .ask import Asking, Billed
from .kernel_tools import KernelTools
from .records import Answer, Request

PROSE = ("markdown", "text", "html", "math", "json")

_SYSTEM = "You answer questions about quantum computing and Qiskit in a Jupyter notebook. Be brief and exact. "
_FORM = {
    "markdown": "Answer in Markdown.",
    "text": "Answer in plain text, with no Markdown.",
    "html": "Answer as an HTML fragment (no <html>, <head>, scripts or styles), nothing else.",
    "math": "Answer with LaTeX only (no $ delimiters, no prose around it).",
    "json": "Answer with one JSON value only, no code fence and no prose.",
}


def prose_system(form: str) -> str:
    return _SYSTEM + _FORM[form]


def ask_prose(request: Request, llm: Provider, deps: Asking, form: str, *,
              on_text: Callable[[str], None] | None = None, call: CallOptions = CallOptions(),
              kernel: KernelTools | None = None) -> Answer:
    """One answer in `form`. `kernel`: the user's functions offered as tools; the model may call them first."""
    def stream(piece: str) -> None:
        deps.events.publish(LLMText(request.request_id, piece))
        if on_text is not None:
            on_text(piece)

    billed = Billed(call)
    messages = [Message("user", request.text)]
    streaming = stream if (deps.stream or on_text is not None) else None
    tools = kernel.specs() if kernel else None
    # Up to `steps` calls answered, one more refused (telling the model to answer), then its answer.
    for _round in range(kernel.steps + 2 if kernel else 1):
        completion = billed.call(llm, request, deps, prose_system(form), messages, tools, streaming)
        mine = [c for c in completion.tool_calls if kernel and c.name in kernel]
        if not mine:
            break
        messages.append(Message("assistant", completion.text, tool_calls=tuple(completion.tool_calls)))
        messages += kernel.answer(mine)
        messages += [Message("tool", "not run", tool_call_id=c.id) for c in completion.tool_calls if c not in mine]
    return Answer(mode=Mode.LEARNER, code=None, response=completion.text, agent="assistant", provider=llm.name,
                  model=completion.model, usage=billed.usage, cost_usd=billed.cost, llm_ms=billed.ms,
                  why={"answer": f"prose:{form}",
                       "reason": f"a {form} answer was asked for (-f {form}): the model answers, nothing is "
                                 "replayed or run",
                       **({"your_functions_called": list(kernel.calls)} if kernel else {})},
                  notice="\n".join(kernel.problems) if kernel and kernel.problems else None)
