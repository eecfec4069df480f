"""The dashboard widgets on the Python side: typed events to state, throttling, threads, detach, and one real
engine. (What the browser shows is tested in tests/browser/.)"""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from llmos_jupyter.events import (CausalGraph, ConsensusAnswer, ConsensusDone, ConsensusFinished, ConsensusStep,
                                  EventBus, LedgerTotals, LLMCall, ModeChosen, RequestEnded, RequestStarted,
                                  RequestSummary, StepStarted, ValenceChanged)
from llmos_jupyter.widgets import (CausalGraphWidget, ConsensusWidget, Dashboard, ModeWidget, ResultSummary,
                                   Throttle, TokenWidget, ValenceWidget, inline_summary, live_summary,
                                   show_dashboard)

STATIC = Path(__file__).resolve().parents[1] / "llmos_jupyter" / "static"


def valence(n: int) -> dict[str, float]:
    return {"safety": 0.5 + n / 100, "curiosity": 0.2, "energy": 0.7 - n / 100, "self_confidence": 0.4}


class Session:
    """Publishes on a bare bus what the engine publishes for each request, in its order, keeping the
    ledger's running totals the way the ledger would."""

    def __init__(self, bus: EventBus | None = None):
        self.events = bus or EventBus()
        self.totals = LedgerTotals(requests=0, input=0, output=0, saved=0, cost_usd=0.0)
        self.ended = 0

    def start(self, rid, text, mode, *, why=None, fallback=None, parent=None):
        self.events.publish(RequestStarted(rid, text, parent))
        if fallback:
            self.events.publish(ModeChosen(rid, fallback, why or {}, parent))
        self.events.publish(ModeChosen(rid, mode, why or {}, parent, fallback_from=fallback))

    def call(self, rid, inp, out):
        self.events.publish(LLMCall(rid, "openai", "m", inp, out))

    def end(self, rid, text, mode, *, inp=0, out=0, saved=0, parent=None, error=None, recorded=True):
        """`recorded`: the ledger counts these tokens now (an ORCHESTRATOR plan's were counted per step)."""
        self.events.publish(RequestEnded(rid, RequestSummary(text, mode, inp, out, saved, error=error), parent))
        t = self.totals
        add = (inp, out, saved) if recorded else (0, 0, 0)
        self.totals = LedgerTotals(t.requests + 1, t.input + add[0], t.output + add[1], t.saved + add[2], 0.0,
                                   request_id=rid)
        self.events.publish(self.totals)
        self.ended += 1
        self.events.publish(ValenceChanged(valence(self.ended), "BALANCED", request_id=rid))

    def request(self, rid, text, mode, *, inp=0, out=0, saved=0, why=None, fallback=None, parent=None):
        self.start(rid, text, mode, why=why, fallback=fallback, parent=parent)
        if inp or out:
            self.call(rid, inp, out)
        self.end(rid, text, mode, inp=inp, out=out, saved=saved, parent=parent)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


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


def test_the_bundles_were_built_from_the_sources_in_js():
    """build.mjs writes the sha256 of js/src, package-lock.json, the palette and itself beside the bundles; an edit to a
    view that was not rebuilt (cd js && npm ci && npm run build) fails here."""
    import hashlib

    js = Path(__file__).resolve().parents[1] / "js"
    digest = hashlib.sha256()
    files = sorted([str(p.relative_to(js)) for p in (js / "src").rglob("*") if p.is_file()]
                   + ["package-lock.json", "build.mjs", "../llmos_jupyter/palette.json"])
    for name in files:
        digest.update(name.encode() + b"\0" + (js / name).read_bytes() + b"\0")
    assert (STATIC / "SOURCES.sha256").read_text().strip() == digest.hexdigest(), \
        "llmos_jupyter/static is stale: run cd js && npm ci && npm run build, and commit the bundles"


# -- events to state ---------------------------------------------------------------------------------------
def test_mode_widget_history_why_and_counts():
    session = Session()
    w = ModeWidget(session.events)
    session.request("r1", "Create a GHZ state with 3 qubits", "LEARNER", inp=500, out=100,
                    why={"reason": "memory is empty", "score": 0.0, "template": "x"})
    session.request("r2", "Create a GHZ state with 3 qubits", "FOLLOWER", saved=600,
                    why={"score": 1.0, "trace_id": "t1", "reason": "similarity 1.000"})
    session.request("r3", "Create a GHZ state with 4 qubits", "MIXED", inp=200, out=90,
                    why={"score": 0.95, "trace_id": "t1"}, fallback="FOLLOWER")
    assert w.modes == ["LEARNER", "FOLLOWER", "MIXED"]
    assert [e["mode"] for e in w.history] == ["LEARNER", "FOLLOWER", "MIXED"]  # synced: RequestEnded flushes
    first, second, third = w.history
    assert first["why"] == {"score": 0.0, "reason": "memory is empty"} and first["status"] == "ok"
    assert first["request"] == "Create a GHZ state with 3 qubits"
    assert second["why"]["trace_id"] == "t1" and second["why"]["score"] == 1.0
    assert second["tokens"] == {"input": 0, "output": 0, "saved": 600}
    assert third["why"]["fallback_from"] == "FOLLOWER"
    assert w.counts == {"CRYSTALLIZED": 0, "FOLLOWER": 1, "MIXED": 1, "LEARNER": 1, "ORCHESTRATOR": 0}
    assert w.running == ""


def test_a_failed_request_shows_as_an_error():
    session = Session()
    w = ModeWidget(session.events)
    session.start("r1", "Bell", "LEARNER")
    w.flush()
    assert w.running == "r1" and w.history[0]["status"] == "running"
    session.end("r1", "Bell", "LEARNER", error="the model timed out")
    assert w.history[0]["status"] == "error" and w.running == ""


def test_orchestrator_steps_show_under_their_plan_and_count_once():
    session = Session()
    bus = session.events
    mode, tokens = ModeWidget(bus), TokenWidget(bus)
    bus.publish(RequestStarted("p", "Bell then GHZ"))
    bus.publish(ModeChosen("p", "ORCHESTRATOR", {"plan": ["Bell", "GHZ"]}))
    mode.flush()
    assert mode.running == "p" and mode.history[0]["why"]["plan"] == ["Bell", "GHZ"]
    for i, (step, m, billed) in enumerate([("Bell", "LEARNER", 300), ("GHZ", "FOLLOWER", 0)], start=1):
        bus.publish(StepStarted("p", i, 2, step))
        session.request(f"c{i}", step, m, inp=billed, saved=0 if billed else 250, parent="p")
    tokens.flush()
    assert tokens.live == {"request": "Bell then GHZ", "billed": 300}  # the steps' calls, under the plan
    session.end("p", "Bell then GHZ", "ORCHESTRATOR", inp=300, saved=250, recorded=False)
    assert mode.modes == ["ORCHESTRATOR"] and mode.counts["ORCHESTRATOR"] == 1 and mode.counts["LEARNER"] == 0
    assert [(s["step"], s["mode"]) for s in mode.history[0]["steps"]] == [("Bell", "LEARNER"), ("GHZ", "FOLLOWER")]
    assert tokens.totals["billed"] == 300 and tokens.totals["saved"] == 250  # what the ledger says
    assert [p["mode"] for p in tokens.points] == ["", "ORCHESTRATOR"]  # one point for the plan, none per step


def test_a_step_that_falls_back_keeps_one_entry():
    bus = EventBus()
    w = ModeWidget(bus)
    bus.publish(RequestStarted("p", "plan"))
    bus.publish(ModeChosen("p", "ORCHESTRATOR"))
    bus.publish(StepStarted("p", 1, 1, "GHZ"))
    bus.publish(RequestStarted("c1", "GHZ", parent_id="p"))
    bus.publish(ModeChosen("c1", "FOLLOWER", parent_id="p"))
    bus.publish(ModeChosen("c1", "MIXED", parent_id="p", fallback_from="FOLLOWER"))
    w.flush()
    assert [(s["step"], s["mode"]) for s in w.history[0]["steps"]] == [("GHZ", "MIXED")]


def test_token_totals_are_the_ledgers_and_the_request_in_flight_bills_live():
    session = Session()
    w = TokenWidget(session.events)
    session.start("r1", "GHZ", "LEARNER")
    session.call("r1", 400, 100)
    w.flush()
    assert w.live == {"request": "GHZ", "billed": 500}  # during the request
    assert w.totals["billed"] == 0  # the ledger has not recorded it yet
    session.end("r1", "GHZ", "LEARNER", inp=400, out=100)
    session.request("r2", "GHZ", "FOLLOWER", saved=500)
    session.request("r3", "GHZ", "FOLLOWER", saved=500)
    t = w.totals
    assert (t["billed"], t["saved"], t["baseline"], t["requests"]) == (500, 1000, 1500, 3)
    assert t["percent_saved"] == pytest.approx(66.67, abs=0.01)
    assert w.live == {}
    assert [(p["n"], p["request"], p["cum_billed"], p["cum_baseline"]) for p in w.points] == [
        (0, "(start)", 0, 0), (1, "GHZ", 500, 500), (2, "GHZ", 500, 1000), (3, "GHZ", 500, 1500)]


def test_an_unknown_price_shows_as_unknown_not_zero():
    bus = EventBus()
    w = TokenWidget(bus)
    bus.publish(LedgerTotals(requests=1, input=10, output=5, saved=0, cost_usd=None))
    assert w.totals["cost_usd"] is None


def test_widgets_opened_late_start_from_the_current_state():
    session = Session()
    session.request("r1", "GHZ", "LEARNER", inp=400, out=100)
    session.request("r2", "GHZ", "FOLLOWER", saved=500)
    dash = Dashboard(session.events)
    assert dash.tokens.totals["billed"] == 500 and dash.tokens.totals["saved"] == 500
    assert dash.tokens.totals["requests"] == 2
    assert dash.valence.valence == valence(2)
    session.request("r3", "GHZ", "FOLLOWER", saved=500)
    assert [(p["cum_billed"], p["cum_baseline"]) for p in dash.tokens.points] == [(500, 1000), (500, 1500)]


def test_a_bus_with_a_state_source_replays_it_to_new_widgets():
    state = [LedgerTotals(requests=4, input=900, output=100, saved=3000, cost_usd=0.02),
             ValenceChanged(valence(1), "AUTO_CREATIVE", ("explore",))]
    bus = EventBus(state=lambda: state)
    tokens, val = TokenWidget(bus), ValenceWidget(bus)
    assert tokens.totals["baseline"] == 4000 and tokens.totals["percent_saved"] == 75.0
    assert val.latent_mode == "AUTO_CREATIVE" and val.behaviour == ["explore"]


def test_valence_widget_follows_valence_changes():
    bus = EventBus()
    w = ValenceWidget(bus)
    assert w.valence == {} and w.latent_mode == ""
    for i, mode in enumerate(["BALANCED", "RECOVERY"]):
        bus.publish(ValenceChanged({"safety": 0.5 - i / 4, "curiosity": 0.2, "energy": 0.7,
                                    "self_confidence": 0.4 - i / 4}, mode,
                                   ("recovery: strict guard",) if i else (), budget={"tokens": 9, "spent": 3,
                                                                                     "left": 6}))
    w.flush()
    assert w.latent_mode == "RECOVERY" and w.valence["safety"] == 0.25 and w.behaviour == ["recovery: strict guard"]
    assert w.budget == {"tokens": 9, "spent": 3, "left": 6}
    assert [h["latent_mode"] for h in w.history] == ["BALANCED", "RECOVERY"]
    w.detach()
    w.attach(bus)  # the current valence is replayed, but it is the one already shown
    w.flush()
    assert [h["latent_mode"] for h in w.history] == ["BALANCED", "RECOVERY"]


def test_consensus_widget_answers_annealing_ground_state_and_new_run():
    bus = EventBus()
    w = ConsensusWidget(bus, labels=["a", "b", "c"])
    bus.publish(ConsensusAnswer("a", ok=True, seconds=0.5))
    bus.publish(ConsensusAnswer("b", ok=False, seconds=1.5))
    for step in range(5):
        bus.publish(ConsensusStep(step, 1.0 / (step + 1), 2.0 - step / 4, (0.4, 0.4, 0.2)))
    w.flush()
    assert w.arrivals == [{"model": "a", "ok": True, "seconds": 0.5}, {"model": "b", "ok": False, "seconds": 1.5}]
    assert w.done is False and [p["step"] for p in w.trace] == [0, 1, 2, 3, 4]
    bus.publish(ConsensusDone((0.5, 0.5, 0.0), energy=0.9, free_energy=1.1, entropy=0.69, device="cpu", seconds=0.01))
    assert w.done is True and w.weights == [0.5, 0.5, 0.0] and w.labels == ["a", "b", "c"]
    assert w.info == {"energy": 0.9, "free_energy": 1.1, "device": "cpu", "seconds": 0.01, "entropy": 0.69}
    bus.publish(ConsensusStep(0, 1.0, float("nan"), (0.25,) * 4))
    w.flush()
    assert w.done is False and len(w.trace) == 1 and w.trace[0]["energy"] is None  # NaN is not JSON
    assert w.arrivals == []
    assert w.labels == ["answer 1", "answer 2", "answer 3", "answer 4"]  # the given labels fit three answers


def test_consensus_widget_names_the_models_and_the_chosen_answer():
    bus = EventBus()
    w = ConsensusWidget(bus)
    bus.publish(CausalGraph(("m-one", "m-two"), te=((0, 0), (0, 0)), effective=((0, 0), (0, 0)),
                            pvalues=((1, 1), (1, 1)), edges=(), alpha=0.05))
    bus.publish(ConsensusStep(0, 1.0, 1.0, (0.5, 0.5)))
    bus.publish(ConsensusFinished("m-two", ("m-one", "m-two"), (0.3, 0.7), failures=("m-three",),
                                  histograms=({"00": 0.5, "11": 0.5}, None)))
    assert w.labels == ["m-one", "m-two"] and w.weights == [0.3, 0.7] and w.answer == "m-two" and w.done
    assert w.histograms == [{"00": 0.5, "11": 0.5}, None]  # each program's distribution beside its weight


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


def test_causal_widget_shows_the_edges_the_engine_found_significant():
    bus = EventBus()
    w = CausalGraphWidget(bus)
    te = ((0, 0.35, 0.12), (0, 0, 0), (0.08, 0, 0))
    effective = ((0, 0.3, 0.0), (0, 0, 0), (0.05, 0, 0))  # a -> c is not significant: the engine left it out
    p = ((1, 0.01, 0.2), (1, 1, 1), (0.04, 1, 1))
    edges = ({"source": 2, "target": 0, "te": 0.08, "effective": 0.05, "lag": 2, "p": 0.04},
             {"source": 0, "target": 1, "te": 0.35, "effective": 0.3, "lag": 1, "p": 0.01})
    bus.publish(CausalGraph(("a", "b", "c"), te, effective, p, edges, alpha=0.05))
    assert w.names == ["a", "b", "c"]
    assert [(e["from"], e["to"], e["strength"], e["p"], e["lag"]) for e in w.edges] == [
        ("a", "b", 0.3, 0.01, 1), ("c", "a", 0.05, 0.04, 2)]  # strongest first
    bus.publish(CausalGraph((), ((0, 0), (0, 0)), ((0, 0), (0, 0)), ((1, 1), (1, 1)), (), alpha=0.05,
                            note="too few answers to test"))
    assert w.names == ["#1", "#2"] and w.edges == [] and w.note == "too few answers to test"
    w.set_graph([[0, 1.0], [0.5, 0]], names=["x", "y"])  # no p-values: every positive edge
    assert [(e["source"], e["target"]) for e in w.edges] == [(0, 1), (1, 0)]


def test_summary_following_one_request_then_letting_go():
    session = Session()
    session.request("r0", "Bell", "LEARNER", inp=10, out=5)
    s = ResultSummary.follow(session.events)
    assert s.attached and s.summary["session"]["billed"] == 15  # the session so far, replayed
    session.start("r1", "Bell", "FOLLOWER", why={"reason": "similarity 1.000", "score": 1.0})
    s.flush()
    assert s.summary["status"] == "running" and s.summary["mode"] == "FOLLOWER"
    session.end("r1", "Bell", "FOLLOWER", saved=15)
    assert s.summary["mode"] == "FOLLOWER" and s.summary["tokens"] == {"input": 0, "output": 0, "saved": 15}
    assert s.summary["why"]["reason"] == "similarity 1.000" and s.summary["status"] == "ok"
    assert s.summary["session"]["percent_saved"] == 50.0 and s.summary["valence"] == valence(2)
    assert not s.attached  # it followed one request, then let go
    session.request("r2", "Bell", "LEARNER", inp=7)
    assert s.summary["mode"] == "FOLLOWER"


def test_summary_counts_an_orchestrator_plan_and_its_steps():
    session = Session()
    s = live_summary(session)  # an engine-like object: only its .events is read
    session.start("p", "Bell then GHZ", "ORCHESTRATOR")
    for i, (step, mode, billed) in enumerate([("Bell", "LEARNER", 30), ("GHZ", "FOLLOWER", 0)], start=1):
        session.events.publish(StepStarted("p", i, 2, step))
        session.request(f"c{i}", step, mode, inp=billed, parent="p")
    s.flush()
    assert s.attached and s.summary["steps"] == ["LEARNER", "FOLLOWER"] and s.summary["tokens"]["input"] == 30
    session.end("p", "Bell then GHZ", "ORCHESTRATOR", inp=30, recorded=False)
    assert s.summary["mode"] == "ORCHESTRATOR" and not s.attached


def test_inline_summary_of_a_finished_request():
    session = Session()
    session.request("r1", "Bell", "LEARNER", inp=10, out=5)
    session.request("r2", "Bell", "FOLLOWER", saved=15)
    fixed = inline_summary(RequestSummary("Bell", "FOLLOWER", saved=15), session.events)
    assert fixed.summary["mode"] == "FOLLOWER" and fixed.summary["tokens"]["saved"] == 15 and not fixed.attached
    assert fixed.summary["session"]["percent_saved"] == 50.0 and fixed.summary["valence"] == valence(2)
    alone = inline_summary(RequestSummary("Bell", "LEARNER", error="boom"))
    assert alone.summary["status"] == "error" and alone.summary["session"] == {}


class EngineLike:
    """An engine whose only readable attribute is `.events`; every other attribute it is asked for is recorded."""

    def __init__(self):
        object.__setattr__(self, "_asked", [])
        object.__setattr__(self, "_session", Session())

    def __getattribute__(self, name):
        if name == "events":
            return object.__getattribute__(self, "_session").events
        if name in ("_asked", "_session"):
            return object.__getattribute__(self, name)
        object.__getattribute__(self, "_asked").append(name)
        raise AttributeError(f"a widget read engine.{name}")


def test_widgets_read_nothing_of_an_engine_but_its_events():
    engine = EngineLike()
    dash = show_dashboard(engine, display=False)
    assert show_dashboard(engine, display=False) is dash  # one dashboard per engine
    live = live_summary(engine)
    widgets = [w(engine) for w in (ModeWidget, TokenWidget, ValenceWidget, ConsensusWidget, CausalGraphWidget)]
    engine._session.request("r1", "Bell", "LEARNER", inp=10, out=5)
    dash.attach(engine)
    fixed = inline_summary(RequestSummary("Bell", "LEARNER", 10, 5), engine)
    assert engine._asked == []
    assert dash.mode.modes == widgets[0].modes == ["LEARNER"] and widgets[1].totals["billed"] == 15
    assert live.summary["mode"] == "LEARNER" and fixed.summary["session"]["billed"] == 15


def test_attaching_to_something_without_events_says_so():
    with pytest.raises(TypeError, match="EventBus"):
        ModeWidget(object())


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
        bus.publish(ValenceChanged({"safety": i / n, "curiosity": 0.1, "energy": 0.7, "self_confidence": 0.4},
                                   "BALANCED", request_id="r"))
    assert w.updates - before < n / 10  # bursts coalesce
    assert wait_for(lambda: w.valence.get("safety") == (n - 1) / n)  # the trailing update, with no final event
    assert len(w.history) == 200  # bounded


def test_events_from_many_threads():
    bus = EventBus()
    w = TokenWidget(bus)
    bus.publish(RequestStarted("r", "x"))

    def work():
        for _ in range(300):
            bus.publish(LLMCall("r", "p", "m", 1, 1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.flush()
    assert w.live["billed"] == 2400


def test_detach_stops_following_and_unsubscribes():
    session = Session()
    bus = session.events
    d = Dashboard(bus)
    assert d.attached and len(bus._subscribers) == 5
    session.request("r1", "Bell", "LEARNER", inp=10, out=5)
    d.detach()
    assert not d.attached and bus._subscribers == []
    session.request("r2", "Bell", "FOLLOWER", saved=15)
    assert d.mode.modes == ["LEARNER"] and d.tokens.totals["billed"] == 15 and d.tokens.totals["saved"] == 0
    d.attach(bus)
    assert d.tokens.totals["saved"] == 15  # the totals it missed, replayed
    session.request("r3", "Bell", "FOLLOWER", saved=15)
    assert d.mode.modes == ["LEARNER", "FOLLOWER"]


def test_a_broken_event_never_breaks_the_bus():
    bus = EventBus()
    w = ConsensusWidget(bus)
    bus.publish(ConsensusStep("not a number", 1.0, 1.0, (1.0,)))  # logged by the bus, not raised
    bus.publish(ConsensusStep(1, 1.0, 1.0, (1.0,)))
    w.flush()
    assert w.weights == [1.0]


# -- a real engine (these need the engine to publish the typed events) ----------------------------------------
def test_dashboard_on_a_real_engine(make_engine, server):
    from llmos_jupyter.testing.qiskit_model import respond

    server.responder = respond
    engine = make_engine()
    dash = show_dashboard(engine, display=False)
    assert show_dashboard(engine, display=False) is dash  # one dashboard per engine
    assert dash.valence.valence == engine.sentience.snapshot()["valence"]  # the bus's state, replayed
    live = ResultSummary.follow(engine)
    ended: list[RequestSummary] = []
    engine.events.subscribe(lambda e: ended.append(e.summary), RequestEnded)
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
    # The radar is throttled (its trailing update comes within the interval): replays are fast enough now that the
    # second request's valence can arrive inside the first one's interval.
    assert wait_for(lambda: dash.valence.valence == snap["valence"] and dash.valence.latent_mode == snap["latent_mode"])
    assert len(dash.valence.history) == 3  # the state at start, then one per request
    assert live.summary["mode"] == "LEARNER" and not live.attached
    s = inline_summary(ended[-1], engine)
    assert s.summary["mode"] == "FOLLOWER" and s.summary["tokens"]["saved"] == second.tokens.saved
    assert s.summary["session"]["percent_saved"] == pytest.approx(100 * t.saved / (t.billed + t.saved), abs=0.1)
    assert s.summary["valence"] == snap["valence"]
    dash.detach()
    engine.run("Create a GHZ state with 3 qubits")
    assert dash.mode.modes == ["LEARNER", "FOLLOWER"]


# -- the real consensus engine (these need it to publish the typed events) ------------------------------------
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
    from llmos_jupyter.consensus import ConsensusEngine, run_consensus
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
    res = run_consensus("What does a Bell state give?", providers, events=bus,
                        engine=ConsensusEngine(device="cpu", seed=0))
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

    with capture_output() as cap:
        shell.run_line_magic("llmos", "dashboard")
    assert any(WIDGET_MIME in o.data for o in cap.outputs)
    engine = shell.magics_manager.registry["LLMOSMagics"].engine
    with capture_output():
        shell.run_cell_magic("llmos", "", "Create a Bell state circuit")
    assert show_dashboard(engine, display=False).mode.modes == ["LEARNER"]
