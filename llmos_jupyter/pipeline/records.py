"""The frozen records the stages hand each other. Each stage returns a new record and changes none;
the `Result` is assembled from them once, at the end (record.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..modes import Mode
from ..text.normalize import Normalized
from ..ledger import Usage


@dataclass(frozen=True)
class Request:
    """normalize: the cell's text, its slots and template, and where it sits in a plan."""
    request_id: str
    text: str
    normalized: Normalized
    parent_id: str | None = None
    context: tuple[tuple[str, str], ...] = ()  # (step, code) of the earlier steps of a plan


@dataclass(frozen=True)
class Answer:
    """replay or ask: the program to run (None when the reply holds none) and what it cost."""
    mode: Mode
    code: str | None
    response: str = ""
    agent: str = "quantum-architect"
    from_memory: bool = False  # replayed: no model was asked
    provider: str | None = None
    model: str | None = None
    usage: Usage = Usage()
    cost_usd: float | None = 0.0  # None when some call's price is unknown
    saved: int = 0  # tokens saved against a lean always-ask call
    llm_ms: float = 0.0
    why: dict[str, Any] = field(default_factory=dict)  # shown to the user: how the code was found, the tier used
    notice: str | None = None
    setup: str = ""  # run before `code`, not shown: a crystallized tool's verified source
    plan: tuple[str, ...] = ()  # the model answered with a plan: these steps, each a request of its own
    planner: str | None = None  # who split a plan: "model", or "rules" for a model without tools
    tier: str | None = None  # the configured tier that answered (T0..T3), when tiers are set
    tier_reason: str | None = None  # why that tier, and what an earlier tier's failure was
    edit_error: str | None = None  # the model answered with an edit that could not be applied
    tool_refused: str | None = None  # a replay found this tool's file changed: learn sets it aside


@dataclass(frozen=True)
class Verdict:
    """guard: may the code run?"""
    allowed: bool
    findings: tuple[str, ...] = ()
    trusted: bool = False  # blocked, but the cell said --trust
    notice: str | None = None
    warned: bool = False  # findings shown as a warning: the program runs in the sandboxed worker


@dataclass(frozen=True)
class Run:
    """execute: what running the code produced. `executed` is False when it did not run."""
    executed: bool
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    ms: float = 0.0
    notice: str | None = None
    produced: dict[str, Any] = field(default_factory=dict)  # {defined, value, figures}: tools/produced.py
    value: Any = None  # the last expression's value, shown like a notebook cell's
    figures: tuple[bytes, ...] = ()  # PNG images the program drew in the worker
    saved: tuple[str, ...] = ()  # files it saved in the working folder, relative to it
    protections: dict[str, Any] = field(default_factory=dict)  # where it ran and what protected the kernel

    @property
    def has_result(self) -> bool:
        """Whether the run produced anything to show: output, counts, a value, names, figures or saved files."""
        p = self.produced
        return bool(self.output.strip() or self.counts or p.get("defined") or p.get("value") or p.get("figures")
                    or self.saved)


NOT_RUN = Run(executed=False)


@dataclass(frozen=True)
class Verification:
    """verify: does what ran answer the request? `verified` is None when there was nothing to check."""
    verified: bool | None
    problems: tuple[str, ...] = ()
    learnable: bool = False  # an answer that may be stored in memory
    notice: str | None = None
    error: str | None = None  # the run gave no answer at all: that is a failure, never a success


@dataclass(frozen=True)
class Learned:
    """learn: the trace the run was stored in or counted against, and what that changed."""
    trace_id: str | None = None
    new: bool = False
    generalized_now: tuple[str, ...] = ()
    tool: str | None = None  # a tool crystallized by this run

    def to_why(self) -> dict[str, Any]:
        return {"trace_id": self.trace_id, "new": self.new, "generalized_now": list(self.generalized_now)}


@dataclass(frozen=True)
class Attempt:
    """One pass through answer → guard → execute → verify → learn, for one mode."""
    answer: Answer
    verdict: Verdict | None = None
    run: Run = NOT_RUN
    verification: Verification = Verification(None)
    learned: Learned | None = None
