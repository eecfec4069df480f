"""%%llmos and %llmos through a real IPython InteractiveShell."""
import json
import subprocess
import sys

import pytest
from IPython.utils.capture import capture_output

from conftest import BELL, Reply, cell, fenced, ghz

PLOTLY = "application/vnd.plotly.v1+json"


def bundles(cap, mime):
    return [o.data[mime] for o in cap.outputs if mime in o.data]


def test_bell_cell_shows_code_histogram_and_metadata(shell, server):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=321, output_tokens=88))
    cap = cell(shell, "Create a Bell state circuit")
    assert not bundles(cap, "text/markdown")  # model text is never sent as Markdown (tests/test_page_safety.py)
    assert any("<pre><code" in b and "qc.cx(0, 1)" in b for b in bundles(cap, "text/html"))
    (figure,) = bundles(cap, PLOTLY)
    bars = figure["data"][0]
    assert bars["x"] == ["00", "11"] and sum(bars["y"]) == 1024
    meta = [t for t in bundles(cap, "text/plain") if t.startswith("LEARNER")]
    assert meta and "tokens in 321 / out 88 / saved 0" in meta[-1] and "1,024 shots" in meta[-1]
    assert shell.user_ns["_llmos"].counts == dict(zip(bars["x"], bars["y"]))


def test_ghz_counts_and_streamed_reply(shell, server):
    server.enqueue(Reply(text=fenced(ghz(5, 2048)), input_tokens=5, output_tokens=5))
    cap = cell(shell, "Create a GHZ state with 5 qubits, 2048 shots")
    assert server.requests[-1].stream is True
    (figure,) = bundles(cap, PLOTLY)
    assert figure["data"][0]["x"] == ["00000", "11111"] and sum(figure["data"][0]["y"]) == 2048


def test_json_option_prints_to_dict(shell, server):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=11, output_tokens=22))
    cap = cell(shell, "Create a Bell state circuit", "--json")
    d = json.loads(cap.stdout)
    assert d["metadata"]["mode"] == "LEARNER"
    assert d["metadata"]["tokens"] == {"input": 11, "output": 22, "saved": 0, "cumulative_saved": 0,
                                       "cache_read": 0, "cache_write": 0}
    assert set(d["metadata"]["counts"]) == {"00", "11"}


def test_interpolation_from_the_user_namespace(shell, server):
    shell.user_ns["n"] = 4
    server.enqueue(Reply(text=fenced(ghz(4, 1024))))
    cell(shell, "Create a GHZ state with {n} qubits, keep {{braces}} and {unknown}")
    assert server.requests[-1].last_user_text().endswith(
        "Create a GHZ state with 4 qubits, keep {braces} and {unknown}")


def test_no_exec_shows_code_only(shell, server):
    server.enqueue(Reply(text=fenced(BELL)))
    cap = cell(shell, "Create a Bell state circuit", "--no-exec")
    assert not bundles(cap, PLOTLY)
    assert "Not run (--no-exec)" in "\n".join(bundles(cap, "text/plain"))
    assert shell.user_ns["_llmos"].executed is False


def test_per_cell_provider_and_model(shell, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit", "--provider anthropic --model claude-haiku-5-5")
    req = server.requests[-1]
    assert req.api == "anthropic" and req.body["model"] == "claude-haiku-5-5"


def test_traceback_is_shown_and_kernel_keeps_going(shell, server):
    server.enqueue(Reply(text=fenced("import math\nmath.sqrt(-1)\n")))
    cap = cell(shell, "do something impossible")
    text = "\n".join(bundles(cap, "text/plain"))
    assert "ValueError: math domain error" in text and "math.sqrt(-1)" in text
    assert shell.user_ns["_llmos"].error
    server.enqueue(Reply(text=fenced(BELL)))
    assert bundles(cell(shell, "Create a Bell state circuit"), PLOTLY)


@pytest.mark.parametrize("reply,needle", [
    (Reply(status=401), "rejected the API key"),
    (Reply(status=500), "server error"),
    (Reply(status=429, headers={"retry-after": "0"}), "rate-limiting"),
])
def test_provider_errors_become_one_paragraph(shell, server, reply, needle):
    server.enqueue(reply)
    cap = cell(shell, "Create a Bell state circuit")
    errors = [o.data["text/plain"] for o in cap.outputs if "llmos-error" in o.data.get("text/html", "")]
    assert len(errors) == 1 and needle in errors[0]


def test_unknown_provider_and_missing_key_are_explained(shell):
    cap = cell(shell, "Create a Bell state circuit", "--provider gemini")
    assert "Unknown provider 'gemini'" in "\n".join(bundles(cap, "text/plain"))
    cap = cell(shell, "Create a Bell state circuit", "--provider anthropic")
    assert "ANTHROPIC_API_KEY" in "\n".join(bundles(cap, "text/plain"))


def test_empty_cell_and_bad_option_show_usage(shell, server):
    cap = cell(shell, "   \n")
    assert "%%llmos [provider:model | ALIAS] [--provider NAME]" in cap.stdout
    assert not server.requests
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="unrecognized arguments"):
        shell.run_cell_magic("llmos", "--bogus", "Create a Bell state circuit")


def test_line_commands(shell, server, home):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=7, output_tokens=3))
    cell(shell, "Create a Bell state circuit")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "status")
    assert "provider : openai" in cap.stdout and "1 requests, 7 input + 3 output" in cap.stdout
    assert str(home) in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("llmos", "providers")
    assert "local" in cap.stdout and "OPENAI_API_KEY is not set" in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("llmos", "config")
    assert "LLMOS.provider = 'openai'" in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("llmos", "reset --ledger")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "status")
    assert "0 requests" in cap.stdout


def test_status_says_the_local_model_is_weak(shell):
    shell.run_line_magic("config", "LLMOS.provider = 'local'")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "status")
    assert "weak" in cap.stdout


def test_line_magic_takes_a_one_line_request(shell, server):
    server.enqueue(Reply(text=fenced(BELL)))
    with capture_output() as cap:
        shell.run_line_magic("llmos", "Create a Bell state circuit")
    assert bundles(cap, PLOTLY)


def test_config_change_takes_effect_on_the_next_cell(shell, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    shell.run_line_magic("config", "LLMOS.provider = 'anthropic'")
    shell.run_line_magic("config", f"LLMOS.base_url = {server.base_url!r}")
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit")
    assert server.requests[-1].api == "anthropic"


def test_load_ext_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'llmos_jupyter')\n"
        "heavy = ['qiskit', 'qiskit_aer', 'torch', 'transformers', 'sentence_transformers', 'anthropic',"
        " 'openai', 'plotly', 'numpy']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print('llmos' in ip.magics_manager.magics['cell'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


def test_memory_commands(shell, server, tmp_path):
    from llmos_jupyter.testing.qiskit_model import respond

    server.responder = respond
    cell(shell, "Create a GHZ state with 3 qubits")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "memory ghz")
    assert "Create a GHZ state with 3 qubits" in cap.stdout and "learner" in cap.stdout
    path = tmp_path / "skills.jsonl"
    with capture_output() as cap:
        shell.run_line_magic("llmos", f"export {path}")
    assert "Wrote 1 traces" in cap.stdout and path.exists()
    with capture_output() as cap:
        shell.run_line_magic("llmos", "forget ghz")
    assert "Forgot 1 trace." in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("llmos", "memory")
    assert "No traces yet." in cap.stdout
    with capture_output() as cap:
        shell.run_line_magic("llmos", f"import {path}")
    assert "Imported 1 traces" in cap.stdout
    cap = cell(shell, "Create a GHZ state with 3 qubits")
    assert [t for t in bundles(cap, "text/plain") if t.startswith("FOLLOWER")]
