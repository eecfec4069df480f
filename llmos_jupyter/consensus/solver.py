"""The fast ground-state search, in numpy: a few chosen starts, a short mirror descent, then Newton.

The Hamiltonian (hamiltonian.py) on the simplex is H(s) = s.A.s + h.s + T sum s log s, A = J d. Its
local minima are the basins the answers cluster into; each basin is entered from the mean-field response
to one of its members (the "neighbourhood start" of answer i: s ∝ exp(-(2 A e_i + h) / T)). So instead of
annealing many random replicas (annealing.py, kept for method="anneal"), this search descends from

* the N neighbourhood starts and the prior Gibbs_T(h) (one per basin an answer can seed), and
* `random_starts` Dirichlet(1) points drawn from the seed (insurance against a basin no answer seeds),

by entropic mirror descent (the same proximal step as annealing.polish, with the step grown while H falls),
keeps the `keep` lowest candidates, and finishes each by Newton's method on the stationarity (KKT) system

    2 A s + h + T (log s + 1) = lambda 1,    sum s = 1,

whose Jacobian [[2A + T diag(1/s), -1], [1', 0]] makes the last digits cost two or three solves. A Newton
step is taken only when it lowers H (a step towards a saddle is refused and mirror descent goes on), so the
result is a local minimum at least as low as the descent reached. Why these numbers: benchmarks/consensus_speed.py
and consensus_optimality.py measure them against a 48-start SLSQP.

Everything works on a batch: arrays (B, C, N) for B ensembles and C candidates, float64. numpy rather than
torch because at N <= 64 the cost is Python per operation, not arithmetic: numpy's small-array calls are
cheaper than torch's, and they start no thread pool to fight over a busy CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FastSchedule:
    """Knobs of the fast search (defaults chosen by benchmarks/consensus_speed.py --tune)."""

    random_starts: int = 2  # Dirichlet(1) starts beside the N neighbourhood starts and the prior
    descent_steps: int = 8  # mirror-descent steps on every candidate
    keep: int = 2  # lowest candidates per ensemble that go on to Newton
    newton_steps: int = 30  # at most; stops when stationary to tol
    tol: float = 1e-11  # max |log s - log Gibbs_T(local field)|, the stationarity residual


def energies(logs: np.ndarray, A: np.ndarray, h: np.ndarray, T: float):
    """(H, s, sA) from normalised log-weights (B, C, N)."""
    s = np.exp(logs)
    sA = s @ A  # A symmetric: (s A)_j = (A s)_j
    H = np.einsum("bcn,bcn->bc", sA + h[:, None, :] + T * logs, s)
    return H, s, sA


def starts(A: np.ndarray, h: np.ndarray, T: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """Log-weights (B, N + 1 + count, N): the neighbourhood starts, the prior and `count` Dirichlet(1) points."""
    B, N, _ = A.shape
    z = -(2.0 * A + h[:, None, :]) / T  # row i: the local field of a point mass on i
    prior = (-h / T)[:, None, :]
    parts = [z, prior]
    if count:
        parts.append(np.log(rng.dirichlet(np.ones(N), size=(B, count)).clip(1e-300)))
    z = np.concatenate(parts, 1)
    return z - _logsumexp(z)


def descend(logs, A, h, T: float, steps: int):
    """Entropic mirror descent from every candidate; eta starts at 1/L (descent guaranteed) and grows 1.5x
    while H falls. Returns (logs, H, trace of the lowest H per ensemble after each step)."""
    B, C, N = logs.shape
    L = np.maximum(2.0 * np.abs(A).max((1, 2)), 1e-12)[:, None, None]
    eta_min = 1.0 / L
    eta = np.broadcast_to(eta_min, (B, C, 1)).copy()
    H, s, sA = energies(logs, A, h, T)
    hb = h[:, None, :]
    trace = np.empty((B, steps))
    for k in range(steps):
        damp = 1.0 / (1.0 + eta * T)
        cand = damp * logs - (eta * damp) * (2.0 * sA + hb)
        cand -= _logsumexp(cand)
        Hc, sc, sAc = energies(cand, A, h, T)
        ok = (Hc <= H) | (eta[..., 0] <= eta_min[..., 0])
        keep = ok[..., None]
        logs = np.where(keep, cand, logs)
        sA = np.where(keep, sAc, sA)
        H = np.where(ok, Hc, H)
        eta = np.where(keep, eta * 1.5, np.maximum(eta * 0.5, eta_min)).clip(max=1e8)
        trace[:, k] = H.min(1)
    return logs, H, trace


def newton(logs, A, h, T: float, steps: int, tol: float):
    """Newton on the KKT system from each candidate (B, C, N); a step is kept only where it lowers H (or
    leaves it level within rounding while the residual falls). Returns (logs, H, residual)."""
    B, C, N = logs.shape
    H, s, sA = energies(logs, A, h, T)
    hb = h[:, None, :]
    eye = np.eye(N)
    ones = np.ones((B, C, N, 1))
    res = residual(logs, sA, hb, T)
    for _ in range(steps):
        if res.max() < tol:
            break
        g = 2.0 * sA + hb + T * (logs + 1.0)  # dH/ds
        K = np.zeros((B, C, N + 1, N + 1))
        K[..., :N, :N] = 2.0 * A[:, None] + T * eye / s[..., None, :]
        K[..., :N, N:] = -ones
        K[..., N:, :N] = 1.0
        rhs = np.concatenate([-(g - g.mean(-1, keepdims=True)), np.zeros((B, C, 1))], -1)
        try:
            step = np.linalg.solve(K, rhs[..., None])[..., :N, 0]
        except np.linalg.LinAlgError:
            break
        # Stay inside the simplex: at most 90 % of the way to the nearest zero.
        shrink = np.where(step < 0, -0.9 * s / np.minimum(step, -1e-300), np.inf).min(-1, keepdims=True)
        alpha = np.minimum(1.0, shrink)
        cand_s = np.clip(s + alpha * step, 1e-300, None)
        cand = np.log(cand_s)
        cand -= _logsumexp(cand)
        Hc, sc, sAc = energies(cand, A, h, T)
        rc = residual(cand, sAc, hb, T)
        ok = (Hc < H) | ((Hc <= H + 1e-13 * np.maximum(1.0, np.abs(H))) & (rc < res))
        if not ok.any():
            break
        keep = ok[..., None]
        logs = np.where(keep, cand, logs)
        s = np.where(keep, sc, s)
        sA = np.where(keep, sAc, sA)
        H = np.where(ok, Hc, H)
        res = np.where(ok, rc, res)
    return logs, H, res


def residual(logs, sA, hb, T: float) -> np.ndarray:
    """Stationarity: log s equals log Gibbs_T(local field) up to a constant."""
    z = -(2.0 * sA + hb) / T
    return np.abs(logs - (z - _logsumexp(z))).max(-1)


def ground_states(A: np.ndarray, h: np.ndarray, T: float, schedule: FastSchedule, rng: np.random.Generator) -> dict:
    """The lowest local minimum found per ensemble: weights (B, N), energy (B,), residual (B,), trace (B, K)
    (the lowest energy after each descent step, then after Newton)."""
    B, N, _ = A.shape
    logs = starts(A, h, T, schedule.random_starts, rng)
    logs, H, trace = descend(logs, A, h, T, schedule.descent_steps)
    if schedule.keep < logs.shape[1]:
        top = np.argpartition(H, schedule.keep - 1, 1)[:, :schedule.keep]
        logs = np.take_along_axis(logs, top[..., None], 1)
    logs, H, res = newton(logs, A, h, T, schedule.newton_steps, schedule.tol)
    best = H.argmin(1)
    rows = np.arange(B)
    s = np.exp(logs[rows, best])
    trace = np.concatenate([trace, H.min(1)[:, None]], 1)
    return {"weights": s / s.sum(-1, keepdims=True), "energy": H[rows, best], "residual": res[rows, best],
            "trace": trace}


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(-1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(-1, keepdims=True))
