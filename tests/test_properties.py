"""Property-based tests of the request normalizer, the plan splitter and the magic's argument parsing."""
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from llmos_jupyter.dispatch.normalize import normalize
from llmos_jupyter.dispatch.plan import plan
from llmos_jupyter.magics import _cell_parser, interpolate

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n: int) -> str:
    """An English number name, e.g. 2048 -> 'two thousand forty-eight'."""
    parts = []
    if n >= 1000:
        parts.append(f"{words(n // 1000)} thousand")
        n %= 1000
    if n >= 100:
        parts.append(f"{ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        parts.append(TENS[n // 10 - 2] + (f"-{ONES[n % 10]}" if n % 10 else ""))
    elif n or not parts:
        parts.append(ONES[n])
    return " ".join(parts)


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_normalize_never_crashes_and_slots_are_typed(text):
    n = normalize(text)
    assert isinstance(n.template, str) and isinstance(n.key, str)
    for slot in n.slots:
        if slot.kind in ("qubits", "shots"):
            assert isinstance(slot.value, (int, float)) and slot.value >= 0
        if slot.kind == "bits":
            assert slot.value and set(slot.value) <= {"0", "1"}


@given(st.integers(2, 99), st.integers(1, 1_000_000), st.sampled_from(["Create", "Make", "Build", "Prepare"]))
@settings(max_examples=200, deadline=None)
def test_qubits_and_shots_in_digits(qubits, shots, verb):
    n = normalize(f"{verb} a GHZ state with {qubits} qubits, {shots:,} shots")
    assert (n.first("qubits"), n.first("shots")) == (qubits, shots)
    assert n.key == "prepare ghz state <qubits> qubits"  # the verb, article and preposition change no circuit


@given(st.integers(2, 9999))
@settings(max_examples=200, deadline=None)
def test_number_words(value):
    n = normalize(f"Run it with {words(value)} shots")
    assert n.first("shots") == value, (words(value), n.slots)


@given(st.text(alphabet="01", min_size=2, max_size=16))
@settings(max_examples=200, deadline=None)
def test_kets_are_bitstrings(bits):
    n = normalize(f"Prepare the basis state |{bits}>")
    assert n.values("bits") == [bits] and n.key == "prepare basis state <bits>"


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_plan_never_loses_or_invents_text(text):
    steps = plan(text)
    assert steps and all(isinstance(s, str) for s in steps)
    if len(steps) > 1:
        joined = " ".join(steps)
        for step in steps:
            assert step.strip() and step in text
        assert len(joined) <= len(text) + len(steps)


@given(st.lists(st.sampled_from(["--provider", "openai", "--model", "m", "--no-exec", "--json", "--trust",
                                 "--no-stream", "-p", "-m", "--bogus", "x", "--", "-"]), max_size=6))
@settings(max_examples=300, deadline=None)
def test_magic_arguments_parse_or_raise_a_usage_error(args):
    try:
        parsed = _cell_parser().parse_args(args)
    except UsageError as exc:
        assert "%%llmos" in str(exc)
    else:
        assert parsed.provider in (None, "openai", "m", "x", "--", "-") or isinstance(parsed.provider, str)


@given(st.text(max_size=200), st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                                               st.integers(), max_size=5))
@settings(max_examples=300, deadline=None)
def test_interpolation_never_raises_and_fills_known_names(text, namespace):
    out = interpolate(text, namespace)
    assert isinstance(out, str)
    for name, value in namespace.items():
        assert interpolate("{" + name + "}", namespace) == str(value)
        assert interpolate("{{" + name + "}}", namespace) == "{" + name + "}"
