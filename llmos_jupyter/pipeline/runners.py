"""Where a program runs: the sandboxed worker (llmos_jupyter.sandbox) or the user's kernel (--trust,
`execution = "kernel"`). Both take the code and the user's namespace, put what the program defined into
that namespace, and report what it did. The worker's names never replace the kernel's own (bind)."""
from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IN_KERNEL = {"where": "kernel", "process": False,
             "note": "ran in your kernel, beside your API keys (--trust or execution = 'kernel')"}
# IPython's own names in a notebook's namespace (the _-prefixed ones, _, _i3, _oh..., are all refused anyway).
IPYTHON_NAMES = frozenset({"get_ipython", "In", "Out", "exit", "quit", "display"})
NAMESPACES_KEPT = 4  # namespaces whose worker-bound names are remembered (the cells' one, plus a few throwaways)
# What workers bound, per namespace (by id), for the whole kernel process: a %config change makes a new engine
# and runner, and the names the last one's answers bound must stay rebindable by the next one's. Values are held
# by reference so that `is` tells the worker's own value from one the user put there since (an id alone could be
# reused by a new object).
_BOUND: dict[int, dict[str, Any]] = {}
_MISSING = object()


@dataclass
class Ran:
    """What a runner reports of one run."""
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    produced: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    figures: tuple[bytes, ...] = ()
    left_behind: tuple[str, ...] = ()
    saved: tuple[str, ...] = ()  # files the program saved in the working folder, relative to it
    protections: dict[str, Any] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


def reserved(name: str) -> str | None:
    """Whose `name` is, when it is the kernel's whatever the namespace holds: a builtin, IPython's, or not a
    plain name at all (dunders, `_`, `_i3`, `_oh`; anything a program's own names never are)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        return "not a plain name"
    if name in IPYTHON_NAMES:
        return "IPython's"
    if hasattr(builtins, name):
        return "a builtin"
    return None


def kept_notice(kept: dict[str, str]) -> str:
    names = ", ".join(f"{name} ({whose})" for name, whose in kept.items())
    return (f"The program's {names} stay in the sandbox: here they would replace your kernel's own. Later "
            "programs in the sandbox still see them; to have one here, give it another name.")


class Runners:
    """Where programs run: the sandboxed worker, unless the user chose the kernel (--trust for one request, or
    execution = "kernel" for all). A replay of a trace another member of a team store verified runs in the
    worker whatever was chosen, like model code: the user trusted their own memory, not the team's."""

    def __init__(self, kernel: "KernelRunner", worker: "WorkerRunner", execution: str, member: str = ""):
        self.kernel, self.worker, self.execution, self.member = kernel, worker, execution, member

    def __call__(self, trust: bool, verified_by: str | None = None) -> "KernelRunner | WorkerRunner":
        if verified_by is not None and not self.own(verified_by):
            return self.worker
        return self.kernel if trust or self.execution == "kernel" else self.worker

    def own(self, verified_by: str) -> bool:
        """Whether a trace verified by `verified_by` may run where this member's own programs run."""
        from ..memory.traces import STARTER

        return verified_by in (self.member, STARTER)


class KernelRunner:
    where = "kernel"

    def start(self) -> None:
        """Nothing to start: programs run in the kernel's own process."""

    def run(self, code: str, namespace: dict[str, Any], session: str | None = None, *, bounded: bool = True,
            on_still_running=None, clean: bool = False) -> Ran:
        """`bounded`, `on_still_running`, `clean`: the worker's; in the kernel a program runs as any cell does."""
        from ..tools import transpile_cache
        from ..tools.qiskit_exec import run_code  # imports qiskit-aer on first use

        # Only while the program runs: the user's own cells keep Qiskit's transpile (the caches stay for the next run).
        with transpile_cache.installed():
            e = run_code(code, namespace)
        return Ran(e.output, e.error, e.counts, e.shots, e.produced.to_json(), e.value, protections=IN_KERNEL)


class WorkerRunner:
    """The sandboxed worker, started on first use and kept warm; one session per kernel, so names defined
    by one cell are there for the next, as in a notebook."""
    where = "worker"

    def __init__(self, *, protect: tuple[Path, ...], outputs: Path, timeout: float, disk_mb: int = 2048,
                 saved_manifest: Path | None = None):
        self._options = {"protect": protect, "outputs": outputs, "timeout": timeout, "disk_mb": disk_mb,
                         "saved_manifest": saved_manifest}
        self._box = None
        self._told: set[str] = set()

    def _sandbox(self):
        if self._box is None:
            from ..sandbox import Sandbox

            self._box = Sandbox(**self._options)
        return self._box

    def start(self) -> None:
        """Start the worker in the background (the first request starts it while the memory loads)."""
        self._sandbox().start()

    def run(self, code: str, namespace: dict[str, Any], session: str | None = None, *, bounded: bool = True,
            on_still_running=None, clean: bool = False) -> Ran:
        """`session`: a namespace of the worker's own ("user" by default: the cells' shared one), served by a
        process of its own. `clean`: run in a clean process from the worker's template instead (a verified
        replay, a tool check, a compared answer), whose names the session gets for its next program.
        `bounded`: stop it past the runner's timeout (replays, tool checks, compared answers); False for the
        cell's own program, which runs until it finishes or the user interrupts it. `on_still_running(seconds)`:
        see Sandbox.run."""
        unbounded = {} if bounded else {"timeout": None}  # bounded: the Sandbox's own timeout
        r = self._sandbox().run(code, session=session or "user", on_still_running=on_still_running, clean=clean,
                                hand_on=session in (None, "user"), **unbounded)
        kept = self.bind(namespace, r.namespace)
        fresh = tuple(n for n in self._box.notices if n not in self._told)  # each degradation said once
        self._told.update(fresh)
        notices = fresh + tuple(r.refused) + tuple(r.not_saved) + ((kept_notice(kept),) if kept else ())
        return Ran(r.output, r.error, r.counts, r.shots, r.produced, r.value, tuple(r.figures),
                   tuple(r.left_behind) + tuple(kept), tuple(r.saved), {"where": "worker", **r.protections}, notices)

    def bind(self, namespace: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
        """Put the worker's `values` into `namespace`, except where a name would replace one of the kernel's own
        (a builtin, IPython's, or one the user defined or imported: there, and not put there by the worker);
        those are returned, each with whose it is."""
        mine = _BOUND.pop(id(namespace), {})
        _BOUND[id(namespace)] = mine  # the most recently used last, so the oldest go first
        while len(_BOUND) > NAMESPACES_KEPT:
            del _BOUND[next(iter(_BOUND))]
        for name in [n for n, v in mine.items() if namespace.get(n, _MISSING) is not v]:
            del mine[name]  # rebound or removed since: no longer the worker's
        kept = {}
        for name, value in values.items():
            current = namespace.get(name, _MISSING)
            if current is value:
                continue  # the same object already (a module the user imported too)
            whose = reserved(name) or (None if current is _MISSING or name in mine else "yours")
            if whose:
                kept[name] = whose
                continue
            namespace[name] = mine[name] = value
        return kept

    def restart(self, session: str = "user") -> None:
        """A fresh process for `session`: after a program the guard flagged, so whatever it patched in the
        libraries cannot reach later runs (the names earlier cells defined there go with it). Other sessions and
        clean runs never shared its process."""
        if self._box is not None:
            self._box.discard(session)

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None
