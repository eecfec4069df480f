"""Find the code to run in a model's reply."""
from __future__ import annotations

import re

from ..providers.base import ToolSpec

EXECUTE_TOOL = ToolSpec(
    name="execute_qiskit_code",
    # Sent with every LEARNER call, so every word of it is billed every time.
    description="Run a complete Python program in the notebook; returns its output.",
    input_schema={
        "type": "object",
        "properties": {"code": {"type": "string"}},
        "required": ["code"],
    },
)

PLAN_TOOL = ToolSpec(
    name="plan",
    description="Only for stages that each need their own program (a sweep, then its plot): the steps in "
                "order, each self-contained.",
    input_schema={
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
        "required": ["steps"],
    },
)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block, in order; an unclosed last fence counts too."""
    return [(lang.lower(), body.strip("\n")) for lang, body in _FENCE.findall(text)]


def code_from_text(text: str) -> str | None:
    """The program in a reply: the longest ```python block, else the longest untagged block."""
    blocks = code_blocks(text)
    python = [code for lang, code in blocks if lang in ("python", "py", "python3")]
    untagged = [code for lang, code in blocks if lang == ""]
    candidates = python or untagged
    candidates = [c for c in candidates if c.strip()]
    return max(candidates, key=len) if candidates else None


def plan_from(tool_calls) -> tuple[str, ...]:
    """The steps of a `plan` tool call, if the model made one."""
    for call in tool_calls:
        steps = call.arguments.get("steps") if call.name == PLAN_TOOL.name else None
        if isinstance(steps, list) and all(isinstance(s, str) for s in steps):
            return tuple(s.strip() for s in steps if s.strip())
    return ()
