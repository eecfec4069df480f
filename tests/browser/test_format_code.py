"""`%%llmos -f code` in real JupyterLab, in headless Chromium: the program lands in a new cell below the one
that asked, unrun (the set_next_input payload JupyterLab turns into a code cell)."""
from __future__ import annotations

import nbformat as nbf
import pytest

from .test_dashboard import Notebook

pytestmark = pytest.mark.browser

SETUP = '''\
import tempfile
from llmos_jupyter.testing import Reply, ScriptedLLMServer

PROGRAM = "from qiskit import QuantumCircuit\\nqc = QuantumCircuit(2)\\nqc.h(0)\\nqc.cx(0, 1)\\nprint(qc)\\n"
server = ScriptedLLMServer().start()
server.responder = lambda request: Reply(text="Here it is:\\n\\n```python\\n" + PROGRAM + "```")
ip = get_ipython()
ip.run_line_magic("load_ext", "llmos_jupyter")
for setting in (f"home = {tempfile.mkdtemp(prefix='llmos-browser-')!r}", "provider = 'openai'",
                f"base_url = {server.openai_base_url!r}", "starter_skills = False"):
    ip.run_line_magic("config", "LLMOS." + setting)'''

ASK = "%%llmos -f code\nCreate a Bell state circuit"


def test_format_code_puts_the_program_in_a_new_cell_below(page, lab, lab_root):
    nb = nbf.v4.new_notebook(cells=[nbf.v4.new_code_cell(SETUP), nbf.v4.new_code_cell(ASK)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, lab_root / "format-code.ipynb")
    notebook = Notebook(page, lab, "format-code.ipynb")
    notebook.run_next()
    shown = notebook.run_next()
    assert "new cell below" in shown
    # Shift+Enter on the last cell adds an empty one after the inserted cell: the program is right below.
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= 3", timeout=30_000)
    new = page.locator(".jp-Notebook .jp-Cell").nth(2)
    source = new.locator(".jp-InputArea-editor").inner_text()
    assert "qc.cx(0, 1)" in source and "print(qc)" in source
    assert "jp-CodeCell" in (new.get_attribute("class") or "")
    assert new.locator(".jp-OutputArea-output").count() == 0  # not run
