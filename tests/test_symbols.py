"""Typed symbols are slots before a request is split into words (text/symbols.py): an operator label or a
named value keeps its identity, whatever letters it is made of."""
import math

import pytest

from llmos_jupyter.text.normalize import normalize
from llmos_jupyter.text.words import content_words


def slots(text):
    return [(s.kind, s.value) for s in normalize(text).slots]


@pytest.mark.parametrize("text,label", [
    ("Measure <X⊗I> on a Bell pair", "XI"), ("the expectation of X ⊗ Z", "XZ"), ("estimate IZ", "IZ"),
    (r"the observable Z \otimes I \otimes Z", "ZIZ"), ("Y tensor I", "YI"), ("x⊗i on two qubits", "XI"),
])
def test_pauli_strings_and_tensor_products_are_one_slot_with_the_identity_kept(text, label):
    assert ("pauli", label) in slots(text)


def test_a_capital_i_alone_is_the_identity_unless_it_asks():
    assert "identity" in content_words(normalize("Apply I to qubit 0 and X to qubit 1").key).values()
    for asking in ("I want a Bell state", "How do I build a Bell state?", "I'd like a Bell state"):
        assert content_words(normalize(asking).key).keys() == content_words(normalize("a Bell state").key).keys()


@pytest.mark.parametrize("text,radians", [
    ("Rotate by π/2 about X", math.pi / 2), ("an RY of 3pi/4", 3 * math.pi / 4), ("rotate 90° about Z", math.pi / 2),
    ("rotate by 45 degrees", math.pi / 4), ("an RZ of 0.5 rad", 0.5),
])
def test_angles_with_units_are_radians(text, radians):
    (kind, value), = slots(text)
    assert kind == "angle" and value == pytest.approx(radians)


def test_named_values_are_slots_of_their_name_in_any_order():
    a = dict(slots("QAOA with gamma = 0.7 and beta = 0.2"))
    b = dict(slots("QAOA with β=0.2, γ: 0.7"))
    assert a == b == {"gamma": 0.7, "beta": 0.2}
    assert dict(slots("Apply Rx(θ = π/4) to qubit 0"))["theta"] == pytest.approx(math.pi / 4)


@pytest.mark.parametrize("text,qubits", [
    ("Apply H to qubits 0, 2 and 3.", "0,2,3"), ("Measure qubits [1, 2]", "1,2"), ("Flip qubits 0-3", "0,1,2,3"),
    ("Flip qubits 1 to 3", "1,2,3"),
])
def test_qubit_lists_and_ranges_are_one_slot(text, qubits):
    assert ("qubitlist", qubits) in slots(text)


def test_bras_and_kets_are_slots():
    assert slots("the overlap of <01| with |10>") == [("bra", "01"), ("bits", "10")]


def test_ordinary_words_stay_words():
    assert slots("Build a ZZFeatureMap on 3 qubits") == [("qubits", 3)]
    assert slots("Create a GHZ state with 5 qubits and 2048 shots") == [("qubits", 5), ("shots", 2048)]
