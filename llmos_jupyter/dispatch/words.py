"""The content words of a match key: what a request says beyond its slots and the wording that changes no program.

Embeddings blur single words: 'Hadamard on each of 4 qubits twice' sits next to 'Hadamard on each of
4 qubits', yet H·H is the identity. A replay therefore also compares words (Dispatcher.choose): a word
that no verified request of a trace ever said may change the program. Filler is chosen by the kind of
word, never by phrasing: function words, politeness and hedges, the verb that asks for a program,
generic nouns every request could carry, and measuring, which every program here does by default.
Words of scope, count and direction stay content ('only', 'first', 'not', 'twice', 'inverse', 'reversed'),
and so do signs ('phi +', 's †'). Words are lightly stemmed so 'qubits'/'qubit' and 'measuring'/'measure'
meet. Word order is seen in two places only: the gates a request names ('X then H' is not 'H then X',
`gate_order`), and a replay below the FOLLOWER threshold, which needs one verified request with the
same content words in the same order (`word_sequence`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

# Function words; 'one' is an article here, since normalize makes it a slot when it counts something.
_FUNCTION = """a an the one this that these those it its them they their there here me my i we us our you your
    of on in into onto to from for with by at over across using via through within upon as about
    and or then also plus so such is are be been being was were am will would shall should can could may
    might must do does did done what which how who where when whether if""".split()
_POLITE = "please kindly thanks thank hey hi hello just simply quickly now quick simple basic little let want " \
          "need like help try".split()  # politeness and hedges
_ASKING = "prepare create make build generate construct produce write run show perform execute implement " \
          "demonstrate simulate do give get apply use display print return".split()  # the verb that asks
_GENERIC = "circuit program code script snippet example notebook qiskit aer simulator simulation state algorithm " \
           "quantum qubit gate register operation result output count shot".split()  # nouns any request may carry
_MEASURING = "measure measurement sample".split()  # every program measures; what and how it measures is content
_EVERY = {"each", "every", "all", "both"}  # one quantifier: 'each of 4 qubits' is 'every qubit of 4 qubits'

# The gates a request may name, by stem, as one canonical name each: their order is the circuit's order.
_GATES = {"h": "h", "hadamard": "h", "x": "x", "y": "y", "z": "z", "s": "s", "t": "t", "sdg": "sdg", "tdg": "tdg",
          "cnot": "cx", "cx": "cx", "cz": "cz", "cy": "cy", "ch": "ch", "ccx": "ccx", "toffoli": "ccx", "swap": "swap",
          "iswap": "iswap", "cswap": "cswap", "fredkin": "cswap", "rx": "rx", "ry": "ry", "rz": "rz", "qft": "qft",
          "sx": "sx", "u": "u", "p": "p"}

_TOKEN = re.compile(r"<[a-z]+>|[a-z0-9][a-z0-9_]*(?:-[a-z0-9_]+)*|[^\sa-z0-9,.;:!?()\[\]{}\"'=<>]")


def _stem(word: str) -> str:
    """'qubits' -> 'qubit', 'measuring'/'measured'/'measure' -> 'measur', 'flipped' -> 'flip'."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffixes in ((("ies", "i"), ("s", "")), (("ied", "i"), ("ing", ""), ("ed", ""))):  # plural, then tense
        for suffix, replacement in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word[-2] in "su"):
                word = word[:-len(suffix)] + replacement
                if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in "aeious":
                    word = word[:-1]  # 'flipp' -> 'flip', 'controll' -> 'control'
                break
    if len(word) > 3 and word[-1] in "ey":
        word = word[:-1] + ("i" if word[-1] == "y" else "")
    return word


_FILLER = frozenset(_stem(w) for w in _FUNCTION + _POLITE + _ASKING + _GENERIC + _MEASURING)
_EVERY_STEM = _stem("every")


@lru_cache(maxsize=8192)
def content_words(key: str) -> Mapping[str, str]:
    """The content words of a match key (Normalized.key), stem -> the word as written; slot markers and
    filler are left out. Read-only: the answer is cached."""
    key = re.sub(r"\b[a-z]+\s*'\s*t\b", " not", key)  # "don ' t" -> "not"
    key = re.sub(r"\s*'\s*s\b", "", key)  # "grover ' s" -> "grover"
    words: dict[str, str] = {}
    for token in _TOKEN.findall(key):
        if token.startswith("<"):
            continue
        stem = _EVERY_STEM if token in _EVERY else _stem(token)
        if stem not in _FILLER:
            words.setdefault(stem, token)
    return MappingProxyType(words)


def word_sequence(key: str) -> tuple[str, ...]:
    """The content words of a match key as stems, in the order first said."""
    return tuple(content_words(key))


@lru_cache(maxsize=8192)
def gate_order(key: str) -> tuple[str, ...]:
    """The gates a match key names, canonical names in the order said, a repeat in a row said once:
    'apply x then a hadamard' -> ('x', 'h')."""
    order: list[str] = []
    for token in _TOKEN.findall(key):
        gate = _GATES.get(_stem(token))
        if gate and (not order or order[-1] != gate):
            order.append(gate)
    return tuple(order)
