"""What `LLMOS.run` returns: assembled once, at the end, from the stages' records."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..modes import Mode
from ..events import RequestSummary
from ..ledger import Usage


@dataclass(frozen=True)
class Tokens(Usage):
    """A request's billed usage (the one token type: a `Usage`) with what it saved against the lean call."""
    saved: int = 0
    cumulative_saved: int = 0

    @classmethod
    def of(cls, usage: Usage, saved: int = 0, cumulative_saved: int = 0) -> "Tokens":
        return cls(usage.input, usage.output, usage.cache_read, usage.cache_write, usage.reported, saved,
                   cumulative_saved)

    def to_dict(self) -> dict[str, int]:
        return {"input": self.input, "output": self.output, "saved": self.saved,
                "cumulative_saved": self.cumulative_saved}


@dataclass(frozen=True)
class Result:
    request: str
    mode: Mode
    tokens: Tokens
    response: str = ""
    code: str | None = None
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    provider: str | None = None
    model: str | None = None
    agent: str = "quantum-architect"
    ptc_used: bool = False
    executed: bool = False
    notice: str | None = None
    why: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # ms: dispatch, llm, execute (summed per phase)
    blocked: list[str] = field(default_factory=list)  # what the guard stopped, if it stopped the code
    steps: list[dict[str, Any]] = field(default_factory=list)  # ORCHESTRATOR: each step's mode and tokens
    cost_usd: float | None = 0.0  # what the billed calls cost; None when a price is unknown
    verified: bool | None = None  # None: nothing to verify (no run, or no counts)
    sentience: dict[str, Any] = field(default_factory=dict)
    execution_time_ms: float = 0.0
    request_id: str = ""
    parent_id: str | None = None
    value: Any = None  # the program's last expression, as a notebook cell shows it
    defined: dict[str, str] = field(default_factory=dict)  # names the program defined: signature or type
    figures: tuple[bytes, ...] = ()  # PNG images drawn in the sandboxed worker
    saved: tuple[str, ...] = ()  # files the program saved in the working folder, relative to it
    warnings: list[str] = field(default_factory=list)  # guard findings shown as a warning (it ran sandboxed)
    protections: dict[str, Any] = field(default_factory=dict)  # where the program ran, what protected the kernel

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> RequestSummary:
        """What a display needs of this result (widgets get this, never the Result)."""
        t = self.tokens
        return RequestSummary(request=self.request, mode=str(self.mode), input=t.input, output=t.output,
                              saved=t.saved, cost_usd=self.cost_usd, error=self.error, notice=self.notice,
                              verified=self.verified, executed=self.executed, counts=self.counts, shots=self.shots,
                              trace_id=self.trace_id, provider=self.provider, model=self.model,
                              steps=len(self.steps), duration_ms=self.execution_time_ms)

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens.to_dict()
        tokens.update(cache_read=self.tokens.cache_read, cache_write=self.tokens.cache_write)
        return {
            "response": self.response,
            "output": self.output,
            "metadata": {
                "agent": self.agent,
                "mode": str(self.mode),
                "tokens": tokens,
                "ptc_used": self.ptc_used,
                "execution_time_ms": round(self.execution_time_ms, 1),
                "sentience": self.sentience,
                "provider": self.provider,
                "model": self.model,
                "code": self.code,
                "counts": self.counts,
                "shots": self.shots,
                "value": None if self.value is None else repr(self.value)[:2000],
                "defined": self.defined,
                "warnings": self.warnings,
                "protections": self.protections,
                "files_saved": list(self.saved),  # in the working folder, relative to it
                "error": self.error,
                "notice": self.notice,
                "why": self.why,
                "trace_id": self.trace_id,
                "verified": self.verified,
                "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
                "blocked": self.blocked,
                "steps": self.steps,
                "cost_usd": self.cost_usd,
                "request_id": self.request_id,
            },
        }
