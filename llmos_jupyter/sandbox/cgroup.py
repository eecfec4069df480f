"""An OS bound on the worker's tasks (threads included) for a worker that RLIMIT_NPROC does not bind (root): a
pids cgroup of its own, `llmos-worker-<pid>` beside the kernel's, made and joined by the worker while it still
may (before Landlock). Cgroup v1's pids hierarchy, or v2 where the kernel's cgroup delegates `pids`. The kernel
removes the group when the worker is gone (an empty cgroup is removed with rmdir), and the next sandbox removes
those of workers that died with their kernel."""
from __future__ import annotations

import os
import time
from pathlib import Path

PREFIX = "llmos-worker-"


def _pids_root() -> Path | None:
    """The folder of this process's pids cgroup (shared by the kernel and a worker it just started)."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        groups = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in groups:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        for mount in mounts:
            before, _, after = mount.partition(" - ")
            fields, kind = before.split(), after.split()
            if len(fields) < 5 or not kind:
                continue
            v1 = kind[0] == "cgroup" and "pids" in controllers.split(",") and "pids" in kind[-1].split(",")
            v2 = kind[0] == "cgroup2" and hierarchy == "0" and controllers == ""
            if v1 or v2:
                root = Path(fields[4]) / path.lstrip("/")
                if v2 and not _delegates_pids(root):
                    continue
                return root
    return None


def _delegates_pids(root: Path) -> bool:
    try:
        return "pids" in (root / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def join_own(most: int) -> str:
    """Move this process into a new pids cgroup allowing `most` tasks; what was done, or "off: why"."""
    root = _pids_root()
    if root is None:
        return _without("no pids cgroup this process may use")
    group = root / f"{PREFIX}{os.getpid()}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(most))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as exc:
        try:
            group.rmdir()
        except OSError:
            pass
        return _without(f"a pids cgroup could not be made in {root} ({exc.strerror or exc})")
    return f"cgroup: at most {most} tasks"


def _without(why: str) -> str:
    if os.getuid() != 0:  # RLIMIT_NPROC binds an ordinary user's worker (oslimits.apply_rlimits)
        return f"RLIMIT_NPROC ({why})"
    return f"off: {why}"


def remove(pid: int, wait: float = 2.0) -> None:
    """The group of worker `pid`, once it is gone: rmdir fails while tasks remain, and the template's children,
    killed with it, may take a moment to exit."""
    root = _pids_root()
    if root is None:
        return
    end = time.monotonic() + wait
    while True:
        try:
            (root / f"{PREFIX}{pid}").rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= end:
                return
            time.sleep(0.02)


def sweep() -> None:
    """Remove the empty groups of workers that died with their kernel."""
    root = _pids_root()
    if root is None:
        return
    try:
        groups = [g for g in root.iterdir() if g.name.startswith(PREFIX)]
    except OSError:
        return
    for group in groups:
        pid = group.name[len(PREFIX):]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue  # a live worker's (perhaps not yet joined, so empty)
        try:
            group.rmdir()
        except OSError:
            pass
