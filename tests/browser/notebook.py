"""The notebook the browser test runs cell by cell: a dashboard, two requests (LEARNER then FOLLOWER) against
the scripted server, and the consensus engine. Each step prints `EXPECT {json}`: what the engine itself says,
which the test compares with what the browser shows."""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf

SETUP = '''\
import json, tempfile
from llmos_jupyter import LLMOS
from llmos_jupyter.testing import ScriptedLLMServer
from llmos_jupyter.testing.qiskit_model import respond
from llmos_jupyter.widgets import inline_summary, show_dashboard

# Answers come from a scripted local server (a script, not a model) that writes correct Qiskit.
server = ScriptedLLMServer().start()
server.responder = respond
engine = LLMOS(home=tempfile.mkdtemp(prefix="llmos-browser-"), provider="openai", base_url=server.openai_base_url,
               api_key="scripted", model="scripted-qiskit", starter_skills=False)
engine.memory.ready()  # load the embedding model now, so the request cells are quick

def expect(result=None, **extra):
    t, snap = engine.ledger.totals(), engine.sentience.snapshot()
    print("EXPECT " + json.dumps({"mode": str(result.mode) if result else None, "modes": dash.mode.modes,
                                  "billed": t.billed, "saved": t.saved, "baseline": t.billed + t.saved,
                                  "valence": snap["valence"], "latent_mode": snap["latent_mode"], **extra}))

dash = show_dashboard(engine)'''

REQUEST = '''\
r = engine.run("Create a GHZ state with 3 qubits")
display(inline_summary(r.summary(), engine))
expect(r)'''

CONSENSUS = '''\
import numpy as np
from llmos_jupyter.consensus import ConsensusEngine
from llmos_jupyter.consensus.transfer_entropy import causal_graph

# Six answers: four agree (one direction in embedding space), two agree with each other on another.
rng = np.random.default_rng(0)
honest, other = rng.normal(size=384), rng.normal(size=384)
emb = np.stack([honest + 0.3 * rng.normal(size=384) for _ in range(4)]
               + [other + 0.3 * rng.normal(size=384) for _ in range(2)])
emb /= np.linalg.norm(emb, axis=1, keepdims=True)
labels = ["model-a", "model-b", "model-c", "model-d", "rogue-1", "rogue-2"]
dash.consensus.set_labels(labels)
# Their semantic series: rogue-2 repeats rogue-1 one step later, the others are independent.
series = [rng.normal(size=(80, 2)) for _ in range(6)]
series[5][1:] = 0.9 * series[4][:-1] + 0.3 * rng.normal(size=(79, 2))
graph = causal_graph(series, n_surrogates=999, seed=0, labels=labels)
engine.events.publish(graph.to_event())  # as run_consensus does
res = ConsensusEngine(device="cpu", seed=0, events=engine.events).weigh(emb, causal=graph.effective)
# What run_consensus announces last for program answers: each model's histogram beside its weight.
from llmos_jupyter.events import ConsensusFinished
hists = [{"00": 0.5, "11": 0.5}] * 4 + [{"01": 1.0}, None]
engine.events.publish(ConsensusFinished("model-a", tuple(labels), tuple(res.weights.tolist()), histograms=tuple(hists)))
expect(weights=res.weights.tolist(), edges=[[e["source"], e["target"], e["effective"]] for e in graph.edges()])'''


def write(path: Path) -> Path:
    nb = nbf.v4.new_notebook(cells=[nbf.v4.new_code_cell(SETUP), nbf.v4.new_code_cell(REQUEST),
                                    nbf.v4.new_code_cell(REQUEST), nbf.v4.new_code_cell(CONSENSUS)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, path)
    return path
