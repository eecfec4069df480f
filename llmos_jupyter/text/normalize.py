"""Turn a request into a template with typed slots, so parameter changes are never mistaken for repeats.

'Create a GHZ state with five qubits, 2,048 shots' ->
    template 'create a ghz state with <qubits> qubits, <shots> shots'
    slots    [qubits=5, shots=2048]

Embeddings are taken of the template, so 'GHZ with 3 qubits' and 'GHZ with 5 qubits' match
perfectly and the slot values decide what is replayed. Domain terms (gates, algorithms,
noise) are kept apart: a replay needs the same terms, so 'Bell state' never answers
'Bell state with depolarizing noise'.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .symbols import identity_or_pronoun, typed_symbols
from .words import drop_empty_sentences

UNITS = {
    "shot": "shots", "shots": "shots", "times": "shots", "samples": "shots",
    "qubit": "qubits", "qubits": "qubits",
}
UNIT_ADJECTIVES = {"input", "data", "logical", "physical", "system", "register", "working"}  # 'three input qubits'
COUNTED = {"layer", "layers", "rep", "reps", "repetition", "repetitions", "iteration", "iterations", "node",
           "nodes", "round", "rounds", "step", "steps", "qubit", "qubits", "shot", "shots", "time", "times"}
BIT_CUES = {"state", "marked", "string", "secret", "bitstring", "target", "outcome", "pattern", "item", "input",
            "basis", "oracle", "element"}
BACKENDS = ("extended_stabilizer", "matrix_product_state", "density_matrix", "statevector", "stabilizer",
            "unitary", "superop")
SYNONYMS = [  # applied to the template before embedding; the canonical form comes second
    (r"\bepr[\s-]*pairs?\b", "bell state"),
    (r"\bbell[\s-]*pairs?\b", "bell state"),
    (r"\bcat[\s-]*states?\b", "ghz state"),
    (r"\bgreenberger[\s–-]*horne[\s–-]*zeilinger\b", "ghz"),
    (r"\bequal superposition\b", "uniform superposition"),
    (r"\bquantum fourier transform\b", "qft"),
    (r"\bbv\b", "bernstein-vazirani"),
    (r"\bdj\b", "deutsch-jozsa"),
    # a two-name algorithm is one term however its names are joined
    (r"\bbernstein[\s–-]+vazirani\b", "bernstein-vazirani"),
    (r"\bdeutsch[\s–-]+jozsa\b", "deutsch-jozsa"),
    (r"\bmax[\s-]*cut\b", "maxcut"),
    (r"\bteleportation\b", "teleport"),
    (r"\bteleports?\b", "teleport"),
    (r"\b(constant|balanced) functions?\b", r"\1 oracle"),
]
# Applied to the match key only: wording that changes no circuit. Articles, the verb that asks
# for a circuit ('create', 'build', 'run'), and where the qubit count sits in the sentence.
# KEY_VERSION changes with them, so homes keyed the old way are re-keyed (TraceStore).
KEY_VERSION = 5
KEY_REWRITES = [
    (r"\bbernstein\s+vazirani\b", "bernstein-vazirani"),
    (r"\bdeutsch\s+jozsa\b", "deutsch-jozsa"),
    (r"\b(?:a|an|the)\b", " "),
    (r"\b(?:create|make|build|prepare|generate|construct|initiali[sz]e|produce|set up|put)\b", "prepare"),
    (r"^(?:run|show|perform|execute|implement|demonstrate|do)\b", " "),
    (r"\balgorithm\b", " "),
    # the plural first: 'on one qubit' and the stored 'on <qubits> qubits' must key alike (#24: an exact repeat
    # of a one-qubit request missed its own trace)
    (r"<qubits>[- ]qubit\b", "<qubits> qubits"),
    (r"\b(?:on|with|over|for|using|across|of|in|and)\s+(<qubits>\s+(?:input\s+)?qubits)\b", r"\1"),
]
DOMAIN_TERMS = {
    "bell", "ghz", "w", "superposition", "uniform", "basis", "qft", "inverse", "grover", "bernstein-vazirani",
    "bernstein", "vazirani", "deutsch-jozsa", "deutsch", "jozsa", "teleport", "vqe", "ansatz", "qaoa", "maxcut",
    "noise", "noisy", "depolarizing", "depolarising", "damping", "amplitude", "dephasing", "readout", "phase",
    "flip", "error", "correction", "swap", "toffoli", "ccx", "cnot", "cx", "cz", "controlled", "rotation", "rx",
    "ry", "rz", "hadamard", "t", "s", "sdg", "tdg", "x-basis", "y-basis", "z-basis", "random", "clifford",
    "transpile", "optimization", "statevector", "density", "unitary", "expectation", "estimator", "sampler",
    "parameterized", "parametrized", "realamplitudes", "efficientsu2", "twolocal", "hamiltonian", "pauli",
    "entropy", "fidelity", "tomography", "mitigation", "dynamic", "mid-circuit", "reset", "barrier", "plot",
    "histogram", "draw", "depth", "balanced", "constant", "marked", "oracle", "ising", "h2", "lih", "qpe",
    "estimation", "shor", "simon", "half", "adder", "comparator", "walk", "swap-test", "magic",
}
_SHOTS_PHRASE = re.compile(
    r"[,;]?\s*(?:\b(?:and|with|using|for|over|in|at)\s+)?(?:\b(?:run|measure|sample)\s+(?:it\s+)?)?"
    r"<shots>(?:-|\s+)(?:shots?|times|samples)\b|[,;]?\s*\bshots\s*[=:]\s*<shots>")
# Words that say nothing about which circuit is meant. Measuring is not one of them: a circuit with
# measurements is another program than one without (its depth, its QASM, its result).
_FILLER = re.compile(r"\b(?:please|circuits?|(?:(?:in|with|using) )?(?:qiskit|python)|programs?|code|for me"
                     r"|in a notebook)\b")
_ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = set(_ONES) | set(_TENS) | set(_SCALES) | {"a", "and"}

_TOKEN = re.compile(
    r"\|[^|<>⟨⟩\s]{1,64}[>⟩]"  # a ket: |101>, |+>, |psi+⟩
    r"|\d[\d,_]*(?:\.\d+)?k?\b"  # a number: 5, 2,048, 0.25, 4k
    r"|[a-z][a-z_]*(?:-[a-z_]+)*"  # a word, hyphenated words kept whole
    r"|\S",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Slot:
    kind: str  # qubits | shots | bits | ket | bra | pauli | angle | qubitlist | number | backend | a parameter's name
    value: object
    text: str  # as written

    @property
    def marker(self) -> str:
        return f"<{self.kind}>"


@dataclass(frozen=True)
class Normalized:
    text: str  # the request as given
    template: str  # slots replaced by markers, lower case, synonyms canonical
    slots: tuple[Slot, ...] = field(default_factory=tuple)
    terms: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """What is embedded and matched: the template without its shot-count phrase, which says
        nothing about the circuit ('... and run <shots> shots')."""
        key = _FILLER.sub(" ", _SHOTS_PHRASE.sub(_keep_measuring, self.template))
        return rekey(re.sub(r"\s+", " ", key).strip(" ,.;")) or self.template

    def values(self, kind: str) -> list[object]:
        return [s.value for s in self.slots if s.kind == kind]

    def first(self, kind: str, default: object = None) -> object:
        values = self.values(kind)
        return values[0] if values else default

    @property
    def signature(self) -> tuple[str, ...]:
        """The slot kinds in order: two requests can share a trace only if these agree."""
        return tuple(s.kind for s in self.slots)


def _keep_measuring(match: re.Match) -> str:
    """A shot-count phrase goes, but a 'measure' in it stays: it says the circuit has measurements."""
    return " measure" if re.search(r"\bmeasure\b", match.group(0)) else ""


def rekey(key: str) -> str:
    """A match key with KEY_REWRITES applied and the sentences that name nothing dropped ('please help me
    with this.'); idempotent, so an old home's keys can be brought up to date."""
    for pattern, replacement in KEY_REWRITES:
        key = re.sub(pattern, replacement, key.strip())
    return drop_empty_sentences(re.sub(r"\s+", " ", key).strip(" ,.;"))


def _number(text: str) -> float | int | None:
    t = text.lower().replace(",", "").replace("_", "")
    scale = 1000 if t.endswith("k") else 1
    t = t.rstrip("k")
    try:
        value = float(t) * scale
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in t else value


def _words_to_number(words: list[str]) -> int | None:
    """'two thousand forty eight' -> 2048; None if the words do not form a number."""
    total, current, seen = 0, 0, False
    for w in words:
        if w in ("and",):
            continue
        if w == "a":
            current = max(current, 1)
            continue
        if w in _ONES:
            current += _ONES[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES:
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0
        else:
            return None
        seen = True
    return total + current if seen else None


def normalize(text: str) -> Normalized:
    # A dash with space on both sides, or a list bullet, separates words; only a dash inside a word hyphenates.
    original, text = text, re.sub(r"(?:(?<=\s)|^)[-–—](?=\s)", ",", text)  # same length: slot spans hold
    # 'three-qubit': split a number word from its unit so the pair reads like '3-qubit'.
    words = "|".join(sorted(set(_ONES) | set(_TENS), key=len, reverse=True))
    text = re.sub(r"\b(" + words + r")-(?!(?:" + words + r")\b)(?=[a-z])", r"\1 -", text, flags=re.IGNORECASE)
    tokens, typed = _tokens(text)
    lowered = [t.lower() for t, _, _ in tokens]
    out: list[str] = []
    slots: list[Slot] = []
    i = 0
    while i < len(tokens):
        raw, low = tokens[i][0], lowered[i]
        if i in typed:  # a symbol typed before the words were split: one slot, whatever its letters
            slots.append(Slot(typed[i][0], typed[i][1], raw))
            out.append(f"<{typed[i][0]}>")
            i += 1
            continue
        if raw == "I":
            out.append(identity_or_pronoun(lowered, i))
            i += 1
            continue
        # a run of number words ("two thousand and forty-eight", "five")
        if all(p in _NUMBER_WORDS for p in low.split("-")) and low not in ("a", "and"):
            j = i
            parts: list[str] = []
            while j < len(tokens) and (lowered[j] in _NUMBER_WORDS or "-" in lowered[j] and
                                       all(p in _NUMBER_WORDS for p in lowered[j].split("-"))):
                parts.extend(lowered[j].split("-"))
                j += 1
            while parts and parts[-1] in ("a", "and"):
                parts.pop()
                j -= 1
            value = _words_to_number(parts)
            if value is not None:
                kind = _kind_after(lowered, j)
                counted = j < len(lowered) and lowered[j] in COUNTED
                if kind is not None or value > 1 or counted:  # 'one' and 'a' alone are usually articles
                    text_span = text[tokens[i][1]:tokens[j - 1][2]]
                    slots.append(Slot(kind or "number", value, text_span))
                    out.append(f"<{kind or 'number'}>")
                    i = j
                    continue
        if raw.startswith("|") and raw[-1] in ">⟩":
            label = raw[1:-1]
            kind = "bits" if re.fullmatch(r"[01]+", label) else "ket"
            slots.append(Slot(kind, label, raw))
            out.append(f"<{kind}>")
        elif raw[0].isdigit():
            kind = _kind_after(lowered, i + 1)
            previous = lowered[i - 1] if i else ""
            if kind is None and (previous == "shots" or previous in ("=", ":") and i > 1
                                 and lowered[i - 2] == "shots"):
                kind = "shots"
            before = set(lowered[max(0, i - 2):i])
            binary = re.fullmatch(r"[01]{2,}", low) is not None
            if binary and kind is None and (before & BIT_CUES or low.startswith("0")
                                            or not _unit_like(lowered, i + 1)):
                slots.append(Slot("bits", low, raw))
                out.append("<bits>")
            else:
                value = _number(raw)
                slots.append(Slot(kind or "number", value, raw))
                out.append(f"<{kind or 'number'}>")
        elif low in BACKENDS or low.startswith("fake_") or low.startswith("ibm_"):
            slots.append(Slot("backend", low, raw))
            out.append("<backend>")
        else:
            out.append(low)
        i += 1
    template = _canonical(" ".join(out))
    return Normalized(original, template, tuple(slots), terms_of(template))


def _tokens(text: str) -> tuple[list[tuple[str, int, int]], dict[int, tuple[str, object]]]:
    """(token, start, end) for the request, typed symbols (symbols.py) as one token each, and
    token index -> (kind, value) for those."""
    tokens: list[tuple[str, int, int]] = []
    typed: dict[int, tuple[str, object]] = {}
    at = 0
    for start, end, kind, value in [*typed_symbols(text), (len(text), len(text), "", None)]:
        tokens.extend((m.group(0), at + m.start(), at + m.end()) for m in _TOKEN.finditer(text[at:start]))
        if kind:
            typed[len(tokens)] = (kind, value)
            tokens.append((text[start:end], start, end))
        at = end
    return tokens, typed


def terms_of(template: str) -> frozenset[str]:
    """The domain terms a template names: two requests replay each other only when these agree."""
    return frozenset(t for t in map(_term, re.findall(r"[a-z0-9][a-z0-9-]*", template)) if t)


def _term(word: str) -> str | None:
    """The domain term a word names, plurals included ('hadamards' is 'hadamard')."""
    if word in DOMAIN_TERMS:
        return word
    return word[:-1] if word.endswith("s") and word[:-1] in DOMAIN_TERMS else None


def _kind_after(lowered: list[str], j: int) -> str | None:
    """The unit word after a number ('5 qubits', '5-qubit', '1024 shots')."""
    if j < len(lowered) and lowered[j] == "-":
        j += 1
    if j < len(lowered) and lowered[j] in UNIT_ADJECTIVES:
        j += 1
    if j < len(lowered) and lowered[j] in UNITS:
        return UNITS[lowered[j]]
    return None


def _unit_like(lowered: list[str], j: int) -> bool:
    """Whether the word after a number counts something ('100 iterations', '3-node'), which makes
    a binary-looking number a number and not a bitstring."""
    if j < len(lowered) and lowered[j] == "-":
        return True
    return j < len(lowered) and lowered[j].isalpha() and (lowered[j].endswith("s") or lowered[j] in UNITS)


def _canonical(template: str) -> str:
    t = re.sub(r"\s+([,.;:!?)])", r"\1", template)
    t = re.sub(r"\s*-\s*", "-", t)
    t = re.sub(r"([(])\s+", r"\1", t)
    for pattern, replacement in SYNONYMS:
        t = re.sub(pattern, replacement, t)
    return re.sub(r"\s+", " ", t).strip(" .!?")
