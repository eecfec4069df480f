"""The rules the code's shape rests on, checked so that breaking one fails a test: imports run down the
layers only and never in a circle, the core imports nothing from Jupyter, and loading the extension or the
engine pulls in no heavy library."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "llmos_jupyter"

# Lowest first. A module may import from its own layer or a lower one, never a higher one. An entry names a
# module and everything under it; "=name" names that module alone.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "settings", "events", "tokencount", "dispatch.modes", "dispatch.symbols", "quiet"),
    ("store", "dispatch.normalize", "dispatch.words", "dispatch.plan", "prompts"),
    ("ledger", "sentience", "prices"),
    # localmodel: weights and adapter folders, served by providers.local and trained by finetune.
    # store.migrate moves a memory between stores, so it knows what memory's records mean.
    ("providers", "memory", "tools", "consensus", "sandbox", "finetune", "localmodel", "store.migrate"),
    # dispatch.dispatcher is the decide stage's logic; the consensus package's face re-exports its pipeline.
    ("pipeline", "dispatch.dispatcher", "consensus.pipeline", "=consensus"),
    ("engine",),
    ("cli", "magics", "render", "jupyter_config", "widgets", "testing", ""),
]
JUPYTER = ("IPython", "ipykernel", "ipywidgets", "anywidget", "traitlets", "jupyter", "jupyterlab", "nbformat")
UI = ("magics", "widgets", "jupyter_config", "testing")
HEAVY = ("torch", "qiskit", "qiskit_aer", "sentence_transformers", "transformers", "peft", "psycopg", "psycopg_pool",
         "pgvector")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(modules of this package, top-level outside packages) that `name` imports anywhere, functions included."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    ours, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top == "llmos_jupyter":
                    ours.add(alias.name.removeprefix("llmos_jupyter").lstrip("."))
                else:
                    outside.add(top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module.split(".")[0] == "llmos_jupyter":
                target = node.module.removeprefix("llmos_jupyter").lstrip(".")
            else:
                outside.add(node.module.split(".")[0])
                continue
            # `from . import checks` names a module; `from .ledger import Usage` names a thing in one.
            found = [f"{target}.{a.name}".lstrip(".") for a in node.names if f"{target}.{a.name}".lstrip(".") in MODULES]
            ours.update(found or [target])
    return {m for m in ours if m != name}, outside


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer(module: str) -> int:
    """The layer of the longest prefix that names `module`."""
    best, level = -1, None
    for index, names in enumerate(LAYERS):
        for entry in names:
            if entry.startswith("="):
                if module == entry[1:]:
                    return index
            elif (module == entry or module.startswith(entry + ".") or entry == "") and len(entry) > best:
                best, level = len(entry), index
    return level


def test_every_module_has_a_layer():
    assert all(layer(m) is not None for m in MODULES)
    assert "pipeline.ask" in MODULES and layer("pipeline.ask") == 4 and layer("consensus.pipeline") == 4
    assert layer("consensus.hamiltonian") == 3 and layer("") == 6


def test_no_import_runs_back_up_the_layers():
    upward = sorted(f"{m} ({layer(m)}) -> {t} ({layer(t)})" for m, (ours, _) in GRAPH.items() for t in ours
                    if t in MODULES and layer(t) > layer(m))
    assert upward == []


def test_the_checker_sees_an_upward_import(tmp_path):
    fake = tmp_path / "ledger.py"
    fake.write_text("def f():\n    from .engine import LLMOS\n")
    ours, _ = _imports("ledger", fake)
    assert ours == {"engine"} and layer("engine") > layer("ledger")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    graph = {m: {t for t in ours if t in MODULES} for m, (ours, _) in GRAPH.items()}
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]  # the checker finds one when there is one


def _is_ui(module: str) -> bool:
    return module == "" or any(module == u or module.startswith(u + ".") for u in UI if u)


def test_the_core_imports_nothing_from_jupyter():
    found = {m: sorted(outside & set(JUPYTER)) for m, (_, outside) in GRAPH.items() if not _is_ui(m)}
    assert {m: f for m, f in found.items() if f} == {}
    assert not _is_ui("engine") and _is_ui("widgets.tokens")


def _loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(heavy)!r} or m in {list(heavy)!r} "
             "or m == 'anywidget' or m.startswith('llmos_jupyter.widgets'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


LOAD_EXT = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().run_line_magic('load_ext', 'llmos_jupyter')")


@pytest.mark.parametrize("code", ["import llmos_jupyter", LOAD_EXT])
def test_loading_the_extension_pulls_in_nothing_heavy_not_even_numpy_or_the_engine(code):
    assert _loaded_after(code, HEAVY + ("numpy", "scipy", "llmos_jupyter.engine")) == []


def test_the_engine_loads_without_torch_qiskit_models_or_widgets():
    assert _loaded_after("from llmos_jupyter import LLMOS\nassert LLMOS") == []


def test_the_probe_sees_what_it_looks_for():
    assert "anywidget" in _loaded_after("import llmos_jupyter.widgets")
    assert "llmos_jupyter.engine" in _loaded_after("import llmos_jupyter.engine", ("llmos_jupyter.engine",))
