"""Active-inference refinement: sharpen (or soften) the consensus belief to a target entropy.

The belief q is a distribution over the N answers ("which answer should I trust"). Each answer
has an energy eps_i, its local energy at the ground state (hamiltonian.py): twice its expected
disagreement with the consensus, J-weighted, plus its prior cost. The variational free energy of
a belief at temperature T_r is

    F(q) = E_q[eps] - T_r S(q) = sum_i q_i eps_i + T_r sum_i q_i log q_i,

minimised over beliefs exactly by q = Gibbs_{T_r}(eps), where F = -T_r log sum_i exp(-eps_i / T_r).
At T_r = T (the Hamiltonian's temperature) that minimiser is the ground state itself (the
mean-field equation), so refinement only moves the belief by changing its precision 1/T_r.
"Toward a target entropy": T_r is chosen (bisection on log T_r; S(Gibbs_{T_r}) increases with T_r)
so that S(q) = target_entropy. Since the ground state s = Gibbs_T(eps), the refined belief is
q ∝ s^(T/T_r): ranking kept, weights sharpened when T_r < T. F is reported at T_r before (for
the input weights) and after (for q); F_after <= F_before always, with equality only when the
input already was the minimiser.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Refinement:
    weights: np.ndarray  # the refined belief q
    temperature: float  # T_r (math.inf when the target asks for the uniform belief)
    target_entropy: float
    entropy_before: float
    entropy_after: float
    free_energy_before: float | None  # F_{T_r}(input weights)
    free_energy_after: float | None  # F_{T_r}(q)
    reached: bool  # False when ties among the lowest energies keep the entropy above the target

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.tolist(), "temperature": self.temperature,
                "target_entropy": self.target_entropy, "entropy_before": self.entropy_before,
                "entropy_after": self.entropy_after, "free_energy_before": self.free_energy_before,
                "free_energy_after": self.free_energy_after, "reached": self.reached}


def entropy(q: np.ndarray) -> float:
    q = np.asarray(q, dtype=np.float64)
    q = q[q > 0]
    return float(-(q * np.log(q)).sum())


def free_energy(q: np.ndarray, eps: np.ndarray, temperature: float) -> float:
    """F = E_q[eps] - T S(q)."""
    return float(np.dot(q, eps) - temperature * entropy(q))


def gibbs(eps: np.ndarray, temperature: float) -> np.ndarray:
    if math.isinf(temperature):
        return np.full(len(eps), 1.0 / len(eps))
    z = -(np.asarray(eps, dtype=np.float64) - np.min(eps)) / temperature
    q = np.exp(z)
    return q / q.sum()


def refine(weights, local_energies, *, target_entropy: float = 0.1, iterations: int = 200) -> Refinement:
    s = np.asarray(weights, dtype=np.float64)
    eps = np.asarray(local_energies, dtype=np.float64)
    n = len(eps)
    before = entropy(s)
    if target_entropy >= math.log(n) - 1e-12 or np.ptp(eps) == 0.0:
        q = np.full(n, 1.0 / n)
        return Refinement(q, math.inf, target_entropy, before, entropy(q), None, None,
                          reached=target_entropy >= math.log(n) - 1e-12)
    target = max(0.0, target_entropy)
    # Bracket log T_r: entropy(gibbs) rises monotonically with T_r.
    lo, hi = -60.0, 60.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if entropy(gibbs(eps, math.exp(mid))) > target:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-13:
            break
    t_r = math.exp(0.5 * (lo + hi))
    q = gibbs(eps, t_r)
    after = entropy(q)
    return Refinement(q, t_r, target_entropy, before, after, free_energy(s, eps, t_r), free_energy(q, eps, t_r),
                      reached=abs(after - target) < 1e-6)
