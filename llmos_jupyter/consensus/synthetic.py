"""Synthetic answer ensembles for tests and benchmarks: an honest cluster, a coordinated adversarial
cluster and random outliers, as unit vectors in D dimensions (384, like MiniLM)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Ensemble:
    embeddings: np.ndarray  # (N, D) unit rows, shuffled
    honest: np.ndarray  # (N,) bool
    adversarial: np.ndarray  # (N,) bool

    @property
    def outliers(self) -> np.ndarray:
        return ~(self.honest | self.adversarial)


def unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.standard_normal(dim)
    return v / np.linalg.norm(v)


def around(rng: np.random.Generator, centre: np.ndarray, k: int, cos: float) -> np.ndarray:
    """k unit vectors at exactly cosine `cos` to `centre` (so pairwise cosine ~ cos^2 in high dimension)."""
    out = np.empty((k, len(centre)))
    for i in range(k):
        v = rng.standard_normal(len(centre))
        v -= (v @ centre) * centre
        out[i] = cos * centre + np.sqrt(max(0.0, 1.0 - cos * cos)) * v / np.linalg.norm(v)
    return out


def ensemble(rng: np.random.Generator, honest: int, adversarial: int = 0, outliers: int = 0, *, dim: int = 384,
             tightness: float = 0.9, adversary_tightness: float | None = None, centre_cos: float | None = None,
             shuffle: bool = True) -> Ensemble:
    """Members sit at cosine `tightness` to their cluster centre. `centre_cos` sets the cosine between the
    honest and adversarial centres (None: two random directions, cosine ~ 0 in 384-D)."""
    c_h = unit(rng, dim)
    if centre_cos is None:
        c_a = unit(rng, dim)
    else:
        c_a = around(rng, c_h, 1, centre_cos)[0]
    parts = [around(rng, c_h, honest, tightness),
             around(rng, c_a, adversarial, tightness if adversary_tightness is None else adversary_tightness),
             np.stack([unit(rng, dim) for _ in range(outliers)]) if outliers else np.empty((0, dim))]
    E = np.concatenate(parts)
    labels = np.array([0] * honest + [1] * adversarial + [2] * outliers)
    if shuffle:
        order = rng.permutation(len(E))
        E, labels = E[order], labels[order]
    return Ensemble(E, labels == 0, labels == 1)
