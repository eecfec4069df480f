"""L4 semantic memory: short Qiskit facts, retrieved by embedding and injected only when relevant.

Two sources: a curated Qiskit 2.x knowledge base shipped with the package
(qiskit_facts.FACTS), and facts learned from verified runs (which simulator method or
transpile options worked for which kind of request). At most `budget` tokens go into a
prompt. A fact must be close by embedding *and* share a telling word with the request:
MiniLM alone scores 'Prepare a W state' as close to the statevector-memory fact (0.57) as
real matches score, and every irrelevant note is billed on every LEARNER call.
"""
from __future__ import annotations

import ast
import hashlib
import re
import time

import numpy as np

from ..store import Store
from ..tokencount import count_tokens
from .embed import DIM, MODEL_ID, Embedder


# Words nearly every Qiskit request or fact has: sharing one says nothing about relevance.
GENERIC = frozenset("""
a an and the of on in to for with by from at as is are be it its this that or not no use using used
qubit circuit state register run measure measurement shot count result print simulate simulator
qiskit aer create prepare make build show get give set new each every all one two three n qc sim
code python function algorithm library gate value
""".split())


def telling_words(text: str) -> set[str]:
    """Lower-case words of `text` (split at '_' and '.' too), plural 's' dropped, generic words left out."""
    words = {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
             for w in re.findall(r"[a-z][a-z0-9]*", text.lower())}
    return {w for w in words if len(w) > 1 and w not in GENERIC}


class Facts:
    # about one fact: every one is billed on every LEARNER call, and the best carries what the request needs (#24)
    def __init__(self, store: Store, embedder: Embedder, budget: int = 60, min_score: float = 0.33,
                 read_only: bool = False):
        self.store = store
        self.read_only = read_only  # a read-only member neither caches vectors nor learns facts in the store
        self.embedder = embedder
        self.budget = budget
        self.min_score = min_score
        self._curated: tuple[list[str], list[set[str]], np.ndarray] | None = None

    def _curated_index(self) -> tuple[list[str], list[set[str]], np.ndarray]:
        if self._curated is None:
            from .qiskit_facts import FACTS

            keys = [f"{f.topic}: {f.text}" for f in FACTS]
            self._curated = ([f.text for f in FACTS], [telling_words(k) for k in keys], self._vectors(keys))
        return self._curated

    def _vectors(self, keys: list[str]) -> np.ndarray:
        """The curated facts' embeddings: from the home's cache where their text was encoded before."""
        hashes = [hashlib.sha256(f"{MODEL_ID}\n{k}".encode()).hexdigest() for k in keys]
        marks = ",".join("?" * len(hashes))
        rows = self.store.query(f"SELECT key, embedding FROM fact_vectors WHERE key IN ({marks})", tuple(hashes))
        cached = dict(zip((r["key"] for r in rows), self.store.vectors_of((r["embedding"] for r in rows), DIM)))
        missing = [i for i, h in enumerate(hashes) if h not in cached]
        if missing:
            fresh = self.embedder.encode([keys[i] for i in missing])
            if self.read_only:
                cached.update((hashes[i], v.astype(np.float32)) for i, v in zip(missing, fresh))
                missing = []
            with self.store.transaction() as cur:
                for i, vector in zip(missing, fresh):
                    cached[hashes[i]] = vector.astype(np.float32)
                    cur.execute("INSERT INTO fact_vectors (key, embedding) VALUES (?, ?)"
                                " ON CONFLICT (key) DO UPDATE SET embedding = excluded.embedding",
                                (hashes[i], self.store.vector(cached[hashes[i]])))
        return np.stack([cached[h] for h in hashes]) if keys else np.zeros((0, DIM), np.float32)

    def relevant(self, query: str) -> list[str]:
        """The best facts for `query`, best first, within the token budget."""
        texts, words, matrix = self._curated_index()
        rows = self.store.query("SELECT text, embedding FROM facts")
        if rows:
            texts = texts + [r["text"] for r in rows]
            words = words + [telling_words(r["text"]) for r in rows]
            learned = self.store.vectors_of((r["embedding"] for r in rows), DIM)
            matrix = np.concatenate([matrix, learned])
        scores = matrix @ self.embedder.one(query)
        wanted = telling_words(query)
        chosen, used = [], 0
        for i in np.argsort(-scores):
            if scores[i] < self.min_score:
                break
            if not wanted & words[i]:
                continue
            cost = count_tokens(texts[i])
            if used + cost > self.budget:
                continue
            chosen.append(texts[i])
            used += cost
        return chosen

    def learn_from(self, code: str, template: str) -> list[str]:
        """Record what a verified program relied on: simulator method, transpile options."""
        found = []
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return []
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            options = {k.arg: k.value.value for k in node.keywords
                       if k.arg and isinstance(k.value, ast.Constant)}
            if name == "AerSimulator" and "method" in options:
                found.append(f"AerSimulator(method={options['method']!r}) worked for: {template}")
            if name in ("transpile", "generate_preset_pass_manager") and options:
                args = ", ".join(f"{k}={v!r}" for k, v in sorted(options.items()))
                found.append(f"{name}({args}) worked for: {template}")
        if found and not self.read_only:
            vectors = self.embedder.encode(found)
            with self.store.transaction() as cur:
                for text, vector in zip(found, vectors):
                    cur.execute("INSERT INTO facts (ts, topic, text, embedding) VALUES (?,?,?,?)"
                                " ON CONFLICT (text) DO NOTHING",
                                (time.time(), "learned", text, self.store.vector(vector)))
        return found
