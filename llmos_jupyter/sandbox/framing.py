"""Messages between the kernel and the worker: an 8-byte big-endian length, then that many bytes of JSON,
ASCII only (every other character escaped). Nothing else travels on these pipes; binary payloads ride inside as
base64 (codec.py). JSON is chosen because loading it can never run code, whatever the other side sends; and
every message is scanned against limits.py's bounds (size, items, depth, widened text) before json.loads
builds anything, both when it is sent (so an honest side never sends what the other refuses) and read."""
from __future__ import annotations

import errno
import json
import os
import select
import struct
import time
from typing import Any

from . import limits
from .errors import SandboxError, UnsafePayload

HEADER = struct.Struct(">Q")
MAX_MESSAGE = limits.MAX_MESSAGE


class ChannelClosed(SandboxError):
    """The other end of the pipe is gone (the worker died, or the kernel went away)."""


class ChannelTimeout(SandboxError):
    """Nothing complete arrived before the deadline."""


class ProtocolError(SandboxError):
    """Bytes arrived that are not a well-formed message."""


def pack(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("ascii")
    limits.check_json(body)  # UnsafePayload (a SandboxError) naming the bound the message is over
    return HEADER.pack(len(body)) + body


def unpack(body: bytes | bytearray) -> dict[str, Any]:
    _check(body)
    return _parse(body.decode("ascii"))


def _check(body: bytes | bytearray) -> None:
    try:
        limits.check_json(body)
    except UnsafePayload as exc:
        raise ProtocolError(f"{exc}; it was dropped") from None


def _parse(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:
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


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytearray:
    buffer, got = bytearray(size), 0  # filled in place: the message is held once, not as chunks and a join
    with memoryview(buffer) as view:
        while got < size:
            if deadline is not None:
                _wait(fd, select.POLLIN, deadline)
            try:
                read = os.readv(fd, [view[got:got + (1 << 20)]])
            except InterruptedError:
                continue
            if not read:
                raise ChannelClosed("the pipe closed")
            got += read
    return buffer


def read_message(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """The next message on `fd`; `deadline` is a time.monotonic() value, None to wait for ever."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"a message announced {size} bytes, over the bound of {MAX_MESSAGE >> 20} MiB")
    body = _read_exactly(fd, size, deadline)
    _check(body)
    text = body.decode("ascii")
    del body  # the bytes go before json.loads makes its objects: the message is held twice at most, not three times
    return _parse(text)


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
