"""One kernel's share of a concurrency run: N requests against a shared home, as a separate process.

    python -m llmos_jupyter.testing.concurrency_worker HOME BASE_URL WORKER N

Prints one JSON line: the errors it saw and the modes it got. Used by tests/test_reliability.py
and benchmarks/concurrency.py.
"""
from __future__ import annotations

import json
import sys


def main(home: str, base_url: str, worker: int, n: int) -> dict:
    from llmos_jupyter import LLMOS

    engine = LLMOS(home=home, provider="openai", base_url=base_url, api_key="x", starter_skills=False,
                   stream=False, max_retries=0)
    errors: list[str] = []
    modes: dict[str, int] = {}
    for i in range(n):
        qubits = 2 + (i + worker) % 4
        text = f"Create a GHZ state with {qubits} qubits"
        try:
            r = engine.run(text)
            modes[str(r.mode)] = modes.get(str(r.mode), 0) + 1
            if r.error or not r.counts or len(next(iter(r.counts))) != qubits:
                errors.append(f"{text}: {r.error or r.counts}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none may pass silently
            errors.append(f"{text}: {type(exc).__name__}: {exc}")
    return {"errors": errors, "modes": modes}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
