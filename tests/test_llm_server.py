"""ScriptedLLMServer driven by the official openai and anthropic SDKs over real HTTP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time

import anthropic
import openai
import pytest

from llmos_jupyter.errors import ProviderError
from llmos_jupyter.providers.anthropic import AnthropicProvider
from llmos_jupyter.providers.base import Message
from llmos_jupyter.providers.openai import OpenAIProvider
from llmos_jupyter.testing import Reply, ScriptedLLMServer

MODEL_A = "claude-test"
MODEL_O = "gpt-test"
TOOL = ("execute_qiskit_code", {"code": "from qiskit import QuantumCircuit\nprint(QuantumCircuit(2))"})


@pytest.fixture
def srv():
    with ScriptedLLMServer() as server:
        yield server


def make_anthropic(srv, **kw) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=srv.base_url, api_key="x", **kw)


def make_openai(srv, **kw) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=srv.openai_base_url, api_key="x", **kw)


def ask_anthropic(client, text="hi", **kw):
    return client.messages.create(model=MODEL_A, max_tokens=256, messages=[{"role": "user", "content": text}], **kw)


def stream_anthropic(client, text="hi"):
    return client.messages.stream(model=MODEL_A, max_tokens=256, messages=[{"role": "user", "content": text}])


def ask_openai(client, text="hi", **kw):
    return client.chat.completions.create(model=MODEL_O, messages=[{"role": "user", "content": text}], **kw)


# -- plain text, usage --------------------------------------------------------


def test_anthropic_text_and_usage(srv):
    text = "Here:\n```python\nprint(1)\n```"
    srv.enqueue(Reply(text=text, input_tokens=100, cache_read=30, cache_write=7, output_tokens=40))
    msg = ask_anthropic(make_anthropic(srv), "make a circuit")
    assert msg.content[0].type == "text"
    assert msg.content[0].text == text
    assert msg.model == MODEL_A
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 100
    assert msg.usage.cache_read_input_tokens == 30
    assert msg.usage.cache_creation_input_tokens == 7
    assert msg.usage.output_tokens == 40
    req = srv.requests[-1]
    assert (req.api, req.path, req.stream) == ("anthropic", "/v1/messages", False)
    assert "anthropic-version" in req.headers
    assert req.headers["authorization"] == "Bearer x"  # this SDK sends api_key as a bearer token
    assert req.body["max_tokens"] == 256
    assert req.last_user_text() == "make a circuit"


def test_openai_text_and_usage(srv):
    srv.enqueue(Reply(text="Hello", input_tokens=100, cache_read=30, cache_write=7, output_tokens=40, model="gpt-o"))
    resp = ask_openai(make_openai(srv), "make a circuit")
    choice = resp.choices[0]
    assert choice.message.content == "Hello"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert resp.model == "gpt-o"
    assert resp.usage.prompt_tokens == 130  # includes the cached part
    assert resp.usage.prompt_tokens_details.cached_tokens == 30
    assert resp.usage.completion_tokens == 40
    assert resp.usage.total_tokens == 170
    req = srv.requests[-1]
    assert (req.api, req.path, req.stream) == ("openai", "/v1/chat/completions", False)
    assert req.headers["authorization"] == "Bearer x"
    assert req.last_user_text() == "make a circuit"


# -- streaming text -----------------------------------------------------------


def test_anthropic_stream_text_and_usage(srv):
    srv.enqueue(Reply(text="Hello streaming world", input_tokens=120, cache_read=30, cache_write=5, output_tokens=40))
    with make_anthropic(srv).messages.stream(
        model=MODEL_A, max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) == 3 and "".join(pieces) == "Hello streaming world"
    assert final.content[0].text == "Hello streaming world"
    assert final.stop_reason == "end_turn"
    usage = final.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (120, 30, 5)
    assert usage.output_tokens == 40
    assert srv.requests[-1].stream is True


def test_openai_stream_text_and_usage(srv):
    srv.enqueue(Reply(text="Hello streaming world", input_tokens=120, cache_read=30, output_tokens=40))
    chunks = list(ask_openai(make_openai(srv), stream=True, stream_options={"include_usage": True}))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) == 3 and "".join(texts) == "Hello streaming world"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    # Usage only arrives in the last chunk, whose choices are empty.
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (150, 30)
    assert (usage.completion_tokens, usage.total_tokens) == (40, 190)
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_stream_without_include_usage_has_no_usage_chunk(srv):
    srv.enqueue(Reply(text="abc"))
    chunks = list(ask_openai(make_openai(srv), stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


# -- tool calls ---------------------------------------------------------------


def test_anthropic_tool_call(srv):
    client = make_anthropic(srv)
    srv.enqueue(Reply(tool_calls=[TOOL], input_tokens=50, output_tokens=20))
    msg = ask_anthropic(client)
    assert msg.stop_reason == "tool_use"
    [block] = msg.content
    assert block.type == "tool_use" and block.id.startswith("toolu_")
    assert (block.name, block.input) == TOOL

    srv.enqueue(Reply(text="Running it.", tool_calls=[TOOL, ("other", {})]))
    with client.messages.stream(model=MODEL_A, max_tokens=256, messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[0].text == "Running it."
    assert (final.content[1].name, final.content[1].input) == TOOL
    assert (final.content[2].name, final.content[2].input) == ("other", {})
    assert final.stop_reason == "tool_use"


def test_openai_tool_call(srv):
    client = make_openai(srv)
    srv.enqueue(Reply(tool_calls=[TOOL], input_tokens=50, output_tokens=20))
    choice = ask_openai(client).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None  # as the real API does for pure tool-call turns
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert (call.function.name, json.loads(call.function.arguments)) == TOOL

    srv.enqueue(Reply(text="Running it.", tool_calls=[TOOL, ("other", {})]))
    args: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in ask_openai(client, stream=True):
        for tc in chunk.choices[0].delta.tool_calls or []:
            if tc.function.name:
                names[tc.index] = tc.function.name
            args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
    assert names == {0: TOOL[0], 1: "other"}
    assert json.loads(args[0]) == TOOL[1] and json.loads(args[1]) == {}


def test_openai_stream_helper_accumulates_tool_calls(srv):
    srv.enqueue(Reply(text="ok", tool_calls=[TOOL], input_tokens=7, cache_read=3, output_tokens=2))
    with make_openai(srv).chat.completions.stream(
        model=MODEL_O, messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
    ) as s:
        final = s.get_final_completion()
    msg = final.choices[0].message
    assert msg.content == "ok"
    assert (msg.tool_calls[0].function.name, json.loads(msg.tool_calls[0].function.arguments)) == TOOL
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (10, 2)


def test_stop_reason_is_translated_per_api(srv):
    srv.enqueue(Reply(text="cut", stop_reason="max_tokens"), Reply(text="cut", stop_reason="max_tokens"))
    assert ask_anthropic(make_anthropic(srv)).stop_reason == "max_tokens"
    assert ask_openai(make_openai(srv)).choices[0].finish_reason == "length"


# -- errors and retries -------------------------------------------------------


def test_429_is_retried_then_succeeds(srv):
    # retry-after: 0 is not > 0, so both SDKs fall back to their ~0.4-0.5 s backoff.
    clients = ((ask_anthropic, make_anthropic(srv, max_retries=2)), (ask_openai, make_openai(srv, max_retries=2)))
    for ask, client in clients:
        srv.reset()
        srv.enqueue(Reply(status=429, headers={"retry-after": "0"}), Reply(text="after retry"))
        resp = ask(client)
        text = resp.content[0].text if ask is ask_anthropic else resp.choices[0].message.content
        assert text == "after retry"
        assert len(srv.requests) == 2


def test_429_error_shapes(srv):
    srv.enqueue(Reply(status=429, error_message="slow down"), Reply(status=429, error_message="slow down"))
    with pytest.raises(anthropic.RateLimitError) as ai:
        ask_anthropic(make_anthropic(srv))
    assert ai.value.body["error"] == {"type": "rate_limit_error", "message": "slow down"}
    assert ai.value.body["type"] == "error"
    with pytest.raises(openai.RateLimitError) as oi:
        ask_openai(make_openai(srv))
    assert oi.value.body["message"] == "slow down"  # the SDK unwraps {"error": {...}}
    assert oi.value.code == "rate_limit_exceeded"


def test_401_raises_without_retry(srv):
    srv.enqueue(Reply(status=401), Reply(status=401), Reply(text="never"))
    with pytest.raises(anthropic.AuthenticationError) as ai:
        ask_anthropic(make_anthropic(srv, max_retries=2))
    assert ai.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        ask_openai(make_openai(srv, max_retries=2))
    assert len(srv.requests) == 2


def test_500_raises_internal_server_error(srv):
    srv.enqueue(Reply(status=500), Reply(status=500))
    with pytest.raises(anthropic.InternalServerError) as ai:
        ask_anthropic(make_anthropic(srv))
    assert ai.value.body["error"]["type"] == "api_error"
    with pytest.raises(openai.InternalServerError):
        ask_openai(make_openai(srv))
    assert len(srv.requests) == 2


def test_529_overloaded_and_x_should_retry_false(srv):
    srv.enqueue(Reply(status=529, headers={"x-should-retry": "false"}), Reply(text="never"))
    with pytest.raises(anthropic.OverloadedError) as ai:
        ask_anthropic(make_anthropic(srv, max_retries=2))
    assert ai.value.body["error"]["type"] == "overloaded_error"
    assert ai.value.response.headers["x-should-retry"] == "false"
    assert len(srv.requests) == 1


def test_error_reply_to_stream_request(srv):
    srv.enqueue(Reply(status=400, error_message="bad"), Reply(status=400, error_message="bad"))
    with pytest.raises(anthropic.BadRequestError):
        with stream_anthropic(make_anthropic(srv)):
            pass
    with pytest.raises(openai.BadRequestError):
        ask_openai(make_openai(srv), stream=True)


def test_delay_past_client_timeout(srv):
    srv.enqueue(Reply(delay=3.0, text="late"), Reply(delay=3.0, text="late"))
    with pytest.raises(anthropic.APITimeoutError):
        ask_anthropic(make_anthropic(srv, timeout=0.5))
    with pytest.raises(openai.APITimeoutError):
        ask_openai(make_openai(srv, timeout=0.5))
    # The server keeps serving while the delayed handlers still sleep.
    srv.enqueue(Reply(text="on time", delay=0.05))
    assert ask_anthropic(make_anthropic(srv, timeout=2)).content[0].text == "on time"
    assert len(srv.requests) == 3


def test_truncated_stream_anthropic(srv):
    # 9 events (message_start, ping, block start, 3 deltas, block stop,
    # message_delta, message_stop); the first 4 arrive, then EOF mid-body.
    # What LLMOS promises, whichever exception the SDK raises inside: the text that arrived reached the
    # caller, then one ProviderError that says the connection broke off mid-reply.
    srv.enqueue(Reply(text="abcdefghi", truncate_stream=True))
    provider = AnthropicProvider(MODEL_A, base_url=srv.base_url, api_key="x", max_retries=0)
    seen: list[str] = []
    with pytest.raises(ProviderError, match="broke off mid-reply") as ei:
        provider.complete("sys", [Message("user", "hi")], on_text=seen.append)
    assert ei.value.kind == "connection"
    assert seen == ["abc"]


def test_truncated_stream_openai(srv):
    # 6 events (role, 3 content deltas, finish, [DONE]); the first 3 arrive.
    srv.enqueue(Reply(text="abcdefghi", truncate_stream=True))
    provider = OpenAIProvider(MODEL_O, base_url=srv.openai_base_url, api_key="x", max_retries=0)
    seen: list[str] = []
    with pytest.raises(ProviderError, match="broke off mid-reply") as ei:
        provider.complete("sys", [Message("user", "hi")], on_text=seen.append)
    assert ei.value.kind == "connection"
    assert "".join(seen) == "abcdef"


def test_malformed_json_body(srv):
    # Neither SDK wraps the decode error, and neither retries it.
    srv.enqueue(Reply(raw_body=b"{not json"), Reply(raw_body=b"{not json"))
    with pytest.raises(json.JSONDecodeError):
        ask_anthropic(make_anthropic(srv, max_retries=2))
    with pytest.raises(json.JSONDecodeError):
        ask_openai(make_openai(srv, max_retries=2))
    assert len(srv.requests) == 2


def test_raw_body_with_error_status(srv):
    srv.enqueue(Reply(status=503, raw_body=b"upstream <html> gone"))
    with pytest.raises(openai.InternalServerError) as ei:
        ask_openai(make_openai(srv))
    assert ei.value.status_code == 503
    assert ei.value.body == "upstream <html> gone"  # undecodable bodies surface as text


def test_empty_queue_answers_500(srv):
    with pytest.raises(anthropic.InternalServerError) as ai:
        ask_anthropic(make_anthropic(srv))
    assert "no scripted reply" in ai.value.body["error"]["message"]
    with pytest.raises(openai.InternalServerError) as oi:
        ask_openai(make_openai(srv))
    assert "no scripted reply" in oi.value.body["message"]


def test_unknown_path_is_404_in_matching_format(srv):
    with pytest.raises(anthropic.NotFoundError) as ai:
        make_anthropic(srv).models.retrieve("no-such-model")
    assert ai.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(openai.NotFoundError):
        make_openai(srv).models.retrieve("no-such-model")
    assert [r.api for r in srv.requests] == ["anthropic", "openai"]


def test_models_are_listed_in_each_apis_shape(srv):
    srv.models = ["m-1", "m-2"]
    assert [m.id for m in make_anthropic(srv).models.list()] == ["m-1", "m-2"]
    assert [m.id for m in make_openai(srv).models.list()] == ["m-1", "m-2"]
    assert [(r.api, r.path) for r in srv.requests] == [("anthropic", "/v1/models"), ("openai", "/v1/models")]


# -- responder, requests, last_user_text --------------------------------------


def test_responder_used_when_queue_empty_and_reset(srv):
    srv.responder = lambda req: Reply(text=f"echo: {req.last_user_text()}")
    srv.enqueue(Reply(text="queued first"))
    client = make_openai(srv)
    assert ask_openai(client, "one").choices[0].message.content == "queued first"
    assert ask_openai(client, "two").choices[0].message.content == "echo: two"
    srv.reset()
    assert srv.requests == [] and srv.responder is None
    with pytest.raises(openai.InternalServerError):
        ask_openai(client)


def test_responder_exception_becomes_500(srv):
    def boom(req):
        raise RuntimeError("kaput")

    srv.responder = boom
    with pytest.raises(anthropic.InternalServerError, match="kaput"):
        ask_anthropic(make_anthropic(srv))


def test_unserialisable_reply_becomes_500(srv):
    srv.enqueue(Reply(tool_calls=[("run", {"x": object()})]))
    with pytest.raises(openai.InternalServerError, match="cannot build scripted reply"):
        ask_openai(make_openai(srv))


def test_async_clients_stream(srv):
    async def main():
        a = anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="x", max_retries=0)
        o = openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key="x", max_retries=0)
        async with a.messages.stream(model=MODEL_A, max_tokens=8, messages=[{"role": "user", "content": "x"}]) as s:
            final = await s.get_final_message()
        stream = await o.chat.completions.create(
            model=MODEL_O,
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        await a.close()
        await o.close()
        return final, chunks

    srv.enqueue(Reply(text="async A", cache_read=4), Reply(text="async O", cache_read=4))
    # In a thread of its own: an event loop left running by another test must not matter here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        final, chunks = pool.submit(asyncio.run, main()).result()
    assert final.content[0].text == "async A" and final.usage.cache_read_input_tokens == 4
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "async O"
    assert chunks[-1].usage.prompt_tokens == 14


def test_last_user_text_content_blocks(srv):
    srv.enqueue(Reply(text="a"), Reply(text="b"))
    make_anthropic(srv).messages.create(
        model=MODEL_A,
        max_tokens=16,
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "build a Bell state"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "run", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
        ],
    )
    # A tool_result-only user turn is skipped, matching OpenAI's role="tool".
    assert srv.requests[-1].last_user_text() == "build a Bell state"
    make_openai(srv).chat.completions.create(
        model=MODEL_O,
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "part 1"}, {"type": "text", "text": "part 2"}]},
        ],
    )
    assert srv.requests[-1].last_user_text() == "part 1\npart 2"


def test_server_stays_quiet_on_client_disconnects(srv, capfd):
    srv.enqueue(Reply(text="abcdef", truncate_stream=True), Reply(delay=0.3, text="late"))
    with pytest.raises(Exception):  # whichever the SDK raises: this test is about the server's stderr
        with stream_anthropic(make_anthropic(srv)) as s:
            s.until_done()
    with pytest.raises(openai.APITimeoutError):
        ask_openai(make_openai(srv, timeout=0.1))
    time.sleep(0.4)  # let the delayed handler write into the closed socket
    srv.enqueue(Reply(text="still alive"))
    assert ask_openai(make_openai(srv, timeout=2)).choices[0].message.content == "still alive"
    srv.stop()
    assert capfd.readouterr().err == ""


def test_start_stop_idempotent():
    srv = ScriptedLLMServer()
    srv.start()
    assert srv.start() is srv
    assert srv.base_url.startswith("http://127.0.0.1:") and srv.openai_base_url == srv.base_url + "/v1"
    srv.stop()
    srv.stop()
