"""The dashboard widgets on the Python side: events to state, throttling, threads, detach, and one real engine.
(What the browser shows is tested in tests/browser/.)"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmos_jupyter.events import EventBus
from llmos_jupyter.widgets import (CausalGraphWidget, ConsensusWidget, Dashboard, ModeWidget, ResultSummary,
                                   Throttle, TokenWidget, ValenceWidget, inline_summary, show_dashboard)

STATIC = Path(__file__).resolve().parents[1] / "llmos_jupyter" / "static"


def result(mode="LEARNER", inp=0, out=0, saved=0, cumulative=0, cost=0.0, error=None, steps=(), why=None):
    return {"response": "", "output": "", "metadata": {
        "mode": mode, "tokens": {"input": inp, "output": out, "saved": saved, "cumulative_saved": cumulative},
        "cost_usd": cost, "error": error, "why": why or {}, "steps": list(steps),
        "sentience": {"latent_mode": "BALANCED", "valence": {"safety": 0.6, "curiosity": 0.1, "energy": 0.7,
                                                             "self_confidence": 0.4}}}}


def request(bus, rid, text, mode, *, inp=0, out=0, saved=0, cumulative=0, why=None, fallback=None):
    """Publish what the engine publishes for one request, in its order."""
    bus.publish("request.start", request_id=rid, request=text)
    bus.publish("mode", request_id=rid, mode=fallback or mode, why=why or {})
    if fallback:
        bus.publish("mode", request_id=rid, mode=mode, why={**(why or {}), "fallback": {"from": fallback}})
    if inp or out:
        bus.publish("llm.call", request_id=rid, provider="openai", model="m", input=inp, output=out)
    bus.publish("tokens", request_id=rid, input=inp, output=out, saved=saved, cumulative_saved=cumulative)
    bus.publish("request.end", request_id=rid, result=result(mode, inp, out, saved, cumulative, why=why))


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- imports -----------------------------------------------------------------------------------------------
def test_imports_stay_light():
    code = ("import sys, llmos_jupyter; a = [m for m in sys.modules if 'widgets' in m or m == 'anywidget'];"
            "import llmos_jupyter.widgets; b = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'qiskit', 'qiskit_aer', 'sentence_transformers', 'transformers')];"
            "import json; print(json.dumps([a, b]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    core_pulled_widgets, widgets_pulled_heavy = json.loads(out)
    assert core_pulled_widgets == [] and widgets_pulled_heavy == []


def test_bundles_are_built_offline_esm():
    for name in ("mode", "tokens", "valence", "causal", "consensus", "summary"):
        text = (STATIC / f"{name}.js").read_text()
        assert re.search(r"export\s*\{[^}]*as default", text), name  # an ES module with a default export
        # nothing loaded from a CDN at run time: no remote imports
        assert not re.search(r"""(?:\bfrom\s*|\bimport\s*\(\s*)["']https?://""", text), name
    css = (STATIC / "widgets.css").read_text()
    assert "--jp-ui-font-color1" in css and "--jp-layout-color1" in css
    for widget in (ModeWidget, TokenWidget, ValenceWidget, CausalGraphWidget, ConsensusWidget, ResultSummary):
        assert Path(str(widget._esm._path)).parent == STATIC  # the class points at its bundle


# -- events to state ---------------------------------------------------------------------------------------
def test_mode_widget_history_why_and_counts():
    bus = EventBus()
    w = ModeWidget(bus)
    request(bus, "r1", "Create a GHZ state with 3 qubits", "LEARNER", inp=500, out=100,
            why={"reason": "memory is empty", "score": 0.0, "template": "x"})
    request(bus, "r2", "Create a GHZ state with 3 qubits", "FOLLOWER", saved=600, cumulative=600,
            why={"score": 1.0, "trace_id": "t1", "reason": "similarity 1.000"})
    request(bus, "r3", "Create a GHZ state with 4 qubits", "MIXED", inp=200, out=90,
            why={"score": 0.95, "trace_id": "t1"}, fallback="FOLLOWER")
    assert w.modes == ["LEARNER", "FOLLOWER", "MIXED"]
    assert [e["mode"] for e in w.history] == ["LEARNER", "FOLLOWER", "MIXED"]  # synced: request.end flushes
    first, second, third = w.history
    assert first["why"] == {"score": 0.0, "reason": "memory is empty"} and first["status"] == "ok"
    assert second["why"]["trace_id"] == "t1" and second["why"]["score"] == 1.0
    assert second["tokens"] == {"input": 0, "output": 0, "saved": 600}
    assert third["why"]["fallback_from"] == "FOLLOWER"
    assert w.counts == {"CRYSTALLIZED": 0, "FOLLOWER": 1, "MIXED": 1, "LEARNER": 1, "ORCHESTRATOR": 0}
    assert w.running == ""


def test_orchestrator_steps_count_once():
    bus = EventBus()
    mode, tokens = ModeWidget(bus), TokenWidget(bus)
    bus.publish("request.start", request_id="p", request="Bell then GHZ")
    bus.publish("mode", request_id="p", mode="ORCHESTRATOR", why={"plan": ["Bell", "GHZ"]})
    mode.flush()
    assert mode.running == "p"
    for i, (step, m, billed) in enumerate([("Bell", "LEARNER", 300), ("GHZ", "FOLLOWER", 0)], start=1):
        bus.publish("orchestrator.step", request_id="p", index=i, step=step)
        request(bus, f"c{i}", step, m, inp=billed, saved=0 if billed else 250, cumulative=0 if billed else 250)
    assert [s["mode"] for s in mode.state["history"][0]["steps"]] == ["LEARNER", "FOLLOWER"]
    bus.publish("request.end", request_id="p", result=result(
        "ORCHESTRATOR", 300, 0, 250, 250,
        steps=[{"step": "Bell", "mode": "LEARNER"}, {"step": "GHZ", "mode": "FOLLOWER"}]))
    assert mode.modes == ["ORCHESTRATOR"] and mode.counts["ORCHESTRATOR"] == 1 and mode.counts["LEARNER"] == 0
    assert [s["mode"] for s in mode.history[0]["steps"]] == ["LEARNER", "FOLLOWER"]
    assert tokens.totals["billed"] == 300 and tokens.totals["saved"] == 250  # not twice
    assert [p["mode"] for p in tokens.points] == ["", "ORCHESTRATOR"] and tokens.totals["requests"] == 1


def test_token_widget_baseline_percent_and_live_billing():
    bus = EventBus()
    w = TokenWidget(bus)
    bus.publish("request.start", request_id="r1", request="GHZ")
    bus.publish("llm.call", request_id="r1", provider="openai", model="m", input=400, output=100)
    w.flush()
    assert w.live == {"request": "GHZ", "billed": 500} and w.totals["billed"] == 500  # during the request
    bus.publish("tokens", request_id="r1", input=400, output=100, saved=0, cumulative_saved=0)
    bus.publish("request.end", request_id="r1", result=result("LEARNER", 400, 100))
    request(bus, "r2", "GHZ", "FOLLOWER", saved=500, cumulative=500)
    request(bus, "r3", "GHZ", "FOLLOWER", saved=500, cumulative=1000)
    t = w.totals
    assert (t["billed"], t["saved"], t["baseline"], t["requests"]) == (500, 1000, 1500, 3)
    assert t["percent_saved"] == pytest.approx(66.67, abs=0.01)
    assert w.live == {}
    assert [(p["n"], p["cum_billed"], p["cum_baseline"]) for p in w.points] == [
        (0, 0, 0), (1, 500, 500), (2, 500, 1000), (3, 500, 1500)]


def test_valence_widget_follows_sentience():
    bus = EventBus()
    w = ValenceWidget(bus)
    assert w.valence == {} and w.latent_mode == ""
    for i, mode in enumerate(["BALANCED", "RECOVERY"]):
        bus.publish("sentience", request_id=f"r{i}", latent_mode=mode,
                    valence={"safety": 0.5 - i / 4, "curiosity": 0.2, "energy": 0.7, "self_confidence": 0.4 - i / 4},
                    behaviour=["recovery: strict guard"] if i else [])
    w.flush()
    assert w.latent_mode == "RECOVERY" and w.valence["safety"] == 0.25 and w.behaviour == ["recovery: strict guard"]
    assert [h["latent_mode"] for h in w.history] == ["BALANCED", "RECOVERY"]


def test_consensus_widget_annealing_then_ground_state_and_new_run():
    bus = EventBus()
    w = ConsensusWidget(bus, labels=["a", "b", "c"])
    for step in range(5):
        bus.publish("consensus.step", step=step, temperature=1.0 / (step + 1), energy=2.0 - step / 4,
                    weights=[0.4, 0.4, 0.2], batch=1)
    w.flush()
    assert w.done is False and [p["step"] for p in w.trace] == [0, 1, 2, 3, 4]
    bus.publish("consensus.done", weights=[0.5, 0.5, 0.0], energy=0.9, free_energy=1.1, device="cpu", batch=1,
                seconds=0.01)
    assert w.done is True and w.weights == [0.5, 0.5, 0.0] and w.labels == ["a", "b", "c"]
    assert w.info == {"energy": 0.9, "free_energy": 1.1, "device": "cpu", "seconds": 0.01}
    bus.publish("consensus.step", step=0, temperature=1.0, energy=float("nan"), weights=[0.25] * 4)
    w.flush()
    assert w.done is False and len(w.trace) == 1 and w.trace[0]["energy"] is None  # NaN is not JSON
    assert w.labels == ["answer 1", "answer 2", "answer 3", "answer 4"]  # the given labels fit three answers


def test_consensus_widget_shows_a_result_without_events():
    class Res:
        weights = [0.7, 0.3]
        trace = [1.0, 0.8, 0.5]
        temperatures = [2.0, 1.0, 0.5]
        energy, free_energy, device, seconds = 0.5, 0.6, "cpu", 0.2

    w = ConsensusWidget().show_result(Res(), labels=["x", "y"], answer="x wins")
    assert w.weights == [0.7, 0.3] and w.labels == ["x", "y"] and w.answer == "x wins" and w.done
    assert w.trace == [{"step": 0, "temperature": 2.0, "energy": 1.0}, {"step": 1, "temperature": 1.0, "energy": 0.8},
                       {"step": 2, "temperature": 0.5, "energy": 0.5}]


def test_causal_widget_keeps_significant_edges_only():
    bus = EventBus()
    w = CausalGraphWidget(bus)
    te = [[0, 0.3, 0.1], [0, 0, 0], [0.05, 0, 0]]
    p = [[1, 0.01, 0.2], [1, 1, 1], [0.04, 1, 1]]
    bus.publish("consensus.causal", names=["a", "b", "c"], effective=te, pvalues=p)
    assert w.names == ["a", "b", "c"]
    assert [(e["from"], e["to"], e["strength"], e["p"]) for e in w.edges] == [("a", "b", 0.3, 0.01),
                                                                              ("c", "a", 0.05, 0.04)]
    w.set_graph([[0, 1.0], [0.5, 0]], names=["x", "y"])  # no p-values: every positive edge
    assert [(e["source"], e["target"]) for e in w.edges] == [(0, 1), (1, 0)]


def test_summary_of_a_result_and_following_one_request():
    bus = EventBus()
    s = ResultSummary.follow(bus)
    assert s.attached
    request(bus, "r1", "Bell", "LEARNER", inp=10, out=5, why={"reason": "memory is empty"})
    assert s.summary["mode"] == "LEARNER" and s.summary["tokens"]["input"] == 10
    assert s.summary["why"]["reason"] == "memory is empty" and s.summary["status"] == "ok"
    assert not s.attached  # it followed one request, then let go
    request(bus, "r2", "Bell", "FOLLOWER", saved=15, cumulative=15)
    assert s.summary["mode"] == "LEARNER"
    fixed = inline_summary(result("FOLLOWER", saved=15, cumulative=15))
    assert fixed.summary["mode"] == "FOLLOWER" and fixed.summary["tokens"]["saved"] == 15 and not fixed.attached


# -- throttling, threads, detach ----------------------------------------------------------------------------
def test_throttle_leading_and_trailing_edges():
    calls = []
    t = Throttle(lambda: calls.append(time.monotonic()), 0.05)
    t.request()
    assert len(calls) == 1  # the first change shows at once
    for _ in range(100):
        t.request()
    assert len(calls) == 1 and t.pending
    assert wait_for(lambda: len(calls) == 2)  # one trailing call carries the burst's last state
    time.sleep(0.12)
    assert len(calls) == 2 and not t.pending
    t.request()
    t.request()
    t.flush()
    assert len(calls) == 4 and not t.pending  # flush: now, and the trailing call is cancelled
    time.sleep(0.08)
    assert len(calls) == 4


def test_bursts_are_throttled_and_the_final_state_shows():
    bus = EventBus()
    w = ValenceWidget(bus)
    assert 1 / w._throttle.interval >= 20  # at least 20 updates a second
    before = w.updates
    n = 2000
    for i in range(n):
        bus.publish("sentience", request_id="r", latent_mode="BALANCED",
                    valence={"safety": i / n, "curiosity": 0.1, "energy": 0.7, "self_confidence": 0.4})
    assert w.updates - before < n / 10  # bursts coalesce
    assert wait_for(lambda: w.valence.get("safety") == (n - 1) / n)  # the trailing update, with no final event
    assert len(w.history) == 200  # bounded


def test_events_from_many_threads():
    bus = EventBus()
    w = TokenWidget(bus)
    bus.publish("request.start", request_id="r", request="x")

    def work():
        for _ in range(300):
            bus.publish("llm.call", request_id="r", provider="p", model="m", input=1, output=1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.flush()
    assert w.totals["billed"] == 2400 and w.live["billed"] == 2400


def test_detach_stops_following_and_unsubscribes():
    bus = EventBus()
    d = Dashboard(bus)
    assert d.attached and len(bus._subscribers) == 5
    request(bus, "r1", "Bell", "LEARNER", inp=10, out=5)
    d.detach()
    assert not d.attached and bus._subscribers == []
    request(bus, "r2", "Bell", "FOLLOWER", saved=15, cumulative=15)
    assert d.mode.modes == ["LEARNER"] and d.tokens.totals["billed"] == 15 and d.tokens.totals["saved"] == 0
    d.attach(bus)
    request(bus, "r3", "Bell", "FOLLOWER", saved=15, cumulative=30)
    assert d.mode.modes == ["LEARNER", "FOLLOWER"]


def test_a_broken_event_never_breaks_the_bus():
    bus = EventBus()
    w = ConsensusWidget(bus)
    bus.publish("consensus.step", step="not a number")  # logged by the bus, not raised
    bus.publish("consensus.step", step=1, temperature=1.0, energy=1.0, weights=[1.0])
    w.flush()
    assert w.weights == [1.0]


# -- a real engine --------------------------------------------------------------------------------------------
def test_dashboard_on_a_real_engine(make_engine, server):
    from llmos_jupyter.testing.qiskit_model import respond

    server.responder = respond
    engine = make_engine()
    dash = show_dashboard(engine, display=False)
    assert show_dashboard(engine, display=False) is dash  # one dashboard per engine
    assert dash.valence.valence == engine.sentience.snapshot()["valence"]  # seeded from the engine
    live = ResultSummary.follow(engine)
    first = engine.run("Create a GHZ state with 3 qubits")
    second = engine.run("Create a GHZ state with 3 qubits")
    assert (str(first.mode), str(second.mode)) == ("LEARNER", "FOLLOWER")
    assert dash.mode.modes == ["LEARNER", "FOLLOWER"]
    assert dash.mode.history[1]["why"]["trace_id"] == second.trace_id
    t = engine.ledger.totals()
    assert dash.tokens.totals["billed"] == t.billed == first.tokens.input + first.tokens.output
    assert dash.tokens.totals["saved"] == t.saved == second.tokens.saved > 0
    assert dash.tokens.totals["baseline"] == t.billed + t.saved
    snap = engine.sentience.snapshot()
    assert dash.valence.valence == snap["valence"] and dash.valence.latent_mode == snap["latent_mode"]
    assert len(dash.valence.history) == 3  # seeded, then one per request
    assert live.summary["mode"] == "LEARNER" and not live.attached
    s = inline_summary(second, engine)
    assert s.summary["session"]["percent_saved"] == pytest.approx(100 * t.saved / (t.billed + t.saved), abs=0.1)
    assert s.summary["valence"] == snap["valence"]
    dash.detach()
    engine.run("Create a GHZ state with 3 qubits")
    assert dash.mode.modes == ["LEARNER", "FOLLOWER"]


# -- the real consensus engine --------------------------------------------------------------------------------
def test_widgets_follow_consensus_weigh():
    pytest.importorskip("torch")
    import numpy as np

    from llmos_jupyter.consensus import ConsensusEngine
    from llmos_jupyter.consensus.synthetic import ensemble

    bus = EventBus()
    dash = Dashboard(bus)
    rng = np.random.default_rng(0)
    ens = ensemble(rng, honest=4, adversarial=2, shuffle=False)
    series = [rng.normal(size=(60, 2)) for _ in range(6)]
    series[5][1:] = 0.9 * series[4][:-1]
    res = ConsensusEngine(device="cpu", seed=0, events=bus).weigh(ens.embeddings, series=series)
    c = dash.consensus
    assert c.done and c.weights == pytest.approx(res.weights.tolist())
    assert c.labels == [f"answer {i}" for i in range(1, 7)]
    assert len(c.trace) > 1 and all(p["energy"] is not None for p in c.trace)
    assert c.info["energy"] == pytest.approx(res.energy)
    assert dash.causal.names == ["#1", "#2", "#3", "#4", "#5", "#6"]  # weigh(series=) sends no names
    assert {(e["source"], e["target"]) for e in dash.causal.edges} == {
        (int(i), int(j)) for i, j in zip(*np.nonzero(res.causal))}


def test_widgets_follow_consensus_run(server):
    pytest.importorskip("torch")
    from llmos_jupyter.consensus import ConsensusEngine
    from llmos_jupyter.providers import make_provider
    from llmos_jupyter.testing import Reply

    texts = {"m-one": "A Bell state is (|00> + |11>)/sqrt(2), so both qubits always agree when measured.",
             "m-two": "The Bell state (|00> + |11>)/sqrt(2) gives 00 or 11, each half the time: the qubits agree.",
             "m-three": "A Bell state gives every two-bit string with probability one quarter."}
    server.responder = lambda req: Reply(text=texts[req.body["model"]], model=req.body["model"])
    providers = [make_provider("openai", m, base_url=server.openai_base_url, api_key="k", max_retries=0)
                 for m in texts]
    bus = EventBus()
    w = ConsensusWidget(bus)
    res = ConsensusEngine(device="cpu", seed=0).run("What does a Bell state give?", providers, events=bus)
    assert sorted(a["model"] for a in w.arrivals) == sorted(res.models) and all(a["ok"] for a in w.arrivals)
    assert w.labels == res.models and w.weights == pytest.approx(res.weights.tolist())
    assert w.answer == res.answer_source and w.done


# -- through the magics -----------------------------------------------------------------------------------------
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(server, home):
    from IPython.core.interactiveshell import InteractiveShell

    from llmos_jupyter.testing.qiskit_model import respond

    server.responder = respond
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    for line in (f"LLMOS.home = {str(home)!r}", "LLMOS.provider = 'openai'",
                 f"LLMOS.base_url = {server.openai_base_url!r}", "LLMOS.starter_skills = False"):
        ip.run_line_magic("config", line)
    yield ip
    for line in ("LLMOS.provider = 'auto'", "LLMOS.base_url = None", "LLMOS.starter_skills = True"):
        ip.run_line_magic("config", line)
    ip.user_ns.pop("_llmos", None)


def test_dashboard_follows_the_magics_engine(shell):
    from IPython.utils.capture import capture_output

    engine = shell.magics_manager.registry["LLMOSMagics"].engine
    with capture_output() as cap:
        dash = show_dashboard(engine)
    assert any(WIDGET_MIME in o.data for o in cap.outputs)  # displayed as a widget
    with capture_output():
        shell.run_cell_magic("llmos", "", "Create a GHZ state with 3 qubits")
        shell.run_cell_magic("llmos", "", "Create a GHZ state with 3 qubits")
    assert dash.mode.modes == ["LEARNER", "FOLLOWER"]
    assert dash.tokens.totals["saved"] == shell.user_ns["_llmos"].tokens.saved > 0
    dash.detach()


def test_llmos_dashboard_line_magic(shell):
    from IPython.utils.capture import capture_output

    from llmos_jupyter import magics

    if "dashboard" not in magics.SUBCOMMANDS:
        pytest.skip("%llmos dashboard is not wired into magics.py yet")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "dashboard")
    assert any(WIDGET_MIME in o.data for o in cap.outputs)
    engine = shell.magics_manager.registry["LLMOSMagics"].engine
    with capture_output():
        shell.run_cell_magic("llmos", "", "Create a Bell state circuit")
    assert show_dashboard(engine, display=False).mode.modes == ["LEARNER"]
