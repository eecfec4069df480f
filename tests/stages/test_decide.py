"""The decide stage (pipeline/decide.py) only reads memory: a trace whose stored program no longer matches its
seal is left out of the choice and named in `Decision.broken`; forgetting it is the record stage's work. (The
dispatcher's word and slot rules have their tables in test_near_miss.py and test_symbols.py.)"""
from __future__ import annotations

import sqlite3

from conftest import Reply, fenced, ghz
from llmos_jupyter.modes import Mode
from llmos_jupyter.pipeline.decide import decide, fall_back
from llmos_jupyter.pipeline.normalize import normalize

REQUEST = "Create a GHZ state with 3 qubits and 1024 shots"


def test_a_broken_trace_is_named_not_forgotten_by_decide(make_engine, server):
    server.enqueue(Reply(text=fenced(ghz(3, 1024))))
    engine = make_engine()
    first = engine.run(REQUEST, namespace={})
    request = normalize(REQUEST, "r2")
    policy = engine.sentience.policy()
    sound = decide(engine.dispatcher, request, engine.thresholds, policy)
    assert sound.mode == Mode.FOLLOWER and sound.trace.id == first.trace_id and not sound.broken

    with sqlite3.connect(engine.store.path) as db:  # what a program with write access to the home would do
        db.execute("UPDATE traces SET code = code || '\n# changed' WHERE id = ?", (first.trace_id,))
    engine.memory.traces._refresh()
    broken = decide(engine.dispatcher, request, engine.thresholds, policy)
    assert broken.mode == Mode.LEARNER and broken.trace is None and broken.broken == (first.trace_id,)
    assert first.trace_id in broken.why["refused"][0]
    assert engine.memory.traces.get(first.trace_id) is not None  # still there: decide only reads
    server.enqueue(Reply(text=fenced(ghz(3, 1024))))
    engine.run(REQUEST, namespace={})  # the whole request: its record stage forgets what decide named
    assert engine.memory.traces.get(first.trace_id) is None


def test_a_failed_replay_falls_back_to_its_trace_as_the_worked_example(make_engine, server):
    server.enqueue(Reply(text=fenced(ghz(3, 1024))))
    engine = make_engine()
    engine.run(REQUEST, namespace={})
    replay = decide(engine.dispatcher, normalize(REQUEST, "r2"), engine.thresholds, engine.sentience.policy())
    fallen = fall_back(replay, ["counts"])
    assert (fallen.mode, fallen.trace, fallen.values, fallen.fallback_from) == (
        Mode.MIXED, replay.trace, {}, Mode.FOLLOWER)
    assert "failed verification (counts)" in fallen.why["reason"]
