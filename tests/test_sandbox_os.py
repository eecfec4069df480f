"""The OS bounds of issue #23 (round 3), with the real worker: it dies with its kernel whatever a program did to
its own exit path, SysV IPC is namespaced, a program's threads and the total bytes it writes are bounded. Each
protection is read from `protections`; where this machine cannot have one, the test says why it skips."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmos_jupyter.sandbox import Sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the OS layers are Linux's")
REPO = Path(__file__).resolve().parents[1]


def wait_for(condition, within: float = 60.0) -> bool:
    """Poll `condition` until it holds (generous bound: only to keep a broken run from hanging)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    except (FileNotFoundError, IndexError):
        return True


def needs(box: Sandbox, key: str) -> None:
    value = box.protections.get(key)
    if isinstance(value, str) and value.startswith("off"):
        pytest.skip(f"{key} cannot be had on this machine: {value}")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("os")
    (root / "home").mkdir()
    return root


@pytest.fixture(scope="module")
def box(folders):
    with Sandbox(outputs=folders / "llmos-outputs", protect=[folders / "home"]) as sandbox:
        yield sandbox


# ------------------------------------------------------------------------------ the worker dies with its kernel

def test_a_worker_started_from_a_short_lived_thread_outlives_that_thread(folders):
    with Sandbox(outputs=folders / "llmos-outputs") as sandbox:
        starter = threading.Thread(target=sandbox.start)
        starter.start()
        starter.join()
        assert sandbox.protections["dies_with_kernel"] == "SIGKILL"
        first = sandbox.pid
        r = sandbox.run("6 * 7")
        assert r.error is None, r.error
        assert r.value == 42 and sandbox.pid == first


# A program that blocks both ways the worker leaves on its own when the kernel goes: the lock its leaving takes,
# and os._exit itself.
BLOCK_LEAVING = """
import os, sys
for name in ("__main__", "llmos_jupyter.sandbox.worker"):
    module = sys.modules.get(name)
    if module is not None and hasattr(module, "_leaving"):
        module._leaving.acquire(blocking=False)
os._exit = lambda *args: None
blocked = True
"""

KERNEL = """
import sys, threading, time
from llmos_jupyter.sandbox import Sandbox
box = Sandbox(outputs=sys.argv[1])
starter = threading.Thread(target=box.start)  # the way %load_ext and the first request start it
starter.start()
starter.join()
r = box.run(sys.argv[2])
print(box.pid, r.error, flush=True)
time.sleep(600)
"""


def test_the_worker_dies_with_a_killed_kernel_even_when_a_program_blocked_its_exit(folders):
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL, str(folders / "llmos-outputs"), BLOCK_LEAVING],
                              stdout=subprocess.PIPE, text=True, cwd=folders, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = kernel.stdout.readline().split(maxsplit=1)
        pid, error = int(line[0]), line[1].strip()
        assert error == "None", error
        assert not gone(pid)
    finally:
        kernel.send_signal(signal.SIGKILL)
        kernel.wait()
    assert wait_for(lambda: gone(pid)), f"worker {pid} outlived its kernel"


# ------------------------------------------------------------------------------------------------ SysV IPC

SHM_KEY = 0x11C05
FIND_SHM = """
import ctypes, ctypes.util, os
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
found = libc.shmget({key}, 0, 0o666)
(found, os.strerror(ctypes.get_errno()) if found < 0 else "")
"""


def test_sysv_shared_memory_outside_the_worker_cannot_be_reached(folders):
    """The OS layer alone (the audit hook would refuse ctypes first): another process's segment, which a
    process outside finds by its key, does not exist in the worker's IPC namespace."""
    make = f"import ctypes, ctypes.util\nprint(ctypes.CDLL(ctypes.util.find_library('c')).shmget({SHM_KEY}, 4096, 0o1666))"
    segment = int(subprocess.run([sys.executable, "-c", make], capture_output=True, text=True, check=True).stdout)
    assert segment >= 0
    try:
        outside = subprocess.run([sys.executable, "-c", FIND_SHM.format(key=SHM_KEY) .replace("(found,", "print(found,")],
                                 capture_output=True, text=True, check=True).stdout
        assert outside.split()[0] == str(segment)  # the control: outside the worker it is there
        with Sandbox(outputs=folders / "llmos-outputs", audit_hook=False) as bare:
            needs(bare, "ipc")
            assert bare.protections["ipc"] == "namespace"
            r = bare.run(FIND_SHM.format(key=SHM_KEY))
            assert r.error is None, r.error
            assert r.value == (-1, os.strerror(2))  # ENOENT: no such segment in its namespace
    finally:
        subprocess.run(["ipcrm", "-m", str(segment)], check=False, capture_output=True)
