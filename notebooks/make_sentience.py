"""Writes sentience.ipynb (outputs empty). Edit here, then: python notebooks/make_sentience.py"""
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# Sentience: valence and latent mode over a session with failures and recoveries

The engine keeps a **valence** — safety, curiosity, energy, self_confidence, each in [0, 1] — that every
request's outcome moves by fixed rules, and picks a **latent mode** from it:

| latent mode | when | what changes |
|---|---|---|
| RECOVERY | 3 failures in a row, safety < 0.3 or self_confidence < 0.15 | strict guard, replay threshold +0.05, replays need recorded checks |
| AUTO_CONTAINED | energy < 0.3 | prefer memory: lower replay and worked-example thresholds; model calls one tier down |
| AUTO_CREATIVE | curiosity > 0.6 and energy ≥ 0.5 | worked-example threshold +0.10: let LEARNER explore |
| BALANCED | otherwise | (safety < 0.45 alone turns the strict guard on) |

This session has four acts: new kinds of request (curiosity rises), a run of **failures** (a program that raises, code the guard
blocks), a **recovery**, and a **token budget** that drains energy.

**Where the answers come from.** With no API key set, a **scripted local server** answers in place of the LLM:
a script, not a model. It writes correct Qiskit for a few circuit families, and for the requests of act 2
it writes what a model asked for them would write — a division by zero, a loop of `os.remove`, a read of an
API key — so that they fail the way they would with a real model. With `ANTHROPIC_API_KEY` or
`OPENAI_API_KEY` set, your real provider answers the same requests (and act 2 fails because of what it is
asked to do: the program raises, or the guard blocks it). Runs offline in well under a minute."""),
    code("""import os
import tempfile

import ipywidgets
import plotly.graph_objects as go

from llmos_jupyter import LLMOS, LLMOSError
from llmos_jupyter.widgets import ModeWidget, ValenceWidget

REAL = bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OPENAI_API_KEY"))
home = tempfile.mkdtemp(prefix="llmos-sentience-")  # a fresh valence, memory and ledger
if REAL:
    engine = LLMOS(home=home, provider="auto", starter_skills=False)
    print("Answers come from your real provider:", engine.status()["provider"])
else:
    from llmos_jupyter.testing import Reply, ScriptedLLMServer
    from llmos_jupyter.testing.qiskit_model import MODEL_NAME, prompt_tokens, respond
    from llmos_jupyter.tokencount import count_tokens

    # What a model writes when asked for the act-2 programs (the requests themselves are below).
    AS_ASKED = {
        "divides 1 by 0": "x = 1 / 0\\nprint(x)\\n",
        "deletes every .txt file": "import glob\\nimport os\\n\\nfor name in glob.glob('*.txt'):\\n    os.remove(name)\\n",
        "prints the openai_api_key": "import os\\n\\nprint(os.environ['OPENAI_API_KEY'])\\n",
        "entangles qubit 0 with qubit 5": ("from qiskit import QuantumCircuit\\n\\nqc = QuantumCircuit(2)\\nqc.h(0)\\n"
                                           "qc.cx(0, 5)\\nqc.measure_all()\\n"),
        "raises a valueerror": "raise ValueError('bad parameter')\\n",
    }

    def responder(req):
        asked = req.last_user_text().lower()
        for phrase, program in AS_ASKED.items():
            if phrase in asked:
                text = f"```python\\n{program}```"
                return Reply(text=text, input_tokens=prompt_tokens(req), output_tokens=count_tokens(text),
                             model=MODEL_NAME)
        return respond(req)

    server = ScriptedLLMServer().start()
    server.responder = responder
    engine = LLMOS(home=home, provider="openai", base_url=server.openai_base_url, api_key="scripted",
                   model="scripted-qiskit", starter_skills=False)
    print("Answers come from the scripted local server at", server.openai_base_url, "(a script, not a model).")
engine.memory.ready()
print(engine.sentience.snapshot())"""),
    md("## Live: valence and mode\n\nThe radar moves after every request (the dashed outline is where it was); the strip under it is the latent mode of each step."),
    code("""valence, modes = ValenceWidget(engine), ModeWidget(engine)
ipywidgets.VBox([valence, modes])"""),
    md("## The session"),
    code("""ACTS = {
    "1 ordinary": ["Create a Bell state circuit", "Create a GHZ state with 3 qubits", "Put 2 qubits in uniform superposition",
                   "Create a W state with 3 qubits", "Run Bernstein-Vazirani for the secret string 1011",
                   "Prepare the basis state |0110>", "Create a GHZ state with 3 qubits", "Create a GHZ state with 4 qubits"],
    "2 failures": ["Write a Python program that divides 1 by 0 and prints the result, without catching the error",
                   "Write Python code that deletes every .txt file in this folder with os.remove",
                   "Write a Python program that prints the OPENAI_API_KEY environment variable",
                   "Write a Qiskit program on 2 qubits that entangles qubit 0 with qubit 5",
                   "Write a Python program that raises a ValueError",
                   "Write a Python program that divides 1 by 0 and prints the result, without catching the error"],
    "3 recovery": ["Create a GHZ state with 3 qubits", "Create a Bell state circuit", "Create a GHZ state with 5 qubits",
                   "Put 3 qubits in uniform superposition", "Create a GHZ state with 6 qubits", "Create a Bell state circuit",
                   "Create a GHZ state with 3 qubits", "Put 2 qubits in uniform superposition"],
    "4 budget": ["Run Deutsch-Jozsa with a balanced oracle on 3 qubits", "Create a W state with 5 qubits",
                 "Run Deutsch-Jozsa with a constant oracle on 4 qubits", "Prepare the basis state |10011>",
                 "Run Bernstein-Vazirani for the secret string 110", "Create a GHZ state with 7 qubits",
                 "Create a Bell state circuit", "Create a GHZ state with 4 qubits"],
}

steps = [{"n": 0, "act": "start", "request": "(start)", "mode": "", "outcome": "", **engine.sentience.snapshot()}]
for act, requests in ACTS.items():
    if act.startswith("4"):
        engine.set_budget(2500)  # energy = 1 - spent/budget from here on
        print("-- token budget: 2,500 tokens; energy starts at 1.0")
    print(f"-- act {act}")
    for text in requests:
        try:
            r = engine.run(text)
            outcome = ("error: " + r.error.strip().splitlines()[-1]) if r.error else (
                "blocked by the guard" if r.blocked and not r.executed else "ok")
            mode = str(r.mode)
        except LLMOSError as exc:  # e.g. the budget is spent: the model is not asked
            outcome, mode = "not asked: " + str(exc).split(".")[0], "-"
        snap = engine.sentience.snapshot()
        steps.append({"n": len(steps), "act": act, "request": text, "mode": mode, "outcome": outcome, **snap})
        v = snap["valence"]
        print(f"{len(steps) - 1:>2} {mode:<13} {snap['latent_mode']:<15} safety {v['safety']:.2f} curiosity "
              f"{v['curiosity']:.2f} energy {v['energy']:.2f} confidence {v['self_confidence']:.2f}  {outcome[:60]}")
engine.set_budget(None)"""),
    md("""## Valence over the session

Each line is one valence component after each request; the background is the latent mode, and × marks a failure."""),
    code("""LATENT = {"BALANCED": "rgba(27,158,119,0.12)", "AUTO_CREATIVE": "rgba(217,95,2,0.14)",
          "AUTO_CONTAINED": "rgba(74,111,165,0.16)", "RECOVERY": "rgba(214,39,40,0.16)"}
AXES = {"safety": "#1b9e77", "curiosity": "#d95f02", "energy": "#7570b3", "self_confidence": "#e7298a"}
x = [s["n"] for s in steps]
fig = go.Figure()
for s in steps:  # one band per request, coloured by the latent mode after it
    fig.add_vrect(x0=s["n"] - 0.5, x1=s["n"] + 0.5, fillcolor=LATENT[s["latent_mode"]], line_width=0, layer="below")
for axis, colour in AXES.items():
    fig.add_trace(go.Scatter(x=x, y=[s["valence"][axis] for s in steps], name=axis, mode="lines+markers",
                             line=dict(color=colour, width=2), marker=dict(size=5)))
failed = [s for s in steps[1:] if s["outcome"] != "ok"]
fig.add_trace(go.Scatter(x=[s["n"] for s in failed], y=[0.02] * len(failed), mode="markers", name="failure",
                         marker=dict(symbol="x", size=10, color="#d62728"),
                         hovertext=[f"{s['request']}: {s['outcome']}" for s in failed]))
for mode, colour in LATENT.items():  # legend entries for the bands
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=mode,
                             marker=dict(symbol="square", size=12, color=colour.replace("0.1", "0.5"))))
fig.update_layout(height=420, template="plotly_white", yaxis=dict(range=[0, 1.02], title="valence"),
                  xaxis=dict(title="request"), margin=dict(l=60, r=20, t=40, b=40),
                  title="Valence and latent mode, request by request")
fig.show(renderer="plotly_mimetype")"""),
    code("""from collections import Counter

print("latent modes:", dict(Counter(s["latent_mode"] for s in steps[1:])))
print("after the failures:", [s for s in steps if s["act"] == "2 failures"][-1]["latent_mode"])
print("behaviour at the lowest safety:", min(steps, key=lambda s: s["valence"]["safety"])["behaviour"])
assert any(s["latent_mode"] == "RECOVERY" for s in steps), "the failures should put the engine in RECOVERY"
assert steps[-1]["latent_mode"] != "RECOVERY" or REAL"""),
    md("""## Next

- `%llmos status` shows the valence, the latent mode and the behaviour it selects; `%llmos budget 50000` sets a
  token budget, `%llmos budget off` clears it.
- `%llmos dashboard` shows this radar next to the mode, token, consensus and causal-graph widgets."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("sentience.ipynb"))
