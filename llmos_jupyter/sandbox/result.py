"""What one run in the sandbox worker hands back to the kernel: plain data and values that came back safely."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WorkerResult:
    output: str = ""
    error: str | None = None  # formatted traceback, or what happened to the worker
    error_type: str | None = None  # the exception's name, or "Timeout" / "WorkerCrashed"
    counts: dict[str, int] | None = None  # of the last Aer job that measured
    shots: int | None = None
    produced: dict[str, Any] = field(default_factory=dict)  # the Produced.to_json() shape
    value: Any = None  # the last expression's value when it could come back safely, else None
    namespace: dict[str, Any] = field(default_factory=dict)  # names the run defined that came back safely
    left_behind: tuple[str, ...] = ()  # names the run defined that stay in the worker
    refused: tuple[str, ...] = ()  # why values that arrived were not loaded (a bound they broke), one sentence each
    figures: tuple[bytes, ...] = ()  # PNG bytes of the figures the program opened (closed in the worker)
    saved: tuple[str, ...] = ()  # files the run saved in the working folder, relative to it (saving.py)
    not_saved: tuple[str, ...] = ()  # files it wrote there that were kept back, one sentence each: why and where
    ms: float = 0.0  # the round trip, as the kernel saw it
    protections: dict[str, Any] = field(default_factory=dict)  # what was in force for this run

    @property
    def ok(self) -> bool:
        return self.error is None
