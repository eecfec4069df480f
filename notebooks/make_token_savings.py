"""Writes token_savings.ipynb (outputs empty). Edit here, then: python notebooks/make_token_savings.py"""
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# Token savings: a stream of requests, and the memory learning

Forty quantum-programming requests go through one LLMOS engine, one after another. The first request of a kind
asks the LLM (**LEARNER**); a close one gets the stored trace as a worked example (**MIXED**, a smaller
prompt); a repeat replays the verified program at zero tokens (**FOLLOWER**), and after five verified uses
the program becomes a Python tool (**CRYSTALLIZED**). A request with several steps is planned and each step
dispatched again (**ORCHESTRATOR**).

**Where the answers come from.** With no API key set, a **scripted local server** started below answers
in place of the LLM: it is a script, not a model. It writes correct Qiskit for a few circuit families and
bills exact `cl100k` token counts for what it receives and returns, so the ledger is exact. It is free;
to show a cost column its tokens are priced at 3 and 15 US dollars per million tokens (input and output), a mid-size model's
list price. With `ANTHROPIC_API_KEY` or `OPENAI_API_KEY` set, your real provider answers instead, at its
real prices. Runs offline in about half a minute."""),
    code("""import os
import tempfile

import ipywidgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmos_jupyter import LLMOS
from llmos_jupyter.widgets import ModeWidget, TokenWidget

REAL = bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OPENAI_API_KEY"))
home = tempfile.mkdtemp(prefix="llmos-savings-")  # a fresh, empty memory and ledger
if REAL:
    engine = LLMOS(home=home, provider="auto", starter_skills=False)
    print("Answers come from your real provider:", engine.status()["provider"])
else:
    from llmos_jupyter.testing import ScriptedLLMServer
    from llmos_jupyter.testing.qiskit_model import respond

    server = ScriptedLLMServer().start()
    server.responder = respond
    engine = LLMOS(home=home, provider="openai", base_url=server.openai_base_url, api_key="scripted",
                   model="scripted-qiskit", starter_skills=False, prices={"scripted-qiskit": (3.0, 15.0)})
    print("Answers come from the scripted local server at", server.openai_base_url, "(a script, not a model).")
engine.memory.ready()  # load the embedding model (a few seconds) before the stream starts"""),
    md("""## Live: mode and tokens

These widgets follow the engine's events while the next cell runs: the mode of each request, the billed tokens
against the **always-LLM baseline** (what the same requests would have billed if every one had asked the
LLM: billed + saved), the percent saved and the cost."""),
    code("""modes, tokens = ModeWidget(engine), TokenWidget(engine)
ipywidgets.VBox([modes, tokens])"""),
    md("## The stream"),
    code("""REQUESTS = [
    "Create a Bell state circuit",
    "Create a GHZ state with 3 qubits",
    "Create a GHZ state with 3 qubits",
    "Put 2 qubits in uniform superposition",
    "Create a GHZ state with 5 qubits",
    "Prepare the basis state |0110>",
    "Make a Bell pair",
    "Create a GHZ state with 4 qubits",
    "Create a GHZ state with 6 qubits, 2048 shots",
    "Put 3 qubits in uniform superposition",
    "Prepare the basis state |1011>",
    "Create a Bell state circuit",
    "Create a W state with 3 qubits",
    "Create a GHZ state with seven qubits",
    "Put 4 qubits in uniform superposition",
    "Prepare the basis state |11001>",
    "Create a W state with 4 qubits",
    "Create a Bell state circuit, then a GHZ state with 4 qubits",
    "Create a GHZ state with 8 qubits",
    "Create a Bell state circuit",
    "Put 5 qubits in uniform superposition, 500 shots",
    "Create a W state with 5 qubits",
    "Prepare the basis state |0001>",
    "Create a GHZ state with 3 qubits",
    "Create a Bell state circuit",
    "Create a GHZ state with 5 qubits",
    "Put 6 qubits in uniform superposition",
    "Create a W state with 3 qubits",
    "Prepare the basis state |111000>",
    "Create a GHZ state with 9 qubits",
    "Create a Bell state circuit",
    "Create a W state with 6 qubits",
    "Create a GHZ state with 4 qubits, 500 shots",
    "Put 2 qubits in uniform superposition",
    "Create a Bell state circuit",
    "Prepare the basis state |10>",
    "Create a GHZ state with 10 qubits",
    "Create a W state with 4 qubits",
    "Put 7 qubits in uniform superposition",
    "Create a GHZ state with 6 qubits",
]

rows = []
for i, text in enumerate(REQUESTS, start=1):
    r = engine.run(text)
    billed = r.tokens.input + r.tokens.output
    rows.append({"n": i, "request": text, "mode": str(r.mode), "billed": billed, "saved": r.tokens.saved,
                 "ok": r.error is None, "cost": r.cost_usd})
    print(f"{i:>2}  {str(r.mode):<13} billed {billed:>5}  saved {r.tokens.saved:>5}  {'ok ' if r.error is None else 'ERR'}  {text}")"""),
    md("""## The learning curve

Cumulative billed tokens against the always-LLM baseline; below, what each request billed, coloured by its
mode. The gap between the two lines is what the memory saved."""),
    code("""COLOURS = {"CRYSTALLIZED": "#6a3d9a", "FOLLOWER": "#1f78b4", "MIXED": "#33a02c", "LEARNER": "#e6550d",
           "ORCHESTRATOR": "#b15928"}
n = [row["n"] for row in rows]
cum_billed, cum_baseline, b, s = [], [], 0, 0
for row in rows:
    b, s = b + row["billed"], s + row["saved"]
    cum_billed.append(b)
    cum_baseline.append(b + s)

fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.06)
fig.add_trace(go.Scatter(x=n, y=cum_baseline, name="always-LLM baseline", line=dict(dash="dash", color="#888")), 1, 1)
fig.add_trace(go.Scatter(x=n, y=cum_billed, name="billed", fill="tonexty", fillcolor="rgba(51,160,44,0.2)",
                         line=dict(color="#1976d2")), 1, 1)
for mode, colour in COLOURS.items():
    picked = [row for row in rows if row["mode"] == mode]
    if picked:
        fig.add_trace(go.Bar(x=[row["n"] for row in picked], y=[row["billed"] + row["saved"] for row in picked],
                             name=f"{mode} (baseline)", marker_color=colour, opacity=0.35, showlegend=False,
                             hovertext=[row["request"] for row in picked]), 2, 1)
        fig.add_trace(go.Bar(x=[row["n"] for row in picked], y=[row["billed"] for row in picked], name=mode,
                             marker_color=colour, hovertext=[row["request"] for row in picked]), 2, 1)
fig.update_layout(barmode="overlay", height=560, template="plotly_white", margin=dict(l=60, r=20, t=40, b=40),
                  title="Billed tokens against the always-LLM baseline")
fig.update_yaxes(title_text="cumulative tokens", row=1, col=1)
fig.update_yaxes(title_text="tokens per request<br>(faint: baseline)", row=2, col=1)
fig.update_xaxes(title_text="request", row=2, col=1)
fig.show(renderer="plotly_mimetype")"""),
    md("## The mode mix, in blocks of eight requests"),
    code("""blocks = [rows[i:i + 8] for i in range(0, len(rows), 8)]
names = [f"{block[0]['n']}–{block[-1]['n']}" for block in blocks]
fig = go.Figure([go.Bar(x=names, y=[sum(row["mode"] == mode for row in block) for block in blocks], name=mode,
                        marker_color=colour) for mode, colour in COLOURS.items()])
fig.update_layout(barmode="stack", height=340, template="plotly_white", title="Modes per block of requests",
                  xaxis_title="requests", yaxis_title="count", margin=dict(l=60, r=20, t=40, b=40))
fig.show(renderer="plotly_mimetype")"""),
    md("## The ledger\n\nThe token ledger owns the counts: the totals below are read from it, not from this notebook."),
    code("""t = engine.ledger.totals()
baseline = t.billed + t.saved
print(f"billed {t.billed:,} tokens; always-LLM baseline {baseline:,}; saved {t.saved:,} ({100 * t.saved / baseline:.1f}%)")
print(f"first half saved {sum(r['saved'] for r in rows[:20]) / max(1, sum(r['billed'] + r['saved'] for r in rows[:20])):.0%}, "
      f"second half {sum(r['saved'] for r in rows[20:]) / max(1, sum(r['billed'] + r['saved'] for r in rows[20:])):.0%}")
costs = engine.costs()
for row in costs["by_mode"]:
    usd = "unknown" if row["cost_usd"] is None else f"${row['cost_usd']:.4f}"
    print(f"{row['mode']:<13} {row['requests']:>3} requests  billed {row['input'] + row['output']:>6,}  cost {usd:>9}  saved {row['saved'] or 0:>6,}")
print(f"total cost ${costs['total_usd']:.4f}")
assert t.saved > 0 and all(row["ok"] for row in rows)"""),
    md("""## Next

- In your own notebook, `%llmos dashboard` shows these widgets (and the valence, consensus and causal-graph ones)
  for the engine behind `%%llmos`; from Python, `from llmos_jupyter.widgets import show_dashboard; show_dashboard(engine)`.
- `%llmos costs` prints the same ledger by model and by mode.
- Starter skills (on by default) answer the common circuits at zero tokens from the first request."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("token_savings.ipynb"))
