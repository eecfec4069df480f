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


# ------------------------------------------------------------------------------------------------ threads

MANY_THREADS = """
import threading
stop = threading.Event()
made, refused = [], None
try:
    for _ in range(3000):
        thread = threading.Thread(target=stop.wait)
        thread.start()
        made.append(thread)
except RuntimeError as exc:
    refused = str(exc)
stop.set()
for thread in made:
    thread.join()
(len(made), refused)
"""


def test_a_program_that_starts_3000_threads_gets_a_clear_error_and_the_worker_lives(box):
    first = box.pid
    r = box.run(MANY_THREADS, session="threads")
    assert r.error is None, r.error
    made, refused = r.value
    assert made < 3000 and made <= box.protections["threads"]
    assert refused.startswith("can't start new thread: the sandbox allows") and "ThreadPoolExecutor" in refused
    r = box.run("import threading\nt = threading.Thread(target=lambda: None)\nt.start()\nt.join()\n'again'")
    assert r.error is None and r.value == "again"  # the program's threads ended: starting one works again
    assert box.pid == first


# ------------------------------------------------------------------------------------------------ total disk

def write_files(folder: Path, count: int, mb: int) -> str:
    """A program writing `count` files of `mb` MiB each in `folder`, a MiB at a time, going on past a refusal."""
    return f"""
import os
what = []
for n in range({count}):
    try:
        with open(os.path.join({str(folder)!r}, f"big{{n}}.bin"), "wb") as f:
            for _ in range({mb}):
                f.write(b"x" * (1 << 20))
        what.append("written")
    except OSError as exc:
        what.append(type(exc).__name__ + ": " + str(exc))
what
"""


def test_three_files_each_under_the_file_limit_do_not_all_land_past_the_disk_quota(folders):
    """The red team's three 900 MB files, scaled down: a 64 MiB quota, 40 MiB per file, three files of 30 MiB."""
    outputs = folders / "quota-outputs"
    with Sandbox(outputs=outputs, disk_mb=64, file_mb=40) as sandbox:
        assert sandbox.protections["disk_mb"] == 64
        r = sandbox.run(write_files(outputs, 3, 30))
        assert r.error is None, r.error
        assert r.value[:2] == ["written", "written"]
        assert "File too large" in r.value[2]  # stopped where the quota ends
        on_disk = sum(f.stat().st_blocks * 512 for f in outputs.glob("big*.bin"))
        assert on_disk <= 64 << 20
        r = sandbox.run(f"open({str(outputs / 'more.txt')!r}, 'w')")
        assert r.error_type == "PermissionError"
        assert "disk quota of 64 MiB" in r.error and "Sandbox(disk_mb=128)" in r.error
        (outputs / "big0.bin").unlink()  # the user makes room: writing works again
        r = sandbox.run(f"open({str(outputs / 'more.txt')!r}, 'w').write('room again')")
        assert r.error is None, r.error


def test_the_kernel_measures_the_total_itself_after_each_run(folders):
    """With the worker's own check gone (audit hook off), the kernel still says the quota was passed."""
    outputs = folders / "bare-quota-outputs"
    with Sandbox(outputs=outputs, disk_mb=16, file_mb=40, audit_hook=False) as bare:
        assert str(bare.protections["disk_mb"]).startswith("off")
        r = bare.run(write_files(outputs, 1, 20))
        assert r.error is None, r.error
        assert any("over its disk quota of 16 MiB" in line and "LLMOS.disk_mb" in line for line in r.refused)


UNWRAPPED = """
import _thread, threading
# What a program that gets past the worker's own count does: take the original back from the wrapper.
original = next(c.cell_contents for c in _thread.start_new_thread.__closure__
                if getattr(c.cell_contents, "__name__", "") == "start_new_thread"
                and c.cell_contents is not _thread.start_new_thread)
threading._start_new_thread = original
""" + MANY_THREADS


def test_the_os_bounds_threads_when_the_workers_own_count_is_undone(folders):
    with Sandbox(outputs=folders / "llmos-outputs", audit_hook=False) as bare:
        needs(bare, "tasks")
        assert bare.protections["tasks"].startswith("cgroup: at most")
        first = bare.pid
        group = next(Path("/sys/fs/cgroup").glob(f"**/llmos-worker-{first}"), None)
        r = bare.run(UNWRAPPED)
        assert r.error is None, r.error
        made, refused = r.value
        assert 256 < made < 3000 and refused == "can't start new thread"  # past the wrapper, stopped by the OS
        assert bare.run("1 + 1").value == 2 and bare.pid == first
    if group is not None:
        assert not group.exists()  # removed with the worker
