"""A static check of generated code before it runs: block what a Qiskit answer never needs.

Blocked: starting processes (subprocess, os.system/exec*/spawn*/fork), deleting or moving
files (shutil.rmtree, os.remove, Path.unlink, ...), writing outside the working directory,
sockets and HTTP clients, ctypes, eval/exec/compile, __import__ and importlib, reading the
environment (where API keys live), and the attribute tricks that reach any of these
(getattr with a computed name, __globals__, __subclasses__, sys.modules, __builtins__).
`strict=True` (when the sentience layer's safety is low) also blocks every file write,
pickle-style loading, and jobs on real IBM hardware.

This is a guard against accidents and prompt injection in model output, not a sandbox:
it runs before code from a model, from an imported memory file, or a crystallized tool.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

BLOCKED_MODULES = {
    "subprocess": "starts processes", "pty": "starts processes", "multiprocessing": "starts processes",
    "socket": "opens network connections", "ssl": "opens network connections", "http": "makes HTTP requests",
    "urllib": "makes HTTP requests", "urllib3": "makes HTTP requests", "requests": "makes HTTP requests",
    "httpx": "makes HTTP requests", "httpx2": "makes HTTP requests", "aiohttp": "makes HTTP requests",
    "ftplib": "opens network connections", "smtplib": "sends mail", "telnetlib": "opens network connections",
    "paramiko": "opens SSH connections", "websocket": "opens network connections", "webbrowser": "opens a browser",
    "ctypes": "calls native code", "cffi": "calls native code", "importlib": "imports modules by name",
    "code": "runs arbitrary code", "codeop": "compiles arbitrary code", "runpy": "runs arbitrary code",
    "marshal": "loads code objects", "asyncio.subprocess": "starts processes", "winreg": "edits the registry",
}
STRICT_MODULES = {
    "pickle": "loading pickles runs code", "dill": "loading pickles runs code", "shelve": "loading pickles runs code",
    "cloudpickle": "loading pickles runs code", "qiskit_ibm_runtime": "submits jobs to real IBM hardware",
    "os": "touches the operating system", "shutil": "moves and deletes files", "tempfile": "writes files",
}
BLOCKED_ATTRS = {
    "os": {"system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
           "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn",
           "posix_spawnp", "fork", "forkpty", "kill", "killpg", "remove", "unlink", "rmdir", "removedirs", "rename",
           "renames", "replace", "chmod", "chown", "lchown", "symlink", "link", "truncate", "putenv", "unsetenv",
           "environ", "environb", "getenv", "getenvb", "setuid", "setgid", "chroot", "startfile", "_exit", "abort"},
    "shutil": {"rmtree", "move", "chown", "copy", "copy2", "copyfile", "copytree", "make_archive",
               "unpack_archive"},
    "sys": {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks", "exit"},
    "builtins": {"eval", "exec", "compile", "__import__", "open", "breakpoint", "input"},
    "pathlib": set(),
}
BLOCKED_CALLS = {
    "eval": "evaluates a string as code", "exec": "executes a string as code", "compile": "compiles a string to code",
    "__import__": "imports a module by name", "globals": "reaches the module namespace",
    "vars": "reaches an object's namespace", "breakpoint": "stops the kernel for a debugger",
    "input": "waits for keyboard input, which freezes the cell", "exit": "ends the kernel",
    "quit": "ends the kernel",
}
DUNDERS = {"__globals__", "__builtins__", "__subclasses__", "__bases__", "__base__", "__mro__", "__code__",
           "__closure__", "__getattribute__", "__dict__", "__import__", "__loader__", "__spec__", "__self__",
           "__func__", "__reduce__", "__reduce_ex__", "__class__", "__init_subclass__", "__getattr__",
           "__setattr__", "__delattr__", "__traceback__", "f_globals", "f_locals", "f_back", "gi_frame",
           "tb_frame", "co_code"}
FILE_METHODS = {"unlink", "rmdir", "rename", "symlink_to", "hardlink_to", "chmod", "lchmod", "rmtree"}
WRITE_METHODS = {"write_text", "write_bytes", "touch", "mkdir"}
PICKLE_LOADS = {"load", "loads"}


@dataclass(frozen=True)
class Finding:
    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what} ({self.why})"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    def explain(self) -> str:
        head = "The generated code was not run: it does something a Qiskit answer never needs"
        if self.strict:
            head += " (strict checks are on because the safety valence is low)"
        lines = "\n".join(f"  - {f}" for f in self.findings)
        return f"{head}:\n{lines}\nRead it above; to run it anyway, add --trust to this cell."


class _Checker(ast.NodeVisitor):
    def __init__(self, strict: bool):
        self.strict = strict
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> module path ('o' -> 'os')
        self.imported: dict[str, tuple[str, str]] = {}  # local name -> (module, attr) for `from m import a`

    def flag(self, node: ast.AST, what: str, why: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), what, why))

    def _module_problem(self, name: str) -> str | None:
        for table in ((BLOCKED_MODULES, STRICT_MODULES) if self.strict else (BLOCKED_MODULES,)):
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                if ".".join(parts[:i]) in table:
                    return table[".".join(parts[:i])]
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            why = self._module_problem(alias.name)
            if why:
                self.flag(node, f"import {alias.name}", why)
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                alias.name.split(".")[0]
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        why = self._module_problem(module)
        if why:
            self.flag(node, f"from {module} import ...", why)
        for alias in node.names:
            local = alias.asname or alias.name
            full = f"{module}.{alias.name}"
            sub = self._module_problem(full)
            if sub and not why:
                self.flag(node, f"from {module} import {alias.name}", sub)
            if alias.name in BLOCKED_ATTRS.get(module, set()):
                self.flag(node, f"from {module} import {alias.name}", "reaches a blocked function")
            if alias.name in BLOCKED_CALLS and module in ("builtins", ""):
                self.flag(node, f"from {module} import {alias.name}", BLOCKED_CALLS[alias.name])
            self.imported[local] = (module, alias.name)
            self.aliases[local] = full
        self.generic_visit(node)

    def _resolve(self, node: ast.AST) -> str | None:
        """'os.path.join' for an attribute chain rooted at an imported name, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "builtins"):
            return ".".join(["builtins", *reversed(parts)])
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in DUNDERS:
            self.flag(node, f".{node.attr}", "reaches interpreter internals")
        path = self._resolve(node)
        if path:
            module, _, attr = path.rpartition(".")
            if attr in BLOCKED_ATTRS.get(module, set()):
                self.flag(node, path, "a blocked operating-system or interpreter function")
            elif self._module_problem(path) and not self._module_problem(module or path):
                self.flag(node, path, self._module_problem(path))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            self.flag(node, node.id, "reaches interpreter internals")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in BLOCKED_CALLS and name not in self.imported and name not in self.aliases:
            self.flag(node, f"{name}()", BLOCKED_CALLS[name])
        if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            attr = node.args[1]
            if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
                self.flag(node, f"{name}() with a computed name", "can reach any attribute")
            elif attr.value in DUNDERS or any(attr.value in names for names in BLOCKED_ATTRS.values()):
                self.flag(node, f"{name}(..., {attr.value!r})", "reaches a blocked attribute")
        if name == "open" or self._resolve(func) in ("builtins.open", "io.open", "codecs.open"):
            self._check_open(node)
        if isinstance(func, ast.Attribute):
            if func.attr in FILE_METHODS and not self._resolve(func):
                self.flag(node, f".{func.attr}()", "deletes, moves or re-permissions files")
            if func.attr in WRITE_METHODS and not self._resolve(func):
                target = func.value
                if self.strict or not self._safe_path(target):
                    self.flag(node, f".{func.attr}()", "writes a file outside the working directory"
                              if not self.strict else "writes a file")
            if self.strict and func.attr in PICKLE_LOADS and self._resolve(func) is None \
                    and isinstance(func.value, ast.Name) and func.value.id in ("pickle", "dill", "joblib", "torch"):
                self.flag(node, f"{func.value.id}.{func.attr}()", "loading pickles runs code")
        self.generic_visit(node)

    def _check_open(self, node: ast.Call) -> None:
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        writes = mode is not None and (not isinstance(mode, ast.Constant) or
                                       any(c in str(mode.value) for c in "wax+"))
        if not writes:
            return
        path = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "file"), None)
        if self.strict:
            self.flag(node, "open(..., 'w')", "writes a file")
        elif path is None or not _relative_inside(path):
            self.flag(node, "open(..., 'w')", "writes a file outside the working directory")

    @staticmethod
    def _safe_path(node: ast.AST) -> bool:
        """Path('results/x.txt') or pathlib.Path('x.txt'): a literal relative path inside the working directory."""
        if isinstance(node, ast.Call) and node.args and (
                (isinstance(node.func, ast.Name) and node.func.id == "Path")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "Path")):
            return all(_relative_inside(a) for a in node.args)
        return False


def _relative_inside(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    path = node.value.replace("\\", "/")
    return bool(path) and not path.startswith(("/", "~")) and ".." not in path.split("/") and ":" not in path


def check(code: str, *, strict: bool = False) -> Verdict:
    """What in `code` is blocked; a program that does not parse is left to the runner to report."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return Verdict(strict=strict)
    checker = _Checker(strict)
    checker.visit(tree)
    unique = list(dict.fromkeys(checker.findings))
    return Verdict(unique, strict)
