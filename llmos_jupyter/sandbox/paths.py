"""Which paths the worker may read and write, worked out once at its start and enforced twice (Landlock in
the kernel, the audit hook in Python). Writes: the workdir and the outputs folder only. Reads: what running
Python, numpy and Qiskit needs (the installation, its site-packages, /usr, /lib*, /etc, the worker's own
/proc entry), the working folder (the user's data files; its dotfiles are refused by the audit hook), and
never a protected folder: a readable root that holds one is replaced by its other
children, recursively, so no rule ever covers the protected folder."""
from __future__ import annotations

import importlib.util
import os
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# What CPU and memory detection reads (OpenMP, Rust's available_parallelism, numpy): facts, not secrets.
MACHINE_READ = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu", "/sys/fs/cgroup")
DEVICES_READ = ("/dev/urandom", "/dev/random", "/dev/zero")
DEVICES_WRITE = ("/dev/null",)
PRELOADED = ("qiskit", "qiskit_aer", "numpy", "scipy", "matplotlib", "PIL", "rustworkx", "symengine")
MAX_RULES = 4096


@dataclass(frozen=True)
class Grants:
    readable: tuple[str, ...]  # read-only hierarchies (directories or single files)
    writable: tuple[str, ...]  # read-write hierarchies
    protected: tuple[str, ...]  # neither read nor written
    unhidden: dict[str, str] = field(default_factory=dict)  # a protected folder the rules could not hide -> why
    withheld: tuple[str, ...] = ()  # readable roots left out because they hold a protected folder
    working: str | None = None  # the working folder: readable, but not its dotfiles (.env, .git)

    def to_json(self) -> dict:
        return {"readable": list(self.readable), "writable": list(self.writable), "protected": list(self.protected),
                "unhidden": dict(self.unhidden), "withheld": list(self.withheld), "working": self.working}


def real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def under(path: str, root: str) -> bool:
    """`path` is `root` or inside it (both real paths)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def python_roots() -> list[str]:
    """Where this interpreter and the preloaded packages live."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.__file__),
             os.path.dirname(real(sys.executable))}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    for name in PRELOADED:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            roots.add(os.path.dirname(real(location)))  # the folder it is imported from, with its dependencies
    return sorted(roots)


def package_root() -> str:
    """The folder that holds the llmos_jupyter package: the worker imports it from there."""
    return str(Path(__file__).resolve().parent.parent.parent)


def check_layout(workdir: Path, outputs: Path, protect: list[Path]) -> None:
    """Refuse a layout the rules cannot honour, saying which folder to move."""
    for place, name in ((real(workdir), "workdir"), (real(outputs), "outputs")):
        for folder in map(real, protect):
            if under(place, folder):
                raise ValueError(f"The sandbox's {name} {place} lies inside the protected folder {folder}; "
                                 f"choose a {name} outside it.")
            if under(folder, place):
                raise ValueError(f"The protected folder {folder} lies inside the sandbox's {name} {place}, "
                                 f"which the worker may write; choose a {name} that does not hold it.")


def _children_around(root: str, hidden: list[str], budget: list[int]) -> list[str] | None:
    """The entries of `root` that hold no hidden folder, descending into those that do; None when too many."""
    out = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        path = real(entry.path)
        budget[0] -= 1
        if budget[0] < 0:
            return None
        if any(under(path, h) for h in hidden):
            continue  # the hidden folder itself, or a link into it
        if any(under(h, path) for h in hidden):
            inner = _children_around(path, hidden, budget) if path.startswith(root.rstrip("/") + "/") else []
            if inner is None:
                return None
            out.extend(inner)
        else:
            out.append(path)
    return out


def plan(workdir: Path, outputs: Path, protect: list[Path], *, own_proc: str | None = None,
         working: str | None = None) -> Grants:
    """`working`: the folder the program works in (the kernel's cwd), readable as a whole (so files put there
    later, by the user or by LLMOS saving a program's files, are readable too); its dotfiles are refused by
    the audit hook alone (Grants.working), as Landlock can hide them only by listing the folder's entries once."""
    protected = sorted({real(p) for p in protect})
    writable = [real(workdir), real(outputs), *DEVICES_WRITE]
    wanted = [*python_roots(), *SYSTEM_READ, *MACHINE_READ, *DEVICES_READ, *([working] if working else [])]
    if own_proc:
        wanted.append(own_proc)
    readable, withheld, unhidden = [], [], {}
    budget = [MAX_RULES]
    for root in dict.fromkeys(real(p) for p in wanted if os.path.exists(p)):
        inside = [p for p in protected if under(root, p)]
        if inside:  # a root Python needs lies inside a protected folder: keep Python working, and say so
            for p in inside:
                unhidden[p] = f"the worker must read {root} to run Python, and it lies inside {p}"
            readable.append(root)
            continue
        holding = [p for p in protected if under(p, root)]
        if not holding:
            readable.append(root)
            continue
        around = _children_around(root, holding, budget)
        if around is None:
            for p in holding:
                unhidden[p] = f"{root} has too many entries to grant around {p}"
            withheld.append(root)
            continue
        withheld.append(root)
        readable.extend(around)
    return Grants(readable=tuple(dict.fromkeys(readable)), writable=tuple(dict.fromkeys(writable)),
                  protected=tuple(protected), unhidden=unhidden, withheld=tuple(withheld),
                  working=real(working) if working else None)
