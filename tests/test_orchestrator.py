"""ORCHESTRATOR: multi-step requests planned into steps, each dispatched again."""
import pytest
from conftest import Reply
from llmos_jupyter import Mode
from llmos_jupyter.text.plan import plan, reads_staged
from llmos_jupyter.testing.qiskit_model import respond

NOISE_STEPS = {
    "build a 4-qubit GHZ": (
        "from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n"
        "n = 4\nqc = QuantumCircuit(n)\nqc.h(0)\nfor q in range(n - 1):\n    qc.cx(q, q + 1)\nqc.measure_all()\n"
        "ideal = AerSimulator().run(qc, shots=1024).result().get_counts()\nprint(ideal)\n"),
    "add depolarizing noise": (
        "from qiskit_aer.noise import NoiseModel, depolarizing_error\n"
        "noise = NoiseModel()\nnoise.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ['h'])\n"
        "noise.add_all_qubit_quantum_error(depolarizing_error(0.08, 2), ['cx'])\n"
        "noisy_sim = AerSimulator(noise_model=noise)\n"
        "noisy = noisy_sim.run(transpile(qc, noisy_sim), shots=1024).result().get_counts()\nprint(noisy)\n"),
    "compare noisy and ideal histograms": (
        "diff = {k: noisy.get(k, 0) - ideal.get(k, 0) for k in set(noisy) | set(ideal)}\n"
        "print('outcomes only noise produces:', sorted(set(noisy) - set(ideal)))\n"),
}


def offered(req) -> set[str]:
    return {t.get("function", t).get("name") for t in req.body.get("tools") or []}


def planner_or(answer):
    """A scripted model that answers the --plan call with the rule-based split, and everything else with
    `answer`."""
    def respond_to(req):
        if offered(req) == {"plan"}:
            return Reply(tool_calls=[("plan", {"steps": plan(req.last_user_text())})], input_tokens=50,
                         output_tokens=20)
        return answer(req)
    return respond_to


def steps_model(req):
    step = req.last_user_text()
    return Reply(text=f"```python\n{NOISE_STEPS[step]}```", input_tokens=200, output_tokens=80)


def test_the_rule_based_split_used_by_plan_without_a_tool_calling_model():
    assert plan("build a 4-qubit GHZ, add depolarizing noise, compare noisy and ideal histograms") == list(NOISE_STEPS)
    assert plan("Create a GHZ state with 5 qubits, 2048 shots") == ["Create a GHZ state with 5 qubits, 2048 shots"]
    assert plan("Prepare an EPR pair and measure it") == ["Prepare an EPR pair and measure it"]
    assert plan("1. Create a Bell state 2. add noise") == ["Create a Bell state", "add noise"]
    assert plan("Prepare a W state on 4 qubits, run it 4,096 times") == [
        "Prepare a W state on 4 qubits, run it 4,096 times"]


def test_multi_line_and_then_requests_run_as_one_program(make_engine, server):
    server.responder = respond
    engine = make_engine("openai")
    for text in ("Create a GHZ state with 4 qubits\nthen measure them with 500 shots",
                 "Prepare the basis state |101>, invert every qubit, and measure it",
                 "build a 3-qubit GHZ; then measure it"):
        before = len(server.requests)
        r = engine.run(text)
        assert r.mode != Mode.ORCHESTRATOR and r.steps == [] and len(server.requests) - before <= 1, text


def test_plan_orchestrates_each_step_and_the_steps_replay_at_zero_tokens(make_engine, server):
    server.responder = planner_or(steps_model)
    engine = make_engine("openai")
    text = "build a 4-qubit GHZ, add depolarizing noise, compare noisy and ideal histograms"
    first = engine.run(text, plan=True)
    assert first.mode == Mode.ORCHESTRATOR and first.error is None and first.why["planned_by"] == "model"
    assert [s["mode"] for s in first.steps] == ["LEARNER"] * 3
    assert first.tokens.input == 50 + 600 and first.tokens.output == 20 + 240  # the plan, then three steps
    assert "outcomes only noise produces" in first.output and "# step 2: add depolarizing noise" in first.code
    # Later steps saw the earlier steps' code as context.
    assert "Earlier steps" not in server.requests[1].body["messages"][0]["content"]
    assert "n = 4" in server.requests[2].body["messages"][0]["content"]
    calls = len(server.requests)
    second = engine.run(text, plan=True)
    assert [s["mode"] for s in second.steps] == ["FOLLOWER"] * 3
    assert (second.tokens.input, second.tokens.output) == (50, 20)  # only the planning call is billed
    assert second.tokens.saved == sum(s["tokens"]["saved"] for s in second.steps) > 0
    assert len(server.requests) == calls + 1
    assert engine.ledger.cumulative_saved() == second.tokens.saved  # counted once, in the steps


def test_the_model_may_answer_with_a_plan(make_engine, server):
    def model(req):
        if "plan" in offered(req) and "bond lengths" in req.last_user_text():
            return Reply(tool_calls=[("plan", {"steps": ["Create a GHZ state with 4 qubits",
                                                         "prepare the basis state |101>"]})])
        return respond(req)
    server.responder = model
    r = make_engine("openai", starter_skills=True).run("run VQE for H2 at three bond lengths and plot the curve")
    assert r.mode == Mode.ORCHESTRATOR and r.why["planned_by"] == "model" and r.error is None
    assert [s["mode"] for s in r.steps] == ["FOLLOWER", "FOLLOWER"] and r.counts == {"101": 1024}


def test_a_step_without_a_program_is_an_error(make_engine, server):
    def model(req):
        if offered(req) == {"plan"}:
            return Reply(tool_calls=[("plan", {"steps": ["explain what you will do", "Create a Bell state"]})])
        return Reply(text="I will build the circuit next.")
    server.responder = model
    r = make_engine("openai").run("do two things", plan=True)
    assert r.mode == Mode.ORCHESTRATOR and len(r.steps) == 1
    assert r.error.startswith("Step 1 (explain what you will do) failed") and "no program" in r.error


def test_a_failing_step_stops_the_plan_with_a_clear_error(make_engine, server):
    server.responder = planner_or(lambda req: Reply(text="```python\nraise RuntimeError('boom')\n```"))
    r = make_engine("openai").run("make a circuit that fails, then plot it", plan=True)
    assert r.error.startswith("Step 1 (make a circuit that fails) failed") and len(r.steps) == 1


@pytest.mark.parametrize("text, staged", [
    ("run VQE for H2 at three bond lengths and plot the curve", True),
    ("sweep the rotation angle and compare the counts", True),
    ("make a circuit that fails, then plot it", True),
    ("Create a GHZ state with 5 qubits", False),
    ("Prepare an EPR pair and measure it", False),
    ("Search an unsorted list of four items for the entry 11", False),
])
def test_only_staged_work_reads_as_needing_a_plan(text, staged):
    assert reads_staged(text) is staged  # LEARNER offers the `plan` schema only then
