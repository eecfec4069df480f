"""Typed symbols in a request, found before it is split into words: an operator label or a named value is
one slot with a value, never a run of words ('X⊗I' is not 'x' and the pronoun 'I').

    Pauli strings and tensor products   'XI', 'ZZI', 'X⊗I', 'X ⊗ Z', 'X \\otimes I', 'X tensor I' -> pauli 'XI'
    bras                                '<01|', '⟨ψ|'                                             -> bra '01'
    angles with units                   'π/2', '3pi/4', '90°', '45 degrees', '0.5 rad'            -> angle (radians)
    named parameters                    'theta=0.3', 'β = 0.2', 'gamma: 0.7', 'θ = π/4'            -> <name> value
    qubit lists and ranges              'qubits 0, 2 and 3', 'qubits [1, 2]', 'qubits 0-3'        -> qubitlist '0,1,2,3'

A named value's slot kind is its name, so it binds to the program's placeholder of that name whatever
order the request says the values in. Kets stay with normalize's tokenizer.
"""
from __future__ import annotations

import keyword
import math
import re

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
          "θ": "theta", "ϑ": "theta", "κ": "kappa", "λ": "lam", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho",
          "σ": "sigma", "τ": "tau", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega"}
_GREEK_NAMES = set(_GREEK.values()) | {"lambda"}
# Slot kinds normalize already gives a meaning to: a name that is one of them is left to normalize.
RESERVED = {"qubits", "qubit", "shots", "shot", "bits", "ket", "bra", "pauli", "angle", "qubitlist", "number",
            "backend", "times", "samples", "slot"}

_NUM = r"[-+−]?\d+(?:\.\d+)?"
_ANGLE = (rf"(?:{_NUM}\s*\*?\s*)?(?:π|(?<![A-Za-z])pi(?![A-Za-z]))(?:\s*/\s*\d+(?:\.\d+)?)?"  # π/2, 3π/4, 2*pi, pi
          rf"|{_NUM}\s*(?:°|\bdeg(?:rees?)?\b)"  # 90°, 45 degrees
          rf"|{_NUM}\s*\brad(?:ians?)?\b")  # 0.5 rad
_GREEK_WORD = "|".join(sorted(_GREEK_NAMES, key=len, reverse=True))
_NAMED = re.compile(
    rf"(?<![\w.])(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"  # any identifier with '='
    rf"|(?P<greek>[{''.join(_GREEK)}]|\b(?:{_GREEK_WORD})\b)\s*(?:=|:|\bof\b|\bis\b|\bset to\b|\bequal to\b)?\s*)"
    rf"(?P<value>{_ANGLE}|{_NUM})(?!\w)(?!\.\d)", re.IGNORECASE)
_UNIT_AFTER = re.compile(r"\s*-?\s*(?:qubits?|shots?|times|samples|layers?|reps?)\b", re.IGNORECASE)
_SEP = r"(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)"
_QUBIT_LIST = re.compile(rf"(?:(?<=\bqubits)|(?<=\bqubit))\s*\[?\s*(?P<list>\d+(?:{_SEP}\d+)+)\s*\]?(?!\w)(?!\.\d)"
                         rf"|(?:(?<=\bqubits)|(?<=\bqubit))\s*\[?\s*(?P<lo>\d+)\s*(?:-|–|\.\.|:|\bto\b|\bthrough\b)\s*(?P<hi>\d+)"
                         rf"\s*\]?(?!\w)(?!\.\d)", re.IGNORECASE)
_PAULI = re.compile(r"(?<![A-Za-z0-9_])(?:[IXYZ](?:\s*(?:⊗|\\otimes|\btensor\b|\bkron\b)\s*[IXYZ])+|[IXYZ]{2,})"
                    r"(?![A-Za-z0-9_])")  # upper case: 'xx' and 'iz' in prose are words
_PAULI_TENSOR = re.compile(r"(?<![A-Za-z0-9_])[ixyz](?:\s*(?:⊗|\\otimes)\s*[ixyz])+(?![A-Za-z0-9_])")
_BRA = re.compile(r"[<⟨](?P<label>[^|<>⟨⟩\s]{1,64})\|")
_ANGLE_ALONE = re.compile(rf"(?<![\w.])(?:{_ANGLE})(?!\w)(?!\.\d)", re.IGNORECASE)

# The pronoun 'I' is followed by a verb of asking or wanting, or follows an auxiliary ('how do I'); any
# other capital 'I' standing alone is the identity, which is content. When unsure: identity.
_AFTER_PRONOUN = set("""' ’ want need would will am have had like wish can could should must think was do did don
    also just really prepare create make build generate construct produce write implement run get use apply
    measure see know understand tried try""".split())
_BEFORE_PRONOUN = {"do", "does", "did", "can", "could", "should", "would", "shall", "may", "might", "will", "must",
                   "am", "where", "how", "what", "when", "why", "if", "that", "so"}


def _angle(text: str) -> float | None:
    """Radians for an angle with a unit ('π/2', '90°', '0.5 rad'), None for a bare number."""
    t = text.lower().replace("−", "-").replace(" ", "").replace("*", "")
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)?(?:π|pi)(?:/(\d+(?:\.\d+)?))?", t)
    if m:
        factor = float(m.group(1)) if m.group(1) not in (None, "+", "-") else (-1.0 if m.group(1) == "-" else 1.0)
        value = factor * math.pi / (float(m.group(2)) if m.group(2) else 1.0)
    elif m := re.fullmatch(r"([-+]?\d+(?:\.\d+)?)(?:°|deg|degree|degrees)", t):
        value = math.radians(float(m.group(1)))
    elif m := re.fullmatch(r"([-+]?\d+(?:\.\d+)?)(?:rad|radian|radians)", t):
        value = float(m.group(1))
    else:
        return None
    return round(value, 12)


def _number(text: str) -> float | int:
    t = text.replace("−", "-")
    return float(t) if "." in t else int(t)


def _name(raw: str) -> str | None:
    """The slot kind for a parameter's name: letters only (placeholders are SLOT_<letters>_<i>), Greek
    letters spelled out, never a Python keyword or a kind normalize owns."""
    name = _GREEK.get(raw, raw).lower()
    name = "lam" if name == "lambda" else name
    if not name.isascii() or not re.fullmatch(r"[a-z]+", name) or keyword.iskeyword(name) or name in RESERVED:
        return None
    return name


def typed_symbols(text: str) -> list[tuple[int, int, str, object]]:
    """(start, end, kind, value) for every typed symbol in `text`, in order, none overlapping."""
    found: list[tuple[int, int, str, object]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in found)

    for m in _NAMED.finditer(text):
        name = _name(m.group("name") or m.group("greek"))
        if name is None or _UNIT_AFTER.match(text, m.end()):
            continue
        value = _angle(m.group("value"))
        found.append((m.start(), m.end(), name, value if value is not None else _number(m.group("value"))))
    for m in _QUBIT_LIST.finditer(text):
        if _UNIT_AFTER.match(text, m.end()):
            continue
        if m.group("list"):
            qubits = [int(q) for q in re.findall(r"\d+", m.group("list"))]
        else:
            lo, hi = int(m.group("lo")), int(m.group("hi"))
            if hi < lo or hi - lo > 4096:
                continue
            qubits = list(range(lo, hi + 1))
        start = m.start("list") if m.group("list") else m.start("lo")
        if free(start, m.end()):
            found.append((start, m.end(), "qubitlist", ",".join(map(str, qubits))))
    for pattern in (_PAULI, _PAULI_TENSOR):
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                label = re.sub(r"\\otimes|tensor|kron|[⊗\s]", "", m.group(0)).upper()
                found.append((m.start(), m.end(), "pauli", label))
    for m in _BRA.finditer(text):
        if free(m.start(), m.end()):
            found.append((m.start(), m.end(), "bra", m.group("label")))
    for m in _ANGLE_ALONE.finditer(text):
        value = _angle(m.group(0))
        if value is not None and free(m.start(), m.end()):
            found.append((m.start(), m.end(), "angle", value))
    return sorted(found)


def identity_or_pronoun(lowered: list[str], i: int) -> str:
    """'i' for the pronoun, 'identity' for the operator, for a capital 'I' standing alone at token i."""
    after = lowered[i + 1] if i + 1 < len(lowered) else ""
    before = lowered[i - 1] if i else ""
    return "i" if after in _AFTER_PRONOUN or before in _BEFORE_PRONOUN else "identity"
