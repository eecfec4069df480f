"""The template's loop (issue #23): the one process that talks to the kernel never runs a program. It holds the
warm libraries, forks a child for each session (children.py) and hands each request to the child that serves
its session; it reads the child's reply with the framing's bounds, checks that it answers that request, and only
then writes it on the kernel's channel, which no child holds. So a program can hand back its own result and
nothing else: not a reply to a later request, not one for another session.

Sessions: a named session (the cells' "user") keeps one child for as long as it lives, as a notebook keeps its
names; the kernel discards it after a program the guard flagged ("discard"). A fresh run (a verified replay, a
tool check, a compared answer) gets a clean child of its own, which ends with its reply unless the reply holds
something callable (a function or object the kernel may call back by handle); the last FRESH_KEPT of those are
kept. A child that dies, overruns or writes out of turn is killed and its session is gone; the template and the
other sessions carry on. A spare child is forked ahead, between requests, so a run does not wait for a fork."""
from __future__ import annotations

import os
import signal
import time
from collections import OrderedDict
from typing import Any, Callable

from . import framing
from .children import Child, ChildFailed

FRESH_KEPT = 4  # clean children kept because the kernel holds something of theirs to call
SESSIONS_KEPT = 8  # named sessions' children; the least recently used goes first
HELLO_TIMEOUT = 30.0
MISSED = "transpile_missed"  # a reply's circuits its process transpiled without a kept result: for `learn`, never the kernel


class Supervisor:
    def __init__(self, cmd_fd: int, reply_fd: int, make_child: Callable[[], Child],
                 learn: Callable[[list], bool] | None = None):
        self.cmd_fd, self.reply_fd = cmd_fd, reply_fd
        self._make = make_child
        self._learn = learn  # the template's own work on what children reported (worker.learn_transpiled)
        self._to_learn: list = []
        self.children: OrderedDict[str, Child] = OrderedDict()  # session -> child, least recently used first
        self.spare: Child | None = None
        self.busy: Child | None = None

    # --------------------------------------------------------------------------------------------- children
    def all(self) -> list[Child]:
        return [*self.children.values(), *([self.spare] if self.spare else [])]

    def fds(self) -> list[int]:
        """Every descriptor a new child must close: the kernel's channel and each other child's pipes."""
        return [self.cmd_fd, self.reply_fd, *(fd for child in self.all() for fd in child.fds if fd >= 0)]

    def prepare(self) -> Child:
        """The spare child, forked; it confines and warms itself while the template goes on, and greets when
        ready (its hello is read when it is taken)."""
        if self.spare is None:
            self.spare = self._make()
        return self.spare

    def _take(self, session: str, fresh: bool) -> Child:
        child = self.prepare()
        self.spare = None
        if not child.hello:
            child.wait_hello(time.monotonic() + HELLO_TIMEOUT)
        old = self.children.pop(session, None)
        if old is not None:
            old.kill()
        child.session, child.fresh = session, fresh
        self.children[session] = child
        self._trim()
        return child

    def _trim(self) -> None:
        fresh = [s for s, c in self.children.items() if c.fresh]
        named = [s for s, c in self.children.items() if not c.fresh]
        for session in fresh[:-FRESH_KEPT] + named[:-SESSIONS_KEPT]:
            self.children.pop(session).kill()

    def discard(self, session: str) -> bool:
        child = self.children.pop(session, None)
        if child is not None:
            child.kill()
        return child is not None

    def kill_all(self) -> None:
        for child in self.all():
            child.kill()
        self.children.clear()
        self.spare = None

    def on_interrupt(self, signum, frame) -> None:  # noqa: ARG002 - a signal handler's signature
        """Ctrl-C in the kernel reaches the template: it goes on to the program that is running, if any."""
        if self.busy is not None:
            self.busy.interrupt()

    # --------------------------------------------------------------------------------------------- requests
    def serve(self) -> None:
        signal.signal(signal.SIGINT, self.on_interrupt)
        while True:
            try:
                message = framing.read_message(self.cmd_fd)
            except framing.ChannelClosed:
                return
            except framing.ProtocolError as exc:
                message = {"op": "invalid", "error": str(exc)}
            reply = self.answer(message)
            reply["id"] = message.get("id")
            reply["children"] = [child.pid for child in self.all()]
            try:
                framing.write_message(self.reply_fd, reply)
            except framing.ChannelClosed:
                return
            except Exception as exc:  # noqa: BLE001 - a reply too big to send is replaced by one that says so
                framing.write_message(self.reply_fd, {"id": message.get("id"), "ok": False,
                                                      "error_type": "SandboxError",
                                                      "error": f"the reply could not be sent: {exc}"})
            if self._to_learn and self._learn is not None:
                items, self._to_learn = self._to_learn, []
                if self._learn(items) and self.spare is not None:
                    self.spare.kill()  # forked before the template learned: the next one has it
                    self.spare = None
            try:
                self.prepare()  # between requests: the next run finds its process ready
            except OSError:
                self.spare = None  # tried again before the next run, which then says why

    def answer(self, message: dict[str, Any]) -> dict[str, Any]:
        op, session = message.get("op"), str(message.get("session", "default"))
        self._route_releases(message.pop("release", None))
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "discard":
            return {"ok": True, "discarded": self.discard(session)}
        if op not in ("run", "call", "handle"):
            return {"ok": False, "error_type": "ProtocolError",
                    "error": message.get("error") or f"unknown request {op!r}"}
        limit = message.pop("limit", None)
        limit = float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0 else None
        fresh = bool(message.pop("fresh", False))
        child = self.children.get(session)
        if child is not None and not child.quiet():
            self.discard(session)
            return gone("ProtocolError", "a program this session ran earlier left something writing on its channel "
                                         "(a thread sending replies for later requests); its process was discarded, "
                                         "with the names it held", session)
        if op == "run" and (fresh or child is None):
            try:
                child = self._take(session, fresh)
            except (ChildFailed, OSError) as exc:
                return gone(getattr(exc, "kind", "WorkerCrashed"), f"a process for the program could not be started: {exc}", session)
        elif child is None:
            return {"ok": False, "error_type": "SessionGone",
                    "error": f"Nothing is held for the sandbox session {session!r} any more: its process ended (a "
                             "crash, a timeout, a program the guard flagged, or more sessions than the sandbox keeps). "
                             "Run the cell that made it again."}
        self.children.move_to_end(session)
        if child.release:
            message["release"], child.release = child.release, []
        self.busy = child
        try:
            reply = child.request(message, limit)
        except ChildFailed as exc:
            self.children.pop(session, None)
            return gone(exc.kind, str(exc), session, child.signal_name())
        finally:
            self.busy = None
        missed = reply.pop(MISSED, None)
        if isinstance(missed, list):
            self._to_learn = (self._to_learn + [m for m in missed if isinstance(m, dict)])[-8:]
        if child.fresh and op == "run" and not holds_references(reply):
            self.discard(session)  # a clean run that left nothing to call back: its process ends here
        return reply

    def _route_releases(self, pairs: Any) -> None:
        for pair in pairs if isinstance(pairs, list) else ():
            if isinstance(pair, list) and len(pair) == 2:
                child = self.children.get(str(pair[0]))
                if child is not None and len(child.release) < 10_000:
                    child.release.append(pair)


def gone(kind: str, error: str, session: str, signal_name: str | None = None) -> dict[str, Any]:
    """The reply for a request whose process had to go: the kernel words it (Sandbox._ask)."""
    return {"ok": False, "gone": True, "error_type": kind, "error": error, "session": session, "signal": signal_name}


def holds_references(reply: Any) -> bool:
    """Whether a reply hands the kernel a handle or a function to call back (codec's {"t": "handle"|"function"})."""
    stack = [reply]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("t") in ("handle", "function"):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
