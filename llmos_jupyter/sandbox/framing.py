"""Messages between the kernel and the worker: an 8-byte big-endian length, then that many bytes of UTF-8
JSON. Nothing else travels on these pipes; binary payloads ride inside as base64 (codec.py). JSON is chosen
because loading it can never run code, whatever the other side sends."""
from __future__ import annotations

import errno
import json
import os
import select
import struct
import time
from typing import Any

from .errors import SandboxError

HEADER = struct.Struct(">Q")
MAX_MESSAGE = 512 * 1024 * 1024  # a bound on what a hostile worker can make the kernel allocate


class ChannelClosed(SandboxError):
    """The other end of the pipe is gone (the worker died, or the kernel went away)."""


class ChannelTimeout(SandboxError):
    """Nothing complete arrived before the deadline."""


class ProtocolError(SandboxError):
    """Bytes arrived that are not a well-formed message."""


def pack(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_MESSAGE:
        raise SandboxError(f"a message of {len(body) >> 20} MiB is over the {MAX_MESSAGE >> 20} MiB limit")
    return HEADER.pack(len(body)) + body


def unpack(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"a message that is not JSON arrived ({exc.__class__.__name__}); it was dropped") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message that is not a JSON object arrived; it was dropped")
    return message


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _wait(fd: int, event: int, deadline: float | None) -> None:
    poller = select.poll()
    poller.register(fd, event | select.POLLHUP | select.POLLERR)
    while True:
        left = _remaining(deadline)
        if left == 0.0:
            raise ChannelTimeout("no reply before the deadline")
        try:
            ready = poller.poll(None if left is None else max(1, int(left * 1000)))
        except InterruptedError:
            continue
        if ready:
            return


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < size:
        if deadline is not None:
            _wait(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(size - got, 1 << 20))
        except InterruptedError:
            continue
        if not chunk:
            raise ChannelClosed("the pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """The next message on `fd`; `deadline` is a time.monotonic() value, None to wait for ever."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"a message announced {size} bytes, over the {MAX_MESSAGE >> 20} MiB limit")
    return unpack(_read_exactly(fd, size, deadline))


def write_message(fd: int, message: dict[str, Any], deadline: float | None = None) -> None:
    data = memoryview(pack(message))
    while data:
        if deadline is not None:
            _wait(fd, select.POLLOUT, deadline)
        try:
            sent = os.write(fd, data[: 1 << 20])
        except InterruptedError:
            continue
        except BrokenPipeError:
            raise ChannelClosed("the pipe closed") from None
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                continue
            raise
        data = data[sent:]
