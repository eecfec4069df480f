"""LLMOS.run end to end: real SDKs over real HTTP to the scripted server, real Aer."""
import sqlite3

import pytest

from conftest import BELL, Reply, fenced, ghz
from llmos_jupyter import LLMOS, Mode
from llmos_jupyter.errors import ConfigError, ProviderError


@pytest.mark.parametrize("stream", [False, True])
def test_bell_state_runs_on_aer_and_counts_billed_tokens(make_engine, server, api, stream):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=412, output_tokens=97))
    r = make_engine(api, stream=stream).run("Create a Bell state circuit")
    assert r.mode == Mode.LEARNER == "LEARNER"
    assert r.error is None
    assert set(r.counts) == {"00", "11"} and sum(r.counts.values()) == 1024
    assert r.code.strip() == BELL.strip()
    assert "{'" in r.output  # the program's own print
    assert (r.tokens.input, r.tokens.output, r.tokens.saved) == (412, 97, 0)
    assert server.requests[-1].stream is stream


def test_request_reaches_the_model_verbatim_at_the_end_of_the_last_user_message(make_engine, server, api):
    text = "Create a GHZ state with 5 qubits, 2048 shots  (ünïcode ok?)"
    server.enqueue(Reply(text=fenced(ghz(5, 2048))))
    r = make_engine(api).run(text)
    assert server.requests[-1].last_user_text().endswith(text.strip())
    assert set(r.counts) == {"00000", "11111"} and sum(r.counts.values()) == 2048
    assert r.shots == 2048


def test_cached_prompt_parts_are_included_in_input_and_kept_apart(make_engine, server, api):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=100, output_tokens=50, cache_read=800, cache_write=64))
    r = make_engine(api).run("Create a Bell state circuit")
    if api == "anthropic":  # input_tokens + cache_read_input_tokens + cache_creation_input_tokens
        assert (r.tokens.input, r.tokens.cache_read, r.tokens.cache_write) == (964, 800, 64)
    else:  # prompt_tokens already includes cached_tokens; OpenAI reports no cache writes
        assert (r.tokens.input, r.tokens.cache_read, r.tokens.cache_write) == (900, 800, 0)
    assert r.to_dict()["metadata"]["tokens"]["cache_read"] == 800


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_code_is_run(make_engine, server, api, stream):
    server.enqueue(Reply(tool_calls=[("execute_qiskit_code", {"code": ghz(3, 512)})], input_tokens=30,
                         output_tokens=20))
    r = make_engine(api, stream=stream).run("GHZ on 3 qubits, 512 shots")
    assert set(r.counts) == {"000", "111"} and sum(r.counts.values()) == 512
    assert r.code == ghz(3, 512)
    # Nothing in memory is close, so no tool schema is billed; a model that calls the runner anyway is run.
    assert not server.requests[-1].body.get("tools")


def test_code_that_raises_sets_error_with_traceback_and_still_counts_tokens(make_engine, server):
    server.enqueue(Reply(text=fenced("x = 1\ny = x / 0\n"), input_tokens=10, output_tokens=5))
    engine = make_engine()
    r = engine.run("divide")
    assert "ZeroDivisionError" in r.error and "y = x / 0" in r.error
    assert r.counts is None
    assert (r.tokens.input, r.tokens.output) == (10, 5)
    assert engine.ledger.totals().billed == 15


def test_reply_without_a_program_is_an_error_that_says_what_is_missing(make_engine, server):
    server.enqueue(Reply(text="A GHZ state loses coherence because dephasing acts on every qubit.",
                         input_tokens=7, output_tokens=3))
    engine = make_engine()
    r = engine.run("Explain why a GHZ state is fragile")
    assert r.code is None and r.counts is None and not r.executed
    assert "no program" in r.error and "Ask for what the program should produce" in r.error
    assert r.response.startswith("A GHZ state")  # the reply is still shown
    assert engine.sentience.snapshot()["valence"]["self_confidence"] < 0.4  # counted as a failure (starts at 0.4)


def test_default_is_1024_shots(make_engine, server):
    code = BELL.replace(", shots=1024", "")
    server.enqueue(Reply(text=fenced(code)))
    r = make_engine().run("Create a Bell state circuit")
    assert sum(r.counts.values()) == 1024 and r.shots == 1024
    assert "Shots as named, else 1024" in server.requests[-1].body["messages"][0]["content"]


def test_no_exec_returns_code_without_running(make_engine, server):
    server.enqueue(Reply(text=fenced(BELL)))
    r = make_engine().run("Create a Bell state circuit", execute=False)
    assert r.code and r.counts is None and not r.executed and r.output == ""


def test_code_runs_in_the_given_namespace(make_engine, server):
    server.enqueue(Reply(text=fenced(BELL)))
    ns = {}
    make_engine().run("Create a Bell state circuit", namespace=ns)
    assert ns["qc"].num_qubits == 2 and set(ns["counts"]) == {"00", "11"}


def test_to_dict_has_the_documented_shape(make_engine, server):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=3, output_tokens=4))
    d = make_engine().run("Create a Bell state circuit").to_dict()
    assert set(d) >= {"response", "output", "metadata"}
    meta = d["metadata"]
    assert set(meta) >= {"agent", "mode", "tokens", "ptc_used", "execution_time_ms", "sentience"}
    assert set(meta["tokens"]) >= {"input", "output", "saved", "cumulative_saved"}
    assert set(meta["sentience"]) >= {"latent_mode", "valence", "behaviour"}
    assert meta["mode"] == "LEARNER" and meta["tokens"]["input"] == 3


# -- errors: a clear message, nothing billed that was not billed ----------------------------------

def test_401_is_a_clear_error_and_bills_nothing(make_engine, server, api):
    server.enqueue(Reply(status=401, error_message="invalid x-api-key"))
    engine = make_engine(api)
    with pytest.raises(ProviderError) as info:
        engine.run("Create a Bell state circuit")
    assert info.value.kind == "auth" and "API_KEY" in str(info.value)
    assert engine.ledger.totals().billed == 0
    server.enqueue(Reply(text=fenced(BELL), input_tokens=5, output_tokens=5))
    assert engine.run("Create a Bell state circuit").counts  # the next request works


def test_429_is_retried_with_backoff_and_only_the_success_is_billed(make_engine, server, api):
    server.enqueue(Reply(status=429, headers={"retry-after": "0"}),
                   Reply(text=fenced(BELL), input_tokens=20, output_tokens=10))
    engine = make_engine(api, max_retries=2)
    r = engine.run("Create a Bell state circuit")
    assert len(server.requests) == 2
    assert (r.tokens.input, r.tokens.output) == (20, 10)
    assert engine.ledger.totals().billed == 30


@pytest.mark.parametrize("status,kind", [(429, "rate_limit"), (500, "server"), (529, "overloaded")])
def test_status_errors_after_retries_say_what_to_do(make_engine, server, api, status, kind):
    server.enqueue(*[Reply(status=status, headers={"retry-after": "0"})] * 2)
    engine = make_engine(api, max_retries=1)
    with pytest.raises(ProviderError) as info:
        engine.run("Create a Bell state circuit")
    assert info.value.kind == kind and str(status) in str(info.value)
    assert len(server.requests) == 2  # one try + one retry
    assert engine.ledger.totals().billed == 0


def test_timeout_is_a_clear_error(make_engine, server, api):
    server.enqueue(Reply(delay=2.0, text="late"))
    with pytest.raises(ProviderError) as info:
        make_engine(api, timeout=0.3).run("Create a Bell state circuit")
    assert info.value.kind == "timeout" and "timeout" in str(info.value)


def test_unreachable_server_is_a_clear_error(home):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = LLMOS(home=home, starter_skills=False, provider="openai", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(ProviderError) as info:
        engine.run("Create a Bell state circuit")
    assert info.value.kind == "connection" and "--provider local" in str(info.value)


def test_missing_key_says_which_variable_to_set(home):
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        LLMOS(home=home, starter_skills=False, provider="anthropic").run("Create a Bell state circuit")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMOS(home=home, starter_skills=False, provider="openai").run("Create a Bell state circuit")


def test_unknown_provider_and_empty_request(home):
    with pytest.raises(ConfigError, match="Unknown provider 'gemini'"):
        LLMOS(home=home, starter_skills=False, provider="gemini").run("Create a Bell state circuit")
    with pytest.raises(ConfigError, match="empty"):
        LLMOS(home=home, starter_skills=False).run("   \n")


# -- providers from the SDKs' own environment variables ------------------------------------------

def test_sdk_environment_variables_are_honoured(server, home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.enqueue(Reply(text=fenced(BELL)))
    r = LLMOS(home=home, starter_skills=False).run("Create a Bell state circuit")  # auto -> anthropic
    assert r.provider == "anthropic" and r.counts
    assert server.requests[-1].api == "anthropic"
    headers = server.requests[-1].headers
    assert headers.get("x-api-key") == "env-key" or headers.get("authorization") == "Bearer env-key"

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key-2")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    server.enqueue(Reply(text=fenced(BELL)))
    r = LLMOS(home=home / "2", starter_skills=False).run("Create a Bell state circuit")  # auto -> openai
    assert r.provider == "openai" and server.requests[-1].headers["authorization"] == "Bearer env-key-2"


def test_auto_falls_back_to_local_without_keys():
    from llmos_jupyter.providers import resolve_auto

    assert resolve_auto("auto") == "local"


# -- persistence ---------------------------------------------------------------------------------

def test_ledger_and_cumulative_saved_survive_a_restart(make_engine, server, home):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=40, output_tokens=2))
    first = make_engine()
    first.run("Create a Bell state circuit")
    # A zero-token mode records what it saved; written here directly until memory lands.
    first.ledger.record_request("replayed", "Create a Bell state circuit", "FOLLOWER", None, None, saved=42,
                                ok=True, execution_time_ms=1.0)
    first.close()
    second = make_engine()
    assert second.ledger.cumulative_saved() == 42
    assert second.ledger.totals().billed == 42
    server.enqueue(Reply(text=fenced(ghz(3, 100))))
    assert second.run("GHZ on 3 qubits, 100 shots").tokens.cumulative_saved == 42
    mode = sqlite3.connect(home / "llmos.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_api_key_never_reaches_the_store(make_engine, server, home):
    secret = "sk-ant-very-secret-0123456789"
    server.enqueue(Reply(text=fenced(BELL)))
    engine = make_engine("anthropic", api_key=secret)
    r = engine.run("Create a Bell state circuit")
    engine.close()
    blobs = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
    assert secret.encode() not in blobs
    assert secret not in repr(engine) and secret not in str(r.to_dict())


def test_truncated_stream_and_malformed_reply_are_clear_errors_and_nothing_runs(make_engine, server, api):
    engine = make_engine(api, stream=True)
    server.enqueue(Reply(text=fenced(BELL), truncate_stream=True))
    with pytest.raises(ProviderError) as info:
        engine.run("Create a Bell state circuit")
    assert info.value.kind == "connection" and "Run the cell again" in str(info.value)
    engine = make_engine(api, stream=False)
    server.enqueue(Reply(raw_body=b"{not json"))
    with pytest.raises(ProviderError) as info:
        engine.run("Create a Bell state circuit")
    assert info.value.kind == "malformed"
    assert engine.ledger.totals().billed == 0
    assert "qc" not in engine.namespace


def test_scripted_qiskit_model_answers_correctly_and_bills_real_counts(make_engine, server):
    from llmos_jupyter.testing.qiskit_model import count_tokens, respond

    server.responder = respond
    engine = make_engine("anthropic")
    r = engine.run("Prepare the basis state |110> with 300 shots")
    assert r.counts == {"110": 300}
    assert r.tokens.output == count_tokens(r.response) and r.tokens.input > 100
    r = engine.run("Create a GHZ state with five qubits and two thousand shots")
    assert set(r.counts) == {"00000", "11111"} and r.shots == 1024  # 'two thousand' is not a number word
    r = engine.run("Explain decoherence")
    assert r.code is None and "no program" in r.error
