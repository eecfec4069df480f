"""Quantum reservoir (optional path): a fixed random parameterised circuit on Aer maps each answer's
ensemble features to observables; a ridge-regression readout turns them into consensus scores.

Reservoir computing trains only the readout. Here:

* Features of answer i (all in [0, 1]), from the ensemble's cosine similarities S = E E^T:
  centrality (1 + mean_j S_ij)/2, support (share of other answers within cosine distance `radius`),
  nearest (1 + max_j S_ij)/2, and centroid (1 + cos(e_i, mean of the others))/2.
* Circuit on `n_qubits` qubits, `depth` layers. Each layer re-uploads the features (RY(pi f) on
  qubit q with feature q mod 4), then applies fixed random RX/RZ rotations (angles drawn once from
  the seed: the reservoir) and a ring of CZ gates. Feature and reservoir angles are Qiskit
  Parameters, bound per answer; qiskit is imported on first use.
* Observables: <Z_q> and <Z_q Z_{q+1}> (ring), read exactly from Aer statevector probabilities,
  giving 2 n_qubits reservoir features per answer.
* Readout: ridge regression (with bias) from the observables to a target score, fitted by `fit`.
  `fit_synthetic` fits it on seeded synthetic ensembles (synthetic.py) with target 1 for honest
  answers and 0 for adversaries and outliers. `weights` turns scores into a distribution
  softmax(beta * score), beta = 10.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

N_FEATURES = 4


def ensemble_features(embeddings, radius: float = 0.3) -> np.ndarray:
    E = np.asarray(embeddings, dtype=np.float64)
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    n = len(E)
    if n == 1:
        return np.array([[1.0, 1.0, 1.0, 1.0]])
    S = E @ E.T
    off = ~np.eye(n, dtype=bool)
    others = np.where(off, S, np.nan)
    centrality = (1 + np.nanmean(others, 1)) / 2
    support = np.sum(np.where(off, 1 - S < radius, False), 1) / (n - 1)
    nearest = (1 + np.nanmax(others, 1)) / 2
    rest = (E.sum(0)[None, :] - E)
    rest = rest / np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-12)
    centroid = (1 + np.sum(E * rest, 1)) / 2
    return np.clip(np.stack([centrality, support, nearest, centroid], 1), 0.0, 1.0)


class QuantumReservoir:
    def __init__(self, n_qubits: int = 6, depth: int = 3, seed: int = 0, ridge: float = 1e-3, beta: float = 10.0):
        if n_qubits < 2:
            raise ValueError("the reservoir needs at least 2 qubits")
        self.n_qubits, self.depth, self.seed, self.ridge, self.beta = n_qubits, depth, seed, ridge, beta
        rng = np.random.default_rng(seed)
        self.angles = rng.uniform(0, 2 * math.pi, size=(depth, n_qubits, 2))
        self.readout: np.ndarray | None = None
        self._template = None
        self._simulator = None

    # -- the circuit ------------------------------------------------------------------------------
    def template(self):
        """The parameterised circuit: Parameters 'x[k]' (features) and 'r[...]' (reservoir angles)."""
        if self._template is None:
            from qiskit import QuantumCircuit
            from qiskit.circuit import ParameterVector

            n = self.n_qubits
            x = ParameterVector("x", N_FEATURES)
            r = ParameterVector("r", self.depth * n * 2)
            qc = QuantumCircuit(n, name="consensus_reservoir")
            for layer in range(self.depth):
                for q in range(n):
                    qc.ry(math.pi * x[q % N_FEATURES], q)
                for q in range(n):
                    qc.rx(r[(layer * n + q) * 2], q)
                    qc.rz(r[(layer * n + q) * 2 + 1], q)
                for q in range(n):
                    qc.cz(q, (q + 1) % n)
            qc.save_probabilities()
            self._template = (qc, x, r)
        return self._template

    def circuits(self, features: np.ndarray) -> list:
        qc, x, r = self.template()
        fixed = dict(zip(r, self.angles.reshape(-1)))
        return [qc.assign_parameters({**fixed, **dict(zip(x, f))}) for f in np.asarray(features, dtype=np.float64)]

    def states(self, features: np.ndarray) -> np.ndarray:
        """Observables <Z_q>, <Z_q Z_q+1> for each feature row, from Aer: (rows, 2 n_qubits)."""
        if self._simulator is None:
            from qiskit_aer import AerSimulator

            self._simulator = AerSimulator(method="statevector", seed_simulator=self.seed)
        circuits = self.circuits(features)
        if not circuits:
            return np.zeros((0, 2 * self.n_qubits))
        result = self._simulator.run(circuits).result()
        n = self.n_qubits
        idx = np.arange(2 ** n)
        z = 1.0 - 2.0 * ((idx[:, None] >> np.arange(n)[None, :]) & 1)  # (2^n, n): Z eigenvalues, little-endian
        zz = z * np.roll(z, -1, axis=1)
        obs = np.concatenate([z, zz], 1)
        probs = np.stack([np.asarray(result.data(i)["probabilities"]) for i in range(len(circuits))])
        return probs @ obs

    # -- the readout ------------------------------------------------------------------------------
    def fit(self, features: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> "QuantumReservoir":
        X = self.states(np.concatenate(features))
        y = np.concatenate(targets).astype(np.float64)
        X1 = np.concatenate([X, np.ones((len(X), 1))], 1)
        reg = self.ridge * np.eye(X1.shape[1])
        reg[-1, -1] = 0.0
        self.readout = np.linalg.solve(X1.T @ X1 + reg, X1.T @ y)
        return self

    def fit_synthetic(self, n_ensembles: int = 40, seed: int = 1) -> "QuantumReservoir":
        from .synthetic import ensemble

        rng = np.random.default_rng(seed)
        feats, targets = [], []
        for _ in range(n_ensembles):
            kh = int(rng.integers(2, 7))
            ka = int(rng.integers(1, kh))
            ens = ensemble(rng, kh, ka, int(rng.integers(0, 5)), tightness=float(rng.uniform(0.8, 0.95)))
            feats.append(ensemble_features(ens.embeddings))
            targets.append(ens.honest.astype(float))
        return self.fit(feats, targets)

    def scores(self, embeddings) -> np.ndarray:
        if self.readout is None:
            self.fit_synthetic()
        X = self.states(ensemble_features(embeddings))
        return np.concatenate([X, np.ones((len(X), 1))], 1) @ self.readout

    def weights(self, embeddings) -> np.ndarray:
        s = self.beta * self.scores(embeddings)
        w = np.exp(s - s.max())
        return w / w.sum()
