"""Local models that learn from verified traces: what enters the training set, a tiny real AdaLoRA run whose
adapter loads and generates, T0 routing to it, and bad input that changes nothing.

One fine-tune of two steps on the embedded SmolLM2-135M (CPU) serves the module: the training set, the
adapter and its card are real, so the test costs a model load and two optimizer steps."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import Reply, fenced, ghz
from llmos_jupyter import Mode
from llmos_jupyter.errors import ConfigError
from llmos_jupyter.finetune import AdapterError, prompt, read_card, split, summary
from llmos_jupyter.localmodel.adapters import training_lock
from llmos_jupyter.finetune.dataset import as_served, guided, training_set, worked
from llmos_jupyter.testing.qiskit_model import respond

FAILING = "from qiskit import QuantumCircuit\nqc = QuantumCircuit(2)\nraise RuntimeError('no backend')\n"


def taught(make_engine, server, home=None):
    """An engine whose memory holds one GHZ family verified at two sizes, so its qubit count rebinds."""
    server.responder = respond
    engine = make_engine("openai", **({"home": home} if home else {}))
    for n in (3, 5):
        assert engine.run(f"Create a GHZ state with {n} qubits").verified
    return engine


def test_only_verified_traces_enter_the_training_set(make_engine, server):
    engine = taught(make_engine, server)
    server.responder = None
    server.enqueue(Reply(text=fenced(FAILING)))
    failed = engine.run("Prepare a Bell state on a broken backend")
    assert failed.error and not failed.verified
    examples, left_out = training_set(engine.memory.traces.all())
    assert examples and {e.trace_id for e in examples} == {t.id for t in engine.memory.traces.all()}
    assert all("QuantumCircuit" in e.program and "raise" not in e.program for e in examples)
    assert {e.values["SLOT_qubits_0"] for e in examples} == {3, 5}  # each verified binding, rendered
    # A trace changed behind LLMOS (its seal broken) is named and left out.
    import sqlite3

    trace = engine.memory.traces.all()[0]
    with sqlite3.connect(engine.store.path) as db:
        db.execute("UPDATE traces SET code = ? WHERE id = ?", (trace.code + "\nprint('changed')\n", trace.id))
    examples, left_out = training_set(engine.memory.traces.all())
    assert not examples and "changed outside LLMOS" in left_out[trace.id]


def test_t0_is_trained_on_edits_of_the_verified_program_it_will_be_shown(make_engine, server):
    engine = taught(make_engine, server)
    traces = {t.id: t for t in engine.memory.traces.all()}
    examples, _ = training_set(list(traces.values()))
    shown = frozenset(g[1] for t in traces.values() if (g := worked(t)))
    train, held = split(examples, 0.5, keep=shown)
    train, held = guided(train, traces), as_served(held, traces)
    assert held and not {e.program for e in held} & shown  # T0 is never asked to copy what it is shown
    assert not {e.program for e in held} & {e.guide[1] for e in train}  # nothing held out leaks
    assert all(e.guide == worked(traces[e.trace_id]) for e in held)
    for ex in train + held:  # each answer is an edit that rebuilds the program exactly
        turns = prompt.chat(ex.request, ex.program, ex.guide)
        assert turns[1]["content"].endswith("New request: " + ex.request)
        assert prompt.program_from(turns[2]["content"], ex.guide) == ex.program.strip() + "\n"
    edit = prompt.edit(ghz(3, 1024), ghz(4, 1024))
    assert edit.count("\n-") == 2 and "+qc = QuantumCircuit(4)" in edit  # only the lines that change
    with pytest.raises(prompt.EditError, match="does not have after line 1: 'qc = QuantumCircuit\\(9\\)'"):
        prompt.apply(ghz(3, 1024), "@@\n-qc = QuantumCircuit(9)\n+qc = QuantumCircuit(4)")
    with pytest.raises(prompt.EditError, match="neither context, removed nor added"):
        prompt.apply(ghz(3, 1024), "@@\nqc = QuantumCircuit(3)")
    # A reply with a whole program is taken whole; one with neither is no program.
    assert prompt.program_from(fenced(ghz(5, 1024)), ("r", ghz(3, 1024))) == ghz(5, 1024).strip()
    assert prompt.program_from("I cannot help with that.", ("r", ghz(3, 1024))) is None


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A home with a verified GHZ family and a two-step adapter trained on it (module-wide: one model load)."""
    from llmos_jupyter import LLMOS
    from llmos_jupyter.testing import ScriptedLLMServer

    home = tmp_path_factory.mktemp("tuned") / "home"
    with ScriptedLLMServer() as srv:
        srv.responder = respond
        engine = LLMOS(home=home, provider="openai", base_url=srv.openai_base_url, api_key="k", max_retries=0,
                       starter_skills=False, stream=False, execution="kernel")
        for n in (3, 5):
            assert engine.run(f"Create a GHZ state with {n} qubits").verified
        losses = []
        card = engine.finetune("ghz-t0", steps=2, evaluate=0, progress=lambda step, total, loss: losses.append(loss))
        engine.close()
    return home, card, losses


@pytest.mark.slow
def test_a_few_steps_make_an_adapter_that_loads_and_generates(tuned):
    from llmos_jupyter.providers.base import Message
    from llmos_jupyter.providers.local import LocalProvider

    home, card, losses = tuned
    assert card["steps"] == 2 and len(losses) == 2 and all(loss > 0 for loss in losses)
    assert card["examples"] >= 2 and card["base"] == "local:SmolLM2-135M-Instruct" and card["device"] == "cpu"
    assert ["ghz"] in card["families"] and card["held_out"]["adapter_pass_rate"] is None
    folder = home / "adapters" / "ghz-t0"
    assert {"adapter_model.safetensors", "adapter_config.json", "card.json", "lora/adapter_model.safetensors",
            "lora/adapter_config.json"} <= {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert json.loads((folder / "lora" / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert "ghz-t0: " in summary(card, "ghz-t0") and "local:ghz-t0" in summary(card, "ghz-t0")
    provider = LocalProvider("ghz-t0", adapters=home / "adapters")
    completion = provider.complete("ignored", [Message("user", "Create a GHZ state with 4 qubits")], max_tokens=8)
    assert completion.model == "ghz-t0" and completion.usage.input > 0 and 1 <= completion.usage.output <= 8
    assert completion.text.strip()


@pytest.mark.slow
def test_the_plain_lora_copy_for_vllm_computes_what_the_adaptive_adapter_does(tuned):
    import torch
    from peft import PeftModel

    from llmos_jupyter.localmodel.weights import load_adapter, load_base

    home, card, _ = tuned
    tokenizer, merged = load_adapter(card)
    inputs = tokenizer.apply_chat_template(prompt.chat("Create a GHZ state with 6 qubits"), add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    _, base, _ = load_base("local")
    with torch.no_grad():
        adaptive, plain_base = merged(**inputs).logits, base(**inputs).logits
        lora = PeftModel.from_pretrained(base, str(home / "adapters" / "ghz-t0" / "lora"))
        plain = lora(**inputs).logits
    assert (adaptive - plain).abs().max() < 1e-3 < (adaptive - plain_base).abs().max() * 1e3


def t0_engine(make_engine, server, tuned, home):
    """A home that learned a GHZ state on 3 qubits (a program that inlines its width, so one run does not
    rebind it) and holds the adapter; T0 is that adapter behind an OpenAI-compatible server (as vLLM serves
    it), so its answers are scripted here, T2 the remote model."""
    shutil.copytree(tuned[0] / "adapters", home / "adapters")
    tiers = {"T0": f"openai:ghz-t0@{server.openai_base_url}", "T2": "openai:large-model"}
    engine = make_engine("openai", home=home, tiers=tiers)
    server.enqueue(Reply(text=fenced(ghz(3, 1024)), model="large-model"))
    assert engine.run("Create a GHZ state with 3 qubits").why["tier"] == "T2"  # LEARNER
    return engine


@pytest.mark.slow
def test_t0_answers_a_new_value_of_a_family_the_adapter_learned_and_the_cell_says_why(
        tuned, make_engine, server, tmp_path):
    from llmos_jupyter.render import metadata_line

    engine = t0_engine(make_engine, server, tuned, tmp_path / "home")
    # T0 answers as it was trained to: an edit of the verified program it is shown.
    server.enqueue(Reply(text=f"```diff\n{prompt.edit(ghz(3, 1024), ghz(4, 1024))}\n```", model="ghz-t0"))
    r = engine.run("Create a GHZ state with 4 qubits")
    assert r.mode == Mode.MIXED and r.why["tier"] == "T0" and server.requests[-1].body["model"] == "ghz-t0"
    assert r.verified and "T0: a new value for a family adapter ghz-t0 learned (ghz)" in metadata_line(r)
    assert set(r.counts) == {"0000", "1111"} and r.why["answer"] == "T0:edit"
    sent = server.requests[-1].body["messages"]  # the prompt it was trained on, whatever serves it
    assert sent[0] == {"role": "system", "content": prompt.SYSTEM}
    assert sent[1]["content"] == prompt.user("Create a GHZ state with 4 qubits",
                                             ("Create a GHZ state with 3 qubits", ghz(3, 1024)))
    # A near miss (a word no verified request says) is not a variation: the remote tier answers it.
    server.enqueue(Reply(text=fenced(ghz(4, 1024).replace("qc.measure_all()", "qc.h(range(4))\nqc.measure_all()")),
                         model="large-model"))
    other = engine.run("Create a GHZ state with 4 qubits in the X basis")
    assert other.mode == Mode.MIXED and other.why["tier"] == "T2" and server.requests[-1].body["model"] == "large-model"


@pytest.mark.slow
def test_a_t0_program_that_fails_the_familys_checks_is_not_kept_and_the_next_tier_answers(
        tuned, make_engine, server, tmp_path):
    engine = t0_engine(make_engine, server, tuned, tmp_path / "home")
    traces = engine.memory.traces.count()
    wrong = ghz(5, 1024).replace("for q in range(5 - 1):\n    qc.cx(q, q + 1)", "qc.cx(0, 1)")  # a Bell pair
    server.enqueue(Reply(text=fenced(wrong), model="ghz-t0", input_tokens=100, output_tokens=50),
                   Reply(text=fenced(ghz(5, 1024)), model="large-model", input_tokens=300, output_tokens=60))
    calls = len(server.requests)
    r = engine.run("Create a GHZ state with 5 qubits")
    assert [q.body["model"] for q in server.requests[calls:]] == ["ghz-t0", "large-model"]
    assert r.why["tier"] == "T2" and "T0's program failed (ghz_support" in r.why["tier_reason"]
    assert r.verified and set(r.counts) == {"00000", "11111"}
    assert (r.tokens.input, r.tokens.output) == (400, 110)  # both calls billed
    assert engine.memory.traces.count() <= traces + 1 and "cx(0, 1)\nqc.measure_all" not in "".join(
        t.code for t in engine.memory.traces.all())  # the failed program was not stored


@pytest.mark.slow
def test_a_t0_edit_that_does_not_fit_its_program_is_named_and_the_next_tier_answers(
        tuned, make_engine, server, tmp_path):
    engine = t0_engine(make_engine, server, tuned, tmp_path / "home")
    server.enqueue(Reply(text="```diff\n@@\n-qc = QuantumCircuit(7)\n+qc = QuantumCircuit(4)\n```", model="ghz-t0"),
                   Reply(text=fenced(ghz(4, 1024)), model="large-model"))
    r = engine.run("Create a GHZ state with 4 qubits")
    assert r.why["tier"] == "T2" and r.verified
    assert "T0's program failed (the edit changes lines the program does not have" in r.why["tier_reason"]


def test_the_summary_says_to_train_longer_when_few_held_out_variations_pass():
    card = {"examples": 200, "trace_ids": ["a", "b"], "steps": 80, "device": "cpu", "seconds": 95.0,
            "final_loss": 0.49, "held_out": {"examples": 8, "passed": 1, "adapter_pass_rate": 1 / 8}}
    weak = summary(card, "t0")
    assert "1 of 8 held-out variations pass their checks (12 %)" in weak
    assert "Train longer" in weak and "--steps 300" in weak
    card["held_out"] = {"examples": 8, "passed": 6, "adapter_pass_rate": 6 / 8}
    assert "Train longer" not in summary(card, "t0")
    card["held_out"] = {"examples": 0, "adapter_pass_rate": None, "note": "not measured (nothing held out)"}
    assert "Train longer" not in summary(card, "t0") and "not measured" in summary(card, "t0")


def test_bad_input_gives_a_clear_error_and_changes_nothing(make_engine, server, tmp_path):
    empty = make_engine("openai", home=tmp_path / "empty")
    with pytest.raises(ConfigError, match="no verified traces .* Nothing was written"):
        empty.finetune("t", steps=1)
    assert not (tmp_path / "empty" / "adapters" / "t").exists()

    engine = taught(make_engine, server, home=tmp_path / "home")
    before = engine.memory.traces.count(), engine.ledger.totals()
    with pytest.raises(ConfigError, match="--steps must be a whole number"):
        engine.finetune("t", steps=0)
    with pytest.raises(ConfigError, match="Adapter name '../x' is not usable"):
        engine.finetune("../x", steps=1)
    with training_lock(engine.home):  # a second fine-tune while one runs
        with pytest.raises(ConfigError, match="A fine-tune is already running"):
            engine.finetune("t", steps=1)
    assert (engine.memory.traces.count(), engine.ledger.totals()) == before
    assert not (engine.home / "adapters" / "t").exists()


@pytest.mark.slow
def test_a_base_that_does_not_exist_is_named(make_engine, server, tmp_path):
    engine = taught(make_engine, server, home=tmp_path / "home")
    with pytest.raises(ConfigError, match="The base model '/no/such/model' could not be loaded"):
        engine.finetune("t", steps=1, base="/no/such/model", progress=None)
    assert not (engine.home / "adapters" / "t").exists() and engine.memory.traces.count() == 1


@pytest.mark.slow
def test_a_half_written_or_changed_adapter_is_refused_with_what_to_do(tuned, tmp_path):
    home, _, _ = tuned
    copy = tmp_path / "home"
    shutil.copytree(home / "adapters", copy / "adapters")
    folder = copy / "adapters" / "ghz-t0"
    assert read_card(copy, "ghz-t0")["name"] == "ghz-t0"
    (folder / "lora" / "adapter_config.json").write_text("{}")
    with pytest.raises(AdapterError, match="corrupted: lora/adapter_config.json does not match its card.*finetune"):
        read_card(copy, "ghz-t0")
    (folder / "card.json").unlink()
    with pytest.raises(AdapterError, match="no card.json: it was not written completely"):
        read_card(copy, "ghz-t0")
    with pytest.raises(AdapterError, match="There is no adapter 'nope'"):
        read_card(copy, "nope")


def test_t0_takes_new_values_of_the_traces_its_adapter_trained_on_whatever_their_words(tmp_path):
    from llmos_jupyter.finetune import routing

    card = tmp_path / "adapters" / "t0" / "card.json"
    card.parent.mkdir(parents=True)
    card.write_text(json.dumps({"families": [["ghz"]], "trace_ids": ["trace-a"]}))
    tiers = {"T0": "local:t0", "T2": "openai:big"}

    def tier(terms, variation):
        return routing.choose(tiers, Mode.MIXED, frozenset(terms), 0, tmp_path, variation=variation)[0]

    assert tier({"basis", "computational"}, "trace-a") == "T0"  # the very trace it trained on
    assert tier({"ghz"}, "trace-b") == "T0"  # a trace learned later with the words of a learned family
    assert tier({"basis", "computational"}, "trace-b") == "T2"  # neither
    assert tier({"ghz"}, None) == "T2"  # not a value variation: a near miss or a new request
