"""The learning memory: zero-token repeats and variations, and never a wrong replay.

The model is the scripted Qiskit "LLM" (llmos_jupyter.testing.qiskit_model) behind the scripted
server: it writes correct programs and bills real token counts, so every billed token and every
replay can be checked exactly.
"""
import sqlite3
import subprocess
import sys

import pytest

from conftest import Reply, ghz
from llmos_jupyter import LLMOS, Mode
from llmos_jupyter.errors import StoreError
from llmos_jupyter.memory.exchange import ImportRejected
from llmos_jupyter.testing.qiskit_model import respond


@pytest.fixture
def engine(make_engine, server):
    server.responder = respond
    return make_engine("openai")


def ghz_ok(counts, n, shots):
    return set(counts) == {"0" * n, "1" * n} and sum(counts.values()) == shots


def test_repeat_is_replayed_at_zero_tokens_and_saves_what_the_llm_cost(engine, server):
    first = engine.run("Create a GHZ state with 3 qubits")
    assert first.mode == Mode.LEARNER and first.verified and ghz_ok(first.counts, 3, 1024)
    again = engine.run("Create a GHZ state with 3 qubits")
    assert again.mode == Mode.FOLLOWER and again.ptc_used
    # Saved: what a lean always-ask call would bill (prompt + request in, the program out), in cl100k tokens.
    from llmos_jupyter.prompts import LEAN_SYSTEM
    from llmos_jupyter.tokencount import count_tokens

    lean = count_tokens(LEAN_SYSTEM) + count_tokens(again.request) + count_tokens(again.code) + 12
    assert (again.tokens.input, again.tokens.output, again.tokens.saved) == (0, 0, lean)
    assert ghz_ok(again.counts, 3, 1024) and len(server.requests) == 1
    why = again.to_dict()["metadata"]["why"]
    assert why["trace_id"] == first.trace_id and why["score"] >= 0.92 and why["bound"]["shots"] == 1024


@pytest.mark.parametrize("first,second,check,mode", [
    # The scripted GHZ program takes its size as one named parameter (n = 3): rebound at once, verified.
    ("Create a GHZ state with 3 qubits", "Create a GHZ state with 5 qubits", lambda c: ghz_ok(c, 5, 1024),
     Mode.FOLLOWER),
    ("Create a GHZ state with 3 qubits", "Create a GHZ state with five qubits", lambda c: ghz_ok(c, 5, 1024),
     Mode.FOLLOWER),
    # Lifted X gates are a loop the model never wrote: one verified value is not proof it rebinds.
    ("Prepare the basis state |101>", "Prepare the basis state |110>", lambda c: c == {"110": 1024}, Mode.MIXED),
    ("Prepare the basis state |101>", "Prepare the basis state |0110>", lambda c: c == {"0110": 1024}, Mode.MIXED),
])
def test_a_changed_parameter_is_never_answered_by_the_old_run(engine, first, second, check, mode):
    engine.run(first)
    r = engine.run(second)
    assert r.mode == mode, r.why
    assert check(r.counts)


def test_shots_rebind_at_once_and_are_verified(engine):
    engine.run("Create a Bell state circuit")
    r = engine.run("Create a Bell state and run 4096 shots")
    assert r.mode == Mode.FOLLOWER and sum(r.counts.values()) == 4096 and set(r.counts) == {"00", "11"}


def ghz_model(entangle):
    """A model that answers GHZ requests correctly, with `entangle(n)` as its CNOT lines."""
    from llmos_jupyter.text.normalize import normalize

    def answer(req):
        n = normalize(req.last_user_text()).first("qubits")
        code = ("from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n"
                f"qc = QuantumCircuit({n})\nqc.h(0)\n{entangle(n)}qc.measure_all()\nsim = AerSimulator()\n"
                "print(sim.run(transpile(qc, sim), shots=1024).result().get_counts())\n")
        return Reply(text=f"```python\n{code}```", input_tokens=100, output_tokens=60)

    return answer


# The qubit count written into the code wherever it is needed, not as a named parameter.
inline_ghz = ghz_model(lambda n: f"for q in range({n} - 1):\n    qc.cx(q, q + 1)\n")
# The CNOTs spelled out: right, but not a template.
unrolled_ghz = ghz_model(lambda n: "".join(f"qc.cx({q}, {q + 1})\n" for q in range(n - 1)))


def test_two_verified_values_generalize_a_slot(make_engine, server):
    server.responder = inline_ghz
    engine = make_engine("openai")
    engine.run("Create a GHZ state with 3 qubits")
    mixed = engine.run("Create a GHZ state with 5 qubits")
    assert mixed.mode == Mode.MIXED and mixed.why["learned"]["generalized_now"] == ["SLOT_qubits_0"]
    calls = len(server.requests)
    r = engine.run("Create a GHZ state with 7 qubits, 300 shots")
    assert r.mode == Mode.FOLLOWER and ghz_ok(r.counts, 7, 300) and len(server.requests) == calls


def test_a_thin_run_does_not_strip_the_checks_of_a_trace(engine):
    first = engine.run("Create a GHZ state with 3 qubits")
    assert first.why["learned"]["generalized_now"] == ["SLOT_qubits_0"]  # n = 3: a named parameter
    assert "ghz_support" in engine.memory.traces.get(first.trace_id).checks
    thin = engine.run("GHZ on 3 qubits, 10 shots")  # MIXED; 10 shots are too few to record GHZ support
    assert thin.mode == Mode.MIXED and thin.trace_id == first.trace_id
    assert "ghz_support" in engine.memory.traces.get(first.trace_id).checks


def test_a_value_taken_as_one_named_parameter_is_generalized_from_one_run():
    from llmos_jupyter.memory.learn import named_parameters
    from llmos_jupyter.memory.templates import make_template

    values = {"SLOT_qubits_0": 4, "SLOT_shots_0": 1024}
    head = "from qiskit import QuantumCircuit\nn = 4\nqc = QuantumCircuit(n)\n"

    def generalized(body, held=("ghz_support",)):
        return named_parameters(make_template(head + body, values).code, values, list(held))

    assert generalized("qc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\n") == {"SLOT_qubits_0"}
    assert generalized("qc.h(0)\nfor q in range(3):\n    qc.cx(q, q + 1)\n") == set()  # 3 = n - 1, written out
    values3 = {"SLOT_qubits_0": 3, "SLOT_shots_0": 1024}
    w3 = "from qiskit import QuantumCircuit\nn = 3\nqc = QuantumCircuit(n)\nfor q in range(2):\n    qc.cx(q, q + 1)\n"
    assert named_parameters(make_template(w3, values3).code, values3, ["one_hot"]) == set()  # range(2) = n - 1
    assert generalized("qc.h(0)\nqc.cx(0, 1)\n") == set()  # qubit indices written out
    assert generalized("qc.ry(0.9553, 0)\n") == set()  # an angle computed for one size
    assert generalized("qc.h(range(n))\nn = 5\n") == set()  # the name is rebound
    assert generalized("qc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\n", held=()) == set()


def test_a_program_that_only_looks_like_a_template_is_not_generalized(make_engine, server):
    server.responder = unrolled_ghz
    engine = make_engine("openai")
    for n in (3, 5, 4, 6):
        r = engine.run(f"Create a GHZ state with {n} qubits")
        assert r.mode in (Mode.LEARNER, Mode.MIXED) and ghz_ok(r.counts, n, 1024)
    assert engine.run("Create a GHZ state with 5 qubits").mode == Mode.FOLLOWER  # exact repeats still replay


def test_x_gates_that_spell_the_bitstring_become_a_template(engine, server):
    # The scripted model writes |0110> as qc.x(1); qc.x(2): no literal carries the bitstring.
    first = engine.run("Prepare the basis state |0110>")
    assert "reversed(SLOT_bits_0)" in engine.memory.traces.get(first.trace_id).code
    assert engine.run("Prepare the basis state |100>").mode == Mode.MIXED  # a second value proves the loop
    calls = len(server.requests)
    for bits in ("11010", "1", "0001", "0000"):
        r = engine.run(f"Prepare the basis state |{bits}>")
        assert r.mode in (Mode.FOLLOWER, Mode.CRYSTALLIZED) and r.counts == {bits: 1024}, (bits, r.why)
    assert len(server.requests) == calls


def test_only_the_x_gates_that_spell_the_bitstring_are_lifted():
    from llmos_jupyter.memory.templates import make_template

    head = "from qiskit import QuantumCircuit\nqc = QuantumCircuit(3)\n"
    # Both orders of |110> are spelled by other gates than these, so nothing is lifted.
    t = make_template(head + "qc.x(0)\nqc.x(2)\nqc.measure_all()\n", {"SLOT_bits_0": "110"})
    assert t.bound == () and "qc.x(0)" in t.code
    # Read from the left, as some programs do: the loop keeps that order.
    t = make_template(head + "qc.x(0)\nqc.x(1)\nqc.measure_all()\n", {"SLOT_bits_0": "110"})
    assert "enumerate(SLOT_bits_0)" in t.code and "QuantumCircuit(len(SLOT_bits_0))" in t.code


def test_a_home_keyed_by_an_older_normalizer_is_rekeyed(engine, server, home, make_engine):
    first = engine.run("Create a GHZ state with 3 qubits")
    # As an older version stored it: the request's wording, before verbs and articles were folded.
    with engine.store.transaction() as cur:
        cur.execute("UPDATE aliases SET template = 'create a ghz state with <qubits> qubits'")
        cur.execute("DELETE FROM meta WHERE key = 'key_version'")
    again = make_engine("openai").run("Build a GHZ state on 3 qubits")
    assert again.mode == Mode.FOLLOWER and again.trace_id == first.trace_id, again.why
    assert engine.memory.traces.aliases(first.trace_id) == ["prepare ghz state <qubits> qubits"]


def test_a_replay_that_fails_verification_falls_back_and_is_counted_as_a_miss(engine, server):
    engine.run("Create a GHZ state with 3 qubits")
    trace = engine.memory.traces.get(engine.memory.traces.all()[0].id)
    # Corrupt the stored program: it now ignores its qubit count for the entanglement.
    trace.code = trace.code.replace("for q in range(n - 1)", "for q in range(2)")
    trace.generalized = ("SLOT_qubits_0", "SLOT_shots_0")
    engine.memory.traces.update(trace)
    r = engine.run("Create a GHZ state with 5 qubits")
    assert r.mode == Mode.MIXED and r.why["fallback"]["failed_checks"] == ["ghz_support", "every_bit_set"]
    assert ghz_ok(r.counts, 5, 1024)
    assert engine.memory.traces.get(trace.id).misses == 1


def test_domain_terms_must_agree_for_a_replay(engine, server):
    engine.run("Create a Bell state circuit")
    server.responder = lambda req: Reply(text="Noise models need qiskit_aer.noise.")
    r = engine.run("Create a Bell state circuit with depolarizing noise")
    assert r.mode != Mode.FOLLOWER


def test_paraphrases_hit(engine):
    engine.run("Create a GHZ state with 3 qubits")
    for text in ("Make a GHZ state with 3 qubits", "Prepare a cat state on 3 qubits"):
        r = engine.run(text)
        assert r.mode == Mode.FOLLOWER and ghz_ok(r.counts, 3, 1024), (text, r.why)


def test_a_paraphrase_answered_by_the_llm_becomes_an_alias(engine, server):
    engine.run("Create a GHZ state with 3 qubits")
    r = engine.run("GHZ on 3 qubits")
    assert r.mode == Mode.MIXED and r.why["learned"]["new"] is False
    calls = len(server.requests)
    assert engine.run("GHZ on 3 qubits").mode == Mode.FOLLOWER
    assert len(server.requests) == calls


def test_mixed_prompt_is_the_example_and_no_bigger_than_learner(engine, server):
    learner = engine.run("Create a GHZ state with 3 qubits")  # empty memory: no tools, the lean LEARNER prompt
    mixed = engine.run("GHZ on 3 qubits")  # a paraphrase below the replay threshold
    assert mixed.mode == Mode.MIXED
    # it bills less in all: the example costs prompt tokens, the edit it asks for saves far more output tokens
    assert mixed.tokens.input + mixed.tokens.output <= learner.tokens.input + learner.tokens.output
    body = server.requests[-1].body
    assert "Worked example" in body["messages"][0]["content"] and not body.get("tools")


def test_crystallization_after_five_verified_uses(engine, home, server):
    for _ in range(5):
        r = engine.run("Create a GHZ state with 3 qubits")
    trace = engine.memory.traces.get(r.trace_id)
    assert trace.uses == 5 and trace.tool_name
    r = engine.run("Create a GHZ state with 3 qubits, 500 shots")
    assert r.mode == Mode.CRYSTALLIZED and ghz_ok(r.counts, 3, 500) and r.tokens.input == 0
    assert f"{trace.tool_name}(qubits=3, shots=500)" in r.code  # n = 3 in the program: a parameter
    tool = engine.tool(trace.tool_name)
    assert ghz_ok(tool(qubits=4, shots=64), 4, 64) and "GHZ" in tool.__doc__
    assert sorted(p.name for p in (home / "tools").iterdir()) == [f"{trace.tool_name}.py",
                                                                   f"test_{trace.tool_name}.py"]


def test_memory_persists_across_a_new_engine(make_engine, server):
    server.responder = respond
    make_engine("openai").run("Prepare the basis state |1100>")
    calls = len(server.requests)
    r = make_engine("openai").run("Prepare the basis state |1100>")
    assert r.mode == Mode.FOLLOWER and r.counts == {"1100": 1024} and len(server.requests) == calls


def test_export_import_round_trip(make_engine, server, tmp_path):
    server.responder = respond
    source = make_engine("openai", home=tmp_path / "a")
    source.run("Create a GHZ state with 3 qubits")
    source.run("Create a GHZ state with 4 qubits")
    path = tmp_path / "skills.jsonl"
    assert source.export_memory(path) == 1
    target = make_engine("openai", home=tmp_path / "b")
    assert target.import_memory(path) == (1, 0)
    assert target.import_memory(path) == (0, 1)
    calls = len(server.requests)
    r = target.run("Create a GHZ state with 6 qubits")
    assert r.mode == Mode.FOLLOWER and ghz_ok(r.counts, 6, 1024) and len(server.requests) == calls


@pytest.mark.parametrize("mutate,needle", [
    (lambda lines: lines[:1] + ["{not json"], "not JSON"),
    (lambda lines: ['{"format": "something-else"}'] + lines[1:], "not an llmos memory export"),
    (lambda lines: lines[:1] + [lines[1].replace('"code": "', '"code": "def (:\\n')], "does not parse"),
    (lambda lines: lines[:1] + [lines[1].replace('"uses": 1', '"uses": "many"')], "'uses' must be int"),
    (lambda lines: lines + [lines[1].replace('"checks": [', '"checks": ["rm_rf", ')], "unknown checks"),
])
def test_a_crafted_import_is_rejected_whole(make_engine, server, tmp_path, mutate, needle):
    server.responder = respond
    source = make_engine("openai", home=tmp_path / "a")
    source.run("Create a GHZ state with 3 qubits")
    good = tmp_path / "good.jsonl"
    source.export_memory(good)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(mutate(good.read_text().splitlines())) + "\n")
    target = make_engine("openai", home=tmp_path / "b")
    with pytest.raises(ImportRejected, match=needle):
        target.import_memory(bad)
    assert target.memory.traces.count() == 0


def test_thresholds_are_config(make_engine, server):
    server.responder = respond
    engine = make_engine("openai", follower_threshold=1.01, mixed_threshold=1.01)
    engine.run("Create a GHZ state with 3 qubits")
    assert engine.run("Create a GHZ state with 3 qubits").mode == Mode.LEARNER


def test_forget(engine):
    engine.run("Create a GHZ state with 3 qubits")
    assert engine.forget("ghz") == 1
    assert engine.run("Create a GHZ state with 3 qubits").mode == Mode.LEARNER


def test_input_examples_come_from_verified_runs(engine):
    engine.run("Create a GHZ state with 3 qubits")
    engine.run("Create a GHZ state with 5 qubits")
    trace = engine.memory.traces.all()[0]
    spec = engine.toolbox.spec(trace)
    assert {"qubits": 3, "shots": 1024} in spec.input_examples and {"qubits": 5, "shots": 1024} in spec.input_examples


# -- starter skills ----------------------------------------------------------------------------------

@pytest.fixture
def starter(make_engine, server):
    server.responder = respond
    return make_engine("openai", starter_skills=True)


@pytest.mark.parametrize("text,check", [
    ("Create a Bell state circuit", lambda c: set(c) == {"00", "11"}),
    ("Create a GHZ state with 5 qubits, 2048 shots", lambda c: ghz_ok(c, 5, 2048)),
    ("Run Grover search for the marked state 110", lambda c: max(c, key=c.get) == "110"),
    ("Prepare an EPR pair on two qubits and measure", lambda c: set(c) == {"00", "11"}),
    ("Find the secret string 1011 with Bernstein-Vazirani", lambda c: c == {"1011": 1024}),
])
def test_starter_skills_answer_offline_at_zero_tokens(starter, server, text, check):
    r = starter.run(text)
    assert r.mode == Mode.FOLLOWER, r.why
    assert check(r.counts) and r.tokens.input == 0 and r.tokens.saved > 0 and not server.requests


def test_a_starter_skill_out_of_range_goes_to_the_llm(starter, server):
    r = starter.run("Create a GHZ state with 40 qubits")
    assert r.mode != Mode.FOLLOWER and server.requests


def test_learner_offers_only_found_tools_and_runs_a_skill_call(starter, server):
    server.responder = None
    server.enqueue(Reply(tool_calls=[("search_tools", {"query": "grover"})], input_tokens=50, output_tokens=5),
                   Reply(tool_calls=[("grover_search", {"marked": "11", "shots": 300})], input_tokens=80,
                         output_tokens=9))
    r = starter.run("Search an unsorted list of four items for the entry 11")
    assert r.mode == Mode.LEARNER and (r.tokens.input, r.tokens.output) == (130, 14)
    # One stage and skills close by: `search_tools` and the fitting skills, no runner or plan schema billed.
    first_tools = [t["function"]["name"] for t in server.requests[0].body["tools"]]
    assert first_tools[0] == "search_tools" and {"execute_qiskit_code", "plan"}.isdisjoint(first_tools)
    assert len(first_tools) <= 4
    assert "tool" in [m["role"] for m in server.requests[1].body["messages"]]
    assert max(r.counts, key=r.counts.get) == "11" and sum(r.counts.values()) == 300


# -- the store under faults ----------------------------------------------------------------------

def test_a_corrupted_store_is_named_and_left_alone(home):
    home.mkdir(parents=True)
    db = home / "llmos.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="llmos.db"):
        LLMOS(home=home)
    assert db.read_bytes() == b"this is not sqlite" * 100


def test_a_locked_store_is_a_clear_error_and_loses_nothing(engine, home):
    engine.run("Create a GHZ state with 3 qubits")
    engine.store._conn.execute("PRAGMA busy_timeout = 200")
    blocker = sqlite3.connect(home / "llmos.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy"):
            engine.run("Create a GHZ state with 3 qubits")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert engine.memory.traces.count() == 1
    assert engine.run("Create a GHZ state with 3 qubits").mode == Mode.FOLLOWER


def test_relevant_facts_are_injected_within_budget(engine, server):
    from llmos_jupyter.tokencount import count_tokens

    engine.run("Simulate a 30-qubit GHZ state with the matrix_product_state method")
    system = server.requests[-1].body["messages"][0]["content"]
    assert "Notes:" in system
    notes = system.split("Notes:", 1)[1]
    assert "matrix_product_state" in notes and count_tokens(notes) <= 200 + 10  # bullets and newlines
    engine.run("Say hello")
    assert "Notes:" not in server.requests[-1].body["messages"][0]["content"]


def test_learned_facts_record_what_worked(engine, server):
    server.responder = None
    code = ("from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n"
            "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\nqc.measure_all()\n"
            "sim = AerSimulator(method='stabilizer')\n"
            "print(sim.run(transpile(qc, sim, optimization_level=3), shots=1024).result().get_counts())\n")
    server.enqueue(Reply(text=f"```python\n{code}```"))
    engine.run("Simulate a Clifford Bell circuit")
    facts = [r["text"] for r in engine.store.query("SELECT text FROM facts")]
    assert any("method='stabilizer'" in f for f in facts) and any("optimization_level=3" in f for f in facts)


def test_recorded_checks_only_apply_where_they_mean_something():
    from llmos_jupyter.memory.checks import failures, holding

    recorded = holding({"1011": 1024}, {"bits": "1011", "shots": 1024})
    assert "never_all_zero" not in recorded and "exact_bits" in recorded
    assert failures({"000": 1024}, {"bits": "000", "shots": 1024}, recorded) == []
    assert failures({"0000000": 100}, {"shots": 100, "qubits": 7}, ["all_outcomes"]) == []  # too few shots to say
    uniform = {format(i, "02b"): 256 for i in range(4)}
    assert "all_outcomes" in holding(uniform, {"shots": 1024, "qubits": 2})
    # A noisy GHZ once saw every outcome; its rare ones need not come back, so that is not recorded.
    noisy = {"00": 500, "11": 500, "01": 14, "10": 10}
    assert "all_outcomes" not in holding(noisy, {"shots": 1024, "qubits": 2})
    # 100 shots over 128 outcomes: not seeing |0000000> says nothing.
    sparse = {format(i, "07b"): 1 for i in range(1, 101)}
    assert "never_all_zero" not in holding(sparse, {"shots": 100, "qubits": 7})
    assert "never_all_zero" in holding({"111": 1024}, {"shots": 1024, "qubits": 3})
    # A W state built for 3 qubits, replayed on 5, is still one-hot; it never reaches the last two qubits.
    w3 = {"001": 340, "010": 340, "100": 344}
    assert {"one_hot", "every_bit_set"} <= set(holding(w3, {"shots": 1024, "qubits": 3}))
    assert failures({"00001": 340, "00010": 340, "00100": 344}, {"shots": 1024, "qubits": 5},
                    holding(w3, {"shots": 1024, "qubits": 3})) == ["every_bit_set"]


def test_two_homes_in_one_process_each_call_their_own_tool(make_engine, server, tmp_path):
    server.responder = respond
    a = make_engine("openai", home=tmp_path / "a", crystallize_uses=2)
    b = make_engine("openai", home=tmp_path / "b", crystallize_uses=2)
    for _ in range(2):
        a.run("Create a GHZ state with 3 qubits")
        b.run("Create a GHZ state with 4 qubits")
    ra, rb = a.run("Create a GHZ state with 3 qubits"), b.run("Create a GHZ state with 4 qubits")
    assert ra.mode == rb.mode == Mode.CRYSTALLIZED
    assert ghz_ok(ra.counts, 3, 1024) and ghz_ok(rb.counts, 4, 1024)
    assert ghz_ok(a.run("Create a GHZ state with 3 qubits").counts, 3, 1024)


def test_a_kernel_sees_what_another_added_and_forgot(make_engine, server, home):
    server.responder = respond
    a, b = make_engine("openai"), make_engine("openai")
    a.run("Create a GHZ state with 3 qubits")
    assert b.run("Create a GHZ state with 3 qubits").mode == Mode.FOLLOWER  # b's index took a's new alias
    calls = len(server.requests)
    b.run("Create a Bell state circuit")
    assert a.run("Create a Bell state circuit").mode == Mode.FOLLOWER and len(server.requests) == calls + 1
    a.memory.traces.forget([t.id for t in a.memory.traces.all("ghz")])
    r = b.run("Create a GHZ state with 3 qubits")  # the deletion reloads b's whole index
    assert r.mode == Mode.LEARNER
    indexed = {row[0] for row in b.memory.traces._rows}
    assert indexed == {t.id for t in b.memory.traces.all()}  # no alias of a forgotten trace left behind


# -- crystallized tools, called directly -------------------------------------------------------------

def learned_trace(request: str, code: str | None = None, **changes):
    """The trace one verified run of `code` (the scripted model's program for `request`) would make, used
    five times and with every slot generalized."""
    from llmos_jupyter.pipeline.dispatcher import request_values
    from llmos_jupyter.text.normalize import normalize
    from llmos_jupyter.memory import checks
    from llmos_jupyter.memory.templates import make_template
    from llmos_jupyter.memory.traces import Trace
    from llmos_jupyter.testing.qiskit_model import program
    from llmos_jupyter.tools.qiskit_exec import run_code

    code = code or program(request)
    n = normalize(request)
    values = request_values(n)
    template = make_template(code, values)
    held = checks.holding(run_code(code, {}).counts, checks.check_values(values))
    fields = dict(id="0123456789ab", origin="learner", title=request, request=request, template=n.template,
                  signature=n.signature, code=template.code, bound=template.bound, shape=template.shape,
                  generalized=template.bound, examples=[values], checks=tuple(held), uses=5)
    return Trace(**{**fields, **changes})


def crystallized(trace, tools, run=None, **kw):
    from llmos_jupyter.memory.crystallize import crystallize, param_name
    from llmos_jupyter.tools.qiskit_exec import run_code

    return crystallize(trace, tools, set(), {p: param_name(p) for p in trace.bound}, run=run or run_code, **kw)


GHZ_REQUEST = "Prepare a GHZ state on 5 qubits and measure it with 2048 shots"


# The scripted model's program binds `counts = ...get_counts()`; conftest's prints `...get_counts()` whole.
@pytest.mark.parametrize("code", [None, ghz(5, 2048)], ids=["counts-named", "counts-printed"])
def test_a_crystallized_tool_reads_like_a_person_wrote_it(tmp_path, code):
    import ast

    trace = learned_trace(GHZ_REQUEST, code)
    tools = tmp_path / "tools"
    function = crystallized(trace, tools, aliases=["ghz <qubits>", "cat state <qubits>", "prepare ghz <qubits>"])
    assert function == "ghz_state"
    source = (tools / "ghz_state.py").read_text()
    tree = ast.parse(source)
    assert " ".join(ast.get_docstring(tree).split()).startswith(
        f'ghz_state: learned by LLMOS from 5 verified runs of "{GHZ_REQUEST}" (and 2 other wordings).')
    *imports, tool = tree.body[1:]
    assert [ast.unparse(i) for i in imports] == ["from qiskit import QuantumCircuit, transpile",
                                                 "from qiskit_aer import AerSimulator"]
    assert "def ghz_state(qubits: int = 5, shots: int = 2048) -> dict[str, int]:" in source
    assert " ".join(ast.get_docstring(tool).split()) == (
        "Prepare a GHZ state on `qubits` qubits and measure it with `shots` shots, and return its counts on Aer.")
    assert ast.unparse(tool.body[-1]) == "return counts"
    assert not [n for n in ast.walk(tool) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"]
    assert not [n for n in ast.walk(tool) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name)
                and [ast.unparse(t) for t in n.targets] == [n.value.id]]  # no `shots = shots`
    from llmos_jupyter.memory.crystallize import load_tool

    assert ghz_ok(load_tool(tools, "ghz_state")(qubits=3, shots=100), 3, 100)


def test_the_generated_test_needs_only_the_tool_and_passes(tmp_path):
    import ast

    tools = tmp_path / "tools"
    function = crystallized(learned_trace("Create a GHZ state with 3 qubits"), tools)
    tree = ast.parse((tools / f"test_{function}.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | \
        {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"__future__", "importlib.util", "collections", "collections.abc", "pathlib", "pytest"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tools)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_loading_a_tool_touches_neither_sys_path_nor_sys_modules(tmp_path):
    from llmos_jupyter.memory.crystallize import call_snippet, load_tool, tool_namespace
    from llmos_jupyter.tools.qiskit_exec import run_code

    trace = learned_trace("Create a GHZ state with 3 qubits")
    crystallized(trace, tmp_path / "warm")  # Qiskit, Aer and the transpiler passes are imported by now
    load_tool(tmp_path / "warm", "ghz_state")()
    path, modules = list(sys.path), set(sys.modules)
    tools = tmp_path / "tools"
    trace.tool_name = crystallized(trace, tools)
    assert ghz_ok(load_tool(tools, trace.tool_name)(), 3, 1024)
    code = call_snippet(trace, {"SLOT_qubits_0": 3, "SLOT_shots_0": 1024}, {p: p.split("_")[1] for p in trace.bound})
    assert code == "counts = ghz_state(qubits=3, shots=1024)\nprint(counts)\n"
    run = run_code(code, tool_namespace(tools, trace.tool_name))
    assert run.error is None and ghz_ok(run.counts, 3, 1024) and run.output.strip() == str(run.counts)
    assert sys.path == path and set(sys.modules) == modules


def test_a_candidate_tool_is_checked_under_a_name_no_import_can_reach(tmp_path):
    from llmos_jupyter.tools.qiskit_exec import run_code

    tools, seen = tmp_path / "tools", []

    def spying(code, namespace):
        seen.extend(p.name for p in tools.iterdir())
        return run_code(code, namespace)

    assert crystallized(learned_trace("Create a GHZ state with 3 qubits"), tools, run=spying) == "ghz_state"
    assert seen and all(name.startswith(".ghz_state.py.tmp-") for name in seen)
    assert sorted(p.name for p in tools.iterdir()) == ["ghz_state.py", "test_ghz_state.py"]  # no __pycache__


# Counts of one circuit bound to `counts`, then another circuit run last: what it returns is not the run's counts.
SECOND_JOB = ("from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n"
              "n = 3\nqc = QuantumCircuit(n)\nqc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\nqc.measure_all()\n"
              "sim = AerSimulator()\ncounts = sim.run(transpile(qc, sim), shots=1024).result().get_counts()\n"
              "other = QuantumCircuit(n)\nother.measure_all()\nsim.run(transpile(other, sim), shots=1024).result()\n")


@pytest.mark.parametrize("case", ["failed check", "run error", "counts not the run's", "counts never named"])
def test_a_tool_that_cannot_pass_its_examples_leaves_nothing_behind(tmp_path, case):
    from llmos_jupyter.tools.qiskit_exec import Execution, run_code

    request = "Create a GHZ state with 3 qubits"
    run = None
    if case == "failed check":
        trace = learned_trace(request, checks=("single_outcome",))  # a GHZ state has two
    elif case == "run error":
        trace = learned_trace(request)
        run = lambda code, namespace: Execution(error="Traceback ...\nRuntimeError: the worker died\n")  # noqa: E731
    elif case == "counts not the run's":
        trace = learned_trace(request, SECOND_JOB, checks=())
    else:
        trace = learned_trace(request, ghz(3, 1024).replace("print(", "len("))
    tools = tmp_path / "tools"
    assert crystallized(trace, tools, run=run or run_code) is None
    assert list(tools.iterdir()) == []


def test_two_homes_in_one_process_each_load_their_own_tool(tmp_path):
    from llmos_jupyter.memory.crystallize import load_tool

    a, b = tmp_path / "a" / "tools", tmp_path / "b" / "tools"
    assert crystallized(learned_trace("Create a GHZ state with 3 qubits"), a) == "ghz_state"
    assert crystallized(learned_trace("Create a GHZ state with 4 qubits"), b) == "ghz_state"
    for home, n in ((a, 3), (b, 4), (a, 3)):
        assert ghz_ok(load_tool(home, "ghz_state")(), n, 1024)


def test_a_tool_name_never_takes_another_tools_file_or_a_module_name(tmp_path):
    from llmos_jupyter.memory.crystallize import function_name

    trace = learned_trace("Create a GHZ state with 3 qubits")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "ghz_state.py").write_text("# the user's own, from a forgotten trace\n")
    assert crystallized(trace, tools) == "ghz_state_2"
    assert (tools / "ghz_state.py").read_text() == "# the user's own, from a forgotten trace\n"
    assert function_name(learned_trace("Create a GHZ state with 3 qubits", template="make random <qubits>"),
                         set()) == "random_tool"  # random.py would shadow the module where tools/ is on sys.path


def test_memory_imports_neither_the_dispatcher_nor_the_executor():
    import ast
    from pathlib import Path

    import llmos_jupyter.memory as memory

    for path in Path(memory.__file__).parent.glob("*.py"):
        modules = [n.module or "" for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.endswith(("pipeline.dispatcher", "tools.qiskit_exec"))], path.name


def test_curated_facts_are_encoded_once_per_home_and_again_when_their_text_changes(tmp_path, monkeypatch):
    """A new kernel on a home reads the curated facts' vectors from it instead of encoding them again."""
    from llmos_jupyter.memory import embed, qiskit_facts
    from llmos_jupyter.memory.facts import Facts
    from llmos_jupyter.store import SQLiteStore as Store

    class Counting(embed.Embedder):
        def __init__(self):
            super().__init__()
            self.texts = 0

        def encode(self, texts):
            self.texts += len(set(texts) - set(self._cache))
            return super().encode(texts)

    store = Store(tmp_path / "home")
    first, second = Counting(), Counting()
    ask = "transpile for a noisy simulator with optimization level 3"
    picked = Facts(store, first).relevant(ask)
    assert first.texts == len(qiskit_facts.FACTS) + 1  # every fact, then the request
    assert Facts(store, second).relevant(ask) == picked and second.texts == 1  # only the request
    changed = qiskit_facts.FACTS[0].__class__(qiskit_facts.FACTS[0].topic, qiskit_facts.FACTS[0].text + " (edited)")
    monkeypatch.setattr(qiskit_facts, "FACTS", [changed, *qiskit_facts.FACTS[1:]])
    third = Counting()
    Facts(store, third).relevant(ask)
    assert third.texts == 2  # the edited fact and the request


def test_a_worked_example_is_sent_without_its_comments_or_blank_lines():
    from llmos_jupyter.prompts import lean_code, mixed_system

    code = "n = 3  # input qubits\n\n# the ancilla in |->\nqc.x(n)\nprint('a  # kept')  # too\n"
    # A '  #' inside a string keeps its line whole: a comment is cut only where the code before it is complete.
    assert lean_code(code) == "n = 3\nqc.x(n)\nprint('a  # kept')  # too"
    assert mixed_system("DJ on 3 qubits", code).endswith("```python\nn = 3\nqc.x(n)\nprint('a  # kept')  # too\n```")
