"""A scripted "LLM" that writes correct Qiskit for a few circuit families and bills real token counts.

For demos without an API key and for benchmarks: plug it into ScriptedLLMServer as the
responder. Token counts are cl100k_base counts of what was sent and what is returned,
so the ledger sees realistic, exact usage. It is not a model: anything outside its
families gets a plain-text reply with no code.
"""
from __future__ import annotations

import json
import re

from ..tokencount import count_tokens
from .llm_server import Reply, Request

NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_NUM = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"

MODEL_NAME = "scripted-qiskit"  # reported as the model, so nobody mistakes it for a real one


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _find(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text)
    return _number(m.group(1)) if m else None


def program(request: str) -> str | None:
    """The Qiskit program for a request, or None when the request is outside the families."""
    text = request.lower()
    shots = _find(_NUM + r"[\s-]*shots?", text) or 1024
    qubits = _find(_NUM + r"[\s-]*qubits?", text)
    ket = re.search(r"\|([01]+)[>⟩]|\bstate\s+([01]{2,})\b|\bbitstring\s+([01]+)\b", text)
    if "bell" in text or "epr" in text:
        body = "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\n"
    elif "ghz" in text:
        n = qubits or 3
        body = f"n = {n}\nqc = QuantumCircuit(n)\nqc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\n"
    elif "superposition" in text:
        n = qubits or 1
        body = f"n = {n}\nqc = QuantumCircuit(n)\nqc.h(range(n))\n"
    elif ket:
        bits = next(g for g in ket.groups() if g)
        flips = [i for i, b in enumerate(reversed(bits)) if b == "1"]  # Qiskit orders bits little-endian
        body = f"qc = QuantumCircuit({len(bits)})\n" + "".join(f"qc.x({i})\n" for i in flips)
    else:
        return None
    return ("from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\n"
            + body + "qc.measure_all()\n\nsim = AerSimulator()\n"
            f"counts = sim.run(transpile(qc, sim), shots={shots}).result().get_counts()\nprint(counts)\n")


def prompt_tokens(req: Request) -> int:
    body = req.body
    parts = [json.dumps(body.get("system", "")), json.dumps(body.get("messages", [])),
             json.dumps(body.get("tools", []))]
    return count_tokens("\n".join(parts))


def respond(req: Request) -> Reply:
    """ScriptedLLMServer responder: `server.responder = respond`."""
    code = program(req.last_user_text())
    if code is None:
        text = "I can only write Bell, GHZ, uniform-superposition and basis-state circuits."
    else:
        text = f"```python\n{code}```\nThis prepares the requested state and samples it on Aer."
    return Reply(text=text, input_tokens=prompt_tokens(req), output_tokens=count_tokens(text), model=MODEL_NAME)
