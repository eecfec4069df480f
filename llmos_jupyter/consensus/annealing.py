"""The ground-state search: simulated annealing over replicas, batched in torch, then a mirror-descent polish.

Everything here works on a batch of ensembles at once: the state is one tensor of shape
(batch, candidates, N) on the chosen device, in float64. torch is imported by the caller
(`hamiltonian.py`) on first use, never at package import.

The search (see `hamiltonian.py` for the Hamiltonian and why it has several local minima):

1. Annealing. `replicas` chains per ensemble, each a point on the simplex written as
   softmax logits z (kept centred). A move proposes z' = z + sigma * xi (xi standard normal,
   centred) and is accepted with the Metropolis rule

       log u < -(H(s') - H(s)) / tau + (sum_i log s'_i - sum_i log s_i)

   where the second term is the Jacobian of softmax, so the chain's stationary law is
   exp(-H/tau) with respect to the *uniform* measure on the simplex: at tau = 10 the
   replicas are (nearly) Dirichlet(1)-uniform, as cold as tau = 0.1 they sit in basins.
   tau follows a geometric schedule from `t_hot` to `t_cold`; sigma adapts per replica
   towards ~30 % acceptance (a Robbins-Monro step on log sigma, deterministic given the seed).

2. Polish. Each annealed replica, plus N "neighbourhood" starts (the mean-field response
   to a single answer i: s ∝ exp(-(2 A e_i + h) / T), the natural seed of the basin of
   i's cluster) and the prior itself, descends H by entropic mirror (proximal) steps:

       s' ∝ s^(1/(1 + eta T)) * exp(-eta (2 A s + h) / (1 + eta T))

   which is exact proximal gradient for H = f(s) - T S(s) with f(s) = s.A.s + h.s in the
   KL geometry. f is L-smooth relative to the entropy with L = 2 max|A_ij| (Pinsker), so
   eta = 1/L always decreases H (so such a step is always taken); the step grows by 1.5x while H
   decreases and falls back
   towards 1/L otherwise (eta -> infinity is the mean-field iteration s = Gibbs_T(2 A s + h)).
   The polish runs in stages (`stages`: keep the k lowest candidates, then descend up to n steps
   or until all are stationary to `polish_tol` in log-weights): all candidates for 30 steps, the
   8 lowest for 150 more, then the 2 lowest until stationary. Pruning only drops candidates that
   are already higher after a descent; benchmarks/consensus_optimality.py checks the outcome against
   a 48-start SLSQP search of the same energy.

3. The ground state is the lowest-energy survivor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

Publish = Callable[[int, float, Any, Any], None]  # (step, tau, energies (B, R), states (B, R, N))


@dataclass(frozen=True)
class Schedule:
    """Annealing knobs. Temperatures are in the same units as H (whose entropy temperature T is 1 by default)."""

    t_hot: float = 10.0
    t_cold: float = 0.1
    steps: int = 150
    replicas: int = 32
    stages: tuple[tuple[int, int], ...] = ((0, 30), (8, 150), (2, 5000))  # (keep k lowest (0: all), steps)
    polish_tol: float = 1e-7
    neighbourhood: bool = True  # add the N neighbourhood starts and the prior to the annealed replicas
    target_accept: float = 0.3

    def temperatures(self) -> list[float]:
        if self.steps == 1:
            return [self.t_cold]
        ratio = (self.t_cold / self.t_hot) ** (1.0 / (self.steps - 1))
        return [self.t_hot * ratio ** k for k in range(self.steps)]


def _evaluate(logs, A, h, T):
    """From normalised log-weights: (H, s, sA), sA = s @ A kept so the gradient needs no second product."""
    import torch

    s = logs.exp()
    sA = torch.bmm(s, A)
    H = (sA * s).sum(-1) + (s * h[:, None, :]).sum(-1) + T * (s * logs).sum(-1)
    return H, s, sA


def _centred_noise(shape, generator, like):
    import torch

    xi = torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    return xi - xi.mean(-1, keepdim=True)


def anneal(A, h, T: float, schedule: Schedule, generator, publish: Publish | None = None,
           max_events: int = 100):
    """Simulated annealing of R replicas per ensemble. Returns (states (B, R, N), trace (B, K) of the
    lowest replica energy after each temperature step)."""
    import torch

    B, N, _ = A.shape
    R = schedule.replicas
    z = _centred_noise((B, R, N), generator, A)
    logs = torch.log_softmax(z, -1)
    H = _evaluate(logs, A, h, T)[0]
    log_sigma = torch.zeros((B, R, 1), device=A.device, dtype=A.dtype)
    taus = schedule.temperatures()
    trace = torch.empty((B, len(taus)), device=A.device, dtype=A.dtype)
    every = max(1, math.ceil(len(taus) / max_events))
    for k, tau in enumerate(taus):
        zp = z + log_sigma.exp() * _centred_noise((B, R, N), generator, A)
        logsp = torch.log_softmax(zp, -1)
        Hp = _evaluate(logsp, A, h, T)[0]
        log_accept = -(Hp - H) / tau + (logsp.sum(-1) - logs.sum(-1))
        u = torch.rand((B, R), generator=generator, device=A.device, dtype=A.dtype)
        ok = torch.log(u) < log_accept
        z = torch.where(ok[..., None], zp, z)
        logs = torch.where(ok[..., None], logsp, logs)
        H = torch.where(ok, Hp, H)
        log_sigma = (log_sigma + 0.1 * (ok[..., None].to(A.dtype) - schedule.target_accept)).clamp(-7.0, 1.6)
        trace[:, k] = H.min(1).values
        if publish is not None and (k % every == 0 or k == len(taus) - 1):
            publish(k, tau, H, logs.exp())
    return logs.exp(), trace


def neighbourhood_starts(A, h, T: float):
    """For each answer i the mean-field response to a point mass on i, and the prior Gibbs_T(h): (B, N+1, N)."""
    import torch

    fields = 2.0 * A + h[:, None, :]  # row i: the local field 2 A e_i + h
    starts = torch.softmax(-fields / T, -1)
    prior = torch.softmax(-h / T, -1)[:, None, :]
    return torch.cat([starts, prior], 1)


def polish(s, A, h, T: float, steps: int, tol: float):
    """Entropic proximal-gradient descent of H from every candidate s (B, C, N). Returns (s, H, residual)."""
    import torch

    L = (2.0 * A.abs().amax((-2, -1))).clamp_min(1e-12)[:, None, None]  # (B, 1, 1)
    eta_min = 1.0 / L
    eta = eta_min.expand(s.shape[0], s.shape[1], 1).clone()
    logs = torch.log(s.clamp_min(1e-300))
    logs = logs - torch.logsumexp(logs, -1, keepdim=True)
    H, s, sA = _evaluate(logs, A, h, T)
    hb = h[:, None, :]
    residual = torch.full(H.shape, math.inf, device=s.device, dtype=s.dtype)
    for it in range(steps):
        g = 2.0 * sA + hb
        if it % 25 == 0 and it > 0:
            # Stationarity: log s equals log Gibbs_T(local field) up to a constant.
            residual = (logs - torch.log_softmax(-g / T, -1)).abs().amax(-1)
            if bool((residual < tol).all()):
                return s, H, residual
        damp = 1.0 / (1.0 + eta * T)
        cand = damp * logs - (eta * damp) * g
        cand = cand - torch.logsumexp(cand, -1, keepdim=True)
        H_c, s_c, sA_c = _evaluate(cand, A, h, T)
        ok = (H_c <= H) | (eta <= eta_min)[..., 0]  # at eta = 1/L descent is guaranteed: take it even through rounding
        keep = ok[..., None]
        logs = torch.where(keep, cand, logs)
        s = torch.where(keep, s_c, s)
        sA = torch.where(keep, sA_c, sA)
        H = torch.where(ok, H_c, H)
        eta = torch.where(keep, eta * 1.5, torch.maximum(eta * 0.5, eta_min)).clamp_max(1e8)
    g = 2.0 * sA + hb
    residual = (logs - torch.log_softmax(-g / T, -1)).abs().amax(-1)
    return s, H, residual


def ground_states(A, h, T: float, schedule: Schedule, generator, publish: Publish | None = None,
                  max_events: int = 100) -> dict:
    """Anneal, polish in stages, and return the lowest candidate per ensemble: weights (B, N), energy (B,),
    residual (B,) and the annealing trace (B, K)."""
    import torch

    B, N, _ = A.shape
    s, trace = anneal(A, h, T, schedule, generator, publish, max_events)
    if schedule.neighbourhood:
        s = torch.cat([s, neighbourhood_starts(A, h, T)], 1)
    H = residual = None
    for keep, steps in schedule.stages:
        if keep and H is not None and keep < s.shape[1]:
            top = torch.topk(H, keep, dim=1, largest=False).indices
            s = torch.gather(s, 1, top[..., None].expand(-1, -1, N))
        s, H, residual = polish(s, A, h, T, steps, schedule.polish_tol)
    best = torch.argmin(H, 1)
    rows = torch.arange(B, device=A.device)
    return {"weights": s[rows, best], "energy": H[rows, best], "residual": residual[rows, best], "trace": trace}
