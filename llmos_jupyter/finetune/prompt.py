"""The prompt an adapter is trained on and answers with: a verified program and a new request in, the lines
to change out.

Training, the held-out evaluation and T0 serving (in-process or through an OpenAI-compatible server) all
build it here, so an adapter sees at T0 exactly what it learned from. T0 answers only new values of a
family it learned, and such a request always has a verified program near it (the family's trace). So the
adapter is shown that program and answers with an edit of it, a ```diff block, rather than the whole
program: a 135M model changes a value far more reliably than it recites a program from words, and it
writes ~20 tokens instead of ~250 (seconds instead of half a minute on a CPU).

The edit: hunks, each opened by a line "@@", of lines " context", "-removed" and "+added". A hunk's old
lines (context and removed, in order) are found in the program at or after the previous hunk's end and
replaced by its new lines (context and added). `edit` writes hunks whose old lines are found exactly
there; `apply` refuses an edit whose lines it cannot find. A reply with a ```python block instead is taken
as the whole program.
"""
from __future__ import annotations

import difflib

from ..tools.extract import code_blocks

SYSTEM = ("Adapt the verified Qiskit 2.x program to the new request. Answer with the lines to change as one "
          "```diff block.")


class EditError(ValueError):
    """An edit that does not fit its program."""


def user(request: str, guide: tuple[str, str] | None) -> str:
    """The user turn: the guide (its request and verified program), then the new request."""
    if guide is None:
        return request.strip()
    asked, program = guide
    return f"Verified program for: {asked.strip()}\n```python\n{program.strip()}\n```\nNew request: {request.strip()}"


def chat(request: str, program: str | None = None, guide: tuple[str, str] | None = None) -> list[dict[str, str]]:
    """The chat turns for `request` guided by `guide`; with `program`, the answer the adapter should give:
    the edit from the guide's program to it (the whole program when there is no guide)."""
    turns = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user(request, guide)}]
    if program is not None:
        turns.append({"role": "assistant", "content": answer(program, guide)})
    return turns


def answer(program: str, guide: tuple[str, str] | None = None) -> str:
    if guide is None:
        return f"```python\n{program.strip()}\n```"
    return f"```diff\n{edit(guide[1], program)}\n```"


def edit(old: str, new: str) -> str:
    """The hunks that turn `old` into `new` (empty when they are equal)."""
    a, b = old.strip().splitlines(), new.strip().splitlines()
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    groups: list[list] = []  # [start, end, changed ops]: changes whose old lines touch share one hunk
    for op in ops:
        tag, i1, i2 = op[:3]
        if tag == "equal":
            continue
        start, end = i1, i2
        if start == end:  # a pure insertion is anchored on the line before it (or after, at the top)
            start, end = (start - 1, end) if start > 0 else (start, end + 1)
        if groups and start < groups[-1][1]:
            groups[-1][1] = max(end, groups[-1][1])
            groups[-1][2].append(op)
        else:
            groups.append([start, end, [op]])
    out: list[str] = []
    cursor = 0
    for start, end, changed in groups:
        while _find(a, a[start:end], cursor) != start and start > cursor:
            start -= 1  # more context until the old lines are the first match after the last hunk
        out.append("@@")
        for op in ops:
            tag, i1, i2, j1, j2 = op
            if op in changed:
                out += ["-" + line for line in a[i1:i2]] + ["+" + line for line in b[j1:j2]]
            elif tag == "equal":
                out += [" " + line for line in a[max(i1, start):min(i2, end)]]
        cursor = end
    return "\n".join(out)


def apply(old: str, diff: str) -> str:
    """`old` with the hunks of `diff` applied; EditError when a hunk's old lines are not there."""
    lines = old.strip().splitlines()
    cursor = 0
    for hunk in _hunks(diff):
        before = [text for sign, text in hunk if sign in " -"]
        after = [text for sign, text in hunk if sign in " +"]
        at = _find(lines, before, cursor) if before else -1
        if at < 0:
            at = _find([x.rstrip() for x in lines], [x.rstrip() for x in before], cursor) if before else -1
        if at < 0:
            shown = before[0].strip() if before else "(nothing)"
            raise EditError(f"the edit changes lines the program does not have after line {cursor + 1}: {shown!r}")
        lines[at:at + len(before)] = after
        cursor = at + len(after)
    return "\n".join(lines) + "\n"


def program_from(reply: str, guide: tuple[str, str] | None) -> str | None:
    """The program an adapter's reply means: its ```diff applied to the guide's program, or its ```python
    block. None when it holds neither; EditError when its edit does not fit."""
    blocks = code_blocks(reply)
    diffs = [body for lang, body in blocks if lang in ("diff", "patch")]
    if diffs and guide is not None:
        return apply(guide[1], diffs[0])
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "") and body.strip()]
    return max(python, key=len) if python else None


def _hunks(diff: str) -> list[list[tuple[str, str]]]:
    hunks: list[list[tuple[str, str]]] = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            hunks.append([])
            continue
        sign, text = (line[:1], line[1:]) if line[:1] in (" ", "-", "+") else (" ", line) if not line.strip() else ("?", line)
        if sign == "?":
            raise EditError(f"the edit has a line that is neither context, removed nor added: {line[:80]!r}")
        if not hunks:
            hunks.append([])
        hunks[-1].append((sign, text))
    return [h for h in hunks if h]


def _find(lines: list[str], block: list[str], start: int) -> int:
    n = len(block)
    for i in range(start, len(lines) - n + 1):
        if lines[i:i + n] == block:
            return i
    return -1
