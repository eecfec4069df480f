"""The sentience layer: deterministic valence updates, latent modes, and the behaviour they change."""
import pytest

from conftest import BELL, Reply, fenced
from llmos_jupyter import Mode
from llmos_jupyter.errors import BudgetExhausted
from llmos_jupyter.sentience import Outcome, Sentience, Valence, latent_mode, policy
from llmos_jupyter.store import SQLiteStore as Store


@pytest.fixture
def sentience(tmp_path):
    return Sentience(Store(tmp_path))


def test_rules_are_deterministic_and_exact(sentience):
    sentience.observe(Outcome("LEARNER", ok=True, billed=2000))
    v = sentience.valence
    assert v.safety == pytest.approx(0.6 + 0.05 * 0.4)
    assert v.self_confidence == pytest.approx(0.4 + 0.08 * 0.6)
    assert v.curiosity == pytest.approx(0.1 + 0.15 * 0.9)
    assert v.energy == pytest.approx(0.7 - 0.1)
    sentience.observe(Outcome("FOLLOWER", ok=True, billed=0))
    assert sentience.valence.energy == pytest.approx(0.6 + 0.03 * 0.4)


def test_valence_persists(tmp_path):
    first = Sentience(Store(tmp_path))
    first.observe(Outcome("LEARNER", ok=False, billed=100))
    again = Sentience(Store(tmp_path))
    assert again.valence == first.valence and again.streak == 1


def test_repeated_failures_lead_to_recovery_and_a_success_leads_out(sentience):
    modes = []
    for _ in range(3):
        sentience.observe(Outcome("LEARNER", ok=False, billed=10))
        modes.append(sentience.latent_mode)
    assert modes[-1] == "RECOVERY" and sentience.streak == 3
    p = sentience.policy()
    assert p.strict_guard and p.require_checks and p.follower_delta == 0.05
    for _ in range(12):
        sentience.observe(Outcome("FOLLOWER", ok=True))
    assert sentience.latent_mode != "RECOVERY"


@pytest.mark.parametrize("valence,mode", [
    (Valence(energy=0.2), "AUTO_CONTAINED"),
    (Valence(curiosity=0.8, energy=0.7), "AUTO_CREATIVE"),
    (Valence(safety=0.2), "RECOVERY"),
    (Valence(), "BALANCED"),
])
def test_latent_modes(valence, mode):
    assert latent_mode(valence) == mode


def test_policies_change_thresholds_as_the_design_says():
    low_energy = policy(Valence(energy=0.2))
    assert (low_energy.follower_delta, low_energy.mixed_delta, low_energy.tier_shift) == (-0.04, -0.10, -1)
    curious = policy(Valence(curiosity=0.8))
    assert curious.mixed_delta == 0.10
    unsafe = policy(Valence(safety=0.4))
    assert unsafe.strict_guard and unsafe.follower_delta == 0.03
    assert policy(Valence()).behaviour == ()


def test_metadata_shows_the_behaviour_that_changed(make_engine, server):
    engine = make_engine("openai")
    engine.sentience.valence.energy = 0.2
    server.enqueue(Reply(text=fenced(BELL)))
    r = engine.run("Create a Bell state circuit")
    s = r.to_dict()["metadata"]["sentience"]
    assert s["latent_mode"] == "AUTO_CONTAINED" and "low energy" in s["behaviour"][0]
    assert r.why["thresholds"] == {"follower": 0.88, "reworded": 0.76, "mixed": 0.65}


def test_low_energy_replays_what_balanced_would_not(make_engine, server):
    from llmos_jupyter.testing.qiskit_model import respond

    server.responder = respond
    engine = make_engine("openai", follower_threshold=0.99, reworded_margin=0)  # the FOLLOWER threshold alone
    engine.run("Create a GHZ state with 3 qubits")
    assert engine.run("Create the GHZ state of 3 qubits now").mode == Mode.MIXED  # similarity 0.974
    engine.sentience.valence.energy = 0.1  # AUTO_CONTAINED: threshold 0.95
    engine.sentience.valence.curiosity = 0.0
    r = engine.run("Make a 3-qubit GHZ state")
    assert r.mode == Mode.FOLLOWER and r.why["thresholds"]["follower"] == 0.95 and r.why["score"] < 0.99


def test_low_safety_turns_on_the_strict_guard(make_engine, server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the allowed write lands here
    engine = make_engine("openai")
    code = "with open('out.txt', 'w') as f:\n    f.write('1')\n"
    server.enqueue(Reply(text=fenced(code)), Reply(text=fenced(code)))
    assert not engine.run("write a file").blocked
    engine.sentience.valence.safety = 0.35
    r = engine.run("write a file again")
    assert r.blocked and "strict checks" in r.notice


def test_budget_energy_and_exhaustion(make_engine, server):
    engine = make_engine("openai", starter_skills=True)
    engine.set_budget(1000)
    server.enqueue(Reply(text=fenced(BELL.replace("qc.h(0)", "qc.x(0)\nqc.h(0)")), input_tokens=600,
                         output_tokens=500))
    r = engine.run("Make a Bell state with an extra X gate first")
    assert r.tokens.input == 600 and engine.sentience.valence.energy == 0.0
    assert r.to_dict()["metadata"]["sentience"]["budget"]["left"] == 1000  # the snapshot before the request
    with pytest.raises(BudgetExhausted, match="budget of 1,000 is spent"):
        engine.run("Explain decoherence in one line")
    assert len(server.requests) == 1
    follower = engine.run("Create a GHZ state with 4 qubits")  # memory still answers, at zero tokens
    assert follower.mode == Mode.FOLLOWER
    engine.set_budget(None)
    assert engine.sentience.budget_left() is None


def test_kernels_sharing_a_home_add_up_their_outcomes(tmp_path):
    a, b = Sentience(Store(tmp_path)), Sentience(Store(tmp_path))
    a.set_budget(1000)
    b.observe(Outcome("LEARNER", ok=True, billed=300))  # b learns of the budget when it writes
    a.observe(Outcome("LEARNER", ok=True, billed=200))
    assert a.spent == 500 and a.budget_left() == 500
    assert Sentience(Store(tmp_path)).spent == 500
