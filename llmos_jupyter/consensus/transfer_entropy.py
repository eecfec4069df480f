"""Transfer entropy between answers' semantic time series, with a surrogate significance test.

Estimator. Gaussian (linear) transfer entropy, which for jointly Gaussian processes is exact
and equals half of Granger causality (Barnett, Barrett & Seth 2009):

    TE_{X->Y}(l) = 1/2 log( det Sigma(Y_t | Y_{t-1..t-k}) / det Sigma(Y_t | Y_{t-1..t-k}, X_{t-l}) )   [nats]

Sigma(.|.) are residual covariances of least-squares regressions with an intercept, on the
same rows t = t0..n-1 for every lag (t0 = max(k, max_lag)). The test statistic is the
maximum over source lags l = 1..max_lag, and the lag that attains it is reported.

Significance. Fourier phase-randomised surrogates of the source (Theiler et al. 1992; for a
multivariate source the same random phases for every component, Prichard & Theiler 1994): each
keeps the source's power spectrum, hence its autocorrelation, exactly, and is independent of the
target. That is the null Gaussian TE is built for ("X is a linear Gaussian process independent of
Y"). The same max-over-lags statistic is recomputed on `n_surrogates` of them and

    p = (1 + #{surrogate >= observed}) / (1 + n_surrogates).

(Shuffling the source in time, as is common, destroys its autocorrelation and is anticonservative
for smooth series such as these: measured 12 % rejections at nominal 5 % for two independent AR(1)
series with phi = 0.9, n = 40, against 4.3 % for phase surrogates.)

Over a graph of N answers the N(N-1) directed tests are corrected by Benjamini-Hochberg at level
alpha. A significant edge carries the bias-corrected ("effective", Marschinski & Kantz 2002)
transfer entropy TE - mean(surrogate TE), floored at 0; non-significant edges carry 0. That
matrix is what the causal rule of the Hamiltonian uses (hamiltonian.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .. import events


@dataclass
class TEResult:
    te: float  # observed statistic: max over lags, nats
    lag: int  # the lag attaining it
    p_value: float
    surrogate_mean: float
    effective: float  # max(0, te - surrogate_mean)
    n: int  # rows used


@dataclass
class CausalGraph:
    te: np.ndarray  # (N, N) observed TE i -> j (row = source, column = target)
    pvalues: np.ndarray  # (N, N), 1 on the diagonal
    lags: np.ndarray  # (N, N) int
    significant: np.ndarray  # (N, N) bool after Benjamini-Hochberg
    effective: np.ndarray  # (N, N) effective TE on significant edges, else 0
    alpha: float
    note: str = ""
    labels: list[str] = field(default_factory=list)

    def edges(self) -> list[dict[str, Any]]:
        n = len(self.te)
        return [{"source": i, "target": j, "te": float(self.te[i, j]), "effective": float(self.effective[i, j]),
                 "lag": int(self.lags[i, j]), "p": float(self.pvalues[i, j])}
                for i in range(n) for j in range(n) if self.significant[i, j]]

    def to_event(self, request_id: str | None = None) -> events.CausalGraph:
        return events.CausalGraph(labels=tuple(self.labels), te=_rows(self.te), effective=_rows(self.effective),
                                  pvalues=_rows(self.pvalues), edges=tuple(self.edges()), alpha=self.alpha,
                                  note=self.note, request_id=request_id)

    def to_dict(self) -> dict[str, Any]:
        return {"te": self.te.tolist(), "effective": self.effective.tolist(), "pvalues": self.pvalues.tolist(),
                "edges": self.edges(), "alpha": self.alpha, "note": self.note, "labels": list(self.labels),
                "lags": self.lags.tolist()}


def _rows(matrix: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(x) for x in row) for row in matrix)


def _as_series(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def _design(source: np.ndarray, target: np.ndarray, max_lag: int, history: int):
    """Rows t = t0..n-1: target Y_t (n_eff, dy), target past (n_eff, k*dy), source lags (..., n_eff, max_lag, dx).
    `source` may carry leading batch dimensions (surrogates): (..., n, dx)."""
    n = min(source.shape[-2], len(target))
    t0 = max(history, max_lag)
    rows = np.arange(t0, n)
    y = target[rows]
    past = np.concatenate([target[rows - j] for j in range(1, history + 1)], 1)
    lags = np.stack([source[..., rows - l, :] for l in range(1, max_lag + 1)], -2)
    return y, past, lags


def _resid_logdet(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log det of the residual covariance of y (n, dy) regressed on each design Z (..., n, p)."""
    ZtZ = np.swapaxes(Z, -1, -2) @ Z
    ridge = 1e-10 * np.trace(ZtZ, axis1=-2, axis2=-1)[..., None, None] * np.eye(Z.shape[-1])
    beta = np.linalg.solve(ZtZ + ridge, np.swapaxes(Z, -1, -2) @ y)
    r = y - Z @ beta
    cov = np.swapaxes(r, -1, -2) @ r / len(y)
    sign, logdet = np.linalg.slogdet(cov + 1e-300 * np.eye(cov.shape[-1]))
    return logdet


def _te_by_lag(y, past, lags) -> np.ndarray:
    """TE for every lag: lags (..., n_eff, L, dx) -> (..., L)."""
    base = np.concatenate([np.ones((len(y), 1)), past], 1)
    reduced = _resid_logdet(base, y)
    out = []
    for l in range(lags.shape[-2]):
        s = lags[..., l, :]
        Z = np.concatenate([np.broadcast_to(base, s.shape[:-1] + base.shape[-1:]), s], -1)
        out.append(0.5 * (reduced - _resid_logdet(Z, y)))
    return np.stack(out, -1)


def phase_surrogates(x: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` Fourier phase-randomised copies of x (n, d), the same phases for every column: (count, n, d)."""
    n = len(x)
    spectrum = np.fft.rfft(x, axis=0)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(count, spectrum.shape[0], 1))
    phases[:, 0] = 0.0  # the mean stays real
    if n % 2 == 0:
        phases[:, -1] = 0.0  # so does the Nyquist term
    return np.fft.irfft(spectrum[None] * np.exp(1j * phases), n=n, axis=1)


def gaussian_te(source, target, *, lag: int = 1, history: int = 1) -> float:
    """Gaussian transfer entropy source -> target at one source lag, in nats."""
    y, past, lags = _design(_as_series(source), _as_series(target), lag, history)
    return float(_te_by_lag(y, past, lags[..., -1:, :])[0])


def te_test(source, target, *, max_lag: int = 3, history: int = 1, n_surrogates: int = 199,
            seed: int | np.random.Generator = 0) -> TEResult:
    """Transfer entropy source -> target (max over lags 1..max_lag) with its phase-surrogate p-value."""
    x, y_series = _as_series(source), _as_series(target)
    n_all = min(len(x), len(y_series))
    x, y_series = x[:n_all], y_series[:n_all]
    y, past, lags = _design(x, y_series, max_lag, history)
    n, p = len(y), 1 + past.shape[1] + lags.shape[-1]
    if n < p + 3:
        return TEResult(0.0, 0, 1.0, 0.0, 0.0, max(n, 0))
    by_lag = _te_by_lag(y, past, lags)
    k = int(np.argmax(by_lag))
    observed = float(by_lag[k])
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    _, _, surrogate_lags = _design(phase_surrogates(x, n_surrogates, rng), y_series, max_lag, history)
    surrogate = _te_by_lag(y, past, surrogate_lags).max(-1)
    p_value = (1.0 + float(np.sum(surrogate >= observed))) / (1.0 + n_surrogates)
    mean = float(surrogate.mean())
    return TEResult(observed, k + 1, p_value, mean, max(0.0, observed - mean), n)


def benjamini_hochberg(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """Which of the p-values are discoveries at false discovery rate alpha."""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    m = len(p)
    if m == 0:
        return np.zeros(0, bool)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= alpha * np.arange(1, m + 1) / m
    keep = np.zeros(m, bool)
    if passed.any():
        keep[order[: int(np.max(np.nonzero(passed))) + 1]] = True
    return keep


def causal_graph(series: Sequence[np.ndarray], *, alpha: float = 0.05, max_lag: int = 3, history: int = 1,
                 n_surrogates: int = 199, seed: int = 0, labels: Sequence[str] = ()) -> CausalGraph:
    """Directed transfer-entropy graph between N series (each (T, k); lengths are cut to the shortest)."""
    xs = [_as_series(s) for s in series]
    n = len(xs)
    te = np.zeros((n, n))
    pv = np.ones((n, n))
    lg = np.zeros((n, n), int)
    sur = np.zeros((n, n))
    length = min((len(x) for x in xs), default=0)
    note = ""
    if n >= 2 and length < max(history, max_lag) + 1 + max(x.shape[1] for x in xs) * (history + 1) + 4:
        note = f"series too short for transfer entropy ({length} steps): no causal graph"
    elif n >= 2:
        xs = [x[:length] for x in xs]
        for i in range(n):
            for j in range(n):
                if i != j:
                    r = te_test(xs[i], xs[j], max_lag=max_lag, history=history, n_surrogates=n_surrogates,
                                seed=np.random.default_rng([seed, i, j]))
                    te[i, j], pv[i, j], lg[i, j], sur[i, j] = r.te, r.p_value, r.lag, r.surrogate_mean
    off = ~np.eye(n, dtype=bool)
    significant = np.zeros((n, n), bool)
    if n >= 2:
        significant[off] = benjamini_hochberg(pv[off], alpha)
    effective = np.where(significant, np.clip(te - sur, 0.0, None), 0.0)
    return CausalGraph(te, pv, lg, significant, effective, alpha, note, list(labels))
