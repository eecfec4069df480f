"""The prompt an adapter is trained on and answers with: one request in, one fenced program out.

Training and inference share it, so an adapter sees at T0 exactly what it learned from. It is short on
purpose: a small model fine-tuned on a family writes the program from the request alone.
"""
from __future__ import annotations

SYSTEM = ("You write complete Qiskit 2.x programs that run on AerSimulator and print the counts. "
          "Answer with one ```python block.")


def chat(request: str, program: str | None = None) -> list[dict[str, str]]:
    """The chat turns for `request`; with `program`, the answer the adapter should give (training)."""
    turns = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request.strip()}]
    if program is not None:
        turns.append({"role": "assistant", "content": answer(program)})
    return turns


def answer(program: str) -> str:
    return f"```python\n{program.strip()}\n```"
