"""The starter skills run on real Aer and give exactly the distributions their algorithms promise;
their phrases normalize onto their parameters; the curated Qiskit facts are well-formed."""
from __future__ import annotations

import ast
import contextlib
import io
import math
import re
from collections import Counter

import pytest

from llmos_jupyter.text.normalize import normalize
from llmos_jupyter.memory import checks
from llmos_jupyter.memory.qiskit_facts import FACTS, Fact
from llmos_jupyter.memory.starter_skills import PLACEHOLDER, SKILLS, Param, Skill, skill

# Every skill at its defaults and at two other valid parameter values (edges of the ranges included).
CASES: dict[str, list[dict[str, object]]] = {
    "bell_state": [{}, {"shots": 100}, {"shots": 4096}],
    "ghz_state": [{}, {"qubits": 2, "shots": 500}, {"qubits": 20, "shots": 2000}],
    "uniform_superposition": [{}, {"qubits": 1, "shots": 200}, {"qubits": 7, "shots": 4096}],
    "basis_state": [{}, {"bits": "0", "shots": 10}, {"bits": "1100101011110001"}],
    "qft": [{}, {"bits": "1", "shots": 50}, {"bits": "0110100111"}],
    "grover_search": [{}, {"marked": "11", "shots": 300}, {"marked": "010011", "shots": 2000}],
    "bernstein_vazirani": [{}, {"secret": "1"}, {"secret": "100110111010", "shots": 3000}],
    "deutsch_jozsa_balanced": [{}, {"qubits": 1}, {"qubits": 10, "shots": 2048}],
    "deutsch_jozsa_constant": [{}, {"qubits": 1, "shots": 1}, {"qubits": 10}],
    "w_state": [{}, {"qubits": 2, "shots": 256}, {"qubits": 10, "shots": 4000}],
    "teleportation": [{}, {"state": "0"}, {"state": "1", "shots": 321}],
    "vqe_ansatz": [{}, {"qubits": 2, "reps": 1, "shots": 100}, {"qubits": 7, "reps": 5}],
    "qaoa_maxcut": [{}, {"nodes": 3, "layers": 4}, {"nodes": 10, "layers": 2, "shots": 2000}],
}


def run_program(code: str) -> dict[str, int]:
    """Execute a skill's program as a user would, returning its `counts` (and checking it prints them)."""
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<skill>", "exec"), namespace)
    counts = namespace["counts"]
    assert out.getvalue().strip().splitlines()[-1] == str(counts)
    return dict(counts)


def kind_values(sk: Skill, given: dict[str, object]) -> dict[str, object]:
    """{kind: value} from the skill's params (first param of each kind), defaults filled in."""
    values: dict[str, object] = {}
    for p in sk.params:
        values.setdefault(p.kind, given.get(p.name, p.default))
    return values


def one_hot(n: int) -> set[str]:
    return {"".join("1" if i == j else "0" for j in range(n)) for i in range(n)}


def ring_cut(key: str, n: int) -> int:
    bits = key[::-1]  # qubit 0 first
    return sum(bits[i] != bits[(i + 1) % n] for i in range(n))


def expect(name: str, p: dict[str, object], counts: dict[str, int]) -> None:
    """The exact distribution each algorithm promises, computed independently of the skills."""
    shots = p["shots"]
    keys = set(counts)
    assert sum(counts.values()) == shots
    if name == "bell_state":
        assert keys == {"00", "11"} if shots >= 100 else keys <= {"00", "11"}
    elif name == "ghz_state":
        n = p["qubits"]
        assert keys == {"0" * n, "1" * n}
    elif name == "uniform_superposition":
        n = p["qubits"]
        assert all(len(k) == n and set(k) <= {"0", "1"} for k in keys)
        assert len(keys) == 2 ** n  # shots >= 16 per outcome in every case here
        mean, sigma = shots / 2 ** n, math.sqrt(shots * 2 ** -n * (1 - 2 ** -n))
        assert all(abs(c - mean) < 6 * sigma for c in counts.values())
    elif name in ("basis_state", "qft"):
        assert counts == {p["bits"]: shots}
    elif name == "grover_search":
        marked = p["marked"]
        n = len(marked)
        k = math.floor(math.pi / 4 * math.sqrt(2 ** n))
        theta = math.asin(2 ** (-n / 2))
        success = math.sin((2 * k + 1) * theta) ** 2  # the textbook success probability
        assert all(len(key) == n for key in keys)
        assert Counter(counts).most_common(1)[0][0] == marked
        assert counts[marked] / shots > success - 6 * math.sqrt(success * (1 - success) / shots) - 1e-9
    elif name == "bernstein_vazirani":
        assert counts == {p["secret"]: shots}
    elif name == "deutsch_jozsa_balanced":
        n = p["qubits"]
        assert all(len(k) == n for k in keys) and "0" * n not in keys
    elif name == "deutsch_jozsa_constant":
        assert counts == {"0" * p["qubits"]: shots}
    elif name == "w_state":
        n = p["qubits"]
        assert keys == one_hot(n)
    elif name == "teleportation":
        assert counts == {p["state"]: shots}
    elif name == "vqe_ansatz":
        assert {len(k) for k in keys} == {p["qubits"]}
    elif name == "qaoa_maxcut":
        n = p["nodes"]
        assert {len(k) for k in keys} == {n}
        # better than random guessing (mean cut n/2): the fixed angles give at least 0.6 n in expectation
        mean_cut = sum(ring_cut(k, n) * c for k, c in counts.items()) / shots
        assert mean_cut > 0.55 * n
    else:  # pragma: no cover
        raise AssertionError(f"no expectation for {name}")


def test_every_skill_has_cases():
    assert set(CASES) == {s.name for s in SKILLS}
    assert len(SKILLS) == 13


@pytest.mark.parametrize("name,given", [(n, g) for n, cases in CASES.items() for g in cases],
                         ids=[f"{n}-{i}" for n, cases in CASES.items() for i in range(len(cases))])
def test_skill_runs_and_verifies(name, given):
    sk = skill(name)
    code = sk.instantiate(**given)
    assert not PLACEHOLDER.search(code)
    counts = run_program(code)
    p = {param.name: given.get(param.name, param.default) for param in sk.params}
    expect(name, p, counts)
    values = kind_values(sk, given)
    assert checks.failures(counts, values, sk.checks) == []
    assert sum(counts.values()) == p["shots"]


@pytest.mark.parametrize("sk", SKILLS, ids=lambda s: s.name)
def test_skill_shape(sk: Skill):
    assert sk.name.isidentifier() and sk.title
    assert 4 <= len(sk.phrases) <= 8 and len(set(sk.phrases)) == len(sk.phrases)
    assert set(sk.checks) <= set(checks.CHECKS)
    shots = [p for p in sk.params if p.kind == "shots"]
    assert len(shots) == 1 and shots[0].placeholder == "SLOT_shots_0" and shots[0].default == 1024
    assert (shots[0].minimum, shots[0].maximum) == (1, 1_000_000)
    names = [p.name for p in sk.params]
    assert len(set(names)) == len(names)
    # placeholders are SLOT_<kind>_<i>, numbered in order within each kind, and all used by the code
    seen: Counter = Counter()
    for p in sk.params:
        assert p.kind in ("qubits", "shots", "bits", "number", "ket")
        assert p.placeholder == f"SLOT_{p.kind}_{seen[p.kind]}"
        seen[p.kind] += 1
        p.check(p.default)  # defaults are valid
    assert {m.group(0) for m in PLACEHOLDER.finditer(sk.code)} == {p.placeholder for p in sk.params}
    ast.parse(sk.code)  # placeholders are bare identifiers: the template itself is Python
    assert sk.code.rstrip().endswith("print(counts)")
    assert sk.values() == {p.placeholder: p.default for p in sk.params}


def _invalid(p: Param) -> list[object]:
    if p.kind == "bits":
        bad: list[object] = ["", "10a1", 101]
        if p.minimum and p.minimum > 1:
            bad.append("1" * (p.minimum - 1))
        if p.maximum is not None:
            bad.append("1" * (p.maximum + 1))
        return bad
    bad = [True, "5", 2.5]
    if p.minimum is not None:
        bad.append(p.minimum - 1)
    if p.maximum is not None:
        bad.append(p.maximum + 1)
    return bad


@pytest.mark.parametrize("sk", SKILLS, ids=lambda s: s.name)
def test_out_of_range_raises(sk: Skill):
    for p in sk.params:
        for value in _invalid(p):
            with pytest.raises(ValueError, match=re.escape(p.name)):
                sk.instantiate(**{p.name: value})
        if p.kind != "bits":  # the edges of the range are valid
            sk.values(**{p.name: p.minimum})
            sk.values(**{p.name: p.maximum})
    with pytest.raises(ValueError, match="no_such_param"):
        sk.values(no_such_param=1)


@pytest.mark.parametrize("sk", SKILLS, ids=lambda s: s.name)
def test_phrases_normalize_onto_params(sk: Skill):
    by_placeholder = {p.placeholder: p for p in sk.params}
    for phrase in sk.phrases:
        slots = normalize(phrase).slots
        seen: Counter = Counter()
        for slot in slots:
            placeholder = f"SLOT_{slot.kind}_{seen[slot.kind]}"
            seen[slot.kind] += 1
            if slot.kind == "qubits" and placeholder not in by_placeholder:
                continue  # a fixed-width skill: the register width is verified after the run
            assert placeholder in by_placeholder, f"{phrase!r}: slot {slot} has no parameter"
            param = by_placeholder[placeholder]
            assert param.kind == slot.kind
            param.check(slot.value)  # and the value written in the phrase is valid


def test_instantiate_uses_literals():
    code = skill("grover_search").instantiate(marked="0110", shots=77)
    assert "marked = '0110'" in code and "shots = 77" in code
    assert skill("qaoa_maxcut").values(nodes=6.0) == {"SLOT_number_0": 6, "SLOT_number_1": 1, "SLOT_shots_0": 1024}
    with pytest.raises(KeyError):
        skill("nope")


def test_facts():
    assert 30 <= len(FACTS) <= 40
    assert all(isinstance(f, Fact) for f in FACTS)
    assert all(f.topic.strip() and f.text.strip() for f in FACTS)
    assert all(len(f.text) < 300 for f in FACTS)
    assert len({f.text for f in FACTS}) == len(FACTS)
    assert len({f.topic for f in FACTS}) == len(FACTS)


@pytest.mark.parametrize("sk", SKILLS, ids=lambda s: s.name)
def test_every_skill_crystallizes_into_a_tool_that_keeps_its_promise(sk: Skill, tmp_path):
    """The tool passes its verified example, reads like the skill (the function of the skill's name, its
    parameters typed, no `x = x`, no print, `return counts`), and gives the algorithm's distribution for
    each case."""
    from llmos_jupyter.memory.crystallize import crystallize, load_tool
    from llmos_jupyter.memory.seed import _trace, skill_param_names
    from llmos_jupyter.tools.qiskit_exec import run_code

    trace, aliases = _trace(sk)
    trace.uses = 5
    tools = tmp_path / "tools"
    function = crystallize(trace, tools, set(), skill_param_names(trace), run=run_code,
                           aliases=[a for a, _ in aliases])
    assert function == sk.name
    tool = ast.parse((tools / f"{function}.py").read_text()).body[-1]
    assert isinstance(tool, ast.FunctionDef) and tool.name == function
    assert [a.arg for a in tool.args.args] == [p.name for p in sk.params if p.kind != "shots"] + ["shots"]
    assert all(a.annotation is not None for a in tool.args.args) and ast.unparse(tool.returns) == "dict[str, int]"
    assert ast.unparse(tool.body[-1]) == "return counts"
    calls = [ast.unparse(n.func) for n in ast.walk(tool) if isinstance(n, ast.Call)]
    assert "print" not in calls
    assert not [n for n in ast.walk(tool) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name)
                and [ast.unparse(t) for t in n.targets] == [n.value.id]]
    run = load_tool(tools, function)
    for given in CASES[sk.name]:
        p = {param.name: given.get(param.name, param.default) for param in sk.params}
        expect(sk.name, p, run(**given))
