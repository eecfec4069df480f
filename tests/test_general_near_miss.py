"""Near misses the general-program benchmark found (issue #24), through the engine with the scripted general
model: a gate named again is applied again, and an exact repeat of a one-qubit request replays its own trace."""
from __future__ import annotations

import pytest

from llmos_jupyter import Mode
from llmos_jupyter.testing.general_model import respond


@pytest.fixture
def engine(make_engine, server):
    server.responder = respond
    return make_engine("openai")


@pytest.mark.parametrize("learned,asked", [
    ("Compute the matrix of applying H then X to a qubit", "Compute the matrix of applying H then X then X to a qubit"),
    ("What is the unitary of Z then Z then H on one qubit?", "What is the unitary of Z then H on one qubit?"),
])
def test_a_gate_named_again_is_another_program(engine, learned, asked):
    assert engine.run(learned, namespace={}).verified
    assert engine.run(learned, namespace={}).mode == Mode.FOLLOWER
    r = engine.run(asked, namespace={})
    assert r.mode == Mode.MIXED and r.tokens.input > 0


def test_an_exact_repeat_on_one_qubit_replays_its_own_trace(engine):
    first = engine.run("What is the unitary of H then S on one qubit?", namespace={})
    again = engine.run("What is the unitary of H then S on one qubit?", namespace={})
    assert first.mode == Mode.LEARNER and again.mode == Mode.FOLLOWER and again.tokens.input == 0
    assert again.value.equiv(first.value)
