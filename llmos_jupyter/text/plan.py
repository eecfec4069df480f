"""Splitting a multi-step request into steps (the ORCHESTRATOR's architect role, at zero tokens).

'build a 4-qubit GHZ, add depolarizing noise, compare noisy and ideal histograms' ->
['build a 4-qubit GHZ', 'add depolarizing noise', 'compare noisy and ideal histograms']

A request is split on numbered lists, semicolons, 'then' / 'after that' / 'finally', and on
commas where both sides start with an action verb ('and' alone never splits: 'prepare an EPR
pair and measure it' is one step). A single step means the request is not multi-step.
"""
from __future__ import annotations

import re

VERBS = {"build", "create", "make", "prepare", "add", "apply", "compare", "run", "measure", "plot", "draw",
         "simulate", "compute", "calculate", "transpile", "print", "show", "estimate", "sample", "entangle",
         "teleport", "execute", "optimize", "optimise", "evaluate", "verify", "check", "repeat", "insert",
         "append", "use", "take", "get", "find", "construct", "implement", "write", "generate", "visualize",
         "visualise", "report", "save", "load", "convert", "decompose", "invert", "reverse"}
_SEPARATORS = re.compile(r"\s*(?:;|\n+|\bthen\b|\bafter that\b|\bafterwards\b|\bfinally\b|\bnext\b)\s*", re.I)
_SHOTS_ONLY = re.compile(r"(?:run|measure|sample|use|with)\b(?:[^,]|,(?=\d))*\b(?:shots?|times|samples)\b", re.I)
_NUMBERED = re.compile(r"(?:^|\n|\s)\(?\d+[.)]\s+")


def _starts_with_verb(text: str) -> bool:
    first = re.match(r"[A-Za-z]+", text.strip())
    return bool(first) and first.group(0).lower() in VERBS


def plan(text: str) -> list[str]:
    """The steps of `text`, in order; one element when it is a single request."""
    text = text.strip()
    if _NUMBERED.search(text) and len(_NUMBERED.findall(text)) >= 2:
        parts = [p for p in _NUMBERED.split(text) if p.strip()]
    else:
        parts = [p for p in _SEPARATORS.split(text) if p and p.strip()]
    steps: list[str] = []
    for part in parts:
        # Commas (not inside numbers like 2,048) separate steps when both sides start with an action verb.
        pieces = re.split(r"(,(?!\d)\s*(?:and\s+)?)", part)
        current = pieces[0]
        for sep, piece in zip(pieces[1::2], pieces[2::2]):
            if _starts_with_verb(piece) and _starts_with_verb(current) and not _SHOTS_ONLY.match(piece):
                steps.append(current)
                current = piece
            else:
                current = f"{current}{sep}{piece}"
        steps.append(current)
    cleaned = [s.strip(" ,.;:").strip() for s in steps]
    cleaned = [re.sub(r"^(?:and|then)\s+", "", s, flags=re.I) for s in cleaned if s.strip(" ,.;:")]
    return cleaned if len(cleaned) > 1 else [text]


# Work in stages that `plan` cannot split by its wording: a sweep (several bond lengths, each angle), or a
# result that is then plotted or compared. Only such requests are offered the model's `plan` tool.
_STAGED = re.compile(
    r"\b(?:sweeps?|scan|vary|varying|for (?:each|every)|over a range|"
    r"at (?:several|multiple|various|different|\d+|two|three|four|five|six|seven|eight|nine|ten) \w+ (?:\w+ )?"
    r"(?:lengths?|distances?|angles?|values?|points?|settings?|depths?|levels?|rates?)|"
    r"(?:and|then) (?:plot|graph|chart|compare|tabulate))\b", re.I)


def reads_staged(text: str) -> bool:
    """Whether `text` may need programs run one after another (so the model may answer with a plan): a
    sweep or a result plotted or compared, or steps that each start with an action ('…, then add noise').
    'H then Z' composes gates in one program: its `plan` schema would be billed for nothing (#24)."""
    steps = plan(text)
    return bool(_STAGED.search(text)) or (len(steps) > 1 and all(_starts_with_verb(s) for s in steps[1:]))
