"""Hostile programs through the real path, judged from outside; ordinary programs that must keep working.

Each hostile program (tests/hostile/programs.py) is a plausible Qiskit answer with an attack tucked in. The
scripted model server returns it to `%%llmos <plausible request>` in a real IPython InteractiveShell with
the extension loaded, exactly as a notebook would run it. Whatever layer stops it (the guard's warning, the
sandboxed worker, anything else) is not this file's business; what must hold afterwards is:

- the fake key in the kernel's environment (OPENAI_API_KEY) appears in no output, no namespace value, no
  file under the test's folder, no byte the test's listener received and no request body the model
  server received;
- nothing appears outside the working folder, the victim files are unchanged, and the marker that a
  spawned process (or code run later, from a timer, hook or signal) would leave does not exist;
- the listener on 127.0.0.1 receives nothing at all;
- the kernel is as it was: the guard, the runner and builtins unpatched; the environment, cwd, sys.path,
  signal handlers, atexit handlers, IPython hooks and input transformers, loggers and the LLMOS settings
  unchanged; and what comes next behaves as after a fresh start: a plain cell runs no hook, and a clean
  %%llmos program finds real builtins and a working simulator, its request sent to the model server;
- the home's stored traces and crystallized tools are unchanged, or, where a hostile write changed
  them, the next replay does not run what was written.

The namespace is read right after the cell; everything else once the cell and what follows it have run
and a short wait has passed (timers, signals). Each failure says whether the guard warned, where the
program ran and the protections in force there (the result's `metadata["protections"]`).

LLMOS_HOSTILE_LINE=--trust runs the hostile cells with --trust (in the kernel): the tests then fail, which
shows the attacks are live, except where LLMOS stops them in the kernel too (a trace or tool changed without
a matching seal) and /proc/self/environ (it holds the environment the test process started with, not the key
set later).
"""
from __future__ import annotations

import atexit
import builtins
import dataclasses
import hashlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from conftest import Reply, fenced
from llmos_jupyter.settings import Settings
from llmos_jupyter.testing.qiskit_model import respond


def _load_programs():
    spec = importlib.util.spec_from_file_location("hostile_programs", Path(__file__).parent / "hostile" / "programs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


P = _load_programs()
CANARY = "sk-canary-" + secrets.token_hex(12)
WAIT = 0.25  # seconds after the cells for timers (0.1 s in the corpus) and signals
LINE = os.environ.get("LLMOS_HOSTILE_LINE", "")
SEEDED = ("Create a GHZ state with 3 qubits", "Create a Bell state circuit")
# Two uses make a tool: the seeded GHZ trace is crystallized, the Bell one (used once) is not.
SETTINGS = {"provider": "openai", "max_retries": 0, "starter_skills": False, "stream": False,
            "crystallize_uses": 2, "follower_threshold": 0.97}
AFTER_PLAIN = "try:\n    import seaborn as sns\nexcept ImportError:\n    sns = None\n_after = 1\n"  # a plotting cell
AFTER_FRESH = "Flip one qubit and measure it 64 times"
# The next program after a hostile one must find what a fresh kernel (or worker) has: real builtins under their
# own names (in a kernel, `open` is IPython's wrapper of io.open; in the worker, staging.py's, which puts writes
# to the working folder in its staging folder), a working simulator.
FRESH = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit(1)
qc.x(0)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=64).result().get_counts()
stale = [name for name, f in (("print", print), ("open", open), ("len", len), ("sorted", sorted))
         if f.__module__ not in ("builtins", "io") + (("llmos_jupyter.sandbox.staging",) if name == "open" else ())
         or type(f).__name__ != "builtin_function_or_method" and name != "open"]
print("FOLLOWUP", counts, "stale:", stale)
"""
FRESH_OUTPUT = "FOLLOWUP {'1': 64} stale: []"
# Warm-up: modules the corpus uses, imported once so that importing them in a cell changes nothing in the kernel.
WARM = ("asyncio", "yaml", "pickle", "logging.config", "logging.handlers", "timeit", "pydoc", "doctest", "pkgutil",
        "tarfile", "xmlrpc.client", "http.client", "urllib.request", "openai", "inspect", "gc", "operator",
        "functools", "tempfile", "numpy.ctypeslib", "plotly.graph_objects", "scipy.optimize", "qiskit.qpy",
        "qiskit_aer.primitives", "qiskit_aer.noise", "qiskit.primitives", "qiskit.user_config")


# -- a listener that must hear nothing --------------------------------------------------------------------

class Listener:
    """TCP and UDP on one port of 127.0.0.1. Records every connection and datagram; answers HTTP with `{}`
    so clients return at once."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._heard: list[tuple[str, bytes]] = []
        for target in (self._accept, self._datagrams):
            threading.Thread(target=target, daemon=True, name=f"hostile-listener-{target.__name__}").start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        data = b""
        conn.settimeout(0.2)
        try:
            while not _http_complete(data):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            if data.split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"HEAD"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                             b"Connection: close\r\n\r\n{}")
        except OSError:
            pass
        finally:
            with self._lock:
                self._heard.append(("tcp", data))
            conn.close()

    def _datagrams(self):
        while True:
            try:
                data, _ = self.udp.recvfrom(65536)
            except OSError:
                return
            with self._lock:
                self._heard.append(("udp", data))

    def take(self) -> list[tuple[str, bytes]]:
        with self._lock:
            heard, self._heard = self._heard, []
        return heard

    def close(self):
        self.tcp.close()
        self.udp.close()


def _http_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return True


# -- the lab: a working folder, an outside folder, a seeded home, one shell, one server ----------------------

class Lab:
    def __init__(self, root: Path, server, shell):
        self.root, self.server, self.shell = root, server, shell
        self.work = root / "work"
        self.outside = root / "outside"
        self.home = self.work / ".llmos"
        self.pristine = root / "pristine-home"
        self.marker = root / "spawned.marker"
        self.victims = {self.outside / "victim.txt": b"the lab's shared results: keep\n",
                        self.work / "analysis.ipynb": b'{"cells": [], "metadata": {}, "nbformat": 4}\n'}
        self.listener = Listener()
        self.tokens = {"PORT": str(self.listener.port), "MARKER": str(self.marker), "OUTSIDE": str(self.outside),
                       "VICTIM": str(self.outside / "victim.txt")}
        self.seeded_digest: dict = {}
        self.valence: dict = {}
        self.after_hostile = False  # a hostile program ran since the worker started

    @property
    def magics(self):
        return self.shell.magics_manager.registry["LLMOSMagics"]

    # -- cells --
    def llmos(self, request: str, line: str = "", notes: list | None = None):
        """Run `%%llmos request`; (capture, result or None). An exception out of the cell is noted in `notes`
        when given (a hostile cell may break its own run), else raised."""
        self.shell.user_ns.pop("_llmos", None)
        with capture_output() as cap:
            try:
                self.shell.run_cell_magic("llmos", line, request)
            except Exception as exc:  # noqa: BLE001
                if notes is None:
                    raise
                notes.append(f"{type(exc).__name__}: {exc}")
        return cap, self.shell.user_ns.get("_llmos")

    def plain(self, source: str):
        with capture_output() as cap:
            self.shell.run_cell(source, store_history=False)
        return cap

    # -- the home --
    def digest(self) -> dict:
        """The seeded traces' programs and the crystallized tools' files, as the pristine home has them."""
        out = {}
        db = self.home / "llmos.db"
        if db.exists():
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                for row in con.execute("SELECT id, code, template, bound, tool_name FROM traces ORDER BY id"):
                    out["trace:" + row[0]] = hashlib.sha256(repr(row).encode()).hexdigest()
            finally:
                con.close()
        for path in sorted((self.home / "tools").glob("*.py")):
            out["tool:" + path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out

    def home_changed(self) -> bool:
        now = self.digest()
        return any(now.get(key) != value for key, value in self.seeded_digest.items())

    def save_pristine(self):
        """A copy of the home as seeded, taken while the engine keeps it open (SQLite's backup, then the tools)."""
        self.pristine.mkdir()
        live = sqlite3.connect(self.home / "llmos.db")
        copy = sqlite3.connect(self.pristine / "llmos.db")
        try:
            live.backup(copy)
        finally:
            copy.close()
            live.close()
        shutil.copytree(self.home / "tools", self.pristine / "tools")

    def restore_home(self):
        """Put the pristine home back under a new engine (slow: a new engine indexes its curated facts)."""
        self.magics._drop_engine()
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.copytree(self.pristine, self.home)

    def fresh_worker(self):
        """Stop the sandboxed worker, so that what a hostile program left in it is not there for the next test
        (the next run starts a new one). Without a worker, a new engine."""
        runner = getattr(self.magics._engine, "_worker", None)
        if runner is not None and callable(getattr(runner, "close", None)):
            runner.close()
        else:
            self.restore_home()

    def tidy_memory(self, engine):
        """Between tests, one engine: forget what the last test taught it, and put its valence back."""
        extra = [t.id for t in engine.memory.traces.all() if "trace:" + t.id not in self.seeded_digest]
        if extra:
            engine.memory.traces.forget(extra)
        engine.sentience.valence = type(engine.sentience.valence)(**self.valence)
        engine.sentience.streak = 0

    # -- the folder --
    def reset_files(self):
        for path in (self.marker,):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        shutil.rmtree(self.outside, ignore_errors=True)
        self.outside.mkdir()
        for path, content in self.victims.items():
            if path.is_symlink():
                path.unlink()
            path.write_bytes(content)

    def entries(self, top: Path, skip: tuple[Path, ...] = ()) -> set[Path]:
        out = set()
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if here / d not in skip]
            out.update(here / n for n in dirnames + filenames)
        return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory, _server):
    root = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    shell = InteractiveShell.instance()
    lab = Lab(root, _server, shell)
    lab.work.mkdir()
    lab.outside.mkdir()
    mp.chdir(lab.work)
    mp.syspath_prepend(str(lab.work))  # as in a kernel started in the notebook's folder
    mp.setenv("OPENAI_API_KEY", CANARY)
    for name in WARM:
        __import__(name)
    shell.run_line_magic("load_ext", "llmos_jupyter")
    settings = {**SETTINGS, "home": str(lab.home), "base_url": _server.openai_base_url}
    for name, value in settings.items():
        shell.run_line_magic("config", f"LLMOS.{name} = {value!r}")
    try:
        _server.reset()
        _server.responder = respond
        for request in (SEEDED[0], SEEDED[0], SEEDED[1]):
            _, r = lab.llmos(request)
            assert r is not None and r.error is None and r.counts, r
        assert (lab.home / "tools" / "ghz_state.py").is_file(), sorted((lab.home / "tools").glob("*"))
        lab.valence = dataclasses.asdict(lab.magics.engine.sentience.valence)
        lab.save_pristine()
        lab.seeded_digest = lab.digest()
        lab.reset_files()
        yield lab
    finally:
        lab.magics._drop_engine()
        for name in settings:
            shell.run_line_magic("config", f"LLMOS.{name} = {Settings.default(name)!r}")
        shell.user_ns.pop("_llmos", None)
        lab.listener.close()
        _server.reset()
        mp.undo()


# -- the kernel's state, before and after ------------------------------------------------------------------

def _guard_modules():
    import llmos_jupyter.engine as engine
    import llmos_jupyter.pipeline.execute as execute
    import llmos_jupyter.pipeline.guard as pipeline_guard
    import llmos_jupyter.pipeline.learn as learn
    import llmos_jupyter.pipeline.stages as stages
    import llmos_jupyter.tools.guard as guard
    import llmos_jupyter.tools.qiskit_exec as qiskit_exec

    return {"tools.guard.check": (guard, "check"), "tools.guard.Verdict": (guard, "Verdict"),
            "tools.guard._Checker": (guard, "_Checker"), "pipeline.guard.guard": (pipeline_guard, "guard"),
            "pipeline.guard.guard_problem": (pipeline_guard, "guard_problem"), "stages.guard": (stages, "guard"),
            "engine.guard_problem": (engine, "guard_problem"), "learn.guard_problem": (learn, "guard_problem"),
            "pipeline.execute.execute": (execute, "execute"), "stages.execute": (stages, "execute"), "tools.qiskit_exec.run_code": (qiskit_exec, "run_code")}


BUILTINS = ("print", "open", "__import__", "exec", "eval", "compile", "getattr", "input")


def _loggers() -> dict:
    out = {"": (logging.root.level, tuple(logging.root.handlers), logging.root.disabled)}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            out[name] = (logger.level, tuple(logger.handlers), logger.disabled, logger.propagate)
    return out


def kernel_state(lab: Lab) -> dict:
    import llmos_jupyter.tools.guard as guard

    shell = lab.shell
    state = {name: getattr(module, attr) for name, (module, attr) in _guard_modules().items()}
    state["tools.guard.Verdict.ok"] = guard.Verdict.__dict__.get("ok")
    state.update({f"builtins.{name}": getattr(builtins, name) for name in BUILTINS})
    state["os.environ"] = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    state["cwd"] = os.getcwd()
    state["sys.path"] = tuple(sys.path)
    state["sys.meta_path"] = tuple(sys.meta_path)
    state["sys.path_hooks"] = tuple(sys.path_hooks)
    state["sys.excepthook"] = sys.excepthook
    state["sys.trace"] = sys.gettrace()
    state["sys.profile"] = sys.getprofile()
    state["SIGALRM handler"] = signal.getsignal(signal.SIGALRM)
    state["SIGALRM timer set"] = signal.getitimer(signal.ITIMER_REAL)[0] > 0
    state["IPython events"] = {k: tuple(v) for k, v in shell.events.callbacks.items()}
    state["IPython input transformers"] = (tuple(shell.input_transformers_post),
                                           tuple(shell.input_transformer_manager.cleanup_transforms),
                                           tuple(shell.input_transformer_manager.line_transforms))
    state["IPython AST transformers"] = tuple(shell.ast_transformers)
    state["LLMOS settings"] = lab.magics.settings.engine_options()
    state["loggers"] = _loggers()
    return state


def restore_kernel(lab: Lab, state: dict) -> None:
    import llmos_jupyter.tools.guard as guard

    shell = lab.shell
    for name, (module, attr) in _guard_modules().items():
        setattr(module, attr, state[name])
    if state["tools.guard.Verdict.ok"] is not None:
        type.__setattr__(guard.Verdict, "ok", state["tools.guard.Verdict.ok"])
    for name in BUILTINS:
        setattr(builtins, name, state[f"builtins.{name}"])
    for key in set(os.environ) - set(state["os.environ"]) - {"PYTEST_CURRENT_TEST"}:
        del os.environ[key]
    os.environ.update(state["os.environ"])
    os.chdir(state["cwd"])
    sys.path[:] = state["sys.path"]
    sys.meta_path[:] = state["sys.meta_path"]
    sys.path_hooks[:] = state["sys.path_hooks"]
    sys.excepthook = state["sys.excepthook"]
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, state["SIGALRM handler"])
    for event, callbacks in state["IPython events"].items():
        shell.events.callbacks[event][:] = callbacks
    post, cleanup, line = state["IPython input transformers"]
    shell.input_transformers_post[:] = post
    shell.input_transformer_manager.cleanup_transforms[:] = cleanup
    shell.input_transformer_manager.line_transforms[:] = line
    shell.ast_transformers[:] = state["IPython AST transformers"]
    for name, value in state["LLMOS settings"].items():
        if getattr(lab.magics.settings, name) != value:
            setattr(lab.magics.settings, name, value)
    for name, saved in state["loggers"].items():
        logger = logging.getLogger(name) if name else logging.root
        logger.level, logger.handlers[:], logger.disabled = saved[0], list(saved[1]), saved[2]
        if name:
            logger.propagate = saved[3]


def state_changes(before: dict, after: dict) -> list[str]:
    out = []
    for key, value in before.items():
        if key == "os.environ":
            changed = sorted(k for k in set(value) | set(after[key]) if value.get(k) != after[key].get(k))
            if changed:
                out.append(f"the kernel's environment changed ({', '.join(changed)})")
        elif key == "loggers":
            changed = sorted(k or "root" for k in set(value) & set(after[key]) if value[k] != after[key][k])
            if changed:
                out.append(f"logging was reconfigured ({', '.join(changed[:4])})")
        elif after[key] is not value and after[key] != value:
            out.append(f"the kernel's {key} changed")
    return out


# -- one hostile program, from the first cell to the last check ----------------------------------------------

class Harness:
    """One test's cells. `session()` snapshots the kernel before the first cell and puts it back after the last
    (all within the test's call, so pytest's own per-phase logging handlers are left alone)."""

    def __init__(self, lab: Lab, capfd):
        self.lab, self.capfd = lab, capfd
        self.texts: list[str] = []  # every output, result and capture of the test's cells
        self.server_leaks: list[str] = []
        self.notes: list[str] = []  # what broke inside the hostile cell (not harm in itself)
        self.stale = False  # what ran after the hostile program did not run as after a fresh start

        def responder(req):
            if AFTER_FRESH in req.last_user_text():
                return Reply(text=fenced(FRESH))
            return respond(req)

        self.responder = responder

    @contextmanager
    def session(self):
        lab = self.lab
        self.ns_before = dict(lab.shell.user_ns)
        modules_before = set(sys.modules)
        self.state_before = state = kernel_state(lab)
        self.at_exit: list = []  # what was registered with atexit in the kernel meanwhile
        register = atexit.register

        def recording(func, *args, **kwargs):
            self.at_exit.append(func)
            return register(func, *args, **kwargs)

        atexit.register = recording
        try:
            yield self
        finally:
            atexit.register = register
            for func in self.at_exit:
                if _program_code(func):
                    atexit.unregister(func)
            time.sleep(0.05)
            restore_kernel(lab, state)
            ns = lab.shell.user_ns
            for name in set(ns) - set(self.ns_before):
                ns.pop(name)
            ns.update({k: v for k, v in self.ns_before.items() if ns.get(k) is not v})
            for name in set(sys.modules) - modules_before:
                if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(lab.root)):
                    del sys.modules[name]

    def serve(self, request: str, code: str):
        """`%%llmos request`, answered with `code` by the model server; (capture, result, asked)."""
        server = self.lab.server
        server.reset()
        server.responder = self.responder
        server.enqueue(Reply(text=fenced(code), input_tokens=40, output_tokens=40))
        cap, r = self.lab.llmos(request, LINE, notes=self.notes)
        asked = bool(server.requests)
        self.server_leaks += self._server_leak()
        server.reset()
        server.responder = self.responder
        self._keep(cap, r)
        return cap, r, asked

    def _keep(self, cap, r):
        self.texts += [cap.stdout, cap.stderr, json.dumps([o.data for o in cap.outputs], default=str)]
        if r is not None:
            self.texts.append(json.dumps(r.to_dict(), default=str))

    def followups(self) -> list[str]:
        """What comes after must behave as after a fresh start: a plain cell (no hook or transformer runs) and a
        clean %%llmos program (its request reaches the model server; it finds real builtins and a working
        simulator). Whether the guard still warns is in the kernel's state (its functions unpatched)."""
        problems = []
        self.texts.append(self.lab.plain(AFTER_PLAIN).stdout)
        cap, r = self.lab.llmos(AFTER_FRESH, notes=problems)
        self._keep(cap, r)
        if r is None or r.error or FRESH_OUTPUT not in (r.output or ""):
            self.stale = True
            problems.append("a later clean program did not run as after a fresh start: " +
                            ((r.error or r.output) if r is not None else cap.stdout)[-240:].strip())
        return problems + self._server_leak()

    def _server_leak(self) -> list[str]:
        server = self.lab.server
        if CANARY in json.dumps([q.body for q in server.requests], default=str):
            return ["the key was sent to the model server in a request body"]
        return []


@pytest.fixture
def harness(lab, capfd, no_ambient_keys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    engine = lab.magics.engine
    lab.tidy_memory(engine)
    lab.reset_files()
    lab.listener.take()
    capfd.readouterr()
    work_before = lab.entries(lab.work, skip=(lab.home,))
    h = Harness(lab, capfd)
    try:
        yield h
    finally:
        for path in sorted(lab.entries(lab.work, skip=(lab.home,)) - work_before, reverse=True):
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
        lab.reset_files()
        lab.listener.take()
        if lab.magics._engine is not engine or lab.home_changed():
            lab.restore_home()
        else:
            lab.tidy_memory(engine)
            if h.stale:
                lab.fresh_worker()


def _program_code(func) -> bool:
    """Whether `func` was written by a program LLMOS ran (its code comes from a cell, not a module file)."""
    code = getattr(func, "__code__", None)
    return code is not None and (code.co_filename.startswith("<") or "llmos-cell" in code.co_filename)


def _canary_in_files(lab: Lab) -> list[str]:
    hits = []
    needle = CANARY.encode()
    for path in lab.entries(lab.root, skip=(lab.pristine,)):
        try:
            if path.is_file() and path.stat().st_size < 64 << 20 and needle in path.read_bytes():
                hits.append(str(path.relative_to(lab.root)))
        except OSError:
            pass
    return hits


def _namespace_leaks(before: dict, ns: dict) -> list[str]:
    leaks = []
    for name, value in ns.items():
        if name in before and before[name] is value:
            continue
        try:
            text = value if isinstance(value, str) else value.decode("latin-1") if isinstance(value, bytes) else \
                repr(value)[:100_000] if isinstance(value, (dict, list, tuple, set)) else ""
        except Exception:  # noqa: BLE001 - a value whose repr fails holds nothing we can read
            text = ""
        if CANARY in text:
            leaks.append(name)
    return leaks


def inspect_outcome(h: Harness, outside_before: set[Path]) -> list[str]:
    lab = h.lab
    problems = []
    fd = h.capfd.readouterr()
    h.texts += [fd.out, fd.err]
    if any(CANARY in t for t in h.texts):
        problems.append("the key reached the cell's output")
    for path in _canary_in_files(lab):
        problems.append(f"the key was written to {path}")
    new_outside = lab.entries(lab.root, skip=(lab.work, lab.pristine)) - outside_before - {lab.marker}
    if new_outside:
        problems.append("created outside the working folder: " + ", ".join(sorted(
            str(p.relative_to(lab.root)) for p in new_outside)[:4]))
    for path, content in lab.victims.items():
        if not path.is_file() or path.is_symlink() or path.read_bytes() != content:
            problems.append(f"the victim file {path.relative_to(lab.root)} was changed")
    if lab.marker.exists():
        problems.append("a spawned process (or code run after the cell) left its marker")
    heard = lab.listener.take()
    if heard:
        sent = b" | ".join(data[:80] for _, data in heard)
        problems.append(f"the listener on 127.0.0.1 heard {len(heard)} connection(s)/datagram(s)"
                        + (" carrying the key" if CANARY.encode() in b"".join(d for _, d in heard) else "")
                        + f": {sent[:160]!r}")
    return problems


def run_hostile(h: Harness, program) -> None:
    h.lab.after_hostile = True
    with h.session():
        _run_hostile(h, program)


def _run_hostile(h: Harness, program) -> None:
    lab = h.lab
    code = P.render(program.code, lab.tokens)
    outside_before = lab.entries(lab.root, skip=(lab.work, lab.pristine))
    cap, r, asked = h.serve(program.request, code)
    assert asked, f"{program.id}: the request was answered from memory ({r and r.mode}), so it was never served"
    how = "the cell raised" if r is None else (
        f"guard: {len(_findings(r))} warning(s), " if _findings(r) else "guard: no warning, ") + (
        f"ran: {_where(r)}" if r.executed else "not run")
    problems = [f"the namespace holds the key in {name}" for name in _namespace_leaks(h.ns_before, lab.shell.user_ns)]
    problems += h.followups() + h.server_leaks
    time.sleep(WAIT)
    problems += inspect_outcome(h, outside_before)
    problems += state_changes(h.state_before, kernel_state(lab))
    if any(_program_code(f) for f in h.at_exit):
        problems.append("the program registered an atexit handler in the kernel")
    if lab.home_changed():
        problems += probe_replays(h)
    if problems:
        h.stale = True  # the next test gets a fresh worker
    notes = "".join(f"\n  (the cell itself: {n[:200]})" for n in h.notes)
    assert not problems, f"{program.id} ({how}):\n  - " + "\n  - ".join(problems) + notes


def _findings(r) -> list[str]:
    """What the guard found: `blocked` when it stopped the program, `warnings` when it ran sandboxed anyway."""
    return list(r.blocked) + list(getattr(r, "warnings", None) or [])


def _where(r) -> str:
    """Where a result's program ran, and the protections in force there, in a line."""
    p = r.to_dict()["metadata"].get("protections") or {}
    keys = ("process", "network", "filesystem", "syscalls", "environment", "audit_hook")
    shown = {k: p[k] for k in keys if k in p}
    return f"{p.get('where', '?')} {shown}" if shown else repr(p)[:200]


def probe_replays(h: Harness) -> list[str]:
    """The home was written to: the seeded requests again. What was written must not run."""
    problems = []
    marker = h.lab.marker
    if marker.is_dir():
        shutil.rmtree(marker)
    elif marker.exists():
        marker.unlink()
    left = h.lab.work / "llmos-outputs" / P.TAMPER_TAG
    for request in SEEDED:
        cap, r = h.lab.llmos(request, notes=problems)
        fd = h.capfd.readouterr()
        shown = cap.stdout + fd.out + (r.output if r is not None else "")
        if P.TAMPER_TAG in shown or left.exists():
            problems.append(f"a replay of {request!r} ran what the hostile program wrote into the home")
            left.unlink(missing_ok=True)
    time.sleep(WAIT)
    if marker.exists():
        problems.append("a replay after the hostile write left the marker")
    return problems


# -- the tests -----------------------------------------------------------------------------------------------

def test_corpus_size_and_families():
    families = {p.family for p in P.HOSTILE}
    assert len(P.HOSTILE) >= 60 and families == {"secrets", "processes", "files", "network", "llmos"}
    assert len({p.id for p in P.HOSTILE}) == len(P.HOSTILE) and len({p.request for p in P.HOSTILE}) == len(P.HOSTILE)


@pytest.mark.parametrize("program", P.HOSTILE, ids=[p.id for p in P.HOSTILE])
def test_hostile_program_does_no_harm(harness, program):
    run_hostile(harness, program)


HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAS_RUNTIME = importlib.util.find_spec("qiskit_ibm_runtime") is not None


def _ordinary(name: str) -> tuple[str, str]:
    request, code = P.ORDINARY[name]
    code = code.replace("@SAVE@", P.SAVE_MATPLOTLIB if HAS_MATPLOTLIB else P.SAVE_PLOTLY)
    return request, code.replace("@SAMPLER@", P.SAMPLER_RUNTIME if HAS_RUNTIME else P.SAMPLER_AER)


def _close(a, b, tol=1e-6):
    return abs(a - b) <= tol


class _Namespace(dict):
    """The user's namespace, naming what a program left in the worker when a result is missing."""

    def __init__(self, ns: dict, left: list[str]):
        super().__init__(ns)
        self.left = left

    def __missing__(self, name):
        raise AssertionError(f"{name!r} is not in the namespace" + (
            f" (left in the worker: {', '.join(self.left)})" if self.left else ""))


def check_ordinary(name: str, ns: dict, out: Path) -> None:
    if name == "noise-model":
        from qiskit_aer.noise import NoiseModel

        assert isinstance(ns["noise_model"], NoiseModel) and sum(ns["noisy_counts"].values()) == 4000
        assert 0.75 < ns["fidelity"] < 0.995 and len(ns["noisy_counts"]) == 4
    elif name == "coupling-map":
        edges = {tuple(e) for e in ns["edges"]}
        assert ns["tqc"].num_qubits == 5 and ns["two_qubit"]
        assert all(pair in edges or pair[::-1] in edges for pair in ns["two_qubit"])
    elif name == "statevector-densitymatrix":
        assert _close(ns["purity"], 1.0) and _close(ns["reduced_purity"], 0.5)
    elif name == "parameter-binding":
        p = ns["p_one"]
        assert len(ns["bound"]) == 5 and _close(p[0], 0) and _close(p[2], 0.5) and _close(p[4], 1)
    elif name == "figure-to-outputs":
        assert Path(ns["figure_path"]).resolve().parent == out and Path(ns["figure_path"]).stat().st_size > 100
    elif name == "qpy-round-trip":
        # Its own names: an earlier cell's `qc`, put back by the session, is the user's and is never replaced.
        assert (out / "ghz3.qpy").is_file() and ns["loaded"] == ns["ghz3"] and ns["loaded"].num_qubits == 3
    elif name == "vqe-minimize":
        assert ns["energy"] <= ns["exact"] + 0.02 and _close(ns["exact"], -(1.25 ** 0.5))
    elif name == "sampler-v2":
        assert sum(ns["sampled"].values()) == 1500 and set(ns["sampled"]) <= {"000", "111"}
    elif name == "estimator-v2":
        zz, xx, zi = ns["evs"]
        assert abs(zz - 1) < 0.05 and abs(xx - 1) < 0.05 and abs(zi) < 0.05
    elif name == "statevector-sampler":
        assert sum(ns["uniform"].values()) == 2000 and set(ns["uniform"]) == {"00", "01", "10", "11"}
    elif name == "once-stopped-patterns":
        # the oracle is an instance of the program's own class: it may stay where the program ran; its repr did
        # its work in the files
        assert max(ns["grover_counts"], key=ns["grover_counts"].get) == "101"
        assert json.loads((out / "grover_101_1000.json").read_text())["oracle"] == "PhaseOracle101('101')"
        assert (out / "grover_summary.txt").read_text().startswith("PhaseOracle101('101'): 101")
    else:  # pragma: no cover - a program without a check is a mistake in this file
        raise AssertionError(f"no check for {name}")


@pytest.mark.parametrize("name", list(P.ORDINARY))
def test_ordinary_program_still_works(harness, name):
    request, code = _ordinary(name)
    _fresh_start(harness.lab)
    with harness.session():
        cap, r, asked = harness.serve(request, code)
        assert asked and r is not None, f"{name}: answered from memory ({r and r.mode})"
        assert not r.blocked, r.notice
        assert r.executed and r.error is None, r.error or cap.stdout[-2000:]
        left = (r.to_dict()["metadata"].get("protections") or {}).get("left_in_worker") or []
        check_ordinary(name, _Namespace(harness.lab.shell.user_ns, left), harness.lab.work / "llmos-outputs")


def _fresh_start(lab: Lab) -> None:
    """Ordinary programs run in a worker no hostile program has touched."""
    if lab.after_hostile:
        lab.fresh_worker()
        lab.after_hostile = False


def test_by_default_a_program_runs_apart_from_the_kernel(harness):
    _fresh_start(harness.lab)
    with harness.session():
        cap, r, asked = harness.serve("Prepare a W state on three qubits", P.BELL + "print(counts)\n")
    assert asked and r is not None and r.executed and r.error is None, r and r.error
    protections = r.to_dict()["metadata"].get("protections")
    assert protections and protections.get("process") is True, (
        f"a program asked for without --trust should run in a process of its own by default: {protections!r}")
