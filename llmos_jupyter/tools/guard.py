"""A static look at generated code before it runs: warn about what a Qiskit answer never needs.

It reads the program's syntax tree and names what it finds in plain words: "this program starts
other programs", "this program writes outside the working folder", "this program reads the
environment, where API keys live". Found: starting processes (subprocess, os.system/exec*/spawn*/
fork), deleting or moving files (shutil.rmtree, os.remove, Path.unlink, ...), writing outside the
working folder, sockets and HTTP clients, ctypes, eval/exec/compile, __import__ and importlib, LLMOS's own memory (.llmos),
reading the environment, and the attribute tricks that reach any of these (a module's function
picked by a computed name, names of interpreter internals, __globals__, __subclasses__,
sys.modules, __builtins__). `strict=True` (when the sentience layer's safety is low) also warns
about every file write, pickle-style loading, and jobs on real IBM hardware.

Paths are followed through simple assignments: `out = Path("llmos-outputs")` then
`(out / "probs.json").write_text(...)` stays inside the working folder, and so does
`open(f"counts_{n}.json", "w")`; `p = "/tmp/x"` then `open(p, "w")` does not.

This is a warning layer that reads code, not a sandbox: a determined program can hide what it does
from any reading of its text. It runs before code from a model, from an imported memory file, or a
crystallized tool; what keeps a program from doing harm is where it runs.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

STARTS = "starts other programs"
NETWORK = "opens network connections"
HTTP = "makes web requests"
NATIVE = "calls native code directly"
BY_NAME = "imports modules by a name computed at run time"
RUNS = "runs a string as code"
SECRETS = "reads the environment, where API keys live"
INTERNALS = "reaches interpreter internals, and through them anything"
OUTSIDE = "writes outside the working folder"
WRITES = "writes a file"
PICKLE = "loads a pickle, which can run any code"
HOME = "reaches LLMOS's own memory (its traces and tools in .llmos), which a Qiskit answer never needs"

BLOCKED_MODULES = {
    "subprocess": STARTS, "_posixsubprocess": STARTS, "pty": STARTS, "multiprocessing": STARTS,
    "asyncio.subprocess": STARTS,
    "socket": NETWORK, "ssl": NETWORK, "ftplib": NETWORK, "telnetlib": NETWORK, "websocket": NETWORK,
    "http": HTTP, "urllib": HTTP, "urllib3": HTTP, "requests": HTTP, "httpx": HTTP, "httpx2": HTTP,
    "aiohttp": HTTP, "xmlrpc": HTTP,
    "smtplib": "sends e-mail", "paramiko": "opens SSH connections", "webbrowser": "opens a web browser",
    "ctypes": NATIVE, "cffi": NATIVE, "importlib": BY_NAME,
    "code": RUNS, "codeop": "compiles a string to code", "runpy": "runs other Python files",
    "marshal": "loads code objects", "winreg": "edits the Windows registry",
    "llmos_jupyter": "reaches LLMOS itself (its guard, its memory, the client that holds the API key)",
}
STRICT_MODULES = {
    "pickle": PICKLE, "dill": PICKLE, "shelve": PICKLE, "cloudpickle": PICKLE,
    "qiskit_ibm_runtime": "submits jobs to real IBM hardware",
    "os": "touches the operating system", "shutil": "moves and deletes files", "tempfile": WRITES,
}
_OS_ATTRS = {
    **dict.fromkeys(("system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp",
                     "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
                     "spawnvpe", "posix_spawn", "posix_spawnp", "fork", "forkpty", "startfile"), STARTS),
    "kill": "signals other processes", "killpg": "signals other processes",
    **dict.fromkeys(("remove", "unlink", "rmdir", "removedirs"), "deletes files"),
    **dict.fromkeys(("rename", "renames", "replace"), "moves files"),
    **dict.fromkeys(("chmod", "chown", "lchown"), "changes who may read or write files"),
    "symlink": "links files into other places", "link": "links files into other places",
    "truncate": "empties files",
    "putenv": "changes the environment", "unsetenv": "changes the environment",
    **dict.fromkeys(("environ", "environb", "getenv", "getenvb"), SECRETS),
    **dict.fromkeys(("setuid", "setgid", "chroot"), "changes what the process is allowed to do"),
    "_exit": "ends the kernel", "abort": "ends the kernel",
}
BLOCKED_ATTRS: dict[str, dict[str, str]] = {
    "os": _OS_ATTRS, "posix": _OS_ATTRS, "nt": _OS_ATTRS,
    "shutil": {"rmtree": "deletes folders", "move": "moves files", "chown": "changes who may read or write files",
               **dict.fromkeys(("copy", "copy2", "copyfile", "copytree"), "copies files, possibly outside the "
                                                                          "working folder"),
               "make_archive": "packs folders into archives", "unpack_archive": "unpacks archives anywhere"},
    "sys": {"modules": "reaches every loaded module, and what it holds",
            "_getframe": "reads the frames of the code that called it, and what they hold",
            "settrace": "watches everything the kernel runs", "setprofile": "watches everything the kernel runs",
            "meta_path": "changes how modules are imported", "path_hooks": "changes how modules are imported",
            "exit": "ends the kernel"},
    "builtins": {"eval": RUNS, "exec": RUNS, "compile": "compiles a string to code", "__import__": BY_NAME,
                 "open": "opens files by a roundabout name", "breakpoint": "stops the kernel for a debugger",
                 "input": "waits for keyboard input, which freezes the cell"},
}
STAR_SUMMARY = {"os": "starts other programs, deletes files and reads the environment", "shutil": "deletes and "
                "moves files", "sys": "reaches every loaded module", "builtins": "runs strings as code"}
STAR_SUMMARY["posix"] = STAR_SUMMARY["nt"] = STAR_SUMMARY["os"]
BLOCKED_CALLS = {
    "eval": RUNS, "exec": RUNS, "compile": "compiles a string to code",
    "__import__": BY_NAME, "globals": "reaches the module's namespace",
    "vars": "reaches an object's namespace", "breakpoint": "stops the kernel for a debugger",
    "input": "waits for keyboard input, which freezes the cell", "exit": "ends the kernel",
    "quit": "ends the kernel",
}
# `__class__` is not here: `x.__class__` is `type(x)`, and every way on from a type (__bases__, __mro__,
# __subclasses__, __globals__, __dict__, ...) is.
DUNDERS = {"__globals__", "__builtins__", "__subclasses__", "__bases__", "__base__", "__mro__", "__code__",
           "__closure__", "__getattribute__", "__dict__", "__import__", "__loader__", "__spec__", "__self__",
           "__func__", "__reduce__", "__reduce_ex__", "__init_subclass__", "__getattr__",
           "__setattr__", "__delattr__", "__traceback__", "f_globals", "f_locals", "f_back", "gi_frame",
           "tb_frame", "co_code"}
FILE_METHODS = {"unlink": "deletes files", "rmdir": "deletes folders", "rename": "moves files",
                "symlink_to": "links files into other places", "hardlink_to": "links files into other places",
                "chmod": "changes who may read or write files", "lchmod": "changes who may read or write files",
                "rmtree": "deletes folders"}
WRITE_METHODS = {"write_text", "write_bytes", "touch", "mkdir"}
PICKLE_LOADS = {"load", "loads"}
# Calls that write to a path they are given: warned about when that path is plainly outside the working
# folder (absolute, in the home folder, or above the working folder). Which argument holds the path.
PATH_WRITERS = {
    "save": ("file", 0), "savez": ("file", 0), "savez_compressed": ("file", 0), "savetxt": ("fname", 0),
    "tofile": ("fid", 0), "savefig": ("fname", 0), "write_html": ("file", 0), "write_image": ("file", 0),
    "write_json": ("file", 0), "to_csv": ("path_or_buf", 0), "to_json": ("path_or_buf", 0),
    "draw": ("filename", None), "basicConfig": ("filename", None), "FileHandler": ("filename", 0),
    "RotatingFileHandler": ("filename", 0), "TimedRotatingFileHandler": ("filename", 0),
    "NamedTemporaryFile": ("dir", None), "TemporaryFile": ("dir", None), "SpooledTemporaryFile": ("dir", None),
    "TemporaryDirectory": ("dir", None), "mkstemp": ("dir", None), "mkdtemp": ("dir", None),
    "makedirs": ("name", 0), "mkdir": ("path", 0), "connect": ("database", 0),
}
# Modules that other modules import and so re-export (qiskit.x.subprocess): reached through any of them.
REEXPORTED_MODULES = {"subprocess", "socket", "ctypes", "importlib", "pty", "multiprocessing", "runpy", "urllib",
                      "http", "ssl"}
STRING_BUILDERS = {"join", "format", "replace", "decode", "translate", "chr", "bytes", "bytearray", "reversed"}
_UNKNOWN = object()  # a name bound somewhere this check cannot see (a parameter, a `with ... as`, an import)


@dataclass(frozen=True)
class Finding:
    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: this program {self.why} ({self.what})"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    def explain(self) -> str:
        head = "Not run: the guard warns that this program does what a Qiskit answer does not need"
        if self.strict:
            head += " (strict checks are on because the safety valence is low)"
        lines = "\n".join(f"  - {f}" for f in self.findings)
        return f"{head}:\n{lines}\nRead it above; to run it anyway, add --trust to this cell."


def _bindings(tree: ast.AST) -> dict[str, list]:
    """name -> every expression assigned to it anywhere in the program (scopes are not told apart)."""
    out: dict[str, list] = {}

    def bind(target: ast.AST, value) -> None:
        if isinstance(target, ast.Name):
            out.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and \
                len(value.elts) == len(target.elts) else [_UNKNOWN] * len(target.elts)
            for t, v in zip(target.elts, values):
                bind(t, v)
        elif isinstance(target, ast.Starred):
            bind(target.value, _UNKNOWN)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            bind(node.target, node.value)
        elif isinstance(node, ast.AugAssign):
            bind(node.target, _UNKNOWN)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            bind(node.target, ("element", node.iter))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, _UNKNOWN)
    return out


class _Checker(ast.NodeVisitor):
    def __init__(self, strict: bool, tree: ast.AST):
        self.strict = strict
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> module path ('o' -> 'os')
        self.imported: dict[str, tuple[str, str]] = {}  # local name -> (module, attr) for `from m import a`
        self.bindings = _bindings(tree)
        self._collect_aliases(tree)

    def _collect_aliases(self, tree: ast.AST) -> None:
        """Imports anywhere, then `fs = os`: a name assigned a module (or a name from one) stands for it."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._alias_import(alias)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}"
        for _ in range(3):  # `a = os; b = a` needs two rounds
            for name, values in self.bindings.items():
                if name in self.aliases:
                    continue
                for value in values:
                    if isinstance(value, ast.AST) and isinstance(value, (ast.Name, ast.Attribute)):
                        path = self._resolve(value)
                        if path:
                            self.aliases[name] = path
                            break

    def _alias_import(self, alias: ast.alias) -> None:
        self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
            alias.name.split(".")[0]

    def flag(self, node: ast.AST, what: str, why: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), what, why))

    def _module_problem(self, name: str) -> str | None:
        for table in ((BLOCKED_MODULES, STRICT_MODULES) if self.strict else (BLOCKED_MODULES,)):
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                prefix = ".".join(parts[:i])
                if prefix in table:
                    return table[prefix]
                if prefix.startswith("_") and prefix.lstrip("_") in table:  # _socket is socket
                    return table[prefix.lstrip("_")]
        return None

    # -- imports ---------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            why = self._module_problem(alias.name)
            if why:
                self.flag(node, f"import {alias.name}", why)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        why = self._module_problem(module)
        if why:
            self.flag(node, f"from {module} import ...", why)
        for alias in node.names:
            if alias.name == "*":
                if module in BLOCKED_ATTRS and not why:
                    self.flag(node, f"from {module} import *", f"imports everything from {module}, including "
                              f"what {STAR_SUMMARY[module]}")
                continue
            local = alias.asname or alias.name
            sub = self._module_problem(f"{module}.{alias.name}")
            if sub and not why:
                self.flag(node, f"from {module} import {alias.name}", sub)
            if alias.name in BLOCKED_ATTRS.get(module, {}):
                self.flag(node, f"from {module} import {alias.name}", BLOCKED_ATTRS[module][alias.name])
            if alias.name in BLOCKED_CALLS and module in ("builtins", ""):
                self.flag(node, f"from {module} import {alias.name}", BLOCKED_CALLS[alias.name])
            self.imported[local] = (module, alias.name)
        self.generic_visit(node)

    # -- names and attributes ----------------------------------------------------------------------
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

    def _attr_problem(self, path: str) -> str | None:
        """Why `path` (a resolved chain) is blocked: os.system, or os.system reached through another module
        that imported os (logging.os.system, tempfile._os.system)."""
        parts = path.split(".")
        module, attr = ".".join(parts[:-1]), parts[-1]
        if attr in BLOCKED_ATTRS.get(module, {}):
            return BLOCKED_ATTRS[module][attr]
        for i, part in enumerate(parts[1:-1], start=1):
            name = part.lstrip("_")
            if name in BLOCKED_ATTRS and parts[i + 1] in BLOCKED_ATTRS[name]:
                return BLOCKED_ATTRS[name][parts[i + 1]] + f", by way of {'.'.join(parts[:i])}"
            if name in REEXPORTED_MODULES:
                return BLOCKED_MODULES[name] + f", by way of {'.'.join(parts[:i])}"
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in DUNDERS:
            self.flag(node, f".{node.attr}", INTERNALS)
        path = self._resolve(node)
        if path:
            module = path.rpartition(".")[0]
            problem = self._attr_problem(path)
            if problem:
                self.flag(node, path, problem)
            elif self._module_problem(path) and not self._module_problem(module or path):
                self.flag(node, path, self._module_problem(path))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            self.flag(node, node.id, INTERNALS)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value in DUNDERS:
            self.flag(node, f"{node.value!r} written as a string", "names interpreter internals, the way to reach "
                      "anything")
        if isinstance(node.value, str) and _names_home(node.value):
            self.flag(node, f"{node.value!r}", HOME)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, (ast.Add, ast.Mod)) and self._dunder_pieces(node):
            self.flag(node, "a name built from pieces", "builds the name of interpreter internals from pieces")
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if self._dunder_pieces(node):
            self.flag(node, "a name built from pieces", "builds the name of interpreter internals from pieces")
        self.generic_visit(node)

    @staticmethod
    def _dunder_pieces(node: ast.AST) -> bool:
        pieces = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        return any(p.startswith("__") and not p.endswith("__") or p.endswith("__") and not p.startswith("__")
                   for p in pieces) or any(p == "__" for p in pieces)

    # -- calls ---------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in BLOCKED_CALLS and name not in self.imported and name not in self.aliases:
            self.flag(node, f"{name}()", BLOCKED_CALLS[name])
        if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            self._check_getattr(node, name)
        resolved = self._resolve(func)
        if name == "open" or resolved in ("builtins.open", "io.open", "codecs.open", "io.FileIO"):
            self._check_open(node, node.args[0] if node.args else self._keyword(node, "file"),
                             node.args[1] if len(node.args) > 1 else self._keyword(node, "mode"))
        if isinstance(func, ast.Attribute):
            if func.attr in FILE_METHODS and not resolved:
                self.flag(node, f".{func.attr}()", FILE_METHODS[func.attr])
            if func.attr in WRITE_METHODS and not resolved:
                if self.strict:
                    self.flag(node, f".{func.attr}()", WRITES)
                elif not self._inside(func.value):
                    self.flag(node, f".{func.attr}()", OUTSIDE)
            if func.attr == "open" and not resolved:  # Path(...).open("w")
                self._check_open(node, func.value, node.args[0] if node.args else self._keyword(node, "mode"))
            if self.strict and func.attr in PICKLE_LOADS and resolved is None \
                    and isinstance(func.value, ast.Name) and func.value.id in ("pickle", "dill", "joblib", "torch"):
                self.flag(node, f"{func.value.id}.{func.attr}()", PICKLE)
        writer = func.attr if isinstance(func, ast.Attribute) else name
        if writer in PATH_WRITERS and not self.strict:
            self._check_writer(node, writer)
        self.generic_visit(node)

    @staticmethod
    def _keyword(node: ast.Call, name: str) -> ast.AST | None:
        return next((k.value for k in node.keywords if k.arg == name), None)

    def _check_getattr(self, node: ast.Call, name: str) -> None:
        obj, attr = node.args[0], node.args[1]
        if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
            if attr.value in DUNDERS or any(attr.value in names for names in BLOCKED_ATTRS.values()):
                self.flag(node, f"{name}(..., {attr.value!r})", INTERNALS
                          if attr.value in DUNDERS else "reaches a function the guard warns about by name")
            return
        values = self._values(attr)
        constants = [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        if any(c in DUNDERS or any(c in names for names in BLOCKED_ATTRS.values()) for c in constants):
            self.flag(node, f"{name}() with a name it was given", "reaches a function the guard warns about by name")
        elif self._resolve(obj) is not None or self._is_builtins(obj):
            self.flag(node, f"{name}() on a module with a computed name", "picks a module's function by a name "
                      "computed at run time, which can reach anything")
        elif any(self._built(v) for v in values):
            self.flag(node, f"{name}() with a name built from pieces", "builds an attribute name from pieces, "
                      "which can reach anything")

    @staticmethod
    def _is_builtins(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in ("__builtins__", "builtins")

    def _built(self, node) -> bool:
        """A string made at run time from pieces: 'sys' + 'tem', ''.join(...), f'{a}{b}', chr(...)."""
        if isinstance(node, (ast.BinOp, ast.JoinedStr)):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            return (isinstance(f, ast.Attribute) and f.attr in STRING_BUILDERS) or \
                (isinstance(f, ast.Name) and f.id in STRING_BUILDERS)
        return False

    def _values(self, node, seen: frozenset = frozenset()) -> list:
        """What `node` may hold, following names through their assignments (leaves: expressions or _UNKNOWN)."""
        if isinstance(node, ast.Name):
            if node.id in seen or node.id not in self.bindings:
                return [_UNKNOWN]
            out = []
            for value in self.bindings[node.id]:
                out += self._values(value, seen | {node.id})
            return out
        if isinstance(node, tuple) and node and node[0] == "element":  # a loop variable: the elements
            out = []
            for it in self._values(node[1], seen):
                if isinstance(it, (ast.List, ast.Tuple, ast.Set)):
                    for elt in it.elts:
                        out += self._values(elt, seen)
                elif isinstance(it, ast.Dict):
                    for key in it.keys:
                        out += self._values(key, seen) if key is not None else [_UNKNOWN]
                else:
                    out.append(_UNKNOWN)
            return out
        return [node]

    # -- paths -----------------------------------------------------------------------------------------
    def _check_open(self, node: ast.Call, path, mode) -> None:
        writes = mode is not None and (not isinstance(mode, ast.Constant) or
                                       any(c in str(mode.value) for c in "wax+"))
        if not writes:
            return
        what = f"open(..., {mode.value!r})" if isinstance(mode, ast.Constant) else "open(..., mode)"
        if self.strict:
            self.flag(node, what, WRITES)
        elif path is None or not self._inside(path):
            self.flag(node, what, OUTSIDE)

    def _check_writer(self, node: ast.Call, writer: str) -> None:
        keyword, position = PATH_WRITERS[writer]
        if writer == "connect" and self._resolve(node.func) != "sqlite3.connect":
            return
        if writer == "mkdir" and self._resolve(node.func) != "os.mkdir":
            return  # Path(...).mkdir() is a write method, checked with the others
        paths = [self._keyword(node, keyword)] if keyword else []
        if position is not None and len(node.args) > position:
            paths.append(node.args[position])
        for path in paths:
            if path is not None and self._outside(path):
                self.flag(node, f"{writer}(...)", OUTSIDE)
                return

    def _inside(self, node, seen: frozenset = frozenset()) -> bool:
        """Is `node` a path that stays inside the working folder, as far as the program's text shows?"""
        if isinstance(node, ast.Constant):
            return _relative_inside(node)
        if isinstance(node, ast.Name):
            if node.id in seen:
                return False
            leaves = self._values(node, seen)  # through assignments and loops over written-out lists
            return all(isinstance(v, ast.AST) and self._inside(v, seen | {node.id}) for v in leaves)
        if isinstance(node, ast.JoinedStr):
            return self._fstring_inside(node, seen)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
            return self._inside(node.left, seen) and self._piece_inside(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self._inside(node.body, seen) and self._inside(node.orelse, seen)
        if isinstance(node, ast.Call):
            func, resolved = node.func, self._resolve(node.func)
            fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if fname in ("Path", "PurePath", "PosixPath", "PurePosixPath") or resolved in ("os.path.join",
                                                                                         "posixpath.join"):
                return all(self._piece_inside(a, seen) for a in node.args) and \
                    (not node.args or self._inside(node.args[0], seen))
            if fname == "cwd" or resolved in ("os.getcwd", "os.curdir"):
                return True
            if fname == "str" and len(node.args) == 1:
                return self._inside(node.args[0], seen)
            if isinstance(func, ast.Attribute) and fname == "joinpath":
                return self._inside(func.value, seen) and all(self._piece_inside(a, seen) for a in node.args)
            if isinstance(func, ast.Attribute) and fname in ("with_suffix", "with_name", "with_stem", "resolve",
                                                             "absolute", "expanduser"):
                return self._inside(func.value, seen) and all(self._piece_inside(a, seen) for a in node.args)
        return False

    def _piece_inside(self, node, seen: frozenset) -> bool:
        """A later piece of a path: relative and never `..`. Values the text does not show are let through
        when they are not strings written in the program (`f"counts_{shots}.json"`, `out / name`)."""
        if isinstance(node, ast.Constant):
            return not isinstance(node.value, str) or _relative_inside(node)
        if isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)):
            return self._inside(node, seen)
        for value in self._values(node):
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and not _relative_inside(value):
                return False
            if isinstance(value, ast.AST) and isinstance(value, (ast.JoinedStr, ast.BinOp, ast.Call)) \
                    and not self._inside(value, seen):
                return False
        return True

    def _fstring_inside(self, node: ast.JoinedStr, seen: frozenset) -> bool:
        """f"counts_{n}.json" and f"{out}/x.png" (out inside) stay inside; f"/tmp/{n}" and f"{x}/../y" do not."""
        if not node.values:
            return False
        first = node.values[0]
        if isinstance(first, ast.Constant):
            if not _relative_inside(first):
                return False
        elif not (isinstance(first, ast.FormattedValue) and self._inside(first.value, seen)):
            return False
        for part in node.values[1:]:
            if isinstance(part, ast.Constant) and ".." in str(part.value).replace("\\", "/").split("/"):
                return False
            if isinstance(part, ast.FormattedValue) and not self._piece_inside(part.value, seen):
                return False
        return True

    def _outside(self, node, seen: frozenset = frozenset()) -> bool:
        """Is `node` plainly a path outside the working folder: absolute, in the home folder, or above?"""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and _plainly_outside(node.value)
        if isinstance(node, ast.Name):
            return node.id not in seen and any(isinstance(v, ast.AST) and self._outside(v, seen | {node.id})
                                               for v in self.bindings.get(node.id, []))
        if isinstance(node, ast.JoinedStr):
            return bool(node.values) and (self._outside(node.values[0], seen) or any(
                isinstance(p, ast.Constant) and ".." in str(p.value).split("/") for p in node.values))
        if isinstance(node, ast.FormattedValue):
            return self._outside(node.value, seen)
        if isinstance(node, ast.BinOp):
            return self._outside(node.left, seen) or self._outside(node.right, seen)
        if isinstance(node, ast.Call):
            func, resolved = node.func, self._resolve(node.func)
            fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if fname in ("home", "gettempdir", "mkdtemp", "expanduser") or resolved in ("os.path.expanduser",
                                                                                       "tempfile.gettempdir"):
                return True
            if isinstance(func, ast.Attribute) and fname in ("joinpath", "with_name", "with_suffix", "resolve",
                                                             "absolute"):
                return self._outside(func.value, seen) or any(self._outside(a, seen) for a in node.args)
            return any(self._outside(a, seen) for a in node.args)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            return isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) and \
                node.value.func.attr == "cwd"
        return False


def _names_home(text: str) -> bool:
    """'.llmos/llmos.db', '.llmos/tools/x.py': LLMOS's own memory, at its default place."""
    parts = text.replace("\\", "/").split("/")
    return ".llmos" in parts or parts[-1] in ("llmos.db", "llmos.db-wal")


def _plainly_outside(path: str) -> bool:
    path = path.replace("\\", "/")
    return path.startswith(("/", "~")) or ".." in path.split("/") or (len(path) > 1 and path[1] == ":")


def _relative_inside(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    path = node.value.replace("\\", "/")
    return bool(path) and not path.startswith(("/", "~")) and ".." not in path.split("/") and ":" not in path


def check(code: str, *, strict: bool = False) -> Verdict:
    """What in `code` the guard warns about; a program that does not parse is left to the runner to report."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return Verdict(strict=strict)
    checker = _Checker(strict, tree)
    checker.visit(tree)
    unique = list(dict.fromkeys(checker.findings))
    return Verdict(unique, strict)
