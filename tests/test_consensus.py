"""Thermodynamic consensus: the Hamiltonian's ground state, transfer entropy, refinement, privacy,
the quantum reservoir and the parallel query pipeline (real SDKs against the scripted server). CPU only."""
from __future__ import annotations

import ast
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import llmos_jupyter
from llmos_jupyter.consensus import (ConsensusEngine, ConsensusError, ConsensusOptions, PrivacyAccountant,
                                     PrivacyBudgetExceeded, PrivateAggregator, parse_specs, run_consensus)
from llmos_jupyter.consensus.active_inference import free_energy, refine
from llmos_jupyter.consensus.synthetic import ensemble
from llmos_jupyter.consensus.transfer_entropy import causal_graph, te_test
from llmos_jupyter.errors import ConfigError, LLMOSError
from llmos_jupyter.events import (CausalGraph, ConsensusAnswer, ConsensusDone, ConsensusFinished, ConsensusStep,
                                  EventBus)
from llmos_jupyter.testing import Reply


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The solves are many tiny tensor ops: one thread is faster on a shared machine. Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def eng():
    return ConsensusEngine(device="cpu", seed=0)


def _ar(rng, n, phi=0.5):
    x = np.zeros(n)
    e = rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


# -- specs and import weight ----------------------------------------------------------------------------
def test_parse_specs():
    assert parse_specs("anthropic:claude-sonnet-5-5,openai:gpt-5.5,local") == [
        ("anthropic", "claude-sonnet-5-5"), ("openai", "gpt-5.5"), ("local", None)]
    assert parse_specs(" openai:ft:gpt-4o:org , local ") == [("openai", "ft:gpt-4o:org"), ("local", None)]
    for bad in ("", " , ", "openai:", ":gpt-5.5"):
        with pytest.raises(ConfigError):
            parse_specs(bad)


def test_import_is_light():
    code = ("import sys, llmos_jupyter.consensus; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'qiskit', 'qiskit_aer', "
            "'sentence_transformers', 'scipy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _internal_imports() -> dict[str, set[str]]:
    """Every llmos_jupyter module -> the llmos_jupyter modules it imports, at the top or inside a function."""
    root = Path(llmos_jupyter.__file__).parent
    modules = {".".join(("llmos_jupyter", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                target = ".".join(part for part in (base, node.module) if part)
                # `from . import annealing` imports the module annealing, not only the package.
                subs = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules}
                found |= subs or {target}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_cycle_in_consensus():
    graph = _internal_imports()
    inside = {m for m in graph if m.startswith("llmos_jupyter.consensus.")}
    state: dict[str, str] = {}

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m] & inside):
            assert state.get(n) != "open", " -> ".join(path + [n])
            if n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in sorted(inside):
        if m not in state:
            visit(m, [m])


def test_the_maths_knows_nothing_of_providers_or_billing():
    graph = _internal_imports()
    reached, todo = set(), ["llmos_jupyter.consensus.hamiltonian"]
    while todo:
        for n in graph[todo.pop()] - reached:
            reached.add(n)
            todo.append(n)
    assert not {m for m in reached if m.split(".")[1] in ("providers", "ledger", "prices", "store", "memory")}
    assert "llmos_jupyter.consensus.pipeline" not in reached


# -- the ground state ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_weights_on_simplex_and_energy_consistent(eng, n):
    rng = np.random.default_rng(n)
    E = ensemble(rng, honest=max(1, n // 2 + 1), outliers=n - max(1, n // 2 + 1)).embeddings
    res = eng.weigh(E)
    w = res.weights
    assert w.shape == (n,) and np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    assert res.energy == pytest.approx(eng.energy(E, w), abs=1e-12)
    assert res.device == "cpu"
    assert len(res.trace) == eng.fast.descent_steps + 1 and np.all(res.temperatures == eng.temperature)
    assert np.all(np.diff(res.trace) <= 1e-12) and res.trace[-1] == pytest.approx(res.energy, abs=1e-12)
    assert res.causal.shape == (n, n) and not res.causal.any()
    if n > 1:
        # A true local minimum: stationary, and no feasible direction lowers H.
        assert res.residual < 1e-6
        for _ in range(200):
            v = rng.standard_normal(n)
            v -= v.mean()
            t = 1e-4 * min(1.0, float(np.min(w[v < 0] / -v[v < 0])))
            assert eng.energy(E, w + t * v) >= res.energy - 1e-12
        # The free energy is -T log sum exp(-eps/T) at the mean-field fixed point.
        eps = eng.local_energies(E, w)
        assert res.free_energy == pytest.approx(-eng.temperature * np.log(np.exp(-eps / eng.temperature).sum()),
                                                abs=1e-9)


def test_ground_state_matches_multistart_slsqp(eng):
    from scipy.optimize import minimize

    rng = np.random.default_rng(7)
    E = ensemble(rng, 4, 3, 3).embeddings
    n = len(E)
    best = math.inf
    for x0 in [np.full(n, 1 / n)] + [rng.dirichlet(np.ones(n)) for _ in range(15)]:
        r = minimize(lambda s: eng.energy(E, s), x0, jac=lambda s: eng.gradient(E, s), method="SLSQP",
                     bounds=[(1e-12, 1)] * n, constraints={"type": "eq", "fun": lambda s: s.sum() - 1},
                     options={"ftol": 1e-14, "maxiter": 1000})
        best = min(best, eng.energy(E, np.clip(r.x, 0, None) / np.clip(r.x, 0, None).sum()))
    assert eng.weigh(E).energy <= best + 1e-9


def test_majority_wins_5_vs_4_with_outliers(eng):
    rng = np.random.default_rng(11)
    ens = [ensemble(rng, 5, 4, 3) for _ in range(6)]
    results = eng.weigh_batch(np.stack([e.embeddings for e in ens]))
    for e, r in zip(ens, results):
        assert r.weights[e.honest].sum() >= 0.9
        # The adversaries' basin is a local minimum too, higher in energy: that is why the search anneals.
        s = np.where(e.adversarial, 1.0, 1e-6)
        s /= s.sum()
        assert eng.energy(e.embeddings, s) > r.energy + 0.1


def test_priors_shift_the_ground_state(eng):
    rng = np.random.default_rng(3)
    E = ensemble(rng, 2, 0, 2).embeddings
    flat = eng.weigh(E)
    favoured = int(np.argmin(flat.weights))
    priors = np.ones(4)
    priors[favoured] = 50.0
    tilted = eng.weigh(E, priors=priors)
    assert tilted.weights[favoured] > flat.weights[favoured]
    assert tilted.energy == pytest.approx(eng.energy(E, tilted.weights, priors=priors), abs=1e-12)


def test_deterministic_under_a_seed():
    rng = np.random.default_rng(5)
    E = ensemble(rng, 4, 3, 2).embeddings
    a, b = ConsensusEngine(device="cpu", seed=42).weigh(E), ConsensusEngine(device="cpu", seed=42).weigh(E)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.trace, b.trace) and a.energy == b.energy
    c = ConsensusEngine(device="cpu", seed=43, method="anneal").weigh(E)
    d = ConsensusEngine(device="cpu", seed=42, method="anneal").weigh(E)
    assert not np.array_equal(d.trace, c.trace)  # another annealing path ...
    assert c.energy == pytest.approx(a.energy, abs=1e-10)  # ... to the same ground state


def test_weigh_batch_agrees_with_weigh(eng):
    rng = np.random.default_rng(9)
    batch = np.stack([ensemble(rng, 3, 2, 1).embeddings for _ in range(4)])
    for E, r in zip(batch, eng.weigh_batch(batch)):
        single = eng.weigh(E)
        assert r.energy == pytest.approx(single.energy, abs=1e-10)
        assert np.allclose(r.weights, single.weights, atol=1e-6)


def test_device_choice():
    import torch

    assert ConsensusEngine(device="auto").device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert ConsensusEngine(device="cpu").device == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            ConsensusEngine(device="cuda").weigh(np.eye(3))
    with pytest.raises(ConfigError, match="unit-norm"):
        ConsensusEngine(device="cpu").weigh(2 * np.eye(3))


@pytest.mark.parametrize("method", ["fast", "anneal"])
def test_events_published_while_searching(method):
    bus = EventBus()
    seen = []
    bus.subscribe(seen.append)
    rng = np.random.default_rng(2)
    E = ensemble(rng, 3, 2, 1).embeddings
    eng = ConsensusEngine(device="cpu", seed=0, events=bus, method=method)
    res = eng.weigh(E, request_id="r7")
    steps = [e for e in seen if isinstance(e, ConsensusStep)]
    if method == "anneal":  # the annealing schedule, hot to cold
        assert 10 <= len(steps) <= 100
        assert steps[0].temperature == pytest.approx(10.0) and steps[-1].temperature == pytest.approx(0.1)
    else:  # one step per descent step and the Newton finish, at the Hamiltonian's own temperature
        assert len(steps) == eng.fast.descent_steps + 1 and {s.temperature for s in steps} == {1.0}
    assert [s.step for s in steps] == sorted(s.step for s in steps)
    for s in steps:
        assert len(s.weights) == 6 and abs(sum(s.weights) - 1) < 1e-9 and math.isfinite(s.energy)
        assert isinstance(s.weights, tuple) and s.request_id == "r7" and s.batch == 1
    done = [e for e in seen if isinstance(e, ConsensusDone)]
    assert len(done) == 1 and done[0].weights == tuple(res.weights.tolist()) and done[0].request_id == "r7"
    assert done[0].energy == res.energy and done[0].device == "cpu"
    assert len(seen) == len(steps) + 1


def test_fast_and_anneal_find_the_same_ground_state():
    rng = np.random.default_rng(4)
    fast, anneal = ConsensusEngine(device="cpu", method="fast"), ConsensusEngine(device="cpu", method="anneal")
    for E in [ensemble(rng, 4, 3, 2).embeddings, ensemble(rng, 2, 0, 5).embeddings]:
        a, b = fast.weigh(E), anneal.weigh(E)
        assert a.energy <= b.energy + 1e-12 and np.allclose(a.weights, b.weights, atol=1e-5)
        assert a.residual < 1e-9


def test_weigh_takes_distances_and_weigh_many_mixes_sizes(eng):
    rng = np.random.default_rng(8)
    E1, E2, E3 = (ensemble(rng, *c).embeddings for c in ((3, 1, 1), (2, 1, 0), (4, 2, 1)))
    by_d = eng.weigh(distances=eng.distances(E1))
    assert by_d.energy == pytest.approx(eng.weigh(E1).energy, abs=1e-12)
    many = eng.weigh_many([E1, E2, E3])
    assert [len(r.weights) for r in many] == [5, 3, 7]
    for E, r in zip((E1, E2, E3), many):
        assert r.energy == pytest.approx(eng.weigh(E).energy, abs=1e-10)
    # Two identical programs and a third that differs: the pair carries the weight.
    d = np.array([[0, 0, 1], [0, 0, 1], [1, 1, 0]], float)
    w = eng.weigh(distances=d).weights
    assert w[0] == pytest.approx(w[1]) and w[2] < 0.01
    for bad in (np.array([[0, 3], [3, 0]]), np.array([[0, 0.1], [0.5, 0]]), np.zeros((2, 3))):
        with pytest.raises(ConfigError):
            eng.weigh(distances=bad)
    with pytest.raises(ConfigError, match="either embeddings"):
        eng.weigh(E1, distances=eng.distances(E1))


# -- transfer entropy ----------------------------------------------------------------------------------------
def test_te_test_rejects_independent_series():
    pvalues = []
    for k in range(40):
        rng = np.random.default_rng(100 + k)
        pvalues.append(te_test(_ar(rng, 40), _ar(rng, 40), seed=k).p_value)
    # At alpha = 0.05 about 2 of 40 independent pairs are expected to come out significant.
    assert sum(p < 0.05 for p in pvalues) <= 4
    assert np.median(pvalues) > 0.3


def test_te_test_finds_planted_lag():
    rng = np.random.default_rng(0)
    n = 40
    x = _ar(rng, n)
    y = np.zeros(n)
    noise = rng.standard_normal(n)
    for t in range(3, n):
        y[t] = 0.3 * y[t - 1] + 0.8 * x[t - 3] + 0.5 * noise[t]
    forward, backward = te_test(x, y, max_lag=4), te_test(y, x, max_lag=4)
    assert forward.p_value <= 0.01 and forward.lag == 3 and forward.effective > 0.2
    assert backward.p_value > 0.05


def test_causal_graph_and_the_discount_rule(eng):
    rng = np.random.default_rng(1)
    n = 40
    a, c = _ar(rng, n), _ar(rng, n)
    b = np.zeros(n)
    noise = rng.standard_normal(n)
    for t in range(2, n):
        b[t] = 0.9 * a[t - 2] + 0.4 * noise[t]
    graph = causal_graph([a, b, c])
    assert graph.significant.tolist() == [[False, True, False], [False, False, False], [False, False, False]]
    assert graph.effective[0, 1] > 0 and graph.lags[0, 1] == 2

    E = ensemble(rng, 3, 0, 0).embeddings
    plain = eng.weigh(E)
    discounted = eng.weigh(E, causal=graph.effective)
    # The rule: pi_j is multiplied by exp(-gamma * sum_i C_ij) (then normalised) before the ground state is found.
    expected = np.array([1.0, math.exp(-graph.effective[0, 1]), 1.0])
    assert np.allclose(discounted.priors, expected / expected.sum(), atol=1e-12)
    assert discounted.weights[1] < plain.weights[1]
    assert discounted.energy == pytest.approx(eng.energy(E, discounted.weights, priors=discounted.priors), abs=1e-12)

    events = EventBus()
    published = []
    events.subscribe(published.append, CausalGraph)
    from_series = eng.weigh(E, series=[a, b, c], events=events)
    assert np.allclose(from_series.causal, graph.effective) and from_series.causal_pvalues[0, 1] <= 0.05
    [event] = published
    assert event.effective == tuple(tuple(row) for row in graph.effective.tolist())
    assert [(e["source"], e["target"]) for e in event.edges] == [(0, 1)] and event.alpha == graph.alpha


# -- active inference --------------------------------------------------------------------------------------
def test_refinement_lowers_free_energy_to_target_entropy(eng):
    rng = np.random.default_rng(4)
    E = ensemble(rng, 3, 2, 2, tightness=0.8).embeddings
    res = eng.weigh(E)
    r = refine(res.weights, res.local_energies, target_entropy=0.1)
    assert r.reached and r.entropy_after == pytest.approx(0.1, abs=1e-6)
    assert r.free_energy_after < r.free_energy_before
    assert r.free_energy_before == pytest.approx(free_energy(res.weights, res.local_energies, r.temperature))
    # The ground state is Gibbs_T(eps), so the refined belief is s^(T/T_r), renormalised: ranking kept.
    power = res.weights ** (eng.temperature / r.temperature)
    assert np.allclose(r.weights, power / power.sum(), atol=1e-6)
    assert np.array_equal(np.argsort(r.weights), np.argsort(res.weights))
    # At the Hamiltonian's own temperature the ground state already minimises F: it is its own refinement.
    at_t = refine(res.weights, res.local_energies, target_entropy=res.entropy)
    assert at_t.temperature == pytest.approx(eng.temperature, rel=1e-5)


# -- differential privacy ------------------------------------------------------------------------------------
def test_privacy_accountant_refuses_past_budget():
    rng = np.random.default_rng(0)
    E = ensemble(rng, 4, 0, 0).embeddings
    accountant = PrivacyAccountant(epsilon=1.0, delta=1e-5)
    agg = PrivateAggregator(accountant, epsilon=0.4, delta=1e-6, seed=0)
    first = agg.aggregate(E)
    agg.aggregate(E)
    assert accountant.spent == pytest.approx((0.8, 2e-6))
    with pytest.raises(PrivacyBudgetExceeded, match="budget is spent") as info:
        agg.aggregate(E)
    assert isinstance(info.value, LLMOSError)
    assert accountant.spent == pytest.approx((0.8, 2e-6)) and len(accountant.spends) == 2
    # Replace-one sensitivity of a uniform mean of unit vectors is 2/N.
    assert first.sensitivity == pytest.approx(0.5) and first.vector.shape == (384,)


def test_gaussian_mechanism_is_calibrated():
    from llmos_jupyter.consensus.privacy import (analytic_gaussian_sigma, classical_gaussian_sigma,
                                                 privacy_loss_delta)

    sigma = analytic_gaussian_sigma(1.0, 0.5, 1e-5)
    assert privacy_loss_delta(sigma, 1.0, 0.5) <= 1e-5 < privacy_loss_delta(0.99 * sigma, 1.0, 0.5)
    assert sigma < classical_gaussian_sigma(1.0, 0.5, 1e-5)
    # The noise drawn has that standard deviation.
    rng = np.random.default_rng(1)
    E = ensemble(rng, 5, 0, 0).embeddings
    agg = PrivateAggregator(PrivacyAccountant(epsilon=1e6, delta=0.5), epsilon=2.0, delta=1e-6, seed=3)
    noise = np.concatenate([agg.aggregate(E).vector - E.mean(0) for _ in range(20)])
    expected = analytic_gaussian_sigma(2 / 5, 2.0, 1e-6)
    assert np.std(noise) == pytest.approx(expected, rel=0.05)


# -- quantum reservoir ----------------------------------------------------------------------------------------
def test_quantum_reservoir_on_aer_scores_honest_answers_first():
    from llmos_jupyter.consensus.reservoir import QuantumReservoir, ensemble_features

    q = QuantumReservoir(n_qubits=6, depth=3, seed=0).fit_synthetic(n_ensembles=30)
    qc, x, r = q.template()
    assert qc.num_qubits == 6 and len(qc.parameters) == len(x) + len(r)
    assert q._simulator.name.startswith("aer_simulator")
    rng = np.random.default_rng(77)
    tops = []
    for _ in range(8):
        e = ensemble(rng, 4, 3, 2)
        w = q.weights(e.embeddings)
        assert abs(w.sum() - 1) < 1e-12
        tops.append(bool(e.honest[np.argmax(w)]))
    assert sum(tops) >= 7
    states = q.states(ensemble_features(e.embeddings))
    assert np.all(np.abs(states) <= 1 + 1e-12)
    assert np.array_equal(states, QuantumReservoir(seed=0).states(ensemble_features(e.embeddings)))


# -- the pipeline, over real HTTP ---------------------------------------------------------------------------
GHZ_A = ("A GHZ state (|000> + |111>)/sqrt(2) is fragile under dephasing because its coherence lives in a single "
         "off-diagonal term that links two macroscopically distinct branches. Dephasing on any one qubit applies a "
         "random phase to |1> relative to |0>, and the GHZ coherence picks up the sum of all those phases. The "
         "off-diagonal element therefore decays as the product of every qubit's dephasing factor, so for n qubits "
         "it shrinks like exp(-n t / T2), n times faster than a single qubit. One dephasing event anywhere "
         "destroys the entanglement entirely and leaves a classical mixture of |000> and |111>. That is the price "
         "of its sensitivity for metrology.")
GHZ_B = ("GHZ states are fragile under dephasing since all of their quantum coherence sits in one off-diagonal "
         "element between |00...0> and |11...1>. Each qubit that dephases multiplies that coherence by its own "
         "decay factor, because the relative phase of the two branches is the sum of the phases picked up by all "
         "qubits. The coherence of an n-qubit GHZ state therefore decays n times faster than a single qubit's, "
         "roughly as exp(-n t / T2). After a dephasing error on a single qubit the state becomes an equal classical "
         "mixture of all zeros and all ones, and the entanglement is gone. The same phase sensitivity is what "
         "makes GHZ states useful for Heisenberg-limited sensing.")
OFF_TOPIC = ("To bake a good sourdough loaf, feed your starter the night before so it is active and bubbly. Mix "
             "flour and water and let the dough rest for an hour before adding salt and the starter. Stretch and "
             "fold the dough every half hour for the first two hours of bulk fermentation, then let it rise until "
             "it has grown by about half. Shape it gently, place it in a floured basket and proof it overnight in "
             "the fridge. Bake in a preheated Dutch oven at a high temperature with the lid on for twenty minutes, "
             "then without the lid until the crust is deep brown. Let it cool before slicing.")
SCRIPT = {"m1": Reply(text=GHZ_A, input_tokens=31, output_tokens=140),
          "m2": Reply(text=GHZ_B, input_tokens=29, output_tokens=150),
          "m4": Reply(text=OFF_TOPIC, input_tokens=33, output_tokens=120),
          "m3": Reply(status=500, error_message="upstream exploded"),
          "synth": Reply(text="Consensus: dephasing kills GHZ coherence n times faster.", input_tokens=500,
                         output_tokens=12)}


@pytest.fixture
def providers(server):
    from llmos_jupyter.providers import make_provider

    server.responder = lambda req: SCRIPT[req.body["model"]]

    def make(api, model):
        url = server.openai_base_url if api == "openai" else server.base_url
        return make_provider(api, model, base_url=url, api_key="x", max_retries=0)

    return make


def test_run_survives_a_failing_provider(providers, server, tmp_path):
    import threading

    from llmos_jupyter.ledger import Ledger
    from llmos_jupyter.store import SQLiteStore as Store

    # Each reply waits until all four requests are in: asked one after another, they would time out here.
    arrived = threading.Barrier(4, timeout=20)

    def together(req):
        try:
            arrived.wait()
        except threading.BrokenBarrierError:
            return Reply(status=400, error_message="the requests were not sent in parallel")
        return SCRIPT[req.body["model"]]

    server.responder = together
    bus = EventBus()
    seen = []
    bus.subscribe(seen.append)
    store = Store(tmp_path / "home")
    res = run_consensus("Explain why a GHZ state is fragile under dephasing",
                        [providers("openai", "m1"), providers("anthropic", "m2"), providers("openai", "m3"),
                         providers("openai", "m4")],
                        ledger=Ledger(store), events=bus, request_id="r1", prices={"m1": (1.0, 2.0)},
                        engine=ConsensusEngine(device="cpu", seed=0), synthesize_with=None)
    assert sorted(r.body["model"] for r in server.requests) == ["m1", "m2", "m3", "m4"]
    assert res.models == ["openai:m1", "anthropic:m2", "openai:m4"]
    assert res.texts == [GHZ_A, GHZ_B, OFF_TOPIC]
    assert [f["model"] for f in res.failures] == ["openai:m3"] and res.failures[0]["kind"] == "server"
    assert "upstream exploded" in res.failures[0]["message"]
    # The two agreeing answers carry the consensus; the off-topic one is weighed out.
    assert res.weights[:2].sum() >= 0.9 and res.weights[2] < 0.01 and res.refined[2] < res.weights[2]
    assert res.answer in (GHZ_A, GHZ_B) and res.answer_source in ("openai:m1", "anthropic:m2")
    assert abs(res.weights.sum() - 1) < 1e-12 and res.causal.shape == (3, 3)
    assert res.refinement.free_energy_after <= res.refinement.free_energy_before
    assert res.tokens["openai:m1"].usage.input == 31 and res.tokens["openai:m1"].usage.output == 140
    assert res.tokens["anthropic:m2"].usage.output == 150
    assert res.tokens["openai:m1"].cost_usd == pytest.approx((31 * 1.0 + 140 * 2.0) / 1e6)
    assert res.tokens["openai:m4"].cost_usd is None and res.cost_usd is None
    assert (res.total_tokens.input, res.total_tokens.output) == (93, 410)
    calls = store.query("SELECT model, input_tokens, output_tokens FROM llm_calls WHERE request_id = 'r1'")
    assert sorted(tuple(c) for c in calls) == [("m1", 31, 140), ("m2", 29, 150), ("m4", 33, 120)]
    data = json.loads(json.dumps(res.to_dict()))
    assert data["metadata"]["failures"][0]["model"] == "openai:m3" and len(data["answers"]) == 3
    assert {type(e) for e in seen} == {ConsensusAnswer, CausalGraph, ConsensusStep, ConsensusDone, ConsensusFinished}
    assert all(e.request_id == "r1" for e in seen)
    answered = [e for e in seen if isinstance(e, ConsensusAnswer)]
    assert [(e.model, e.ok) for e in answered] == [("openai:m1", True), ("anthropic:m2", True), ("openai:m3", False),
                                                   ("openai:m4", True)]
    [graph] = [e for e in seen if isinstance(e, CausalGraph)]
    assert graph.labels == tuple(res.models) and len(graph.te) == 3 and graph.effective == tuple(
        tuple(row) for row in res.causal.tolist())
    assert seen[-1] == ConsensusFinished(answer_source=res.answer_source, models=tuple(res.models),
                                         weights=tuple(res.weights.tolist()), failures=("openai:m3",), request_id="r1")
    shown = res._repr_mimebundle_()
    assert "openai:m3" in shown["text/plain"] and "FAILED" in shown["text/plain"]
    assert "Causal graph" in shown["text/html"]
    store.close()


def test_run_with_synthesis_counts_its_tokens(providers, server):
    res = run_consensus("Explain why a GHZ state is fragile under dephasing",
                        [providers("openai", "m1"), providers("anthropic", "m2")],
                        synthesize_with=providers("openai", "synth"), causal=False,
                        engine=ConsensusEngine(device="cpu", seed=0))
    assert res.answer.startswith("Consensus: dephasing") and res.answer_source == "synthesis:openai:synth"
    assert res.tokens["synthesis:openai:synth"].usage.input == 500
    assert (res.total_tokens.input, res.total_tokens.output) == (560, 302)
    assert res.graph is None and "synthesize" in res.timings_ms
    # The synthesizer sees every answer, heaviest first, with its weight.
    [synth] = [r for r in server.requests if r.body["model"] == "synth"]
    prompt = json.dumps(synth.body["messages"])
    assert "consensus weight" in prompt and GHZ_A[:40] in prompt and GHZ_B[:40] in prompt


def test_run_from_specs_the_way_llmos_calls_it(server, tmp_path):
    """The call LLMOS.consensus makes: specs made here with the engine's provider options, options by keyword."""
    from llmos_jupyter.ledger import Ledger
    from llmos_jupyter.memory.embed import Embedder
    from llmos_jupyter.store import SQLiteStore as Store

    server.responder = lambda req: SCRIPT[req.body["model"]]
    store = Store(tmp_path / "home")
    bus = EventBus()
    seen = []
    bus.subscribe(seen.append, (ConsensusAnswer, ConsensusFinished))
    res = run_consensus("Explain why a GHZ state is fragile under dephasing", "openai:m1,openai:m2,openai:m4,nosuch",
                        ledger=Ledger(store), events=bus, request_id="r2", embedder=Embedder(), prices=None,
                        provider_options={"base_url": server.openai_base_url, "api_key": "x", "max_retries": 0},
                        engine=ConsensusEngine(device="cpu", seed=0), priors={"openai:m4": 3.0}, causal=False,
                        target_entropy=0.2, max_tokens=64, synthesize_with=None)
    assert res.models == ["openai:m1", "openai:m2", "openai:m4"] and res.request_id == "r2"
    assert [f["model"] for f in res.failures] == ["nosuch"] and res.failures[0]["kind"] == "config"
    assert {r.body["max_tokens"] for r in server.requests} == {64}
    assert np.allclose(res.ground.priors, [0.2, 0.2, 0.6]) and res.graph is None
    assert res.refinement.target_entropy == 0.2
    assert store.query("SELECT COUNT(*) FROM llm_calls WHERE request_id = 'r2'")[0][0] == 3
    assert [e.model for e in seen if isinstance(e, ConsensusAnswer)] == res.models  # nosuch was never asked
    assert isinstance(seen[-1], ConsensusFinished) and seen[-1].failures == ("nosuch",)
    store.close()


def test_run_is_deterministic_under_the_engine_seed(providers):
    def once():
        return run_consensus("Explain why a GHZ state is fragile under dephasing",
                             [providers("openai", "m1"), providers("anthropic", "m2"), providers("openai", "m4")],
                             engine=ConsensusEngine(device="cpu", seed=3))
    a, b = once(), once()
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.causal, b.causal)
    assert np.array_equal(a.graph.pvalues, b.graph.pvalues) and a.answer == b.answer


def test_options_are_checked_and_frozen(providers):
    with pytest.raises(ConfigError, match="Unknown consensus option.*temprature"):
        run_consensus("q", [providers("openai", "m1")], temprature=0.5)
    priors = {"openai:m1": 2.0}
    opts = ConsensusOptions.of({"priors": priors, "causal": False})
    priors["openai:m1"] = 5.0
    assert opts.priors["openai:m1"] == 2.0 and ConsensusOptions(priors=[1, 2]).priors == (1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.causal = True
    with pytest.raises(ConfigError, match="priors has 1 entries for 2 providers"):
        run_consensus("q", [providers("openai", "m1"), providers("openai", "m2")], priors=[1.0], causal=False,
                      engine=ConsensusEngine(device="cpu", seed=0))


def test_run_with_no_answer_raises(providers):
    with pytest.raises(ConsensusError, match="No model answered.*upstream exploded"):
        run_consensus("q", [providers("openai", "m3")], engine=ConsensusEngine(device="cpu"))
