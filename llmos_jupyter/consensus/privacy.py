"""Differentially private aggregation of answer embeddings: the Gaussian mechanism and a budget accountant.

Mechanism. The released statistic is the weighted mean m = sum_i w_i clip(x_i) of the embeddings,
each clipped to L2 norm `clip` (unit-norm embeddings are unchanged at clip = 1), with public weights
w (uniform by default; weights computed from the same embeddings, such as consensus weights, are not
public and would void the guarantee). Two ensembles that differ in one answer (replace-one adjacency) change m by
at most Delta = 2 * clip * max_i w_i in L2 norm. The release is m + N(0, sigma^2 I) with sigma the
smallest noise for which the Gaussian mechanism is (epsilon, delta)-DP, from the exact condition of
the analytic Gaussian mechanism (Balle & Wang, ICML 2018, Theorem 8):

    Phi(Delta/(2 sigma) - epsilon sigma/Delta) - e^epsilon Phi(-Delta/(2 sigma) - epsilon sigma/Delta) <= delta,

solved by bisection. This holds for every epsilon > 0 and needs less noise than the classical
sigma = Delta sqrt(2 ln(1.25/delta)) / epsilon (valid only for epsilon < 1), also given here.

Accountant. Basic sequential composition: releases with (eps_k, delta_k) together are
(sum eps_k, sum delta_k)-DP. The accountant holds a total budget and refuses, by raising
PrivacyBudgetExceeded before any noise is drawn or anything released, a release that would exceed it.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import LLMOSError


class PrivacyBudgetExceeded(LLMOSError):
    """A private release would spend more (epsilon, delta) than the accountant has left."""


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def privacy_loss_delta(sigma: float, sensitivity: float, epsilon: float) -> float:
    """The smallest delta for which N(0, sigma^2) noise on a query of L2 sensitivity `sensitivity` is
    (epsilon, delta)-DP."""
    a = sensitivity / (2.0 * sigma)
    b = epsilon * sigma / sensitivity
    return _phi(a - b) - math.exp(epsilon) * _phi(-a - b)


def analytic_gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Smallest sigma making the Gaussian mechanism (epsilon, delta)-DP (Balle & Wang 2018), to 1e-12 relative."""
    if sensitivity <= 0 or epsilon <= 0 or not 0 < delta < 1:
        raise ValueError("need sensitivity > 0, epsilon > 0 and 0 < delta < 1")
    lo, hi = 1e-12 * sensitivity, sensitivity
    while privacy_loss_delta(hi, sensitivity, epsilon) > delta:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if privacy_loss_delta(mid, sensitivity, epsilon) > delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return hi


def classical_gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Dwork & Roth (2014, Thm A.1): valid for epsilon < 1."""
    return sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon


@dataclass
class Spend:
    epsilon: float
    delta: float
    what: str


@dataclass
class PrivacyAccountant:
    """Total (epsilon, delta) budget under basic composition."""

    epsilon: float
    delta: float
    spends: list[Spend] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.epsilon <= 0 or not 0 <= self.delta < 1:
            raise ValueError("a privacy budget needs epsilon > 0 and 0 <= delta < 1")
        self._lock = threading.Lock()

    @property
    def spent(self) -> tuple[float, float]:
        return (math.fsum(s.epsilon for s in self.spends), math.fsum(s.delta for s in self.spends))

    @property
    def remaining(self) -> tuple[float, float]:
        e, d = self.spent
        return (max(0.0, self.epsilon - e), max(0.0, self.delta - d))

    def spend(self, epsilon: float, delta: float, what: str = "release") -> None:
        """Record a release, or raise PrivacyBudgetExceeded (recording nothing) if it does not fit."""
        with self._lock:
            e, d = self.spent
            if e + epsilon > self.epsilon * (1 + 1e-12) or d + delta > self.delta * (1 + 1e-12) + 1e-300:
                raise PrivacyBudgetExceeded(
                    f"The privacy budget is spent: this {what} needs epsilon={epsilon:g}, delta={delta:g}, but only "
                    f"epsilon={max(0.0, self.epsilon - e):g}, delta={max(0.0, self.delta - d):g} of the total "
                    f"(epsilon={self.epsilon:g}, delta={self.delta:g}) is left after {len(self.spends)} release(s). "
                    "Nothing was released. Start a new PrivacyAccountant with a fresh budget, or ask for a "
                    "smaller epsilon per release."
                )
            self.spends.append(Spend(epsilon, delta, what))


@dataclass
class PrivateRelease:
    vector: np.ndarray
    sigma: float
    sensitivity: float
    epsilon: float
    delta: float

    def to_dict(self) -> dict[str, Any]:
        return {"sigma": self.sigma, "sensitivity": self.sensitivity, "epsilon": self.epsilon, "delta": self.delta}


class PrivateAggregator:
    """Gaussian-mechanism weighted mean of embeddings, charged to an accountant."""

    def __init__(self, accountant: PrivacyAccountant, epsilon: float = 0.5, delta: float = 1e-6, *,
                 clip: float = 1.0, seed: int | None = None):
        self.accountant = accountant
        self.epsilon, self.delta, self.clip = float(epsilon), float(delta), float(clip)
        self._rng = np.random.default_rng(seed)

    def aggregate(self, embeddings, weights=None) -> PrivateRelease:
        X = np.asarray(embeddings, dtype=np.float64)
        n = len(X)
        w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or np.any(w < 0) or not math.isclose(w.sum(), 1.0, rel_tol=1e-9):
            raise ValueError("weights must be n non-negative numbers summing to 1")
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        clipped = X * np.minimum(1.0, self.clip / np.maximum(norms, 1e-300))
        sensitivity = 2.0 * self.clip * float(w.max())
        sigma = analytic_gaussian_sigma(sensitivity, self.epsilon, self.delta)
        self.accountant.spend(self.epsilon, self.delta, "private aggregation of embeddings")
        noisy = w @ clipped + self._rng.normal(0.0, sigma, X.shape[1])
        return PrivateRelease(noisy, sigma, sensitivity, self.epsilon, self.delta)
