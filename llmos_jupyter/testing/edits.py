"""How the scripted models answer a MIXED prompt: as a model told to would, with the lines to change in the
worked example it was shown (a ```diff block, finetune/prompt.py's format) rather than the whole program."""
from __future__ import annotations

import re

from ..finetune.prompt import edit
from ..prompts import shown_example
from .llm_server import Request

_EXAMPLE = re.compile(r"Worked example: .*?\n```python\n(.*?)\n```", re.S)


def system_text(req: Request) -> str:
    """The system prompt, whichever wire format carried it."""
    body = req.body
    system = body.get("system", "")
    if isinstance(system, list):  # Anthropic content blocks
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    if system:
        return str(system)
    for message in body.get("messages", []):
        if message.get("role") in ("system", "developer") and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def as_edit(req: Request, program: str) -> str | None:
    """The reply to a MIXED prompt: a ```diff block turning the shown example into `program`; None when the
    prompt shows no example or does not ask for the lines to change."""
    system = system_text(req)
    m = _EXAMPLE.search(system)
    if m is None or "```diff" not in system:
        return None
    shown = m.group(1)
    imports, body, _ = shown_example(program)
    # The example's imports are not shown: add an import line when it brings a name the example never uses.
    used = set(re.findall(r"\w+", shown))
    added = [line for line in imports.splitlines() if not _names(line) <= used]
    return f"```diff\n{edit(shown, chr(10).join(added + [body]))}\n```"


def _names(import_line: str) -> set[str]:
    """The names an import line binds: 'from a.b import C, D as E' -> {C, E}; 'import numpy as np' -> {np}."""
    what = import_line.split(" import ", 1)[1] if import_line.startswith("from ") else import_line[len("import "):]
    return {part.split(" as ")[-1].strip().split(".")[0] for part in what.split(",")}
