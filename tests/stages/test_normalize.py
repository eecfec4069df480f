"""The normalize stage (pipeline/normalize.py): a cell's text becomes a `Request` whose slots are typed values,
whose template holds a marker where each value was, and whose match key is the same for requests that differ only
in those values."""
from __future__ import annotations

import math

import pytest

from llmos_jupyter.errors import ConfigError
from llmos_jupyter.pipeline.normalize import normalize


@pytest.mark.parametrize("text,template,slots", [
    ("Create a GHZ state with five qubits, 2,048 shots", "create a ghz state with <qubits> qubits, <shots> shots",
     [("qubits", 5), ("shots", 2048)]),
    ("Run Grover search for the marked state 101 with 4k shots",
     "run grover search for the marked state <bits> with <shots> shots", [("bits", "101"), ("shots", 4000)]),
    ("Prepare the basis state |1100>", "prepare the basis state <bits>", [("bits", "1100")]),
    ("Create a three-qubit GHZ state", "create a <qubits>-qubit ghz state", [("qubits", 3)]),
    ("Estimate X⊗I on a Bell pair", "estimate <pauli> on a bell state", [("pauli", "XI")]),
    ("Rotate by π/2 about X", "rotate by <angle> about x", [("angle", math.pi / 2)]),
    ("QAOA with gamma = 0.7 and beta = 0.2", "qaoa with <gamma> and <beta>", [("gamma", 0.7), ("beta", 0.2)]),
    ("Apply H to qubits 0-3", "apply h to qubits <qubitlist>", [("qubitlist", "0,1,2,3")]),
    ("Bell state on the statevector simulator", "bell state on the <backend> simulator",
     [("backend", "statevector")]),
    ("Run BV with secret 1011", "run bernstein-vazirani with secret <bits>", [("bits", "1011")]),
    ("  Create a Bell state circuit \n", "create a bell state circuit", []),
], ids=["number words and grouped digits", "a bitstring and 4k shots", "a ket is bits", "a hyphenated count",
        "a tensor product is one pauli slot", "an angle with its unit in radians", "named values take their names",
        "a qubit range is a list", "a simulator method is a backend", "an abbreviation made canonical",
        "surrounding blanks trimmed"])
def test_a_request_becomes_a_template_with_typed_slots(text, template, slots):
    request = normalize(text, "r1")
    assert request.text == text.strip() and request.request_id == "r1"
    assert request.normalized.template == template
    assert [(s.kind, s.value) for s in request.normalized.slots] == [
        (kind, pytest.approx(value) if isinstance(value, float) else value) for kind, value in slots]
    assert request.normalized.signature == tuple(kind for kind, _ in slots)


@pytest.mark.parametrize("a,b,same", [
    ("Create a GHZ state with 3 qubits", "Create a GHZ state with 5 qubits", True),
    ("Create a GHZ state with 3 qubits", "Create a GHZ state with 3 qubits and 500 shots", True),
    ("Make a cat state on 4 qubits", "Prepare a GHZ state on 4 qubits", True),
    ("Create a Bell state", "Create a Bell state with depolarizing noise", False),
    ("Run Deutsch-Jozsa with a balanced oracle on 4 qubits", "Run Deutsch-Jozsa with a constant oracle on 4 qubits",
     False),
], ids=["another value, the same key", "a shot count says nothing of the circuit", "synonyms meet",
        "a domain term makes another request", "balanced is not constant"])
def test_requests_that_differ_only_in_values_share_a_key(a, b, same):
    assert (normalize(a, "r1").normalized.key == normalize(b, "r2").normalized.key) is same


def test_a_plan_step_keeps_its_parent_and_the_earlier_steps():
    context = (("Compute the energies", "energies = [1.0, 0.5]"),)
    step = normalize("Plot the energies", "r2", parent_id="r1", context=context)
    assert (step.parent_id, step.context) == ("r1", context)


@pytest.mark.parametrize("text", ["", "   \n", None], ids=["empty", "only blanks", "not text"])
def test_an_empty_request_is_refused_saying_what_to_write(text):
    with pytest.raises(ConfigError, match="The request is empty. Write what you want"):
        normalize(text, "r1")
