"""L4 semantic memory: short Qiskit facts, retrieved by embedding and injected only when relevant.

Two sources: a curated Qiskit 2.x knowledge base shipped with the package
(qiskit_facts.FACTS), and facts learned from verified runs (which simulator method or
transpile options worked for which kind of request). At most `budget` tokens go into a
prompt.
"""
from __future__ import annotations

import ast
import time

import numpy as np

from ..store import Store
from ..tokencount import count_tokens
from .embed import DIM, Embedder


class Facts:
    def __init__(self, store: Store, embedder: Embedder, budget: int = 200, min_score: float = 0.45):
        self.store = store
        self.embedder = embedder
        self.budget = budget
        self.min_score = min_score
        self._curated: tuple[list[str], np.ndarray] | None = None

    def _curated_index(self) -> tuple[list[str], np.ndarray]:
        if self._curated is None:
            from .qiskit_facts import FACTS

            texts = [f.text for f in FACTS]
            self._curated = (texts, self.embedder.encode([f"{f.topic}: {f.text}" for f in FACTS]))
        return self._curated

    def relevant(self, query: str) -> list[str]:
        """The best facts for `query`, best first, within the token budget."""
        texts, matrix = self._curated_index()
        rows = self.store.query("SELECT text, embedding FROM facts")
        if rows:
            texts = texts + [r["text"] for r in rows]
            learned = np.frombuffer(b"".join(r["embedding"] for r in rows), np.float32).reshape(-1, DIM)
            matrix = np.concatenate([matrix, learned])
        scores = matrix @ self.embedder.one(query)
        chosen, used = [], 0
        for i in np.argsort(-scores):
            if scores[i] < self.min_score:
                break
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
        if found:
            vectors = self.embedder.encode(found)
            with self.store.transaction() as cur:
                for text, vector in zip(found, vectors):
                    cur.execute("INSERT OR IGNORE INTO facts (ts, topic, text, embedding) VALUES (?,?,?,?)",
                                (time.time(), "learned", text, vector.astype(np.float32).tobytes()))
        return found
