"""A scripted LLM server speaking the OpenAI and Anthropic wire formats.

The official ``openai`` and ``anthropic`` SDKs talk to it over real HTTP, so
tests exercise the SDKs' own parsing, streaming, retry and timeout logic.
Stdlib only: ``http.server.ThreadingHTTPServer`` in a daemon thread.
"""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

__all__ = ["Reply", "Request", "ScriptedLLMServer"]

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"  # GET: the models a provider lists, in the dialect the client speaks

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# (type, code) as the OpenAI API reports them.
_OPENAI_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}

# Stop reasons may be scripted in either API's vocabulary; translate so one
# script can drive both APIs.
_TO_OPENAI_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TO_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


@dataclass
class Reply:
    """One scripted answer.

    Token fields follow each API's own accounting: Anthropic reports
    ``input_tokens`` (uncached), ``cache_read`` and ``cache_write`` apart;
    OpenAI's ``prompt_tokens`` is ``input_tokens + cache_read``. ``status``
    >= 400 sends an error in the API's shape; ``raw_body`` is sent verbatim.
    ``truncate_stream`` sends the first half of the SSE events, then closes
    the connection before the final HTTP chunk. ``stop_reason`` may use
    either API's vocabulary and is translated.
    """

    text: str = ""
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    input_tokens: int = 10
    output_tokens: int = 10
    cache_read: int = 0
    cache_write: int = 0
    status: int = 200
    headers: dict = field(default_factory=dict)
    error_message: str | None = None
    delay: float = 0.0
    truncate_stream: bool = False
    raw_body: bytes | None = None
    model: str | None = None
    stop_reason: str | None = None


@dataclass
class Request:
    """A request as the server received it."""

    api: str  # "openai" | "anthropic"
    path: str  # URL path without the query string
    headers: dict[str, str]  # lower-cased keys
    body: dict[str, Any]
    stream: bool

    def last_user_text(self) -> str:
        """Text of the last user message that contains text.

        Anthropic user turns made only of ``tool_result`` blocks are skipped,
        so both APIs return the human's last prompt (OpenAI sends tool results
        under role ``tool``).
        """
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        for message in reversed(messages or []):
            if not isinstance(message, dict) or message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [
                    block.get("text", "")
                    for block in content
                    if isinstance(block, dict) and block.get("type") == "text"
                ]
                if texts:
                    return "\n".join(texts)
        return ""


Responder = Callable[[Request], Reply]


class _ClientGone(Exception):
    """The client closed the connection, or the server is stopping."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    scripted: ScriptedLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client disconnects (timeouts, aborted streams) are routine here and
        # must not print tracebacks; anything else is a bug worth seeing.
        if not isinstance(sys.exc_info()[1], (OSError, _ClientGone)):
            super().handle_error(request, client_address)


class ScriptedLLMServer:
    """HTTP server answering chat requests from a queue of `Reply` objects."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.responder: Responder | None = None
        self.requests: list[Request] = []
        self.models: list[str] = ["scripted-model"]  # what GET /v1/models lists
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.scripted = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"ScriptedLLMServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a Reply.delay
        httpd.shutdown()
        httpd.server_close()
        # Idle keep-alive connections would otherwise pin handler threads.
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Base URL for ``anthropic.Anthropic(base_url=...)``."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for ``openai.OpenAI(base_url=...)``."""
        return f"{self.base_url}/v1"

    # -- scripting ---------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.responder = None
            self.models = ["scripted-model"]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, request: Request) -> Reply | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self.responder
        return responder(request) if responder is not None else None

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


# -- HTTP handling -----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' pools expect
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers, body and SSE chunks are separate small writes; without
        # NODELAY, Nagle plus delayed ACKs adds ~40 ms per keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.scripted._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.scripted._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (_ClientGone, OSError):
            self.close_connection = True

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    # -- request -----------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        scripted = self.server.scripted
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else {}
            bad_json = not isinstance(body, dict)
        except ValueError:
            body, bad_json = {}, True
        if not isinstance(body, dict):
            body = {}

        if path == OPENAI_PATH:
            api = "openai"
        elif path == ANTHROPIC_PATH:
            api = "anthropic"
        else:  # unknown path: answer in the dialect the client seems to speak
            api = "anthropic" if "anthropic-version" in headers else "openai"
        request = Request(api=api, path=path, headers=headers, body=body, stream=bool(body.get("stream")))
        scripted._record(request)

        if self.command == "GET" and path == MODELS_PATH:
            with scripted._lock:
                models = list(scripted.models)
            return self._send_json(api, 200, _models_page(api, models), {})
        if self.command != "POST" or path not in (OPENAI_PATH, ANTHROPIC_PATH):
            return self._send_error(api, 404, f"Not found: {self.command} {path}", {})
        if bad_json:
            return self._send_error(api, 400, "Request body is not a JSON object", {})

        try:
            reply = scripted._next_reply(request)
        except Exception as exc:  # a broken responder must not kill the connection silently
            return self._send_error(api, 500, f"responder raised {exc!r}", {})
        if reply is None:
            return self._send_error(api, 500, f"no scripted reply for {self.command} {path}", {})

        if reply.delay > 0 and scripted._stopping.wait(reply.delay):
            raise _ClientGone

        if reply.raw_body is not None:
            return self._send_bytes(reply.status, reply.raw_body, "application/json", reply.headers, api)
        if reply.status >= 400:
            message = reply.error_message or f"Scripted error (HTTP {reply.status})"
            return self._send_error(api, reply.status, message, reply.headers)

        model = reply.model or body.get("model") or "scripted-model"
        try:
            if api == "openai":
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                events = _openai_events(reply, model, include_usage) if request.stream else None
                payload = None if request.stream else _openai_completion(reply, model)
            else:
                events = _anthropic_events(reply, model) if request.stream else None
                payload = None if request.stream else _anthropic_message(reply, model)
        except Exception as exc:  # e.g. tool arguments that are not JSON-serialisable
            return self._send_error(api, 500, f"cannot build scripted reply: {exc!r}", {})
        if events is not None:
            return self._send_stream(api, reply, events)
        return self._send_json(api, reply.status, payload, reply.headers)

    # -- response ----------------------------------------------------------

    def _start(self, status: int, content_type: str, extra: dict, api: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        request_id = uuid.uuid4().hex[:24]
        if api == "anthropic":
            self.send_header("request-id", f"req_{request_id}")
        else:
            self.send_header("x-request-id", f"req_{request_id}")
        for name, value in extra.items():
            self.send_header(name, str(value))

    def _send_bytes(self, status: int, data: bytes, content_type: str, extra: dict, api: str) -> None:
        self._start(status, content_type, extra, api)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, api: str, status: int, payload: dict, extra: dict) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", extra, api)

    def _send_error(self, api: str, status: int, message: str, extra: dict) -> None:
        self._send_json(api, status, _error_body(api, status, message), extra)

    def _send_stream(self, api: str, reply: Reply, events: list[bytes]) -> None:
        # Chunked encoding like the real APIs: a connection closed before the
        # terminating chunk is then a detectable transport error in the client.
        self._start(200, "text/event-stream; charset=utf-8", reply.headers, api)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.truncate_stream:
            events = events[: max(1, len(events) // 2)]
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        if reply.truncate_stream:
            self.close_connection = True  # closing without the last chunk = abrupt EOF
            return
        self.wfile.write(b"0\r\n\r\n")


def _models_page(api: str, models: list[str]) -> dict:
    """One page holding every model, as each API's list endpoint sends it."""
    if api == "anthropic":
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"} for m in models]
        return {"data": data, "has_more": False, "first_id": models[0] if models else None,
                "last_id": models[-1] if models else None}
    return {"object": "list",
            "data": [{"id": m, "object": "model", "created": 1767225600, "owned_by": "scripted"} for m in models]}


def _error_body(api: str, status: int, message: str) -> dict:
    if api == "anthropic":
        default = "api_error" if status >= 500 else "invalid_request_error"
        return {
            "type": "error",
            "error": {"type": _ANTHROPIC_ERROR_TYPES.get(status, default), "message": message},
            "request_id": f"req_{uuid.uuid4().hex[:24]}",
        }
    default = ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    err_type, code = _OPENAI_ERROR_TYPES.get(status, default)
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


# -- payload builders --------------------------------------------------------


def _pieces(text: str, n: int = 3) -> list[str]:
    """Split text into up to n non-empty pieces so streams carry several deltas."""
    if not text:
        return []
    size = math.ceil(len(text) / n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _stop_reason(reply: Reply, api: str) -> str:
    if api == "openai":
        if reply.stop_reason:
            return _TO_OPENAI_STOP.get(reply.stop_reason, reply.stop_reason)
        return "tool_calls" if reply.tool_calls else "stop"
    if reply.stop_reason:
        return _TO_ANTHROPIC_STOP.get(reply.stop_reason, reply.stop_reason)
    return "tool_use" if reply.tool_calls else "end_turn"


def _openai_usage(reply: Reply) -> dict:
    # OpenAI's prompt_tokens includes the cached part.
    prompt = reply.input_tokens + reply.cache_read
    return {
        "prompt_tokens": prompt,
        "completion_tokens": reply.output_tokens,
        "total_tokens": prompt + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _anthropic_usage(reply: Reply, output_tokens: int) -> dict:
    # Anthropic's input_tokens excludes cache reads and writes.
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": reply.cache_write,
        "cache_read_input_tokens": reply.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": reply.cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _openai_completion(reply: Reply, model: str) -> dict:
    message: dict[str, Any] = {
        "role": "assistant",
        # The real API sends null content for a pure tool-call turn.
        "content": reply.text if (reply.text or not reply.tool_calls) else None,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _new_id("call_"),
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in reply.tool_calls
        ]
    return {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _stop_reason(reply, "openai")}
        ],
        "usage": _openai_usage(reply),
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _openai_events(reply: Reply, model: str, include_usage: bool) -> list[bytes]:
    base = {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": None,
    }

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        out = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
        if include_usage:
            out["usage"] = None  # the real API sends null until the usage chunk
        return out

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in _pieces(reply.text)]
    for index, (name, args) in enumerate(reply.tool_calls):
        head = {"index": index, "id": _new_id("call_"), "type": "function", "function": {"name": name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [head]}))
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in _pieces(json.dumps(args))
        ]
    chunks.append(chunk({}, _stop_reason(reply, "openai")))
    if include_usage:
        chunks.append(dict(base, choices=[], usage=_openai_usage(reply)))
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def _anthropic_blocks(reply: Reply) -> Iterator[dict]:
    if reply.text or not reply.tool_calls:
        yield {"type": "text", "text": reply.text}
    for name, args in reply.tool_calls:
        yield {"type": "tool_use", "id": _new_id("toolu_"), "name": name, "input": args}


def _anthropic_message(reply: Reply, model: str) -> dict:
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": list(_anthropic_blocks(reply)),
        "stop_reason": _stop_reason(reply, "anthropic"),
        "stop_sequence": None,
        "usage": _anthropic_usage(reply, reply.output_tokens),
    }


def _anthropic_events(reply: Reply, model: str) -> list[bytes]:
    start = dict(_anthropic_message(reply, model), content=[], stop_reason=None)
    start["usage"] = _anthropic_usage(reply, min(1, reply.output_tokens))
    events: list[dict] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(_anthropic_blocks(reply)):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
        else:
            opening = dict(block, input={})
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(json.dumps(block["input"]))]
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": index})
    # message_delta usage is cumulative; the real API repeats the input-side
    # counts there, and the SDK keeps message_start's values when they are absent.
    final_usage = _anthropic_usage(reply, reply.output_tokens)
    final_usage.pop("cache_creation")
    final_usage.pop("service_tier")
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(reply, "anthropic"), "stop_sequence": None},
            "usage": final_usage,
        }
    )
    events.append({"type": "message_stop"})
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
