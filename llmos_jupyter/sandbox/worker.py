"""The sandbox worker: `python -m llmos_jupyter.sandbox.worker CONFIG_JSON`, started by Sandbox.

The process the kernel starts is a template (issue #23): it confines what a fork inherits (network and IPC
namespaces, the task cgroup, capabilities, no_new_privs, rlimits, dies with the kernel, not dumpable, so no
child can open its descriptors through /proc), preloads Qiskit, Aer, numpy and matplotlib (Agg), runs a warm-up
circuit, says "ready", and then never runs a program: supervisor.py hands each request to a child forked from it
(children.py), which takes Landlock, seccomp, the thread cap and the audit hook for itself before it serves
(those three need a single-threaded process, as a fresh fork is). Requests and replies travel over the two pipes
the kernel handed the template (never its stdout/stderr, which a program's C code may write to); a child talks to
the template alone, over pipes of its own.

Threads or timers a program starts live on in its child until that child ends: a clean run's with its reply, a
session's when the kernel discards it. They stay inside all of the above."""
from __future__ import annotations

import dataclasses
import faulthandler
import gc
import json
import os
import signal
import sys
import threading
import time
import traceback

# Everything the worker will ever import from this package is imported here, before Landlock makes the
# package's folder unreadable (it may sit beside the user's files).
from . import audit, cgroup, children, codec, framing, handles, landlock, libc, oslimits, paths, quota, seccomp, shipped, staging, supervisor, threadcap  # noqa: F401 - codec: before the lock
from ..tools import transpile_cache
from .errors import UnsafePayload
from .runner import Runner

WARM_UP = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
qc.measure_all()
sim = AerSimulator()
sim.run(transpile(qc, sim), shots=16).result().get_counts()
"""


PR_SET_DUMPABLE = 4


def confine(config: dict) -> tuple[dict, paths.Grants]:
    """What the template takes for itself and every child inherits. Landlock and seccomp come per child."""
    protections: dict = {"process": True, "pid": os.getpid()}
    protections["network"] = oslimits.isolate_network()
    protections["ipc"] = oslimits.isolate_ipc()
    # Room for the libraries' own threads (BLAS, OpenMP: a few per core) besides the programs', in each child.
    protections["tasks"] = cgroup.join_own(threadcap.SPARE_THREADS + 4 * (os.cpu_count() or 4) + 64)
    protections["capabilities"] = oslimits.drop_capabilities()
    protections["no_new_privs"] = oslimits.no_new_privs()
    protections["rlimits"] = oslimits.apply_rlimits(config["memory_mb"], config["file_mb"])
    # Not dumpable: with capabilities dropped, no child (same user) may open /proc/<template>/fd/* - the kernel's
    # channel - nor its memory. A fork keeps the flag, so children cannot reach one another's either.
    protections["dumpable"] = "no" if libc.prctl(PR_SET_DUMPABLE, 0) == 0 else f"yes: {libc.failure('prctl')}"
    grants = paths.plan(config["workdir"], config["outputs"], config["protect"],
                        working=os.getcwd() if config.get("staging") else None)
    protections["paths"] = grants.to_json()
    return protections, grants


def preload() -> list[str]:
    loaded = []
    for name in ("numpy", "scipy.optimize", "qiskit", "qiskit.qpy", "qiskit.quantum_info", "qiskit.primitives",
                 "qiskit_aer", "qiskit_aer.jobs", "qiskit_aer.primitives", "matplotlib"):
        try:
            __import__(name)
            loaded.append(name)
        except ImportError:
            pass
    if "matplotlib" in loaded:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401 - warm, and what programs reach for

        loaded.append("matplotlib.pyplot")
    return loaded


_leaving = threading.Lock()
_supervisor: supervisor.Supervisor | None = None  # the template's children, killed when it leaves


def _leave(workdir: str | None) -> None:
    """End the worker because the kernel is gone. A temporary workdir the kernel made is emptied first (the
    kernel may have had no chance to; the folder itself stays, as Landlock lets the worker remove only what is
    inside it). The reading thread and the watching thread may both get here: the first does it all."""
    _leaving.acquire()
    if _supervisor is not None:
        _supervisor.kill_all()
    if workdir:
        import shutil

        for entry in os.scandir(workdir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                try:
                    os.remove(entry.path)
                except OSError:
                    pass
    os._exit(0)


def _exit_with_the_kernel(reply_fd: int, workdir: str | None) -> None:
    """If the kernel goes away, so does the worker, even in the middle of a run: the reply pipe's reading end
    closing wakes this thread."""
    import select

    poller = select.poll()
    poller.register(reply_fd, 0)  # POLLERR / POLLHUP are always reported
    while True:
        try:
            if poller.poll():
                break
        except InterruptedError:
            continue
    _leave(workdir)


def serve(runner: Runner, cmd_fd: int, reply_fd: int, workdir: str | None) -> None:
    handlers = {
        "run": lambda m: runner.run(str(m["code"]), str(m.get("session", "default"))),
        "call": lambda m: runner.call(str(m["session"]), str(m["name"]), m.get("args"), m.get("kwargs"), m.get("rng"),
                                      m.get("handle")),
        "handle": lambda m: runner.handle(str(m["session"]), m.get("handle"), m.get("action"), m.get("name"),
                                          m.get("args"), m.get("kwargs"), m.get("rng")),
        "ping": lambda m: {"ok": True, "pid": os.getpid()},
    }
    while True:
        try:
            message = framing.read_message(cmd_fd)
        except framing.ChannelClosed:
            _leave(workdir)
        except framing.ProtocolError as exc:
            message = {"op": "invalid", "error": str(exc)}
        except BaseException:  # noqa: BLE001 - Ctrl-C, or a program's signal handler raising between requests
            continue
        handler = handlers.get(message.get("op"))
        try:
            runner.handles.release(message.get("release"))  # proxies the kernel dropped (proxies.py)
            if message.get("bind") is not None:
                runner.bind(str(message.get("session", "default")), message.get("bind"))
            if handler is None:
                reply = {"ok": False, "error_type": "ProtocolError",
                         "error": message.get("error") or f"unknown request {message.get('op')!r}"}
            else:
                reply = handler(message)
        except UnsafePayload as exc:
            reply = {"ok": False, "error_type": "UnsafePayload", "error": str(exc)}
        except KeyboardInterrupt:
            reply = {"ok": False, "error_type": "KeyboardInterrupt", "error": "KeyboardInterrupt: interrupted."}
        except BaseException as exc:  # noqa: BLE001 - a failing request must not end the worker
            reply = {"ok": False, "error_type": type(exc).__name__, "error": traceback.format_exc()}
        reply["id"] = message.get("id")
        missed = transpile_cache.missed()
        if missed:  # for the template to transpile itself, so the next clean process has them (transpile_cache)
            try:
                reply[supervisor.MISSED] = [{"level": level, "circuit": codec.encode(circuit)}
                                            for level, circuit in missed]
            except Exception:  # noqa: BLE001 - only a speed-up: the run's reply matters, not this
                pass
        try:
            framing.write_message(reply_fd, reply)
        except framing.ChannelClosed:
            _leave(workdir)
        except Exception as exc:  # noqa: BLE001 - a reply too big to send is replaced by one that says so
            framing.write_message(reply_fd, {"id": message.get("id"), "ok": False, "error_type": "SandboxError",
                                             "error": f"the reply could not be sent: {exc}"})


def learn_transpiled(items: list) -> bool:
    """In the template: transpile the circuits a child missed (supervisor.MISSED), each decoded with the codec's
    bounds, so the processes forked next have them. Whether any was kept."""
    learned = False
    for item in items[:transpile_cache.LEARN_KEPT]:
        try:
            learned |= transpile_cache.learn(item.get("level"), codec.decode(item.get("circuit")))
        except Exception:  # noqa: BLE001 - a circuit that does not decode or transpile is simply not kept
            continue
    transpile_cache.missed()  # the template's own: nobody to report them to
    return learned


def become_child(runner: Runner, config: dict, grants: paths.Grants, template_pid: int, no_new_privs: bool,
                 cmd_fd: int, reply_fd: int) -> None:
    """A fresh fork of the template: confine, greet the template with what is in force, serve. Never returns."""
    global _supervisor
    _supervisor = None  # the template's table of its children is not the child's to see or act on
    protections = children.confine(template_pid, grants, no_new_privs)
    runner.handles.start_at(os.getpid() * 1_000_000)  # pids stay below 2**22: ids stay exact in JSON
    protections["threads"] = threadcap.install()  # counted now: the libraries' own threads are running
    protections["disk_mb"] = config.get("disk_mb") if config.get("audit_hook", True) else \
        "off: the audit hook keeps the disk quota, and it is off (the kernel still measures after each run)"
    if config.get("audit_hook", True):
        own = dataclasses.replace(grants, readable=(*grants.readable, f"/proc/{os.getpid()}"))
        audit.install(own, landlocked=protections.get("filesystem") == "landlock", disk_mb=config.get("disk_mb"))
        protections["audit_hook"] = True
    else:
        protections["audit_hook"] = "off: switched off by the caller (Sandbox(audit_hook=False), to test the OS layers alone)"
    # The warm-up again, here: what a process does the first time (page copies, the libraries' lazy state) is
    # done before any program is sent, while this child waits as the spare. Only our own code has run in it.
    runner.run(WARM_UP, "__warm_up__")
    runner.sessions.pop("__warm_up__", None)
    framing.write_message(reply_fd, {"op": "hello", "pid": os.getpid(), "protections": protections})
    serve(runner, cmd_fd, reply_fd, None)


def main(argv: list[str]) -> None:
    global _supervisor
    started = time.perf_counter()
    config = json.loads(argv[1])
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)  # the outputs folder (the cwd) is not a place to import from (Python 3.10 has no -P)
    # Ctrl-C in the kernel reaches the program as SIGINT (Sandbox.run); a kernel started with SIGINT ignored
    # (a background job of a shell without job control) would pass that on and the program would run to its timeout.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.enable()  # a crash leaves its Python traceback in the worker's log for the kernel to show
    cmd_fd, reply_fd = config["cmd_fd"], config["reply_fd"]
    protections, grants = confine(config)
    # After confine: a credential change (a new user namespace) clears the parent-death signal.
    protections["dies_with_kernel"] = oslimits.die_with_parent(int(config["kernel_pid"]))
    protections["preloaded"] = preload()
    if config.get("staging"):  # before Runner: its Pristine snapshot keeps the redirect in builtins
        staging.install(os.getcwd(), config["staging"], grants.writable)
    transpile_cache.install()  # before the warm-up, which fills it, and before Runner's Pristine snapshot
    runner = Runner(config.get("log"))
    runner.run(WARM_UP, "__warm_up__")
    runner.sessions.pop("__warm_up__", None)
    template_pid, no_new_privs = os.getpid(), protections["no_new_privs"] is True
    gc.freeze()  # the template's objects: a child's collections never touch (and so copy) their pages

    def become(child_cmd: int, child_reply: int) -> None:
        become_child(runner, config, grants, template_pid, no_new_privs, child_cmd, child_reply)

    _supervisor = supervisor.Supervisor(cmd_fd, reply_fd, lambda: children.fork(_supervisor.fds, become),
                                        learn=learn_transpiled)
    workdir = config["workdir"] if config.get("empty_workdir_on_exit") else None
    threading.Thread(target=_exit_with_the_kernel, args=(reply_fd, workdir), name="llmos-exit-with-kernel",
                     daemon=True).start()
    try:
        spare = _supervisor.prepare()
        spare.wait_hello(time.monotonic() + supervisor.HELLO_TIMEOUT)
        protections.update(spare.hello.get("protections") or {})
        protections["runs"] = "each in a process forked from a warm template: a session's own, or a clean one"
    except children.ChildFailed as exc:
        framing.write_message(reply_fd, {"op": "failed", "error": f"the first program process failed: {exc}"})
        _leave(workdir)
    framing.write_message(reply_fd, {"op": "ready", "pid": os.getpid(), "protections": protections,
                                     "start_ms": (time.perf_counter() - started) * 1000})
    _supervisor.serve()
    _leave(workdir)


if __name__ == "__main__":
    main(sys.argv)
