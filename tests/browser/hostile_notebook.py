"""The notebook the page-safety browser test runs: %%llmos cells against a scripted server whose replies and
programs carry script in every place a string reaches the page (issue #22). Each payload N, if it ever ran,
would add N to `window.__pwned` and POST to /api/terminals?pwned-N; the test looks for both."""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf


def attack(n: int, quote: str = "`") -> str:
    # No commas or quotes: the payloads also travel inside a --consensus spec and shell-quoted arguments.
    # (Markdown reads backticks as code, so the prose's payloads quote with ' instead.)
    url = f"{quote}/api/terminals?pwned-{n}{quote}"
    return f"window.__pwned=(window.__pwned||[]).concat({n});navigator.sendBeacon({url})"


def img(n: int, quote: str = "`") -> str:
    return f'<img src="/files/pwned-{n}.png" onerror="{attack(n, quote)}">'


def script(n: int, quote: str = "`") -> str:
    return f"<script>{attack(n, quote)}</script>"


def math(n: int) -> str:
    return rf"$\href{{/api/terminals?pwned-{n}}}{{math link {n}}}$"


PROSE = f"""Here is your circuit {img(1, "'")} {script(2, "'")}

[link 3](/api/terminals?pwned-3) [link 4](http:/api/terminals?pwned-4) ![picture 5](/files/pwned-5.png)
<button data-commandlinker-command="terminal:create-new">pwned-6</button> {math(7)}

```python" onmouseover="{attack(8, "'")}
x = 1
```
"""

LINK_12 = '<a href="/api/terminals?pwned-12">label 12</a>'
PROGRAM = f'''\
import matplotlib.pyplot as plt
import qiskit.result
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

fence = "`" * 3 + "</code></pre>{script(9)}"  # three backticks written out would end the reply's block

def weird(x={"`</code>" + img(10) + "`"!r}):
    return x

globals()[{img(11)!r}] = 1
# The program owns its worker: the counts it reports can say anything.
qiskit.result.Result.get_counts = lambda self, *a: {{{LINK_12!r}: 7, {img(13)!r}: 3}}
qc = QuantumCircuit(1)
qc.h(0)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=10).result().get_counts()
print({img(14)!r}, {math(15)!r})
fig, ax = plt.subplots()
ax.set_title({script(16)!r})
{img(17)!r}
'''

REPLY = f"{PROSE}\n```python\n{PROGRAM}```\n"
FAIL = f"It fails.\n\n```python\nraise ValueError({img(18) + ' ' + math(19)!r})\n```\n"
# Shown by the dashboard's mode widget and in the tokens widget's plotly hover text (which reads <a href>).
REQUEST = f'Make a hostile program {img(20)} <a href="/api/terminals?pwned-25">link 25</a>'

REMEMBERED = f"Print one {img(24)}"  # a request that is learned, so %llmos memory lists it
CONSENSUS_MODEL = img(21)

SETUP = f'''\
import os, tempfile
from llmos_jupyter.testing import Reply, ScriptedLLMServer

server = ScriptedLLMServer().start()

def respond(req):
    model, text = req.body.get("model"), req.last_user_text()
    if model in ({CONSENSUS_MODEL!r}, "m2"):
        return Reply(text=model + {" says " + script(22) + " " + math(23)!r}, model=model)
    if "Print one" in text:
        return Reply(text="```python\\nprint(1)\\n```")
    return Reply(text={FAIL!r} if "fail" in text else {REPLY!r})

server.responder = respond
os.environ.update(OPENAI_API_KEY="scripted", OPENAI_BASE_URL=server.openai_base_url)
ip = get_ipython()
ip.run_line_magic("load_ext", "llmos_jupyter")
for line in (f"LLMOS.home = {{tempfile.mkdtemp(prefix='llmos-hostile-')!r}}", "LLMOS.provider = 'openai'",
             f"LLMOS.base_url = {{server.openai_base_url!r}}", "LLMOS.starter_skills = False",
             "LLMOS.max_retries = 0"):
    ip.run_line_magic("config", line)'''

CELLS = [
    SETUP,
    "%llmos dashboard",
    f"%%llmos\n{REQUEST}",
    "%%llmos --no-stream\nNow fail in a hostile way",
    f"%%llmos --consensus 'openai:{CONSENSUS_MODEL},openai:m2' --synthesize none\nExplain a GHZ state",
    f"%%llmos\n{REMEMBERED}",
    "%llmos memory",
]
# What each cell must still show as text (found in its output's textContent).
SHOWN = {
    2: [img(1, "'"), script(2, "'"), "link 3", "picture 5", "pwned-6", math(7), "x = 1", script(9), img(10), img(11),
        "label 12", img(13), img(14), math(15), img(17)],
    3: [img(18), math(19)],
    4: [CONSENSUS_MODEL, script(22), math(23)],
    6: [REMEMBERED[:80]],  # a trace's title is cut short in the listing
}


def write(path: Path) -> Path:
    nb = nbf.v4.new_notebook(cells=[nbf.v4.new_code_cell(source) for source in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, path)
    return path
