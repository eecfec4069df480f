"""The content words of a match key: every word a request says beyond its slots and a small fixed set of
words that cannot name a part of a program.

Embeddings blur single words: 'Hadamard on each of 4 qubits twice' sits next to 'Hadamard on each of
4 qubits', yet H·H is the identity. A replay therefore also compares words (Dispatcher.choose). The rule
is an allowlist of what may be ignored, never a list of what matters: a word is content unless it is
one of the fixed words below (articles, politeness and the way of asking: 'please help me', 'can you',
'I need', the verb that asks for a program, the nouns that name the whole program: 'circuit', 'code').
Everything else counts, prepositions and conjunctions included: 'with measurements', 'then', 'after',
'of', 'back', 'twice', 'inverse' are how requests compose operations. A content word may still be left
out of one request for a trace, but only on evidence: when that trace's verified requests were said both
with and without it (the dispatcher checks this against the stored verified requests).

Two more things carry order. The gates a request names, in order ('X then H' is not 'H then X',
`gate_order`); and a request that composes (it says 'then', 'after', 'of', 'inverse'…, `composes`) must
say its content words in the order a verified request said them, since 'the inverse of the QFT then
Grover' and 'the QFT then the inverse of Grover' share every word.

A sentence that names nothing at all (only fixed words and the prepositions that tie them: 'Please help
me with this.', 'Quick task:', 'Thanks!') is dropped from the key before matching (`drop_empty_sentences`),
so a polite preamble neither lowers the similarity nor adds a word. Words are lightly stemmed so
'qubits'/'qubit' and 'measuring'/'measure' meet.
"""
from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

# The fixed set: words that cannot name a part of a program. Slots are typed in normalize, so a Pauli 'I'
# or an identity never reaches here as the pronoun ('X⊗I' is a slot; a bare identity 'I' is 'identity').
_ARTICLES = "a an the one".split()  # 'one' counts only when normalize makes it a slot ('one qubit')
_POLITE = "please kindly thanks thank cheers hey hi hello help quick task question request favor appreciate " \
          "grateful".split()
# The way of asking: who asks whom, and the modal or question around the verb.
_FRAME = """i me my myself we us our you your it its them this that these those can could would will shall may
    might must want need like wish is are am be was were do does did have has had how what here there""".split()
_ASKING = "prepare create make build generate construct produce write implement give get show demonstrate " \
          "perform execute run set up provide code".split()  # the verb that asks for a program
_WHOLE = "circuit program code script snippet qiskit python notebook quantum".split()  # the program as a whole

# Words that may sit in a sentence that names nothing ('Please help me with this.'), never counted as
# ignorable inside a sentence that does name something.
_TIES = "with in for on to at by as about below following so".split()

# Words that compose operations or say their order: a request saying one is matched in word order.
_COMPOSING = "then after before followed follow of back again undo inverse reverse " \
             "adjoint dagger next finally last first afterward afterwards once twice thrice".split()

_EVERY = {"each", "every", "all", "both"}  # one quantifier: 'each of 4 qubits' is 'every qubit of 4 qubits'

# The gates a request may name, by stem, as one canonical name each: their order is the circuit's order.
_GATES = {"h": "h", "hadamard": "h", "x": "x", "y": "y", "z": "z", "s": "s", "t": "t", "sdg": "sdg", "tdg": "tdg",
          "cnot": "cx", "cx": "cx", "cz": "cz", "cy": "cy", "ch": "ch", "ccx": "ccx", "toffoli": "ccx", "swap": "swap",
          "iswap": "iswap", "cswap": "cswap", "fredkin": "cswap", "rx": "rx", "ry": "ry", "rz": "rz", "qft": "qft",
          "sx": "sx", "u": "u", "p": "p", "identiti": "id"}

_TOKEN = re.compile(r"<[a-z]+>|[a-z0-9][a-z0-9_]*(?:-[a-z0-9_]+)*|[^\sa-z0-9,.;:!?()\[\]{}\"'=<>]")
_SENTENCE_END = re.compile(r"(?<=[.?!:;,])\s+|\n+")


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


IGNORABLE = frozenset(_stem(w) for w in _ARTICLES + _POLITE + _FRAME + _ASKING + _WHOLE)
_EMPTY_SENTENCE = IGNORABLE | frozenset(_stem(w) for w in _TIES)
COMPOSING = frozenset(_stem(w) for w in _COMPOSING)
_EVERY_STEM = _stem("every")


def _stems(text: str):
    """(stem, token) for each word of `text`, slot markers as themselves."""
    for token in _TOKEN.findall(text):
        if token.startswith("<"):
            yield token, token
        else:
            yield (_EVERY_STEM if token in _EVERY else _stem(token)), token


def _names_nothing(sentence: str) -> bool:
    return all(stem in _EMPTY_SENTENCE for stem, _ in _stems(sentence))


def drop_empty_sentences(key: str) -> str:
    """The key without leading and trailing sentences (or comma clauses) that name nothing: 'please help me
    with this. prepare bell state' -> 'prepare bell state'. A key that names nothing at all is kept whole."""
    parts = [p for p in _SENTENCE_END.split(key) if p.strip()]
    start, end = 0, len(parts)
    while start < end and _names_nothing(parts[start]):
        start += 1
    while end > start and _names_nothing(parts[end - 1]):
        end -= 1
    if start == end or (start == 0 and end == len(parts)):
        return key
    return " ".join(parts[start:end]).strip(" ,.;:")


def _content_stems(key: str):
    """(stem, token) for every content word of a match key, in order, repeats included."""
    key = re.sub(r"\b[a-z]+\s*'\s*t\b", " not", key)  # "don ' t" -> "not"
    key = re.sub(r"\s*'\s*s\b", "", key)  # "grover ' s" -> "grover"
    key = re.sub(r"\s*'\s*(?:d|m|ll|ve|re)\b", "", key)  # "i ' d like" -> "i like"
    for stem, token in _stems(key):
        if not token.startswith("<") and stem not in IGNORABLE:
            yield stem, token


@lru_cache(maxsize=8192)
def content_words(key: str) -> Mapping[str, str]:
    """The content words of a match key (Normalized.key), stem -> the word as written; slot markers and
    the fixed ignorable words are left out. Read-only: the answer is cached."""
    words: dict[str, str] = {}
    for stem, token in _content_stems(key):
        words.setdefault(stem, token)
    return MappingProxyType(words)


@lru_cache(maxsize=8192)
def word_sequence(key: str) -> tuple[str, ...]:
    """The content words of a match key as stems, in the order said, a word said again counted again:
    'H then X then X' is not 'H then X' (issue #24: a gate restated is a gate applied again)."""
    return tuple(stem for stem, _ in _content_stems(key))


def composes(key: str) -> bool:
    """Whether the request says a word that composes operations or orders them ('then', 'of', 'inverse')."""
    return not COMPOSING.isdisjoint(content_words(key))


@lru_cache(maxsize=8192)
def gate_order(key: str) -> tuple[str, ...]:
    """The gates a match key names, canonical names in the order said; a gate named again counts again
    ('z then z then h' -> ('z', 'z', 'h')) unless it is the very next word ('hadamard (h)' is one gate):
    'apply x then a hadamard' -> ('x', 'h')."""
    order: list[str] = []
    previous = None
    for token in _TOKEN.findall(key):
        gate = _GATES.get(_stem(token))
        if gate and not (order and previous == gate):
            order.append(gate)
        previous = gate
    return tuple(order)
