"""Near misses: requests one word away from a verified one whose circuit that word changes.

What it measures
    For each pair (a, b) whose programs differ, in both directions: a fresh home learns a (the scripted
    model writes a's program, which runs and verifies), then b is asked. Any replay of b, verified or
    not, is a wrong replay: the trace is a's program. The table gives the mode the dispatcher chose for b,
    the similarity of the nearest alias, and what stopped the replay: the word rule (a content word of b
    no verified request says, or one they all say that b leaves out), the domain terms, a slot that
    does not bind, or a similarity under the FOLLOWER threshold.

    The second table asks plain paraphrases (wording changed only by filler: politeness, the asking
    verb, articles, generic nouns) of a learned request, and ordinary requests to the starter skills,
    and counts how many still replay; "word rule" marks those the rule turned away.

    A last table asks the same words in another order: gates named in another order never replay
    (text/words.py gate_order), slot values in another order do not bind, and named values
    ('beta = 0.2 and gamma = 0.7') bind by name: a replay there is right only when it ran the asked program.

    python benchmarks/near_miss.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter import LLMOS, Mode  # noqa: E402
from llmos_jupyter.testing import Reply, ScriptedLLMServer  # noqa: E402
from llmos_jupyter.text.normalize import normalize  # noqa: E402
from llmos_jupyter.text.words import content_words  # noqa: E402
from llmos_jupyter.testing import qiskit_model  # noqa: E402

HEAD = "from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\n"
RUN = "sim = AerSimulator()\nprint(sim.run(transpile(qc, sim), shots=1024).result().get_counts())\n"


def circuit(n: int, body: str, measured: list[int] | None = None, clbits: int | None = None) -> str:
    """A program on n qubits: `body`, then every qubit measured, or only `measured` (into n bits, or `clbits`)."""
    if measured is None:
        return f"{HEAD}qc = QuantumCircuit({n})\n{body}qc.measure_all()\n{RUN}"
    into = measured if clbits is None else list(range(len(measured)))
    return f"{HEAD}qc = QuantumCircuit({n}, {clbits or n})\n{body}qc.measure({measured}, {into})\n{RUN}"


def statevector(n: int, body: str) -> str:
    return (f"from qiskit import QuantumCircuit\nfrom qiskit.quantum_info import Statevector\n\n"
            f"qc = QuantumCircuit({n})\n{body}print(Statevector(qc))\n")


def expectation(pauli: str) -> str:
    """<pauli> on a Bell state, printed."""
    return ("from qiskit import QuantumCircuit\nfrom qiskit.quantum_info import SparsePauliOp, Statevector\n\n"
            "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\n"
            f"print(round(float(Statevector(qc).expectation_value(SparsePauliOp('{pauli}')).real), 6))\n")


def printed(n: int, body: str, measured: bool, what: str) -> str:
    """A circuit on n qubits, measured or not, and `what` of it printed (its depth, its QASM)."""
    return (f"from qiskit import QuantumCircuit, qasm2\n\nqc = QuantumCircuit({n})\n{body}"
            + ("qc.measure_all()\n" if measured else "") + f"print({what})\n")


def layer(gamma: float, beta: float) -> str:
    return (f"{HEAD}gamma = {gamma}\nbeta = {beta}\nqc = QuantumCircuit(1)\nqc.rx(2 * gamma, 0)\nqc.rz(beta, 0)\n"
            f"qc.measure_all()\n{RUN}")


BELL = "qc.h(0)\nqc.cx(0, 1)\n"
GHZ3 = "qc.h(0)\nqc.cx(0, 1)\nqc.cx(1, 2)\n"
GHZ4 = GHZ3 + "qc.cx(2, 3)\n"
QFT = "from qiskit.circuit.library import QFTGate\n"
SCRIPTED = None  # the scripted Qiskit model writes this one

# (kind, a, a's program, b, b's program): a and b must never answer each other.
PAIRS = [
    ("gate", "Apply a Hadamard to each of 3 qubits and measure", circuit(3, "qc.h(range(3))\n"),
     "Apply an X gate to each of 3 qubits and measure", circuit(3, "qc.x(range(3))\n")),
    ("gate", "Apply a Z to each of 2 qubits in superposition", circuit(2, "qc.h(range(2))\nqc.z(range(2))\n"),
     "Apply a controlled-Z between 2 qubits in superposition", circuit(2, "qc.h(range(2))\nqc.cz(0, 1)\n")),
    ("repetitions", "Apply a Hadamard to each of 4 qubits and measure", circuit(4, "qc.h(range(4))\n"),
     "Apply a Hadamard to each of 4 qubits twice and measure", circuit(4, "qc.h(range(4))\nqc.h(range(4))\n")),
    ("repetitions", "Apply an X gate to each of 3 qubits twice and measure", circuit(3, "qc.x(range(3))\n" * 2),
     "Apply an X gate to each of 3 qubits thrice and measure", circuit(3, "qc.x(range(3))\n" * 3)),
    ("repetitions", "Run Grover search for the marked state 11 with one iteration", SCRIPTED,
     "Run Grover search for the marked state 11 with two iterations", SCRIPTED),
    ("inverse", "Apply the QFT to the basis state 101",
     circuit(3, QFT + "qc.x([0, 2])\nqc.append(QFTGate(3), range(3))\n"),
     "Apply the QFT to the basis state 101 and then its inverse",
     circuit(3, QFT + "qc.x([0, 2])\nqc.append(QFTGate(3), range(3))\nqc.append(QFTGate(3).inverse(), range(3))\n")),
    ("inverse", "Prepare a GHZ state on 3 qubits", circuit(3, GHZ3),
     "Prepare a GHZ state on 3 qubits and then undo it", circuit(3, GHZ3 + "qc.cx(1, 2)\nqc.cx(0, 1)\nqc.h(0)\n")),
    ("adjoint", "Apply an S gate between two Hadamards on one qubit", circuit(1, "qc.h(0)\nqc.s(0)\nqc.h(0)\n"),
     "Apply the adjoint of an S gate between two Hadamards on one qubit", circuit(1, "qc.h(0)\nqc.sdg(0)\nqc.h(0)\n")),
    ("adjoint", "Apply T to each of 2 qubits in superposition", circuit(2, "qc.h(range(2))\nqc.t(range(2))\n"),
     "Apply T† to each of 2 qubits in superposition", circuit(2, "qc.h(range(2))\nqc.tdg(range(2))\n")),
    ("controlled", "Apply a Hadamard to 2 qubits", circuit(2, "qc.h(range(2))\n"),
     "Apply a controlled Hadamard to 2 qubits", circuit(2, "qc.ch(0, 1)\n")),
    ("which qubits", "Flip the first qubit of a 3-qubit register", circuit(3, "qc.x(0)\n"),
     "Flip the last qubit of a 3-qubit register", circuit(3, "qc.x(2)\n")),
    ("which qubits", "Apply a Hadamard to each of 3 qubits and measure",
     circuit(3, "qc.h(range(3))\n"),
     "Apply a Hadamard to only the first of 3 qubits and measure", circuit(3, "qc.h(0)\n")),
    ("which qubits", "Apply a SWAP between 2 qubits after an X on the first", circuit(2, "qc.x(0)\nqc.swap(0, 1)\n"),
     "Apply a SWAP between 2 qubits after an X on the second", circuit(2, "qc.x(1)\nqc.swap(0, 1)\n")),
    ("measurement scope", "Prepare a GHZ state on 4 qubits and measure it", circuit(4, GHZ4),
     "Prepare a GHZ state on 4 qubits and measure only the first 2 qubits", circuit(4, GHZ4, [0, 1])),
    ("measurement scope", "Prepare a GHZ state on 4 qubits and measure only the last 2 qubits",
     circuit(4, GHZ4, [2, 3]),
     "Prepare a GHZ state on 4 qubits and measure only the first 2 qubits", circuit(4, GHZ4, [0, 1])),
    ("measurement scope", "Prepare a Bell state and measure both qubits", circuit(2, BELL),
     "Prepare a Bell state and measure one qubit", circuit(2, BELL, [0], clbits=1)),
    ("measurement scope", "Prepare a Bell state and measure it", circuit(2, BELL),
     "Prepare a Bell state without measuring", statevector(2, BELL)),
    ("basis", "Measure a qubit in superposition in the Z basis", circuit(1, "qc.h(0)\n"),
     "Measure a qubit in superposition in the X basis", circuit(1, "qc.h(0)\nqc.h(0)\n")),
    ("basis", "Measure the GHZ state on 3 qubits", circuit(3, GHZ3),
     "Measure the GHZ state on 3 qubits in the X basis", circuit(3, GHZ3 + "qc.h(range(3))\n")),
    ("state name", "Prepare the Bell state Phi+", circuit(2, BELL),
     "Prepare the Bell state Psi+", circuit(2, BELL + "qc.x(1)\n")),
    ("state name", "Prepare the Bell state Phi+", circuit(2, BELL),
     "Prepare the Bell state Phi-", circuit(2, BELL + "qc.z(0)\n")),
    ("state name", "Prepare the Bell state Psi+", circuit(2, BELL + "qc.x(1)\n"),
     "Prepare the Bell state Psi-", circuit(2, BELL + "qc.x(1)\nqc.z(0)\n")),
    ("state name", "Prepare the plus state on one qubit", circuit(1, "qc.h(0)\n"),
     "Prepare the minus state on one qubit", circuit(1, "qc.x(0)\nqc.h(0)\n")),
    ("state name", "Prepare a W state on 3 qubits", SCRIPTED, "Prepare a GHZ state on 3 qubits", circuit(3, GHZ3)),
    ("oracle", "Run Deutsch-Jozsa with a constant oracle on 3 qubits", SCRIPTED,
     "Run Deutsch-Jozsa with a balanced oracle on 3 qubits", SCRIPTED),
    ("oracle", "Find the secret string 101 with Bernstein-Vazirani", SCRIPTED,
     "Find the secret string 101 with Simon's algorithm",
     circuit(6, "qc.h(range(3))\nqc.cx(0, 3)\nqc.cx(2, 5)\nqc.h(range(3))\n", [0, 1, 2])),
    ("entanglement", "Prepare 2 entangled qubits in superposition", circuit(2, BELL),
     "Prepare 2 unentangled qubits in superposition", circuit(2, "qc.h(0)\nqc.h(1)\n")),
    ("entanglement", "Prepare 3 qubits in an entangled superposition", circuit(3, GHZ3),
     "Prepare 3 qubits in a separable superposition", circuit(3, "qc.h(range(3))\n")),
    ("bit order", "Prepare the basis state 110 in little-endian order", circuit(3, "qc.x([1, 2])\n"),
     "Prepare the basis state 110 in big-endian order", circuit(3, "qc.x([0, 1])\n")),
    ("bit order", "Prepare the basis state 011", circuit(3, "qc.x([0, 1])\n"),
     "Prepare the basis state 011 and reverse the bit order", circuit(3, "qc.x([1, 2])\n")),
    ("extra step", "Apply the QFT to 3 qubits", circuit(3, QFT + "qc.append(QFTGate(3), range(3))\n"),
     "Apply the QFT to 3 qubits without the final swaps",
     circuit(3, "from qiskit.synthesis import synth_qft_full\nqc.compose(synth_qft_full(3, do_swaps=False), "
                "inplace=True)\n")),
    ("extra step", "Prepare a uniform superposition on 3 qubits", circuit(3, "qc.h(range(3))\n"),
     "Prepare a uniform superposition on 3 qubits and apply a Z to each",
     circuit(3, "qc.h(range(3))\nqc.z(range(3))\n")),
    ("extra step", "Prepare a Bell state", circuit(2, BELL),
     "Prepare a Bell state and flip qubit 0", circuit(2, BELL + "qc.x(0)\n")),
    ("extra step", "Prepare the state |1> and apply a Hadamard", circuit(1, "qc.x(0)\nqc.h(0)\n"),
     "Prepare the state |0> and apply a Hadamard", circuit(1, "qc.h(0)\n")),
    # issue #24: the identity in an operator label, measuring, composing
    ("identity", "What is the expectation value of X⊗X for a Bell pair?", expectation("XX"),
     "What is the expectation value of X⊗I for a Bell pair?", expectation("XI")),
    ("identity", "Estimate ZZ on the Bell state", expectation("ZZ"), "Estimate IZ on the Bell state", expectation("IZ")),
    ("identity", "Apply X to qubit 0 and X to qubit 1", circuit(2, "qc.x(0)\nqc.x(1)\n"),
     "Apply I to qubit 0 and X to qubit 1", circuit(2, "qc.id(0)\nqc.x(1)\n")),
    ("measurement", "Build a 3-qubit GHZ circuit and print its depth", printed(3, GHZ3, False, "qc.depth()"),
     "Build a 3-qubit GHZ circuit with measurements and print its depth", printed(3, GHZ3, True, "qc.depth()")),
    ("measurement", "Export a Bell circuit as OpenQASM 2", printed(2, BELL, False, "qasm2.dumps(qc)"),
     "Export a measured Bell circuit as OpenQASM 2", printed(2, BELL, True, "qasm2.dumps(qc)")),
    ("measurement", "Prepare a Bell state and measure all", circuit(2, BELL),
     "Prepare a Bell state", statevector(2, BELL)),
    ("composition", "Apply the inverse of T then S to a qubit in superposition",
     circuit(1, "qc.h(0)\nqc.tdg(0)\nqc.s(0)\n"),
     "Apply T then the inverse of S to a qubit in superposition", circuit(1, "qc.h(0)\nqc.t(0)\nqc.sdg(0)\n")),
    ("composition", "Put 2 qubits into a Bell state", circuit(2, BELL),
     "Put 2 qubits into a Bell state and back", circuit(2, BELL + "qc.cx(0, 1)\nqc.h(0)\n")),
    ("composition", "Apply the QFT to 3 qubits followed by its inverse",
     circuit(3, QFT + "qc.append(QFTGate(3), range(3))\nqc.append(QFTGate(3).inverse(), range(3))\n"),
     "Apply the inverse QFT to 3 qubits", circuit(3, QFT + "qc.append(QFTGate(3).inverse(), range(3))\n")),
]

# (a, its program, paraphrases of a that change only filler)
PARAPHRASES = [
    ("Prepare a Bell state", circuit(2, BELL),
     ["Please prepare a Bell state", "Can you build a Bell state?", "Create the Bell state circuit",
      "Make a Bell state in Qiskit", "Please help me with this. Prepare a Bell state", "Build me a Bell state"]),
    ("Apply a Hadamard to each of 4 qubits and measure", circuit(4, "qc.h(range(4))\n"),
     ["Please apply a Hadamard to each of the 4 qubits and measure them",
      "Quick task: apply a Hadamard to each of 4 qubits and measure", "Please apply a Hadamard to all 4 qubits and measure",
      "Apply Hadamards to each of 4 qubits and measure", "Could you apply a Hadamard to each of 4 qubits and measure?"]),
    ("Prepare the Bell state Psi+", circuit(2, BELL + "qc.x(1)\n"),
     ["Could you prepare the Bell state Psi+?", "Prepare the Psi+ Bell state", "Create the Bell state Psi+ for me",
      "Build a Psi+ Bell state circuit"]),
    ("Prepare a GHZ state on 4 qubits and measure it", circuit(4, GHZ4),
     ["Hi! Create a GHZ state on 4 qubits and measure it", "Make the GHZ state on 4 qubits and measure it. Thanks!",
      "Can you prepare a GHZ state with 4 qubits and measure it?",
      "Please build a GHZ state on four qubits and measure it"]),
    ("Flip the first qubit of a 3-qubit register", circuit(3, "qc.x(0)\n"),
     ["Please flip the first qubit of a 3-qubit register", "Flip the first qubit in a register of 3 qubits",
      "Can you flip the first qubit of a 3-qubit register?"]),
]
STARTER_REQUESTS = [  # ordinary requests to the starter skills, none of them one of its phrases
    "Create a Bell state", "Make a Bell pair", "Create a GHZ state with 5 qubits", "Make a GHZ state on 7 qubits",
    "Prepare a W state on 5 qubits", "Put 3 qubits in an equal superposition", "Prepare the basis state |0011>",
    "Run Grover search for the marked state 11", "Find the secret string 110 with Bernstein-Vazirani",
    "Run Deutsch-Jozsa with a constant oracle on 5 qubits", "Run Deutsch-Jozsa with a balanced oracle on 2 qubits",
    "Teleport |0> from Alice to Bob", "Build a VQE ansatz on 3 qubits with 1 rep",
    "QAOA MaxCut on a 4-node ring with one layer", "Apply the QFT to |110> and then the inverse QFT",
]
ORDER = [  # the same words in another order: the gate order and the slots' order tell them apart
    ("Apply X then H to one qubit", circuit(1, "qc.x(0)\nqc.h(0)\n"),
     "Apply H then X to one qubit", circuit(1, "qc.h(0)\nqc.x(0)\n")),
    ("Apply a CNOT with qubit 0 controlling qubit 1 after an X on qubit 0", circuit(2, "qc.x(0)\nqc.cx(0, 1)\n"),
     "Apply a CNOT with qubit 1 controlling qubit 0 after an X on qubit 0", circuit(2, "qc.x(0)\nqc.cx(1, 0)\n")),
    ("Run one QAOA layer on a qubit with gamma = 0.7 and beta = 0.2", layer(0.7, 0.2),  # named values bind by name
     "Run one QAOA layer on a qubit with beta = 0.7 and gamma = 0.2", layer(0.2, 0.7)),
    ("Run one QAOA layer on a qubit with gamma = 0.7 and beta = 0.2", layer(0.7, 0.2),
     "Run one QAOA layer on a qubit with beta = 0.2 and gamma = 0.7", layer(0.7, 0.2)),
]

WORD_RULE = ("the verified requests never say", "every verified request says more")


def stopped_by(why: dict) -> str:
    """What kept the dispatcher from replaying the nearest trace, read from its reason."""
    reason = why.get("reason", "")
    if "fallback" in why:
        return "(replayed)"
    if any(w in reason for w in WORD_RULE):
        return "word rule"
    if "terms" in reason:
        return "domain terms"
    if "no replay because" in reason:
        return "slots"
    if "< " in reason or "LEARNER" in reason or "similarity" in reason:
        return "similarity"
    return reason[:40]


def word_difference(a: str, b: str) -> str:
    """The content words one request says and the other does not: what the word rule sees between them."""
    wa, wb = content_words(normalize(a).key), content_words(normalize(b).key)
    only = [f"+{wb[s]}" for s in sorted(wb.keys() - wa.keys())] + [f"−{wa[s]}" for s in sorted(wa.keys() - wb.keys())]
    return " ".join(only) or "(same words)"


def replayed(r) -> bool:
    """The dispatcher chose a replay, whether or not it then passed verification."""
    return r.mode in (Mode.FOLLOWER, Mode.CRYSTALLIZED) or "fallback" in r.why


class Bench:
    def __init__(self, server: ScriptedLLMServer, root: Path):
        self.server, self.root, self.programs, self.homes = server, root, {}, 0
        server.responder = self.answer

    def answer(self, req):
        code = self.programs.get(req.last_user_text().strip())
        if code is None:
            return qiskit_model.respond(req)
        return Reply(text=f"```python\n{code}```", input_tokens=200, output_tokens=80)

    def engine(self, starter: bool = False) -> LLMOS:
        self.homes += 1
        return LLMOS(provider="openai", base_url=self.server.openai_base_url, api_key="bench", max_retries=0,
                     home=self.root / f"home{self.homes}", starter_skills=starter)

    def learn_then_ask(self, a: str, a_code: str | None, b: str, b_code: str | None):
        self.programs.update({a: a_code, b: b_code})
        engine = self.engine()
        try:
            first = engine.run(a)
            second = engine.run(b)
        finally:
            engine.close()
        return first, second


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> None:
    started = time.time()
    with ScriptedLLMServer() as server, tempfile.TemporaryDirectory() as tmp:
        bench = Bench(server, Path(tmp))

        print(f"## Near misses: learn a, ask b ({len(PAIRS)} pairs, both directions)\n")
        print("| kind | learned | asked | learned ok | mode | score | replay | stopped by | words asked +/− |")
        print("|---|---|---|:-:|---|---:|:-:|---|---|")
        wrong = cases = unlearned = caught_by_words = 0
        stops: dict[str, int] = {}
        for kind, a, a_code, b, b_code in PAIRS:
            for learned, learned_code, asked, asked_code in ((a, a_code, b, b_code), (b, b_code, a, a_code)):
                first, second = bench.learn_then_ask(learned, learned_code, asked, asked_code)
                ok = bool(first.verified and first.trace_id)
                cases += 1
                unlearned += not ok
                bad = ok and replayed(second)
                wrong += bad
                stop = stopped_by(second.why)
                if ok:
                    stops[stop] = stops.get(stop, 0) + 1
                    caught_by_words += word_difference(learned, asked) != "(same words)"
                score = second.why.get("score")
                print(f"| {kind} | {cell(learned)} | {cell(asked)} | {'yes' if ok else 'no'} | {second.mode} | "
                      f"{'' if score is None else f'{score:.3f}'} | {'**WRONG**' if bad else 'no'} | {stop} | "
                      f"{cell(word_difference(learned, asked))} |")
        counted = cases - unlearned
        print(f"\n**{wrong} wrong replays in {counted} cases** ({unlearned} of {cases} could not be learned and "
              f"are not counted). Stopped by: " + ", ".join(f"{k} {v}" for k, v in sorted(stops.items()))
              + f"; the words differ in {caught_by_words} of {counted}, so the word rule alone would stop those "
              "at any similarity.\n")

        print("## Plain paraphrases (filler-only changes) and ordinary starter-skill requests\n")
        print("| memory | learned | asked | mode | score | replay | stopped by | words asked +/− |")
        print("|---|---|---|---|---:|:-:|---|---|")
        total = hits = by_words = 0
        for a, a_code, paraphrases in PARAPHRASES:
            for p in paraphrases:
                first, second = bench.learn_then_ask(a, a_code, p, None)
                total += 1
                hit = replayed(second)
                hits += hit
                stop = "" if hit else stopped_by(second.why)
                by_words += stop == "word rule"
                print(f"| learned | {cell(a)} | {cell(p)} | {second.mode} | {second.why.get('score', 0):.3f} | "
                      f"{'yes' if hit else 'no'} | {stop} | {cell(word_difference(a, p))} |")
        starter = bench.engine(starter=True)
        try:
            for text in STARTER_REQUESTS:
                r = starter.run(text)
                total += 1
                hit = replayed(r)
                hits += hit
                stop = "" if hit else stopped_by(r.why)
                by_words += stop == "word rule"
                print(f"| starter | | {cell(text)} | {r.mode} | {r.why.get('score', 0):.3f} | "
                      f"{'yes' if hit else 'no'} | {stop} | |")
        finally:
            starter.close()
        print(f"\n**{hits} of {total} replay**; the word rule turned away {by_words}.\n")

        print("## The same words in another order\n")
        print("A replay is right only when the program it ran is the asked one (named values rebound by name).\n")
        print("| learned | asked | mode | score | replay |")
        print("|---|---|---|---:|:-:|")
        for a, a_code, b, b_code in ORDER:
            _, second = bench.learn_then_ask(a, a_code, b, b_code)
            right = (second.code or "").strip() == b_code.strip()
            verdict = ("yes (right program)" if right else "yes (**wrong**)") if replayed(second) else "no"
            print(f"| {cell(a)} | {cell(b)} | {second.mode} | {second.why.get('score', 0):.3f} | {verdict} |")
    print(f"\n{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
