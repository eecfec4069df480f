"""The second layer: a PEP 578 audit hook, installed once after preloading and in force for the worker's whole
life and every thread. It decides by audit event, whatever name or module the program reached it through:
process creation, network, loading native code (ctypes, cffi, an extension module written by the program),
raw memory access through ctypes, writes outside the workdir and outputs, reads outside what Landlock allows
(so never a protected folder, nor another process's /proc entry), signals to other processes, raising
limits, and adding another hook are refused with a PermissionError that names what was refused.

Not a boundary by itself: CPython cannot audit everything (its "open" event does not say which dir_fd a
relative path is relative to, so where Landlock is in force an os.open of a relative path is left to it, and
where it is not such a path is judged as relative to the cwd; other events that carry a dir_fd are resolved
against it; and ctypes.memmove, for one, raises no event on 3.11,
and with it a program can rewrite memory, this hook included). The OS layers - network namespace,
Landlock, seccomp, capabilities, rlimits - are what hold; this hook turns most attempts into a clear message,
and is the only guard where a kernel lacks those layers."""
from __future__ import annotations

import importlib.machinery
import os
import resource
import sys
import threading

from . import quota
from .paths import Grants

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
PROCESS = ("os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.startfile",
           "subprocess.Popen", "pty.spawn")
NETWORK = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
           "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo")
NATIVE = ("ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.string_at",
          "ctypes.wstring_at", "ctypes.PyObj_FromPtr", "ctypes.call_function", "sqlite3.enable_load_extension",
          "sqlite3.load_extension")
INTROSPECTION = ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.remote_exec")
LIMITS = ("resource.setrlimit", "resource.prlimit", "sys.addaudithook", "syslog.openlog", "syslog.syslog")
# Modules whose whole purpose is loading native code through a path CPython does not audit (cffi's dlopen).
FOREIGN_LOADERS = frozenset({"cffi", "_cffi_backend"})
# Write events and, for each path they write, (its position, the position of the dir_fd it is relative to).
WRITES = {"os.rename": ((0, 2), (1, 3)), "os.remove": ((0, 1),), "os.rmdir": ((0, 1),), "os.mkdir": ((0, 2),),
          "os.symlink": ((1, 2),), "os.link": ((0, 2), (1, 3)), "os.chmod": ((0, 2),), "os.chown": ((0, 3),),
          "os.chflags": ((0, None),), "os.lchflags": ((0, None),), "os.truncate": ((0, None),),
          "os.utime": ((0, 3),), "os.setxattr": ((0, None),), "os.removexattr": ((0, None),),
          "shutil.copyfile": ((1, None),), "shutil.copymode": ((1, None),), "shutil.copystat": ((1, None),),
          "shutil.copytree": ((1, None),), "shutil.rmtree": ((0, 1),), "shutil.move": ((0, None), (1, None)),
          "shutil.chown": ((0, None),), "shutil.make_archive": ((0, None),), "shutil.unpack_archive": ((1, None),),
          "tempfile.mkstemp": ((0, None),), "tempfile.mkdtemp": ((0, None),), "sqlite3.connect": ((0, None),)}
READS = {"os.listdir": 0, "os.scandir": 0, "shutil.copyfile": 0, "shutil.copytree": 0, "os.symlink": 0}

_installed = False


def install(grants: Grants, *, landlocked: bool, disk_mb: int | None = None) -> None:
    """Add the hook. Everything it consults is bound here, in locals, so that nothing reachable from the
    program's globals changes what it decides."""
    global _installed
    if _installed:
        return
    _installed = True
    realpath, fspath, fsdecode, getpid, readlink = os.path.realpath, os.fspath, os.fsdecode, os.getpid, os.readlink
    under, proc_files, foreign, write_flags = _under, _PROC_FILES, FOREIGN_LOADERS, WRITE_FLAGS
    watched, writes, reads = _WATCHED, dict(WRITES), dict(READS)
    process, network, native, introspection, limits = map(frozenset, (PROCESS, NETWORK, NATIVE, INTROSPECTION, LIMITS))
    signals = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
    own = getpid()
    proc_own = f"/proc/{own}"
    writable = tuple(grants.writable)
    readable = tuple(grants.readable) + writable
    protected = tuple(grants.protected)
    # Parts of a protected folder Python itself needs (paths.plan says so in `unhidden`) stay readable.
    needed_inside = tuple(r for r in grants.readable if any(under(r, p) for p in protected))
    native_suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    working = grants.working
    python_roots = tuple(r for r in grants.readable if working and r != working and under(r, working))  # a .venv

    def dotted(path: str) -> bool:
        """A dotfile or dot-folder of the working folder (.env, .git, ~/.ssh when it is a home), or inside one."""
        if not working or not path.startswith(working.rstrip("/") + "/"):
            return False
        first = path[len(working.rstrip("/")) + 1:].split("/", 1)[0]
        return first.startswith(".") and not any(under(path, r) for r in python_roots)
    guard = threading.local()
    folders = tuple(w for w in writable if os.path.isdir(w))  # the workdir and outputs, not /dev/null
    usage, over_message = quota.usage, quota.over_message
    getrlimit, setrlimit, fsize, unlimited = resource.getrlimit, resource.setrlimit, resource.RLIMIT_FSIZE, \
        resource.RLIM_INFINITY

    def resolve(path, dir_fd=None) -> str | None:
        if path is None or isinstance(path, int):
            return None  # an open descriptor: the check happened when it was opened
        try:
            text = fsdecode(fspath(path))
        except TypeError:
            return None
        if isinstance(dir_fd, int) and dir_fd >= 0 and not text.startswith("/"):
            try:  # relative to a directory descriptor, not to the cwd
                text = readlink(f"/proc/self/fd/{dir_fd}") + "/" + text
            except OSError:
                return "/proc/self/fd/unknown"  # a descriptor we cannot place: treated as outside
        return realpath(text)

    def may_write(path: str) -> bool:
        return any(under(path, w) for w in writable)

    def may_read(path: str) -> bool:
        if any(under(path, p) for p in protected) and not any(under(path, r) for r in needed_inside):
            return False
        if path.startswith("/proc/") and not (under(path, proc_own) or path in proc_files):
            return False
        if dotted(path):
            return False
        return any(under(path, r) for r in readable)

    def refuse(what: str, event: str, why: str) -> None:
        raise PermissionError(f"The sandbox refused {what} ({event}): {why}.")

    def check_path(event: str, path, write: bool, dir_fd=None) -> None:
        resolved = resolve(path, dir_fd)
        if resolved is None or resolved == "/dev/null":
            return
        if write and not may_write(resolved):
            refuse(f"writing {resolved}", event, "programs may write only in the sandbox's workdir and in "
                   f"its outputs folder ({writable[1] if len(writable) > 1 else writable[0]})")
        if not write and not may_read(resolved):
            refuse(f"reading {resolved}", event, "that path is protected or outside what the sandbox may read")

    def on_open(args) -> None:
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        write = bool(isinstance(flags, int) and flags & write_flags) or (
            isinstance(mode, str) and any(c in mode for c in "wax+"))
        if isinstance(path, str) and path == ":memory:":
            return
        if mode is None and landlocked and isinstance(path, (str, bytes)) and not fsdecode(path).startswith("/"):
            # os.open with a relative path: it may be relative to a dir_fd this event does not name (shutil.rmtree
            # works that way), so a refusal here could be wrong. Landlock sees the real path and decides.
            try:
                check_path("open", path, write)
            except PermissionError:
                pass
            return
        check_path("open", path, write)
        if write:
            within_quota(path, "open")

    def within_quota(path, event: str) -> None:
        """Refuse a new write once the folders are at the quota; else let no file grow past what is left of it
        (the soft RLIMIT_FSIZE, under the hard one the worker set at its start)."""
        resolved = resolve(path)
        if not disk_mb or resolved is None or not any(under(resolved, f) for f in folders):
            return
        used = usage(folders)
        left = (disk_mb << 20) - used
        if left <= 0:
            refuse(f"writing {resolved}", event, over_message(used, disk_mb, folders).rstrip("."))
        hard = getrlimit(fsize)[1]
        setrlimit(fsize, (left if hard == unlimited else min(left, hard), hard))

    def on_import(args) -> None:
        module, filename = (tuple(args) + (None, None))[:2]
        if isinstance(module, str) and module.split(".")[0] in foreign:
            refuse(f"importing {module}", "import", "it loads native libraries outside what the sandbox audits")
        if isinstance(filename, str) and filename.endswith(native_suffixes):
            resolved = realpath(filename)
            if may_write(resolved):
                refuse(f"loading the native module {resolved}", "import",
                       "native code may load only from the Python installation, never from where programs write")

    def on_signal(event: str, args) -> None:
        target = args[0] if args else None
        if event == "signal.pthread_kill" or target == own:
            return
        refuse(f"signalling process {target}", event, "programs may signal only their own process")

    def hook(event: str, args) -> None:
        if event not in watched or getattr(guard, "busy", False):
            return  # most events are none of ours; and the hook's own path resolution must not re-enter it
        guard.busy = True
        try:
            if event == "open":
                on_open(args)
            elif event == "os.symlink":
                refuse("making a symbolic link", event, "a link left in the outputs could turn the kernel's own "
                       "reads and writes elsewhere")
            elif event in writes:
                for position, fd_position in writes[event]:
                    if len(args) > position:
                        dir_fd = args[fd_position] if fd_position is not None and len(args) > fd_position else None
                        check_path(event, args[position], write=True, dir_fd=dir_fd)
                if event in reads and args:
                    check_path(event, args[reads[event]], write=False)
            elif event in reads:
                if args and args[0] is not None:
                    check_path(event, args[0], write=False)
            elif event == "import":
                on_import(args)
            elif event in process:
                refuse("starting a process", event, "programs run alone in the sandbox")
            elif event in network:
                refuse("network access", event, "the sandbox has no network")
            elif event in native:
                refuse("loading or reaching native code", event, "only the preloaded libraries may run native code")
            elif event in introspection:
                refuse("reaching the interpreter's internals", event, "the sandbox's own objects are off limits")
            elif event in limits:
                if event == "sys.addaudithook":
                    # CPython swallows an Exception raised for this event (the new hook is simply not added), so
                    # the refusal is also said where the program's output goes.
                    stderr = sys.stderr
                    if stderr is not None:
                        stderr.write("The sandbox refused sys.addaudithook: the sandbox's own hook is the only one.\n")
                refuse("changing the sandbox's limits", event, "they are fixed for the worker's life")
            elif event in signals:
                on_signal(event, args)
        finally:
            guard.busy = False

    sys.addaudithook(hook)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


_PROC_FILES = frozenset({"/proc/cpuinfo", "/proc/meminfo", "/proc/stat"})
_WATCHED = frozenset({"open", "import", "os.kill", "os.killpg", "signal.pthread_kill", *WRITES, *READS, *PROCESS,
                      *NETWORK, *NATIVE, *INTROSPECTION, *LIMITS})
