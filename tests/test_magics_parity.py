"""What a Jupyter AI user reaches for in %%ai, through a real IPython shell and the scripted server (issue #28):
model parameters forwarded, output formats, references to earlier cells, %llmos fix, aliases and listing,
kernel functions as tools, config and the README's table of options."""
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from conftest import BELL, Reply, cell, fenced, ghz

PLOTLY = "application/vnd.plotly.v1+json"


def bundles(cap, mime):
    return [o.data[mime] for o in cap.outputs if mime in o.data]


def shown(cap) -> str:
    return "\n".join(bundles(cap, "text/plain"))


def use_anthropic(shell, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    shell.run_line_magic("config", "LLMOS.provider = 'anthropic'")
    shell.run_line_magic("config", f"LLMOS.base_url = {server.base_url!r}")


# -- 1. parsing: provider:model positional, -m is JSON -----------------------------------------------------------


def test_the_model_is_the_positional_provider_model(shell, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit", "anthropic:claude-haiku-5-5")
    req = server.requests[-1]
    assert req.api == "anthropic" and req.body["model"] == "claude-haiku-5-5"


@pytest.mark.parametrize("line,needle", [
    ("-m '{top_p: 0.9}'", "is not JSON"),
    ("-m '[1, 2]'", "must be a JSON object"),
    ("-m gpt-5.5", "is not JSON"),
    ("--temperature hot", "must be a number"),
    ("--max-tokens -3", "positive number of tokens"),
    ("-f pdf", "invalid choice"),
    ("-m '{\"top_p\": 0.9}", "close the quote"),
])
def test_bad_options_are_a_usage_error_and_nothing_runs(shell, server, line, needle):
    with pytest.raises(UsageError, match=needle):
        shell.run_cell_magic("llmos", line, "Create a Bell state circuit")
    assert not server.requests


@pytest.mark.parametrize("line,needle", [
    ("-m '{\"model\": \"gpt-4\"}'", "may not set model"),
    ("--temperature 0.2 -m '{\"temperature\": 0.7}'", "temperature is given twice"),
    ("openai:gpt-5.5 --model gpt-5.4", "names its model twice"),
    ("gemini:pro", "Unknown provider 'gemini'"),
    ("nosuchalias", "neither provider:model"),
])
def test_conflicting_or_unknown_choices_are_explained_and_nothing_runs(shell, server, line, needle):
    cap = cell(shell, "Create a Bell state circuit", line)
    assert needle in shown(cap) and not server.requests and not bundles(cap, PLOTLY)


# -- 2. model parameters reach the SDK call ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_model_parameters_are_in_the_request_body(shell, server, monkeypatch, api, stream):
    if api == "anthropic":
        use_anthropic(shell, server, monkeypatch)
    shell.run_line_magic("config", f"LLMOS.stream = {stream}")  # the fixture puts it back
    server.enqueue(Reply(text=fenced(BELL)))
    line = "--temperature 0.3 --max-tokens 777 -m '{\"top_p\": 0.9, \"stop\": [\"###\"]}'"
    cap = cell(shell, "Create a Bell state circuit", line)
    body = server.requests[-1].body
    assert server.requests[-1].api == api and server.requests[-1].stream is stream
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["stop"] == ["###"]
    assert body["max_tokens"] == 777  # the scripted server is not api.openai.com: max_tokens, not max_completion
    assert bundles(cap, PLOTLY)  # the program still ran, its reply streamed or not


def test_configured_parameters_apply_and_a_cell_overrides_them(shell, server):
    shell.run_line_magic("config", "LLMOS.temperature = 0.5")
    shell.run_line_magic("config", "LLMOS.model_parameters = {'top_p': 0.5, 'seed': 7}")
    try:
        server.enqueue(Reply(text=fenced(BELL)), Reply(text=fenced(ghz(3, 1024))))
        cell(shell, "Create a Bell state circuit")
        cell(shell, "Prepare a GHZ state on 3 qubits", "--temperature 0 -m '{\"top_p\": 0.1}'")
        first, second = (r.body for r in server.requests)
    finally:
        shell.run_line_magic("config", "LLMOS.temperature = None")
        shell.run_line_magic("config", "LLMOS.model_parameters = {}")
    assert (first["temperature"], first["top_p"], first["seed"]) == (0.5, 0.5, 7)
    assert (second["temperature"], second["top_p"], second["seed"]) == (0.0, 0.1, 7)


def test_no_parameters_means_none_are_sent(shell, server):
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit")
    body = server.requests[-1].body
    assert "temperature" not in body and "top_p" not in body and body["max_tokens"] == 2048
