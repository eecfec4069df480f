"""ConsensusEngine: weigh an ensemble of answers by the ground state of an information Hamiltonian.

Only the maths: embeddings in, weights out. Asking the models, billing and synthesis are pipeline.py's.

The Hamiltonian
---------------
For N answers with unit-norm embeddings e_i, cosine distances d_ij = 1 - e_i.e_j, and
weights s on the simplex (s_i >= 0, sum s_i = 1):

    H(s) = sum_ij J_ij d_ij s_i s_j  +  sum_i h_i s_i  -  T S(s),     S(s) = -sum_i s_i log s_i

with J_ij = J for i != j (d_ii = 0 anyway), and fields h_i = -T log pi_i from per-model priors
pi (normalised; uniform by default, then h_i = T log N). With these fields

    H(s) = J sum_ij d_ij s_i s_j + T KL(s || pi)  >= 0,

zero only when every answer says the same thing and s = pi. Defaults: T = 1 (so energies and
the annealing temperatures are in units of T), J = 4.

Why annealing. With unit vectors sum_ij s_i s_j d_ij = 1 - |sum_i s_i e_i|^2, half the
s-weighted variance of the embeddings: a concave function of s. The entropy term is convex,
so H has one local minimum per "cluster" the weights can settle on.

Why the majority wins (and how J/T was chosen). Reduce an ensemble to two tight clusters,
k_h honest answers and k_a < k_h adversaries, with distance delta inside a cluster and
Delta between clusters; put mass a on the honest cluster, spread evenly. Then, up to a constant,

    H(a) = 2 J Delta a(1-a) + J delta [a^2 (1-1/k_h) + (1-a)^2 (1-1/k_a)] - T [h2(a) + a log k_h + (1-a) log k_a]

(h2 the binary entropy), whose stationary points satisfy

    log(a/(1-a)) = log(k_h/k_a) + (2J/T) [Delta (2a-1) - delta (a (1-1/k_h) - (1-a)(1-1/k_a))].

* Ground state. The honest basin (a -> 1) lies below the adversarial one (a -> 0) by
  T log(k_h/k_a) - J delta (1/k_a - 1/k_h): the entropy of spreading weight over more mutually
  agreeing answers. For 5 vs 4 that is 0.223 T - 0.05 J delta < 0 for any delta < 1.1 at J/T = 4.
  The gap is small next to the barrier between the basins (~J Delta / 2), so finding the right
  basin is the search's job (annealing.py), not the energy's.
* Mass in that basin. Near a = 1 the condition reads log(a/(1-a)) ~ log(k_h/k_a) + 2 (J/T)(Delta - delta)(2a-1),
  so a >= 0.9 needs J (Delta - delta) / T >= 1.23. At J/T = 4 that is Delta - delta >= 0.31: an
  adversarial cluster must sit that much further from the honest answers than they sit from each
  other. Clusters at cosine 0.9 around random centres in 384-D have Delta - delta ~ 0.8, leaving
  1 - a ~ (k_a/k_h) e^(-6.4) ~ 1e-3 (measured: benchmarks/consensus_robustness.py, also the sweep
  that finds the break between J (Delta - delta) / T = 1.13 and 1.30).
* The phases separate at all only when J Delta > T (H''(1/2) = 4 (T - J Delta) at delta = 0).
* An outlier at distance ~1 from everything gets e^(-2 J (1 - delta (1 - 1/k_h)) / T) ~ e^-6.8 of an honest
  answer's weight (k_h = 5, delta = 0.19; measured ~1.3e-3).
* The price of a large J/T: one lone answer (a vertex, H ~ T log N) beats a uniform cluster of k
  when J delta (1 - 1/k) > T log k, so a cluster holds together only while delta < T log k / (J (1 - 1/k)):
  0.35 for k = 2, 0.41 for k = 3, 0.50 for k = 5 at J/T = 4 (the robustness sweep breaks for
  5 vs 4 at delta = 0.51, as predicted). MiniLM puts paraphrased answers to one question at
  0.1-0.3. J/T = 4 sits between the two limits, 1.23 / (Delta - delta) below and
  log k / (delta (1 - 1/k)) above, for the ensembles the benchmarks draw.

Stationary points satisfy the mean-field equation s = Gibbs_T(eps), eps_i = dU/ds_i = 2 sum_j J_ij d_ij s_j + h_i
(U the pair + field energy): each answer's "local energy" is its expected disagreement with the
consensus plus its prior cost. `free_energy` reports F = sum_i s_i eps_i - T S(s) = -T log sum_i exp(-eps_i/T),
the active-inference free energy of the belief s over answers with energies eps (see active_inference.py),
minimised over beliefs exactly at the ground state.

The causal rule. A significant transfer-entropy edge i -> j (answer j's semantic trajectory is
predicted by i's past beyond its own, see transfer_entropy.py) means j carries less independent
evidence. Its field is raised by gamma T * inflow_j, inflow_j = sum_i C_ij (effective TE in nats),
i.e. its prior is multiplied by exp(-gamma inflow_j) before the ground state is found; gamma = 1.
`res.priors` holds the priors actually used, so res.energy == eng.energy(emb, res.weights, priors=res.priors)
(and == eng.energy(emb, res.weights) when neither priors nor a causal graph were given).

The search: solver.py (method "fast": the neighbourhood starts, mirror descent, Newton; numpy) or
annealing.py (method "anneal": replicas annealed in torch, then polished).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from ..events import ConsensusDone, ConsensusStep, EventBus
from .annealing import Schedule
from .solver import FastSchedule

# "fast": chosen starts, mirror descent and Newton in numpy (solver.py); "anneal": replicas annealed in torch,
# then polished (annealing.py); "auto": fast on the CPU, anneal on a GPU (where big batches pay for torch).
METHODS = ("auto", "fast", "anneal")


@dataclass
class WeighResult:
    """The ground state of one ensemble."""

    weights: np.ndarray  # (N,) on the simplex
    energy: float  # H(weights)
    free_energy: float  # -T log sum exp(-eps/T) at the ground state
    local_energies: np.ndarray  # (N,) eps_i = 2 sum_j J d_ij s_j + h_i
    causal: np.ndarray  # (N, N) effective transfer entropy i -> j used (zeros: none given)
    priors: np.ndarray  # (N,) the priors used, after the causal discount
    trace: np.ndarray  # (K,) lowest replica energy after each annealing step
    temperatures: np.ndarray  # (K,) the annealing schedule
    device: str
    residual: float  # stationarity of the returned weights: max |log s - log Gibbs_T(eps)|
    seconds: float = 0.0
    causal_pvalues: np.ndarray | None = None  # when the graph was estimated here from series

    @property
    def entropy(self) -> float:
        s = self.weights[self.weights > 0]
        return float(-(s * np.log(s)).sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.tolist(), "energy": self.energy, "free_energy": self.free_energy,
            "entropy": self.entropy, "local_energies": self.local_energies.tolist(),
            "causal": self.causal.tolist(), "priors": self.priors.tolist(), "device": self.device,
            "residual": self.residual, "steps": int(len(self.trace)), "seconds": round(self.seconds, 4),
        }


class ConsensusEngine:
    """Weigh answers by the ground state of H (pipeline.run_consensus asks the models and calls weigh).

    device: "auto" (CUDA when torch sees it, else CPU), "cpu", "cuda" or "cuda:N".
    seed: every weigh call starts a fresh generator from it, so a call is a pure function of its inputs.
    method: "auto", "fast" or "anneal" (METHODS); fast / schedule: the knobs of each search.
    events: the EventBus that gets ConsensusStep while annealing and ConsensusDone (and CausalGraph when weigh
    estimates the graph), unless a call names its own; or None.
    """

    def __init__(self, device: str = "auto", seed: int = 0, *, coupling: float = 4.0, temperature: float = 1.0,
                 causal_gain: float = 1.0, schedule: Schedule | None = None, events: EventBus | None = None,
                 max_events: int = 100, method: str = "auto", fast: FastSchedule | None = None):
        if temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}.")
        if method not in METHODS:
            raise ConfigError(f"Unknown method {method!r}: use one of {', '.join(METHODS)}.")
        self.method = method
        self.fast = fast or FastSchedule()
        self.device_setting = device
        self.seed = int(seed)
        self.coupling = float(coupling)
        self.temperature = float(temperature)
        self.causal_gain = float(causal_gain)
        self.schedule = schedule or Schedule()
        self.events = events
        self.max_events = max_events
        self._device: str | None = None

    # -- the Hamiltonian, in numpy (float64), the reference every other path is checked against ------------
    def distances(self, embeddings) -> np.ndarray:
        E = _as_matrix(embeddings)
        d = 1.0 - E @ E.T
        np.fill_diagonal(d, 0.0)
        return np.clip(d, 0.0, 2.0)

    def fields(self, n: int, priors=None, causal=None) -> np.ndarray:
        return -self.temperature * np.log(self.effective_priors(n, priors, causal))

    def effective_priors(self, n: int, priors=None, causal=None) -> np.ndarray:
        """Priors normalised, then discounted by the causal rule pi_j * exp(-gamma * sum_i C_ij)."""
        pi = np.full(n, 1.0 / n) if priors is None else np.asarray(priors, dtype=np.float64).reshape(-1)
        if pi.shape != (n,) or not np.all(np.isfinite(pi)) or np.any(pi <= 0):
            raise ConfigError(f"priors must be {n} positive numbers, got {priors!r}.")
        pi = pi / pi.sum()
        if causal is not None:
            C = np.asarray(causal, dtype=np.float64)
            if C.shape != (n, n):
                raise ConfigError(f"causal must be an {n}x{n} matrix, got shape {C.shape}.")
            pi = pi * np.exp(-self.causal_gain * np.clip(C, 0.0, None).sum(0))
            pi = pi / pi.sum()
        return pi

    def energy(self, embeddings, weights, *, priors=None, causal=None) -> float:
        """H(weights) for this ensemble: the function weigh() minimises over the simplex."""
        d = self.distances(embeddings)
        s = np.asarray(weights, dtype=np.float64).reshape(-1)
        h = self.fields(len(s), priors, causal)
        pos = s[s > 0]
        return float(self.coupling * s @ d @ s + h @ s + self.temperature * (pos * np.log(pos)).sum())

    def gradient(self, embeddings, weights, *, priors=None, causal=None) -> np.ndarray:
        """dH/ds (for external optimisers, e.g. the SLSQP check in benchmarks/)."""
        d = self.distances(embeddings)
        s = np.asarray(weights, dtype=np.float64).reshape(-1)
        h = self.fields(len(s), priors, causal)
        return 2.0 * self.coupling * d @ s + h + self.temperature * (np.log(np.clip(s, 1e-300, None)) + 1.0)

    def local_energies(self, embeddings, weights, *, priors=None, causal=None) -> np.ndarray:
        """eps_i = 2 sum_j J d_ij s_j + h_i: answer i's expected disagreement with the consensus plus its prior cost."""
        d = self.distances(embeddings)
        s = np.asarray(weights, dtype=np.float64).reshape(-1)
        return 2.0 * self.coupling * d @ s + self.fields(len(s), priors, causal)

    # -- the device ---------------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        if self._device is None:
            self._device = resolve_device(self.device_setting)
        return self._device

    # -- the ground state -----------------------------------------------------------------------------------
    def weigh(self, embeddings=None, *, distances=None, priors=None, causal=None,
              series: Sequence[np.ndarray] | None = None, events: EventBus | None = None,
              request_id: str | None = None) -> WeighResult:
        """The ground state of H for one ensemble: (N, D) unit-norm embeddings, or an (N, N) matrix of
        `distances` in [0, 2] (e.g. from what programs computed, behaviour.py) in place of cosine distances.

        causal: an (N, N) matrix of effective transfer entropy (nats) to discount by; or
        series: one (T_i, k) array per answer, from which the graph is estimated here (transfer_entropy.py).
        events, request_id: the bus for this call (else the engine's) and the request its events belong to.
        """
        d = self._distances_of(embeddings, distances)
        bus = events if events is not None else self.events
        pvalues = None
        if series is not None:
            if causal is not None:
                raise ConfigError("Pass either causal or series to weigh(), not both.")
            from .transfer_entropy import causal_graph

            graph = causal_graph(series, seed=self.seed)
            causal, pvalues = graph.effective, graph.pvalues
            if bus is not None:
                bus.publish(graph.to_event(request_id))
        pri = None if priors is None else np.asarray(priors, dtype=np.float64)[None]
        cau = None if causal is None else np.asarray(causal, dtype=np.float64)[None]
        result = self._solve(d[None], pri, cau, bus, request_id)[0]
        result.causal_pvalues = pvalues
        return result

    def weigh_batch(self, embeddings, *, priors=None, causal=None, events: EventBus | None = None,
                    request_id: str | None = None) -> list[WeighResult]:
        """Ground states of B ensembles of the same size at once: embeddings (B, N, D); priors (B, N);
        causal (B, N, N). Solved as one batch (batch x candidates x N)."""
        E = np.asarray(embeddings, dtype=np.float64)
        if E.ndim != 3:
            raise ConfigError(f"weigh_batch takes embeddings of shape (B, N, D), got {E.shape}.")
        d = np.stack([self.distances(e) for e in E]) if len(E) else np.zeros((0, E.shape[1], E.shape[1]))
        return self._solve(d, priors, causal, events if events is not None else self.events, request_id)

    def weigh_many(self, ensembles: Sequence[Any], *, distances: bool = False) -> list[WeighResult]:
        """Ground states of ensembles of any sizes, in the order given: each an (N_i, D) embedding matrix
        (or, with distances=True, an (N_i, N_i) distance matrix). Ensembles of one size are solved as one
        batch, so many small requests cost about what one batch does. No events (a batch has no one run)."""
        ds = [self._distances_of(None, e) if distances else self.distances(e) for e in ensembles]
        out: list[WeighResult | None] = [None] * len(ds)
        by_size: dict[int, list[int]] = {}
        for i, d in enumerate(ds):
            by_size.setdefault(len(d), []).append(i)
        for idx in by_size.values():
            for i, r in zip(idx, self._solve(np.stack([ds[i] for i in idx]), None, None, None, None)):
                out[i] = r
        return out  # type: ignore[return-value]

    def _distances_of(self, embeddings, distances) -> np.ndarray:
        if (embeddings is None) == (distances is None):
            raise ConfigError("Pass weigh() either embeddings (N, D) or distances (N, N), one of the two.")
        if embeddings is not None:
            return self.distances(embeddings)
        d = np.asarray(distances, dtype=np.float64)
        if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] == 0:
            raise ConfigError(f"distances must be a non-empty square (N, N) matrix, got shape {d.shape}.")
        if not np.all(np.isfinite(d)) or d.min() < 0 or d.max() > 2 or not np.allclose(d, d.T, atol=1e-9):
            raise ConfigError("distances must be finite, symmetric and between 0 and 2 (cosine distance's range); "
                              "build them with consensus.behaviour.distance_matrix.")
        d = (d + d.T) / 2
        np.fill_diagonal(d, 0.0)
        return d

    def _solve(self, d: np.ndarray, priors, causal, bus: EventBus | None, request_id: str | None) -> list[WeighResult]:
        started = time.perf_counter()
        B, N, _ = d.shape
        if B == 0:
            return []
        if N == 0:
            raise ConfigError("Cannot weigh an empty ensemble: no answers.")
        T, J = self.temperature, self.coupling
        pis = np.stack([self.effective_priors(N, None if priors is None else priors[b],
                                              None if causal is None else causal[b]) for b in range(B)])
        causal_used = np.zeros((B, N, N)) if causal is None else np.clip(np.asarray(causal, np.float64), 0.0, None)
        h = -T * np.log(pis)
        method = self.method
        if method == "auto":
            method = "fast" if self.device == "cpu" else "anneal"
        if method == "fast":
            from . import solver

            found = solver.ground_states(J * d, h, T, self.fast, np.random.default_rng(self.seed))
            weights, energy, residual, trace = found["weights"], found["energy"], found["residual"], found["trace"]
            temps = np.full(trace.shape[1], T)  # no annealing: the search runs at the Hamiltonian's own T
            if bus is not None:
                self._publish_trace(bus, trace[0], temps, weights[0], B, request_id)
        else:
            weights, energy, residual, trace = self._anneal(J * d, h, bus, request_id)
            temps = np.asarray(self.schedule.temperatures())
        weights = weights / weights.sum(1, keepdims=True)
        eps = 2.0 * np.einsum("bn,bnm->bm", weights, J * d) + h
        m = (-eps / T).max(1, keepdims=True)
        free = -T * (m[:, 0] + np.log(np.exp(-eps / T - m).sum(1)))
        seconds = time.perf_counter() - started
        results = [WeighResult(weights=weights[b], energy=float(energy[b]), free_energy=float(free[b]),
                               local_energies=eps[b], causal=causal_used[b], priors=pis[b], trace=trace[b],
                               temperatures=temps, device=self.device, residual=float(residual[b]),
                               seconds=seconds / B)
                   for b in range(B)]
        if bus is not None:
            r = results[0]
            bus.publish(ConsensusDone(weights=tuple(r.weights.tolist()), energy=r.energy, free_energy=r.free_energy,
                                      entropy=r.entropy, device=r.device, batch=int(B), seconds=round(seconds, 4),
                                      request_id=request_id))
        return results

    def _publish_trace(self, bus: EventBus, trace, temps, weights, batch: int, request_id) -> None:
        """The fast search's steps as ConsensusStep events (the descent's lowest energy; the final weights)."""
        every = max(1, -(-len(trace) // self.max_events))
        for k in range(len(trace)):
            if k % every == 0 or k == len(trace) - 1:
                bus.publish(ConsensusStep(step=k, temperature=float(temps[k]), energy=float(trace[k]),
                                          weights=tuple(weights.tolist()), batch=batch, request_id=request_id))

    def _anneal(self, A_np: np.ndarray, h_np: np.ndarray, bus: EventBus | None, request_id: str | None):
        import torch

        from . import annealing

        dev = torch.device(self.device)
        gen = torch.Generator(device=dev)
        gen.manual_seed(self.seed)
        A = torch.as_tensor(A_np, dtype=torch.float64, device=dev)
        h = torch.as_tensor(h_np, dtype=torch.float64, device=dev)
        B = A.shape[0]
        publish = None
        if bus is not None:
            def publish(step, tau, H, s):
                best = int(torch.argmin(H[0]))
                bus.publish(ConsensusStep(step=int(step), temperature=float(tau), energy=float(H[0, best]),
                                          weights=tuple(s[0, best].tolist()), batch=int(B), request_id=request_id))
        # One torch thread on the CPU: these are many tiny ops, and on a busy 2-core machine torch's own pool
        # made them 10-60x slower (benchmarks/consensus_speed.py, "anneal" at default threads vs 1).
        threads = torch.get_num_threads()
        if dev.type == "cpu":
            torch.set_num_threads(1)
        try:
            found = annealing.ground_states(A, h, self.temperature, self.schedule, gen, publish, self.max_events)
        finally:
            torch.set_num_threads(threads)
        return (found["weights"].cpu().numpy(), found["energy"].cpu().numpy(), found["residual"].cpu().numpy(),
                found["trace"].cpu().numpy())


def resolve_device(device: str | None) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; an explicit CUDA device must exist."""
    if device == "cpu":
        return device  # without importing torch: the fast CPU search never needs it
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} was asked for, but torch sees no CUDA GPU here. "
                          "Use device='auto' or 'cpu'.")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ConfigError(f"Unknown device {device!r}: use 'auto', 'cpu' or 'cuda'.")
    return device


def _as_matrix(embeddings) -> np.ndarray:
    E = np.asarray(embeddings, dtype=np.float64)
    if E.ndim != 2 or E.shape[0] == 0:
        raise ConfigError(f"Embeddings must be a non-empty (N, D) array, got shape {E.shape}.")
    norms = np.linalg.norm(E, axis=1)
    if not np.all(np.isfinite(E)) or np.any(norms == 0):
        raise ConfigError("Embeddings must be finite and non-zero.")
    if np.any(np.abs(norms - 1.0) > 1e-3):
        raise ConfigError("Embeddings must have unit-norm rows (as Embedder.encode returns them); "
                          "normalise them first.")
    return E / norms[:, None]
