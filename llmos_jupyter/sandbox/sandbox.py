"""Sandbox: the kernel's handle on a warm worker process that runs model-written programs away from the
kernel (its API keys, the engine, the LLMOS home). Started lazily on the first use and kept; replaced by a
fresh one after a timeout, a crash or restart(), with the reason in the result. Nothing heavy is imported
here: numpy and Qiskit load in the kernel only when a value of theirs comes back."""
from __future__ import annotations

import base64
import shutil
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import cgroup, codec, framing, leftovers, paths, proxies, quota, rng, saving, shipping
from .environment import worker_environment
from .errors import SandboxError, UnsafePayload, WorkerCrashed, WorkerTimeout
from .notices import notices
from .process import WorkerProcess
from .remote import RemoteFunction, kernel_import, remote_exception
from .result import WorkerResult

WORKDIR_PREFIX = "llmos-sandbox-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INTERRUPT_GRACE = 5.0  # seconds a program gets to stop after Ctrl-C before the worker is killed
BOUNDED = "bounded"  # Sandbox.run's default timeout: the sandbox's own bound (self.timeout)
TEMPLATE_SLACK = 15.0  # seconds past a request's limit before the kernel gives up on the template itself
FRESH_MARK = "clean:"  # sessions of clean runs: a process of their own, from the template, ended after the run


def _stop(holder: dict) -> None:
    """Kill the worker and remove a workdir the sandbox made (on close, or when the Sandbox is collected)."""
    worker = holder.pop("worker", None)
    if worker is not None:
        worker.kill()
    made = holder.pop("made_workdir", None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        leftovers.release(made, holder.pop("lock"))


class Sandbox:
    def __init__(self, workdir: Path | None = None, outputs: Path = Path("llmos-outputs"),
                 protect: Sequence[Path] = (), timeout: float = 60.0, memory_mb: int = 8192, file_mb: int = 1024,
                 disk_mb: int = 2048, *, start_timeout: float = 180.0, audit_hook: bool = True,
                 still_running_after: float = 5.0, saved_manifest: Path | None = None):
        made = workdir is None
        if made:  # the folders of kernels that died (their workers could not empty them: leftovers.py)
            leftovers.sweep(Path(tempfile.gettempdir()), WORKDIR_PREFIX)
        cgroup.sweep()  # and the task groups of their workers
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX) if made else workdir).resolve()
        # The worker works in the kernel's folder, so relative paths mean what they mean in a notebook
        # ("llmos-outputs/plot.png"); it may write there only under outputs and the workdir: its other writes
        # there are staged in the workdir and copied in by the kernel after each run (staging.py, saving.py).
        self.cwd = Path.cwd().resolve()
        self.outputs = Path(outputs).resolve()
        self.protect = tuple(Path(p).resolve() for p in protect)
        self.timeout, self.start_timeout = float(timeout), float(start_timeout)
        self.still_running_after = float(still_running_after)  # seconds before on_still_running is first called
        self.memory_mb, self.file_mb = int(memory_mb), int(file_mb)
        self.disk_mb = int(disk_mb)  # all the worker's files together: its workdir and the outputs folder
        self.audit_hook = bool(audit_hook)  # False only to check that the OS layers hold on their own
        if not made:
            self._refuse_importable_workdir()
        paths.check_layout(self.workdir, self.outputs, list(self.protect))
        self._lock = threading.RLock()
        self._holder: dict[str, Any] = {"made_workdir": self.workdir if made else None,
                                        "lock": leftovers.claim(self.workdir) if made else None}
        # Not weakref.finalize: its first use registers an atexit handler in the kernel. When the kernel exits
        # the worker needs none: the reply pipe closing ends it (worker.py), and it empties its workdir.
        self._closed = False
        self.generation = 0  # which worker; functions from an earlier one cannot be called
        self._dropped: list[str] = []
        # What LLMOS wrote in working folders, so a later run may replace its own files and nobody else's; keep
        # it where the worker cannot write (the engine passes the LLMOS home).
        self._manifest = saving.Manifest(saved_manifest)
        self._runs = 0
        self._proxies: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # one proxy per handle
        self._releases: list[list] = []  # [session, id] of dropped proxies, sent with the next request
        self._cleans = 0  # clean runs so far: each has a session (and a process) of its own
        self._binds: dict[str, dict[str, Any]] = {}  # session -> what clean runs defined, for its next request

    # ------------------------------------------------------------------------------------------ lifecycle
    def _refuse_importable_workdir(self) -> None:
        for entry in sys.path:
            if entry and paths.real(entry) == str(self.workdir):
                raise ValueError(f"The sandbox's workdir {self.workdir} is on this kernel's sys.path, so a file a "
                                 "program writes there could be imported by the kernel; choose another folder "
                                 "(or leave workdir=None for a fresh temporary one).")

    def _spawn(self) -> WorkerProcess:
        for folder in (self.workdir, self.workdir / "tmp", self.workdir / "matplotlib", self.outputs):
            folder.mkdir(parents=True, exist_ok=True)
        env, self._dropped = worker_environment(self.workdir, self.outputs, _python_path())
        config = {"workdir": str(self.workdir), "outputs": str(self.outputs), "protect": [str(p) for p in self.protect],
                  "memory_mb": self.memory_mb, "file_mb": self.file_mb, "disk_mb": self.disk_mb, "audit_hook": self.audit_hook,
                  "empty_workdir_on_exit": self._holder.get("made_workdir") is not None,
                  "staging": str(self.workdir / saving.FOLDER)}
        worker = WorkerProcess(config, env, cwd=self.cwd, log_path=self.workdir / "worker.log")
        self._holder["worker"] = worker
        self.generation += 1
        return worker

    def start(self) -> None:
        """Start the worker now without waiting for it: it preloads its libraries in its own process while the
        kernel does other first-use work (loading the embedding model)."""
        with self._lock:
            if not self._closed and self._holder.get("worker") is None:
                self._spawn()

    def _worker(self) -> WorkerProcess:
        """The warm worker, started (and waited for) if need be."""
        if self._closed:
            raise SandboxError("This sandbox is closed; make a new Sandbox() to run more programs.")
        worker = self._holder.get("worker")
        if worker is None:
            worker = self._spawn()
        if worker.ready is None:
            try:
                worker.wait_ready(time.monotonic() + self.start_timeout)
            except (framing.ChannelClosed, framing.ChannelTimeout, framing.ProtocolError) as exc:
                what = worker.exit_description(wait=0.5) if not isinstance(exc, framing.ChannelTimeout) else \
                    f"did not start within {self.start_timeout:g} s"
                tail = worker.log_tail()
                self._discard()
                raise SandboxError(f"The sandbox worker {what} before it was ready. Check that qiskit and qiskit-aer "
                                   f"import in {sys.executable}; the worker's log says:\n{tail or '(nothing)'}") from None
        return worker

    def _discard(self) -> None:
        worker = self._holder.pop("worker", None)
        if worker is not None:
            worker.kill()

    def _replace(self) -> None:
        """Kill the worker and start a fresh one now, so the next run finds it warm (or nearly)."""
        self._discard()
        if not self._closed:
            self._spawn()

    def restart(self) -> None:
        with self._lock:
            self._replace()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            _stop(self._holder)

    def __del__(self) -> None:
        holder = getattr(self, "_holder", None)
        if holder is not None:
            try:
                _stop(holder)
            except Exception:  # noqa: BLE001 - at interpreter shutdown; the worker ends with the kernel anyway
                pass

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pid(self) -> int:
        """The worker's process id (starting it if need be)."""
        with self._lock:
            return self._worker().pid

    @property
    def protections(self) -> dict[str, Any]:
        with self._lock:
            ready = self._worker().ready or {}
            out = dict(ready.get("protections") or {})
        out["environment"] = "scrubbed"
        out["environment_dropped"] = list(self._dropped)
        return out

    @property
    def notices(self) -> list[str]:
        return notices(self.protections)

    # ------------------------------------------------------------------------------------------ requests
    def _ask(self, message: dict[str, Any], what: str, timeout: float | None | str = BOUNDED,
             on_still_running=None) -> tuple[dict[str, Any] | None, str | None, str | None]:
        """(the reply, or None with an error message and type) - after a timeout or a crash the worker has
        already been replaced. `timeout`: seconds, None for none (only Ctrl-C stops it), BOUNDED for
        self.timeout. `on_still_running(seconds)`: called about once a second once the request has taken
        longer than self.still_running_after."""
        limit = self.timeout if timeout == BOUNDED else (None if timeout is None else float(timeout))
        worker = self._worker()
        if self._releases:
            taken, self._releases[:] = list(self._releases), []
            message = {**message, "release": taken}
        if not worker.alive():  # it died between requests (killed from outside, or a program's leftover thread)
            how = worker.exit_description()
            tail, signal_name = worker.log_tail(), worker.exit_signal()
            self._replace()
            return None, self._crash_message(f"{what} was sent", how, tail, signal_name, before=True), "WorkerCrashed"
        started = time.monotonic()
        # The template stops a child that overruns `limit` and says so; the kernel's own deadline is a backstop
        # for a template that stops answering.
        deadline = None if limit is None else started + limit + TEMPLATE_SLACK
        message = {**message, "limit": limit}
        waiting = None
        if on_still_running is not None:
            def waiting() -> None:
                elapsed = time.monotonic() - started
                if elapsed >= self.still_running_after:
                    on_still_running(elapsed)
        try:
            ident = worker.send(message, started + (self.timeout if limit is None else limit))
            try:
                reply = worker.receive(ident, deadline, on_wait=waiting)
            except KeyboardInterrupt:
                # Ctrl-C in the kernel: the program gets its KeyboardInterrupt, as it would in-process, and a
                # short grace to stop; past it the worker is killed and the interrupt goes on up.
                worker.interrupt()
                try:
                    reply = worker.receive(ident, time.monotonic() + INTERRUPT_GRACE)
                except (framing.ChannelTimeout, framing.ChannelClosed, framing.ProtocolError):
                    self._replace()
                    raise KeyboardInterrupt from None
            return self._gone(reply, what, limit, worker)
        except framing.ChannelTimeout:
            self._replace()
            return None, self._timeout_message(what, limit), "Timeout"
        except (framing.ChannelClosed, framing.ProtocolError, OSError) as exc:
            how = worker.exit_description() if not isinstance(exc, framing.ProtocolError) else \
                f"sent something that is not a message ({exc})"
            worker.kill()
            tail, signal_name = worker.log_tail(), worker.exit_signal()
            if isinstance(exc, framing.ProtocolError):
                signal_name = None  # the kernel killed it for what it sent: no hint about its memory limit
            self._replace()
            return None, self._crash_message(what, how, tail, signal_name), "WorkerCrashed"

    def _gone(self, reply: dict, what: str, limit: float | None, worker: WorkerProcess
              ) -> tuple[dict[str, Any] | None, str | None, str | None]:
        """A reply as _ask returns it. The template says when the process that ran the request had to go
        (supervisor.gone): it timed out, crashed or wrote out of turn; the worker itself lives on."""
        if not reply.get("gone"):
            return reply, None, None
        kind, session = str(reply.get("error_type")), str(reply.get("session"))
        lost = "" if session.startswith(FRESH_MARK) else \
            f" Its process was discarded, so the names earlier programs defined in session {session!r} are gone."
        if kind == "Timeout":
            limit = self.timeout if limit is None else limit
            return None, (f"{what[:1].upper()}{what[1:]} ran past {limit:g} s and was stopped.{lost} To give programs "
                          f"longer, raise the limit: Sandbox(timeout={max(2 * limit, 120):g}), or %config "
                          f"LLMOS.run_timeout = {max(2 * limit, 120):g} for replays, tool checks and compared answers."
                          ), "Timeout"
        text = f"While running {what}, {str(reply.get('error'))[:2000]}.{lost}"
        if reply.get("signal") in ("SIGKILL", "SIGABRT", "SIGSEGV", "SIGBUS"):
            text += (f" If the program needed more memory than the sandbox's {self.memory_mb} MiB, raise the limit: "
                     f"Sandbox(memory_mb={2 * self.memory_mb}).")
        tail = worker.log_tail()
        if tail and kind == "WorkerCrashed":
            text += f"\n\nThe worker's last output:\n{tail}"
        return None, text, "WorkerCrashed"

    def _timeout_message(self, what: str, limit: float | None) -> str:
        limit = self.timeout if limit is None else limit  # a request with no bound timed out sending it
        return (f"{what[:1].upper()}{what[1:]} ran past {limit:g} s and was stopped; the worker restarted, so "
                "names defined by earlier cells are gone. To give programs longer, raise the limit: "
                f"Sandbox(timeout={max(2 * limit, 120):g}), or %config LLMOS.run_timeout = {max(2 * limit, 120):g} "
                "for replays, tool checks and compared answers.")

    def _crash_message(self, what: str, how: str, tail: str, signal_name: str | None, before: bool = False) -> str:
        when = f"before {what}" if before else f"while running {what}"
        text = f"The sandbox worker {how} {when}; it restarted, so names defined by earlier cells are gone."
        if signal_name in ("SIGKILL", "SIGABRT", "SIGSEGV", "SIGBUS"):
            text += (f" If the program needed more memory than the sandbox's {self.memory_mb} MiB, raise the limit: "
                     f"Sandbox(memory_mb={2 * self.memory_mb}).")
        if tail:
            text += f"\n\nThe worker's last output:\n{tail}"
        return text

    def run(self, code: str, session: str = "default", timeout: float | None | str = BOUNDED,
            on_still_running=None, *, clean: bool = False, hand_on: bool = True) -> WorkerResult:
        """Run `code` in the worker, in `session`'s namespace (kept between runs, in a process that serves that
        session alone). `clean`: run it instead in a clean process forked from the warm template, as a verified
        replay must; what it defines is handed to `session` for its next program (unless `hand_on` is False:
        a check or a compared answer, whose names no later program needs). `timeout`: seconds; None to
        let it run until it finishes or Ctrl-C interrupts it (a cell's own program, as in a notebook); by default
        the sandbox's bound. `on_still_running(seconds)`: called about once a second while a run that has gone
        on past `still_running_after` seconds is still going, so a caller can say so."""
        started = time.perf_counter()
        with self._lock:
            protections = self.protections  # starts the worker if need be; what is in force for this run
            generation = self.generation
            home, message = session, {"op": "run", "code": code, "session": session}
            if clean:
                self._cleans += 1
                session = f"{FRESH_MARK}{home}-{self._cleans}"
                message = {**message, "session": session, "fresh": True}
            else:
                message = self._with_binds(message, session)
            reply, error, error_type = self._ask(message, "the program", timeout, on_still_running)
            self._runs += 1
            files = self._save_files()
        ms = (time.perf_counter() - started) * 1000
        over = self._over_quota()
        if reply is None:
            result = WorkerResult(error=error, error_type=error_type, ms=ms, protections=protections)
        elif not reply.get("ok"):
            result = WorkerResult(output=str(reply.get("output") or ""), error=str(reply.get("error")),
                                  error_type=str(reply.get("error_type")), ms=ms, protections=protections)
        else:
            result = self._result(reply, session, generation, ms, protections)
            if clean and hand_on:
                self._hand_on(home, result.namespace)
        return replace(result, refused=result.refused + over, saved=files.saved, not_saved=files.not_saved)

    def discard(self, session: str) -> None:
        """End the process that serves `session` (after a program the guard flagged: whatever it patched goes
        with it); its next program starts in a fresh one, forked from the clean template."""
        with self._lock:
            self._binds.pop(session, None)
            worker = self._holder.get("worker")
            if worker is not None and worker.ready is not None and worker.alive():
                self._ask({"op": "discard", "session": session}, "discarding a session")

    def _hand_on(self, session: str, values: dict[str, Any]) -> None:
        """What a clean run defined, kept to be put into `session` with its next request (by value: a function
        or object held in the clean run's own process stays callable from the kernel, not from there)."""
        plain = {n: v for n, v in values.items() if not isinstance(v, (RemoteFunction, proxies.RemoteObject))}
        if plain:
            self._binds.setdefault(session, {}).update(plain)

    def _with_binds(self, message: dict[str, Any], session: str) -> dict[str, Any]:
        waiting = self._binds.pop(session, None)
        if not waiting:
            return message
        encoded = {}
        for name, value in waiting.items():
            try:
                encoded[name] = codec.encode(value, function=lambda _: None)
            except Exception:  # noqa: BLE001 - a value that cannot travel back stays in the kernel only
                continue
        return {**message, "bind": encoded}

    def _over_quota(self) -> tuple[str, ...]:
        """Measured here, after the run: the worker's own check can be patched away by a program."""
        folders = (self.workdir, self.outputs)
        used = quota.usage(folders)
        return (quota.over_message(used, self.disk_mb, folders),) if used > self.disk_mb << 20 else ()

    def _save_files(self) -> saving.Saving:
        """Copy into the working folder what the run staged and the kernel accepts (saving.py): the kernel
        looks at the staging folder itself, whatever the reply said."""
        try:
            return saving.collect(self.workdir, self.cwd, self._manifest, self._runs)
        except OSError as exc:
            return saving.Saving(not_saved=(f"The files the program wrote in the working folder could not be "
                                            f"looked at ({exc}); they stay in {self.workdir / saving.FOLDER}.",))

    def _result(self, reply: dict, session: str, generation: int, ms: float, protections: dict) -> WorkerResult:
        function = self._decoder(session, generation)

        left = [str(n) for n in reply.get("left_behind") or []]
        refused: list[str] = []
        namespace = {}
        for name, encoded in (reply.get("namespace") or {}).items():
            try:
                namespace[str(name)] = codec.decode(encoded, function=function)
            except UnsafePayload as exc:
                left.append(str(name))  # never loaded: it stays (as far as the kernel knows) in the worker
                refused.append(f"{str(name)[:80]} stayed in the worker: {exc}")
        imports = reply.get("imports")
        for name, reference in imports.items() if isinstance(imports, dict) else ():
            if str(name) in namespace:
                continue
            found = kernel_import(str(name), reference)  # the kernel's own module, class or function, or None
            if found is None:
                left.append(str(name))
            else:
                namespace[str(name)] = found
        try:
            value = codec.decode(reply.get("value"), function=function)
        except UnsafePayload as exc:
            value = None
            refused.append(f"The program's last value stayed in the worker: {exc}")
        error, error_type = reply.get("error"), reply.get("error_type")
        if error_type == "MemoryError":
            error = (f"{error}\nThe sandbox allows {self.memory_mb} MiB; if the program needs more, raise the "
                     f"limit: Sandbox(memory_mb={2 * self.memory_mb}).")
        produced = reply.get("produced") if isinstance(reply.get("produced"), dict) else {}
        counts = reply.get("counts")
        if not (isinstance(counts, dict) and all(isinstance(v, int) for v in counts.values())):
            counts = None
        shots = reply.get("shots") if isinstance(reply.get("shots"), int) else None
        return WorkerResult(output=str(reply.get("output") or ""), error=None if error is None else str(error),
                            error_type=None if error_type is None else str(error_type), counts=counts, shots=shots,
                            produced=produced, value=value, namespace=namespace, left_behind=tuple(left),
                            refused=tuple(refused), figures=tuple(_pngs(reply.get("figures"))), ms=ms,
                            protections=protections)

    # ------------------------------------------------------------------------------------------ references
    def _decoder(self, session: str, generation: int):
        """What the kernel makes of the worker's references: a function handle a RemoteFunction, any other
        handle a proxy (proxies.py). Shipped source and module names are the kernel's to send, never to take."""
        def function(reference: dict) -> Any:
            if reference.get("t") == "function":
                return RemoteFunction(self, session, reference, generation)
            if reference.get("t") == "handle":
                return proxies.proxy_for(self, reference, session, generation, self._proxies)
            raise UnsafePayload(f"a {str(reference.get('t'))[:40]!r} reference from the worker was refused")
        return function

    def _encoder(self):
        """How the kernel's arguments travel: this sandbox's proxies and functions by their handles, the user's
        own functions, classes and objects as source (shipping.py)."""
        def reference(value: Any) -> dict | None:
            if isinstance(value, RemoteFunction):
                return value.reference() if value._sandbox is self else None
            if isinstance(value, proxies.RemoteObject):
                if value._llmos_box is not self:
                    return None
                proxies.stale(value._llmos_generation, self.generation)
                return value._llmos_reference()
            return shipping.ship(value, lambda part: codec.encode(part, function=reference))
        return reference

    def _release_later(self, proxy: proxies.RemoteObject) -> None:
        if proxy._llmos_generation == self.generation:
            self._releases.append([proxy._llmos_session, proxy._llmos_id])

    def _keep(self, key: tuple) -> None:
        """A handle the worker sent again: a release queued for it (its earlier proxy was dropped) must not go."""
        pair = [key[1], key[2]]
        while pair in self._releases:
            self._releases.remove(pair)

    def handle(self, proxy: proxies.RemoteObject, action: str, name: str, args: Sequence[Any] = (),
               kwargs: dict[str, Any] | None = None) -> Any:
        """One attribute read or set, call or dunder on the object `proxy` stands for (proxies.py)."""
        proxies.stale(proxy._llmos_generation, self.generation)
        label = f"{proxy._llmos_type.rpartition('.')[2]}.{name}"
        return self._request({"op": "handle", "session": proxy._llmos_session, "handle": proxy._llmos_id,
                              "action": action, "name": name}, proxy._llmos_session, label, args, kwargs)

    def call(self, session: str, function_name: str, args: Sequence[Any] = (),
             kwargs: dict[str, Any] | None = None, handle: int | None = None) -> Any:
        """Call `function_name`, defined by an earlier run in `session` (or the function held as `handle`), in
        the worker; its value comes back converted safely (what has no safe form, as a proxy). The user's own
        functions and objects go as source (shipping.py). When it raises, the same exception type where the
        kernel can name it, else RemoteError (remote.remote_exception); WorkerTimeout / WorkerCrashed when the
        worker had to go. The kernel's random streams go with the call and move on only along their own
        sequence (rng.py)."""
        message = {"op": "call", "session": session, "name": function_name}
        if handle is not None:
            message["handle"] = handle
        return self._request(message, session, function_name, args, kwargs)

    def _request(self, message: dict, session: str, function_name: str, args: Sequence[Any],
                 kwargs: dict[str, Any] | None) -> Any:
        streams = rng.capture()
        reference = self._encoder()
        try:
            message = {**message, "args": codec.encode(list(args), function=reference),
                       "kwargs": codec.encode(dict(kwargs or {}), function=reference), "rng": streams}
        except codec.Unconvertible as exc:
            raise SandboxError(f"An argument to {function_name}() cannot travel to the sandbox: {exc}. Pass JSON "
                               "values, circuits, arrays, quantum_info objects, or functions, classes and objects "
                               "defined in your own code (they go as source).") from None
        with self._lock:
            self._worker()
            generation = self.generation
            reply, error, error_type = self._ask(message, f"{function_name}()")
            self._runs += 1
            files = self._save_files()  # a function may save a file the caller reads next (HumanEval's bell.qpy)
        for refusal in files.not_saved:
            warnings.warn(refusal, stacklevel=3)
        if reply is None:
            raise (WorkerTimeout if error_type == "Timeout" else WorkerCrashed)(error)
        output = reply.get("output")
        if output:
            sys.stdout.write(str(output))
        rng.advance(streams, reply.get("rng"))  # never the worker's state: how far along the kernel's own it got
        if not reply.get("ok"):
            raise remote_exception(function_name, reply) from None
        function = self._decoder(session, generation)
        _write_back(reply.get("changed"), args, kwargs or {}, function)
        return codec.decode(reply.get("value"), function=function)


def _write_back(changed: Any, args: Sequence[Any], kwargs: dict[str, Any], function) -> None:
    """Change the caller's arguments in place as the call changed the worker's copies of them."""
    if not isinstance(changed, dict):
        return
    places = [(args[int(i)], encoded) for i, encoded in (changed.get("args") or {}).items()
              if isinstance(i, str) and i.isdigit() and int(i) < len(args)]
    places += [(kwargs[k], encoded) for k, encoded in (changed.get("kwargs") or {}).items() if k in kwargs]
    for original, encoded in places:
        now = codec.decode(encoded, function=function)
        if isinstance(original, list) and isinstance(now, list):
            original[:] = now
        elif isinstance(original, dict) and isinstance(now, dict):
            original.clear()
            original.update(now)
        elif isinstance(original, set) and isinstance(now, set):
            original.clear()
            original.update(now)
        elif type(original).__name__ == "QuantumCircuit" and type(now) is type(original):
            original.__dict__.update(now.__dict__)  # `now` is a fresh copy nobody else holds


def _pngs(items: Any) -> list[bytes]:
    """The figures a run showed, as PNG bytes for the notebook to draw. The page decodes each in full, so one
    whose IHDR claims more than limits.MAX_PIXELS, or past limits.MAX_SHOWN_PIXELS in all, is left out, with a
    warning that says so."""
    import warnings

    from . import limits

    out, shown = [], 0
    for item in items if isinstance(items, list) else []:
        try:
            data = base64.b64decode(str(item).encode("ascii"), validate=True)
            width, height = limits.png_size(data)
            if shown + width * height > limits.MAX_SHOWN_PIXELS:
                raise limits.refuse(f"a figure bringing the run's figures to {shown + width * height:,} pixels",
                                    f"{limits.MAX_SHOWN_PIXELS:,} pixels")
            shown += width * height
        except ValueError:
            continue
        except UnsafePayload as exc:
            if data.startswith(PNG_MAGIC):
                warnings.warn(f"A figure the program drew was not shown: {exc}.", stacklevel=2)
            continue
        out.append(data)
    return out


def _python_path() -> list[str]:
    """The worker imports this package from where the kernel does, and the preloaded packages from wherever
    they are installed outside site-packages."""
    import importlib.util
    import site

    entries = [paths.package_root()]
    site_dirs = {paths.real(d) for d in site.getsitepackages()} if hasattr(site, "getsitepackages") else set()
    for name in paths.PRELOADED:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            entry = str(Path(location).resolve().parent)
            if entry not in site_dirs and entry not in entries:
                entries.append(entry)
    return entries
