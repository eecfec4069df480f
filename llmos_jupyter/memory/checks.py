"""Verification of a run against its request: the checks a replay must pass.

Every check takes the Aer counts and the request's slot values and says whether the run
is consistent with the request. When a trace is learned, the candidate checks that hold
for its verified runs are recorded with it; a replay must pass all of them, plus the
basic ones (it ran, the shots and the register size match the request).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

Counts = dict[str, int]
Values = dict[str, object]  # "qubits", "shots", "bits", ... (first slot of each kind)


def check_values(values: dict[str, object]) -> Values:
    """{kind: value} of the first slot of each kind ('SLOT_qubits_0' -> 'qubits'), which is what the checks read."""
    out: Values = {}
    for name, value in values.items():
        _, kind, index = name.split("_")
        if index == "0":
            out[kind] = value
    return out


def bits_of(counts: Counts) -> Counter:
    """Counts keyed by the bitstring without register separators ('0 1' -> '01')."""
    merged: Counter = Counter()
    for key, n in counts.items():
        merged[key.replace(" ", "")] += n
    return merged


def width(counts: Counts) -> int | None:
    sizes = {len(k.replace(" ", "")) for k in counts}
    return sizes.pop() if len(sizes) == 1 else None


def _total_shots(c: Counts, v: Values) -> bool:
    return sum(c.values()) == v.get("shots")


def _width_is_qubits(c: Counts, v: Values) -> bool:
    return width(c) == v.get("qubits")


def _width_is_bits(c: Counts, v: Values) -> bool:
    return width(c) == len(str(v.get("bits")))


def _exact_bits(c: Counts, v: Values) -> bool:
    return dict(bits_of(c)) == {str(v.get("bits")): sum(c.values())}


def _top_is_bits(c: Counts, v: Values) -> bool:
    return bits_of(c).most_common(1)[0][0] == str(v.get("bits"))


def _ghz_support(c: Counts, v: Values) -> bool:
    w = width(c)
    return w is not None and w >= 2 and set(bits_of(c)) <= {"0" * w, "1" * w}


def _single_outcome(c: Counts, v: Values) -> bool:
    return len(bits_of(c)) == 1


def _one_hot(c: Counts, v: Values) -> bool:
    return all(k.count("1") == 1 for k in bits_of(c))


def _all_zero(c: Counts, v: Values) -> bool:
    return set(bits_of(c)) == {"0" * (width(c) or 0)}


def _never_all_zero(c: Counts, v: Values) -> bool:
    return "0" * (width(c) or 0) not in bits_of(c)


def _every_bit_set(c: Counts, v: Values) -> bool:
    """Each position is 1 in some outcome: the circuit reaches every qubit it measures (a program built for
    3 qubits and replayed on 5 leaves the extra ones at 0)."""
    w = width(c)
    return w is not None and all(any(k[i] == "1" for k in bits_of(c)) for i in range(w))


def _all_outcomes(c: Counts, v: Values) -> bool:
    w = width(c)
    return w is not None and len(bits_of(c)) == 2 ** w


# name -> (check, applies(values, counts)). `applies` keeps a check from being recorded where it
# cannot mean anything, e.g. 'every outcome seen' with too few shots to see them all.
CHECKS: dict[str, tuple[Callable[[Counts, Values], bool], Callable[[Values, Counts], bool]]] = {
    "total_shots": (_total_shots, lambda v, c: "shots" in v),
    "width_is_qubits": (_width_is_qubits, lambda v, c: "qubits" in v),
    "width_is_bits": (_width_is_bits, lambda v, c: "bits" in v),
    "exact_bits": (_exact_bits, lambda v, c: "bits" in v),
    "top_is_bits": (_top_is_bits, lambda v, c: "bits" in v),
    # Shape-of-the-outcome checks say nothing when a bitstring in the request decides the outcome
    # (a secret of 000 is all zeros, one of 0100 happens to be one-hot): exact_bits covers those.
    "ghz_support": (_ghz_support, lambda v, c: "bits" not in v),
    "single_outcome": (_single_outcome, lambda v, c: True),
    "one_hot": (_one_hot, lambda v, c: "bits" not in v),
    "all_zero": (_all_zero, lambda v, c: "bits" not in v),
    "never_all_zero": (_never_all_zero, lambda v, c: "bits" not in v),
    "every_bit_set": (_every_bit_set, lambda v, c: "bits" not in v),
    "runs": (lambda c, v: True, lambda v, c: False),  # see RUNS_ONLY; never inferred from counts
    # Recorded only for a near-uniform spread (see STABLE): each outcome then has at least half the
    # uniform chance, so 32 shots per outcome leave a chance below 2**w * e**-16 of missing one.
    "all_outcomes": (_all_outcomes, lambda v, c: (width(c) or 99) <= 10
                     and sum(c.values()) >= 32 * 2 ** (width(c) or 99)),
}


def _near_uniform(c: Counts) -> bool:
    seen = bits_of(c)
    return min(seen.values()) * 2 * len(seen) >= sum(seen.values())


def _well_sampled(c: Counts) -> bool:
    """At least 16 shots per outcome seen: an outcome the run never saw is then unlikely to be merely rare."""
    return len(bits_of(c)) * 16 <= sum(c.values())


# Checks that a lucky run can pass but a later one need not: recorded only when the run shows them
# to be stable. A noisy GHZ sees all 16 outcomes once, yet its rare ones come and go; 100 shots of a
# 7-qubit superposition miss |0000000> and would record 'never all zeros'.
STABLE: dict[str, Callable[[Counts], bool]] = {
    "all_outcomes": _near_uniform,
    **{name: _well_sampled for name in ("ghz_support", "single_outcome", "one_hot", "all_zero", "never_all_zero",
                                        "every_bit_set")},
}
BASIC = ("total_shots", "width_is_qubits")
RUNS_ONLY = "runs"  # recorded for a program that measures nothing: a replay must run without error, no more


def holding(counts: Counts, values: Values) -> list[str]:
    """The candidate checks that apply to this run and hold for it (recorded when a trace is learned)."""
    return [name for name, (check, applies) in CHECKS.items()
            if applies(values, counts) and check(counts, values) and STABLE.get(name, bool)(counts)]


def failures(counts: Counts | None, values: Values, names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Which of the basic checks and `names` fail for a run; [] means verified."""
    if not counts:
        return [] if RUNS_ONLY in names else ["no_counts"]
    return [name for name in applying(counts, values, names) if not CHECKS[name][0](counts, values)]


def applying(counts: Counts, values: Values, names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The basic checks and `names` that mean something for this run: 'every outcome seen', recorded at
    2,048 shots, says nothing about a 100-shot run."""
    return [name for name in dict.fromkeys([*BASIC, *names]) if CHECKS[name][1](values, counts)]
