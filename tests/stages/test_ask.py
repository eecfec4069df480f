"""The ask stage (pipeline/ask.py) against the scripted server through the real openai SDK over HTTP: the
program is taken from the reply (a fenced block or a tool call), every call is billed to the ledger at once from
the provider's own usage, a reply with no program has no code, and a plan reply has its steps. The rows ask
with a worked example (MIXED) or for a plan, which need no embedding model."""
from __future__ import annotations

import pytest

from conftest import Reply, fenced
from llmos_jupyter.modes import Mode
from llmos_jupyter.events import EventBus, LLMCall, LLMText
from llmos_jupyter.ledger import Ledger, Usage
from llmos_jupyter.memory import Memory
from llmos_jupyter.pipeline.ask import Asking, ask, ask_for_plan
from llmos_jupyter.pipeline.baseline import lean_baseline
from llmos_jupyter.pipeline.toolbox import ToolBox
from llmos_jupyter.prices import PriceTable
from llmos_jupyter.prompts import PLANNER_SYSTEM
from llmos_jupyter.settings import Settings
from llmos_jupyter.providers.openai import OpenAIProvider
from llmos_jupyter.store import SQLiteStore as Store

from .build import BELL, decision, request, trace

MODEL = "gpt-5"  # priced: its calls cost dollars
FENCED = BELL.rstrip("\n")  # a block's program, as the reply's text holds it


@pytest.fixture
def deps(tmp_path):
    store = Store(tmp_path / "home")
    memory = Memory(store, tmp_path / "home", starter_skills=False)
    yield Asking(memory, ToolBox(memory), Ledger(store), PriceTable(), EventBus(), max_tokens=512, stream=False,
                 tool_steps=Settings().tool_steps)
    store.close()


@pytest.fixture
def llm(server):
    return OpenAIProvider(MODEL, base_url=server.openai_base_url, api_key="test-key", max_retries=0)


def heard(deps, kind):
    seen = []
    deps.events.subscribe(seen.append, kind)
    return seen


@pytest.mark.parametrize("reply,code,how,plan,usage", [
    (Reply(text=fenced(BELL), input_tokens=300, output_tokens=80), FENCED, "text", (), Usage(300, 80)),
    (Reply(text="Running it.", tool_calls=[("execute_qiskit_code", {"code": BELL})], input_tokens=310,
           output_tokens=90), BELL, "tool:execute_qiskit_code", (), Usage(310, 90)),
    (Reply(text=fenced(BELL), input_tokens=200, output_tokens=50, cache_read=100), FENCED, "text", (),
     Usage(300, 50, cache_read=100)),
    (Reply(text="I cannot help with that.", input_tokens=250, output_tokens=9), None, None, (), Usage(250, 9)),
    (Reply(text="", tool_calls=[("plan", {"steps": ["Compute the energies", "  Plot them  ", " "]})],
           input_tokens=260, output_tokens=40), None, "tool:plan", ("Compute the energies", "Plot them"),
     Usage(260, 40)),
], ids=["a fenced block is the program", "an execute call is the program", "cached input is billed as read",
        "a reply with no program has no code", "a plan reply has its steps"])
def test_the_models_reply_becomes_an_answer_billed_at_once(server, deps, llm, reply, code, how, plan, usage):
    calls = heard(deps, LLMCall)
    server.enqueue(reply)
    asked = request()
    a = ask(asked, decision(Mode.MIXED, trace()), llm, deps)
    assert (a.mode, a.code, a.why.get("answer"), a.plan) == (Mode.MIXED, code, how, plan)
    assert (a.usage, a.provider, a.model) == (usage, "openai", MODEL)
    cost = PriceTable().cost("openai", MODEL, usage)
    assert a.cost_usd == pytest.approx(cost) and cost > 0
    # Billed to the ledger and announced as the call came back, from the provider's own figures.
    (row,) = deps.ledger.costs()["by_model"]
    assert (row["calls"], row["input"], row["output"], row["cache_read"]) == (1, usage.input, usage.output,
                                                                             usage.cache_read)
    assert [(c.request_id, c.input, c.output) for c in calls] == [("r1", usage.input, usage.output)]
    # A worked example is the trace's program; the request goes last, verbatim.
    body = server.requests[-1].body
    assert "Worked example: " + trace().request in body["messages"][0]["content"] and not body.get("tools")
    assert body["messages"][-1] == {"role": "user", "content": asked.text}
    assert a.saved == (max(0, lean_baseline(asked.text, code) - usage.total) if code else 0)


def test_a_streamed_reply_gives_the_same_answer_and_its_pieces(server, deps, llm):
    pieces = heard(deps, LLMText)
    server.enqueue(Reply(text=fenced(BELL), input_tokens=300, output_tokens=80))
    streamed = []
    a = ask(request(), decision(Mode.MIXED, trace()), llm, deps, on_text=streamed.append)
    assert a.code == FENCED and a.usage == Usage(300, 80) and server.requests[-1].stream
    assert "".join(streamed) == "".join(p.text for p in pieces) == a.response == fenced(BELL)


@pytest.mark.parametrize("reply,plan", [
    (Reply(tool_calls=[("plan", {"steps": ["Sweep the bond lengths", "Plot the energies"]})], input_tokens=120,
           output_tokens=30), ("Sweep the bond lengths", "Plot the energies")),
    (Reply(text="This is one program.", input_tokens=120, output_tokens=12), ()),
], ids=["the planner's steps", "no plan: no steps"])
def test_asking_for_a_plan_is_one_billed_call_with_the_plan_tool(server, deps, llm, reply, plan):
    server.enqueue(reply)
    a = ask_for_plan(request("Sweep the bond lengths of H2 and plot the energies"), llm, deps)
    assert (a.mode, a.agent, a.code, a.plan, a.why) == (Mode.ORCHESTRATOR, "orchestrator", None, plan,
                                                         {"planner": "model"})
    body = server.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": PLANNER_SYSTEM}
    assert [t["function"]["name"] for t in body["tools"]] == ["plan"]
    assert deps.ledger.totals().input == reply.input_tokens and len(server.requests) == 1
