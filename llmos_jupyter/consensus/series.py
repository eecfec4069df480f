"""Answers as time series: sliding-window sentence embeddings, reduced to a few shared components.

Each answer is cut into windows of `size` words every `stride` words; each window is embedded
(MiniLM, memory/embed.py), so an answer becomes a path through embedding space. All windows of
all answers are pooled and projected on their top `components` principal directions (shared
axes, so series are comparable across answers), and every path is resampled by linear
interpolation to the length of the shortest one (downsampling only), so series align by
relative position in the answer.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def windows(text: str, size: int = 16, stride: int = 4) -> list[str]:
    words = text.split()
    if len(words) <= size:
        return [" ".join(words)] if words else [""]
    starts = range(0, len(words) - size + 1, stride)
    return [" ".join(words[i:i + size]) for i in starts]


def resample(x: np.ndarray, length: int) -> np.ndarray:
    if len(x) == length:
        return x
    if len(x) == 1:
        return np.repeat(x, length, 0)
    src = np.linspace(0.0, 1.0, len(x))
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, x[:, c]) for c in range(x.shape[1])], 1)


def text_series(texts: Sequence[str], embedder: Any, *, size: int = 16, stride: int = 4,
                components: int = 2) -> list[np.ndarray]:
    """One (L, components) series per text, all of the same length L (the shortest answer's window count)."""
    cut = [windows(t, size, stride) for t in texts]
    vectors = embedder.encode([w for ws in cut for w in ws]).astype(np.float64)
    pooled_mean = vectors.mean(0)
    centred = vectors - pooled_mean
    k = max(1, min(components, len(vectors) - 1, centred.shape[1]))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    basis = vt[:k].T
    out, at = [], 0
    for ws in cut:
        out.append(centred[at:at + len(ws)] @ basis)
        at += len(ws)
    length = min(len(x) for x in out)
    return [resample(x, length) for x in out]
