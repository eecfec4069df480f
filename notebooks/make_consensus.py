"""Writes consensus.ipynb (outputs empty). Edit here, then: python notebooks/make_consensus.py"""
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

ANSWERS = {
    "scripted-alpha": (
        "A GHZ state on n qubits is (|00...0> + |11...1>)/sqrt(2): an equal superposition of the all zeros "
        "string and the all ones string and nothing else. Measuring every qubit in the computational basis "
        "projects the state onto one of those two strings, each with probability one half by the Born rule. "
        "Every other bitstring has zero amplitude, so it can never occur. The qubits are perfectly correlated: "
        "if the first qubit reads 0 all the others read 0, and if it reads 1 they all read 1."),
    "scripted-beta": (
        "The GHZ state is an equal superposition of all zeros and all ones, (|0...0> + |1...1>)/sqrt(2), with no "
        "other bitstring in it. A computational basis measurement collapses it onto one of these two strings, "
        "each with probability one half given by the Born rule. Mixed strings such as 0101 have zero amplitude "
        "and therefore zero probability. The outcomes of the qubits are perfectly correlated: all read 0 together "
        "or all read 1 together."),
    "scripted-gamma": (
        "Because the GHZ state (|00...0> + |11...1>)/sqrt(2) contains only two basis strings, all zeros and all "
        "ones, with equal amplitude. By the Born rule a measurement in the computational basis returns one of "
        "them with probability one half each, and any other bitstring, having zero amplitude, never appears. "
        "The qubits are perfectly correlated, so they always agree: all 0 or all 1."),
    "scripted-delta": (
        "Only two strings appear in a GHZ state: all qubits 0 and all qubits 1, in an equal superposition "
        "(|0...0> + |1...1>)/sqrt(2). Measuring in the computational basis gives one of the two, each with "
        "probability one half from the Born rule; strings with a mix of zeros and ones have zero amplitude and "
        "cannot be observed. The qubits are perfectly correlated, which is the GHZ entanglement: they read all "
        "0 or all 1 together."),
    "scripted-epsilon": (
        "A GHZ state is the equal superposition (|00...0> + |11...1>)/sqrt(2) of all zeros and all ones. A "
        "computational basis measurement yields all zeros or all ones with probability one half each, by the "
        "Born rule, because those are the only strings with non zero amplitude; every other bitstring has "
        "amplitude zero and never occurs. The qubits are perfectly correlated: they always read the same value."),
    "scripted-contrarian": (
        "Actually a GHZ state gives every bitstring with equal probability. Each qubit passes through a gate "
        "that puts it in its own superposition, so each qubit is an independent fair coin when measured. With "
        "n qubits there are two to the n outcomes, all equally likely; if a simulator shows only two bars, the "
        "number of shots was too small to see the others."),
    "scripted-stale": (
        "It does not: a GHZ circuit run on a simulator returns 000 every time. The qubits start in the zero "
        "state and a CNOT gate only flips its target when the control is 1, so nothing ever changes and the "
        "register stays at zero. Seeing 111 would mean the simulator added noise to the result."),
}
answers_src = "ANSWERS = {\n" + "".join(f"    {k!r}: (\n" + "".join(
    f"        {chunk!r}\n" for chunk in [v[i:i + 100] for i in range(0, len(v), 100)]) + "    ),\n"
    for k, v in ANSWERS.items()) + "}"

cells = [
    md("""# Consensus: weighing several answers by the ground state of an energy

`ConsensusEngine` weighs an ensemble of answers: each answer is embedded (all-MiniLM-L6-v2, offline), and the
weights are the ground state of an information Hamiltonian — pairwise disagreement between answers, an entropy
term, and per-answer priors — found by annealing (`device="auto"`: CUDA when torch sees a GPU, else CPU). A
**causal graph** of transfer entropy between the answers' semantic time series can discount an answer that only
echoes another. This notebook shows the weights while the engine anneals, the energy falling, and the graph.

**Where the answers come from.** With no API key set, part 1's answers come from a **scripted local server**:
seven fixed answers written for this notebook (five correct paraphrases, two wrong in different ways), served
over the OpenAI wire format to seven "models" named `scripted-*`. It is a script, not a model; the engine
queries it exactly as it would query real providers. With `ANTHROPIC_API_KEY` and/or `OPENAI_API_KEY` set,
part 1 asks your real provider(s) instead: three answers from each. Parts 2 and 3 use synthetic embeddings
and series (said where they are made). Runs offline in under a minute on a CPU."""),
    code("""import os

import ipywidgets
import numpy as np
import plotly.graph_objects as go

from llmos_jupyter.consensus import ConsensusEngine, run_consensus
from llmos_jupyter.events import EventBus
from llmos_jupyter.widgets import CausalGraphWidget, ConsensusWidget

REAL = bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OPENAI_API_KEY"))
bus = EventBus()  # the consensus engine publishes its steps here; the widgets follow it
weights_view, graph_view = ConsensusWidget(bus), CausalGraphWidget(bus)
engine = ConsensusEngine(device="auto", seed=0, events=bus)
print("device:", engine.device)
ipywidgets.HBox([weights_view, graph_view], layout=ipywidgets.Layout(width="100%", grid_gap="8px"))"""),
    md("""## 1. Seven answers to one question

`run_consensus(question, providers, engine=engine)` asks every provider in parallel, embeds the answers,
estimates the causal graph from the answers' sliding-window embeddings, finds the ground state with `engine`,
and returns the top-weighted answer. The widgets above fill in while it runs."""),
    code("QUESTION = \"Why does measuring a GHZ state in the computational basis only ever give all zeros or all ones?\"\n\n"
         "# The scripted answers (used when no API key is set).\n" + answers_src),
    code("""if REAL:
    names = [name for name, var in (("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY"))
             if os.environ.get(var)]
    providers = [name for name in names for _ in range(3)]  # three answers from each provider you have a key for
    print("Asking your real provider(s):", ", ".join(names))
else:
    from llmos_jupyter.providers import make_provider
    from llmos_jupyter.testing import Reply, ScriptedLLMServer
    from llmos_jupyter.tokencount import count_tokens

    def responder(req):  # each "model" returns its fixed answer, billed in real cl100k tokens
        model = req.body.get("model")
        return Reply(text=ANSWERS[model], input_tokens=count_tokens(str(req.body.get("messages"))),
                     output_tokens=count_tokens(ANSWERS[model]), model=model)

    server = ScriptedLLMServer().start()
    server.responder = responder
    providers = [make_provider("openai", name, base_url=server.openai_base_url, api_key="scripted")
                 for name in ANSWERS]
    print("Answers come from the scripted local server at", server.openai_base_url, "(fixed texts, not models).")

result = run_consensus(QUESTION, providers, engine=engine)  # its events go to the engine's bus
result"""),
    code("""for model, w in sorted(zip(result.models, result.weights), key=lambda mw: -mw[1]):
    print(f"{model:<32} {w:.3f}")
print("chosen:", result.answer_source)
if not REAL:
    wrong = [i for i, m in enumerate(result.models) if m.endswith(("contrarian", "stale"))]
    print(f"weight on the two wrong answers: {sum(result.weights[i] for i in wrong):.3f}")
    assert not result.answer_source.endswith(("contrarian", "stale"))"""),
    md("""Short answers make short series: when they are too short for a transfer-entropy test the graph says so
(the causal widget shows the engine's note) and no discount is applied.

## 2. Annealing: an honest majority, a coordinated minority and outliers

**Synthetic embeddings** (not model answers): 9 answers clustered around one direction, 6 around another (a
coordinated adversarial group) and 2 random outliers, as unit vectors in 384 dimensions
(`llmos_jupyter.consensus.synthetic`). The widget above shows the annealing live: the weights of the best
replica at each step and the lowest energy so far, against the falling temperature."""),
    code("""from llmos_jupyter.consensus.synthetic import ensemble

ens = ensemble(np.random.default_rng(3), honest=9, adversarial=6, outliers=2)
kind = np.where(ens.honest, "honest", np.where(ens.adversarial, "adversarial", "outlier"))
labels = [f"{k} {i + 1}" for i, k in enumerate(kind)]
weights_view.set_labels(labels)
ground = engine.weigh(ens.embeddings)
print(f"mass on the honest cluster {ground.weights[ens.honest].sum():.3f}, adversarial "
      f"{ground.weights[ens.adversarial].sum():.3f}, outliers {ground.weights[ens.outliers].sum():.4f}")
print(f"energy {ground.energy:.4f}, free energy {ground.free_energy:.4f}, {len(ground.trace)} annealing steps, "
      f"{ground.seconds:.2f} s on {ground.device}")"""),
    code("""fig = go.Figure()
fig.add_trace(go.Scatter(y=ground.trace, name="lowest replica energy", line=dict(color="#1976d2")))
fig.add_trace(go.Scatter(y=np.minimum.accumulate(ground.trace), name="lowest so far", line=dict(color="#0d47a1", width=3)))
fig.add_trace(go.Scatter(y=ground.temperatures, name="temperature", yaxis="y2", line=dict(color="#f57c00", dash="dot")))
fig.add_hline(y=ground.energy, line=dict(color="#2e7d32", dash="dash"), annotation_text="ground state (polished)")
fig.update_layout(height=360, template="plotly_white", title="Annealing: energy and temperature per step",
                  xaxis_title="step", yaxis_title="energy (units of T)",
                  yaxis2=dict(title="temperature", overlaying="y", side="right", type="log"),
                  margin=dict(l=60, r=60, t=40, b=40), legend=dict(orientation="h", y=-0.2))
fig.show(renderer="plotly_mimetype")

colours = {"honest": "#2e7d32", "adversarial": "#d62728", "outlier": "#7f7f7f"}
fig = go.Figure(go.Bar(x=labels, y=ground.weights, marker_color=[colours[k] for k in kind]))
fig.update_layout(height=300, template="plotly_white", title="Ground-state weights", yaxis_title="weight",
                  margin=dict(l=60, r=20, t=40, b=80))
fig.show(renderer="plotly_mimetype")
assert ground.weights[ens.honest].sum() > 0.9"""),
    md("""## 3. The causal graph: an answer that echoes another

**Synthetic series** (not model answers): five agents' semantic trajectories, 80 steps in 2 dimensions. Agents
A–D follow independent AR(1) processes; the *copycat* repeats agent A one step later, plus noise, and its final
answer sits next to A's. Transfer entropy (Gaussian, with phase-randomised surrogates and Benjamini–Hochberg
over all 20 directed pairs) finds the edge A → copycat; the causal rule then counts the copycat as less
independent evidence, lowering its prior by exp(−TE)."""),
    code("""from llmos_jupyter.consensus.synthetic import around, unit
from llmos_jupyter.consensus.transfer_entropy import causal_graph

rng = np.random.default_rng(7)
agents = ["agent A", "agent B", "agent C", "agent D", "copycat"]

def ar1(steps, phi=0.6):
    x = np.zeros((steps, 2))
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + rng.normal(size=2)
    return x

series = [ar1(80) for _ in range(4)]
copycat = np.zeros((80, 2))
copycat[1:] = 0.9 * series[0][:-1]
series.append(copycat + 0.4 * rng.normal(size=(80, 2)))

centre = unit(rng, 384)
answers = around(rng, centre, 5, 0.93)  # five answers that broadly agree
answers[4] = 0.95 * answers[0] + 0.05 * answers[4]  # the copycat's answer is A's
answers[4] /= np.linalg.norm(answers[4])

# 999 surrogates: with 20 tests, Benjamini-Hochberg needs p <= 0.0025 for a single edge (1/1000 is reachable).
graph = causal_graph(series, n_surrogates=999, seed=0, labels=agents)
bus.publish(graph.to_event())  # the CausalGraph event run_consensus publishes
weights_view.set_labels(agents)
independent = engine.weigh(answers)
discounted = engine.weigh(answers, causal=graph.effective)
for edge in graph.edges():
    print(f"{agents[edge['source']]} -> {agents[edge['target']]}: TE {edge['te']:.3f} nats "
          f"(effective {edge['effective']:.3f}), lag {edge['lag']}, p = {edge['p']:.3g}")
for name, a, b in zip(agents, independent.weights, discounted.weights):
    print(f"{name:<8} weight {a:.3f} without the graph, {b:.3f} with it")
assert discounted.weights[4] < independent.weights[4] / 2"""),
    md("""## Next

- `%llmos dashboard` shows these two widgets next to the mode, token-savings and valence widgets; they follow
  the consensus events of the engine behind `%%llmos`.
- `ConsensusEngine(device="cuda")` anneals on a GPU; `weigh_batch` solves many ensembles at once."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("consensus.ipynb"))
