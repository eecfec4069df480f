"""A scripted "LLM" that writes correct Qiskit for a few circuit families and bills real token counts.

For demos without an API key and for benchmarks: plug it into ScriptedLLMServer as the
responder. Token counts are cl100k_base counts of what was sent and what is returned,
so the ledger sees realistic, exact usage. It is not a model: anything outside its
families gets a plain-text reply with no code.

Families (and the wordings it recognises):

- Bell state: 'Bell state', 'Bell pair', 'EPR pair'
- GHZ state on n qubits (default 3): 'GHZ', 'cat state', 'Greenberger-Horne-Zeilinger'
- W state on n qubits (default 3): 'W state', 'W-state'
- uniform superposition on n qubits (default 1): 'superposition', 'Hadamard on every/each/all qubit(s)'
- Bernstein-Vazirani for a secret bitstring: 'Bernstein-Vazirani', 'BV', 'hidden string/bitstring',
  'secret string/bitstring'; only the n input qubits are measured, so the outcome is the secret
- Deutsch-Jozsa, constant or balanced oracle, on n input qubits (default 3): 'Deutsch-Jozsa', 'DJ';
  only the input register is measured (all zeros for constant, all ones for the parity oracle)
- basis state: '|0110>', 'state 0110', 'bitstring 0110', 'encode 0110'

Every program assigns its parameter once at the top (`n = 5`, `secret = "1011"`) and passes the
shot count as `shots=` to `sim.run`. Shots: '500 shots', '2,048 shots', '500 times', 'shots=500';
number words for counts go up to twenty.
"""
from __future__ import annotations

import json
import re

from ..tokencount import count_tokens
from .edits import as_edit
from .llm_server import Reply, Request

NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_NUM = r"(\d[\d,]*|" + "|".join(NUMBER_WORDS) + r")"
_SHOTS = re.compile(r"\b" + _NUM + r"[\s-]*(?:shots?|times|samples)\b|\bshots\s*[=:]\s*(\d[\d,]*)")
_QUBITS = re.compile(r"\b" + _NUM + r"[\s-]*(?:(?:input|data)\s+)?qubits?\b")
# A bitstring that is not a count of something ('100 shots', '10 qubits').
_BITS = re.compile(r"\|([01]+)[>⟩]|\b([01]{2,})\b(?![\s,-]*(?:shots?|times|samples|qubits?|input|data)\b)")

MODEL_NAME = "scripted-qiskit"  # reported as the model, so nobody mistakes it for a real one
FAMILIES = "Bell, GHZ, W, uniform-superposition, Bernstein-Vazirani, Deutsch-Jozsa and basis-state"

_HEAD = "from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\n"


def _number(word: str) -> int:
    word = word.replace(",", "")
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _shots(text: str) -> int:
    m = _SHOTS.search(text)
    return _number(m.group(1) or m.group(2)) if m else 1024


def _qubits(text: str) -> int | None:
    m = _QUBITS.search(text)
    return _number(m.group(1)) if m else None


def _bits(text: str) -> str | None:
    m = _BITS.search(text)
    return next(g for g in m.groups() if g) if m else None


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(p, text) for p in patterns)


def _body(text: str) -> tuple[str, str] | None:
    """(imports beyond the two standard ones, circuit body ending before the measurement), or None."""
    qubits = _qubits(text)
    if _has(text, r"\bbernstein", r"vazirani", r"\bbv\b", r"\bhidden\s+(?:bit)?strings?\b",
            r"\bsecret\s+(?:bit)?strings?\b", r"\bsecret\b.*\b[01]{2,}\b"):
        secret = _bits(text)
        if secret is None:
            return None
        return "", (f'secret = "{secret}"\nn = len(secret)\n\n'
                    "qc = QuantumCircuit(n + 1, n)\nqc.x(n)  # ancilla in |->\nqc.h(range(n + 1))\n"
                    "for q, bit in enumerate(reversed(secret)):  # oracle: f(x) = secret . x mod 2\n"
                    '    if bit == "1":\n        qc.cx(q, n)\nqc.h(range(n))\n'
                    "qc.measure(range(n), range(n))  # the input register reads out the secret\n")
    if _has(text, r"\bdeutsch", r"jozsa", r"\bdj\b"):
        n = qubits or 3
        if "constant" in text:
            oracle = "qc.x(n)  # constant oracle: f(x) = 1 for every x\n"
        else:
            oracle = "for q in range(n):  # balanced oracle: f(x) = parity of x\n    qc.cx(q, n)\n"
        return "", (f"n = {n}  # input qubits\n\nqc = QuantumCircuit(n + 1, n)\nqc.x(n)  # ancilla in |->\n"
                    "qc.h(range(n + 1))\n" + oracle + "qc.h(range(n))\n"
                    "qc.measure(range(n), range(n))  # only the input register\n")
    if "bell" in text or "epr" in text:
        return "", "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\nqc.measure_all()\n"
    if _has(text, r"\bghz\b", r"\bcat[\s-]*states?\b", r"greenberger"):
        n = qubits or 3
        return "", (f"n = {n}\nqc = QuantumCircuit(n)\nqc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\n"
                    "qc.measure_all()\n")
    if _has(text, r"\bw[\s-]*states?\b"):
        n = qubits or 3
        return "from math import acos, sqrt\n", (
            f"n = {n}\n\n# |0...01>, then pass the excitation along: qubit q keeps it with probability 1/(n - q)\n"
            "qc = QuantumCircuit(n)\nqc.x(0)\nfor q in range(n - 1):\n"
            "    qc.cry(2 * acos(sqrt(1 / (n - q))), q, q + 1)\n    qc.cx(q + 1, q)\nqc.measure_all()\n")
    if "superposition" in text or _has(text, r"\bhadamards?\b.*\b(?:every|each|all)\b.*\bqubits?\b"):
        n = qubits or 1
        return "", f"n = {n}\nqc = QuantumCircuit(n)\nqc.h(range(n))\nqc.measure_all()\n"
    ket = re.search(r"\|([01]+)[>⟩]|\bstate\s+([01]{2,})\b|\bbitstring\s+([01]+)\b|\bencode\s+([01]{2,})\b", text)
    if ket:
        bits = next(g for g in ket.groups() if g)
        flips = [i for i, b in enumerate(reversed(bits)) if b == "1"]  # Qiskit orders bits little-endian
        return "", f"qc = QuantumCircuit({len(bits)})\n" + "".join(f"qc.x({i})\n" for i in flips) + "qc.measure_all()\n"
    return None


def program(request: str) -> str | None:
    """The Qiskit program for a request, or None when the request is outside the families."""
    text = request.lower()
    found = _body(text)
    if found is None:
        return None
    imports, body = found
    return (imports + _HEAD + body + "\nsim = AerSimulator()\n"
            f"counts = sim.run(transpile(qc, sim), shots={_shots(text)}).result().get_counts()\nprint(counts)\n")


def prompt_tokens(req: Request) -> int:
    body = req.body
    parts = [json.dumps(body.get("system", "")), json.dumps(body.get("messages", [])),
             json.dumps(body.get("tools", []))]
    return count_tokens("\n".join(parts))


def reply_with(req: Request, code: str | None, *, refusal: str, note: str, model: str) -> Reply:
    """A scripted model's reply: `refusal` without a program, else a diff of the worked example when the prompt
    asks for one, else the program in a ```python block followed by `note`; billed in cl100k tokens."""
    text = refusal if code is None else as_edit(req, code) or f"```python\n{code}```\n{note}"
    return Reply(text=text, input_tokens=prompt_tokens(req), output_tokens=count_tokens(text), model=model)


def respond(req: Request) -> Reply:
    """ScriptedLLMServer responder: `server.responder = respond`."""
    # An adapter's prompt (finetune.prompt) shows a verified program first; the request is what follows it.
    code = program(req.last_user_text().rpartition("\nNew request: ")[2])
    return reply_with(req, code, refusal=f"I can only write {FAMILIES} circuits.",
                      note="This prepares the requested state and samples it on Aer.", model=MODEL_NAME)
