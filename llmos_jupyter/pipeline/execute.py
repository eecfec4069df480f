"""Stage 5, execute: run the program on Aer in the user's namespace and capture what it produced."""
from __future__ import annotations

import time
from typing import Any

from ..events import EventBus, Executed, ExecutionStarted
from .records import Answer, Run


def execute(answer: Answer, namespace: dict[str, Any], request_id: str, events: EventBus) -> Run:
    from ..tools.qiskit_exec import run_code  # imports qiskit-aer on first use

    events.publish(ExecutionStarted(request_id))
    started = time.perf_counter()
    execution = run_code(f"{answer.setup}\n\n{answer.code}" if answer.setup else answer.code, namespace)
    ms = (time.perf_counter() - started) * 1000
    events.publish(Executed(request_id, execution.output, execution.error, execution.counts))
    return Run(executed=True, output=execution.output, error=execution.error, counts=execution.counts,
               shots=execution.shots, ms=ms, produced=execution.produced.to_json(), value=execution.value)


def not_run(reason: str) -> Run:
    return Run(executed=False, notice=reason)
