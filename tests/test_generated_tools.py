"""Generated tools read as a person wrote them (issue #26): a parameter's value is not kept under a second name
(`n = qubits`), docstrings break only at spaces, and the companion test file defines every name it annotates
with, so `pytest` and `typing.get_type_hints` both take it. Tools are made from real programs run on Aer; an old
home's tool file, written by the generator before this one, still runs.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import subprocess
import sys
import typing

import pytest

from llmos_jupyter import Mode
from llmos_jupyter.memory import checks
from llmos_jupyter.memory.crystallize import crystallize, load_tool, param_name, tool_source, tool_test_source
from llmos_jupyter.memory.seed import _trace as starter_trace, skill_param_names
from llmos_jupyter.memory.starter_skills import SKILLS
from llmos_jupyter.memory.traces import Trace
from llmos_jupyter.testing.qiskit_model import respond
from llmos_jupyter.tools.qiskit_exec import run_code

IMPORTS = "from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n\n"
RUN = ("qc.measure_all()\nsim = AerSimulator()\n"
       "counts = sim.run(transpile(qc, sim), shots=SLOT_shots_0).result().get_counts()\nprint(counts)\n")


def trace_of(code: str, request: str = "Prepare 3 qubits all in one with 100 shots") -> Trace:
    """A trace verified five times on 3 qubits and 100 shots, both generalized."""
    bound = ("SLOT_qubits_0", "SLOT_shots_0")
    return Trace(id="0123456789ab", origin="learner", title=request, request=request,
                 template="ones on <qubits> with <shots> shots", signature=("qubits", "shots"),
                 code=code, bound=bound, shape="", generalized=bound,
                 examples=[{"SLOT_qubits_0": 3, "SLOT_shots_0": 100}],
                 checks=("total_shots", "width_is_qubits", "single_outcome"), uses=5)


def names_for(trace: Trace) -> dict[str, str]:
    return {p: param_name(p) for p in trace.bound}


def aliases_in(source: str, function: str) -> list[str]:
    """`x = <parameter>` statements in the tool's body."""
    tool = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == function)
    params = {a.arg for a in tool.args.args}
    return [ast.unparse(s) for s in ast.walk(tool) if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name)
            and s.value.id in params]


# Each program puts every qubit in |1>, so its counts are known exactly: {"1" * qubits: shots}.
@pytest.mark.parametrize("body,renamed,shows", [
    ("n = SLOT_qubits_0\nqc = QuantumCircuit(n)\nqc.x(range(n))\n", True, "qc.x(range(qubits))"),
    ("n = SLOT_qubits_0  # input qubits\nqc = QuantumCircuit(n)\nqc.x(range(n))\n", True, "QuantumCircuit(qubits)"),
    ("n = SLOT_qubits_0\n\ndef flip(qc):\n    qc.x(range(n))\n\nlabel = f'ones-{n}'\n"
     "qc = QuantumCircuit(n, name=label)\nflip(qc)\n", True, "label = f'ones-{qubits}'"),
    ("n = SLOT_qubits_0\nsizes = dict(n=n)\nqc = QuantumCircuit(sizes['n'])\nqc.x(range(qc.num_qubits))\n", True,
     "sizes = dict(n=qubits)"),
    ("n = SLOT_qubits_0\nn += 0\nqc = QuantumCircuit(n)\nqc.x(range(n))\n", False, "n += 0"),
    ("n = SLOT_qubits_0\nwires = [qubits for qubits in range(n)]\nqc = QuantumCircuit(n)\nqc.x(wires)\n", False,
     "[qubits for qubits in range(n)]"),
    ("n = SLOT_qubits_0\n\ndef flip(qc, n):\n    qc.x(range(n))\n\nqc = QuantumCircuit(n)\nflip(qc, n)\n", False,
     "def flip(qc, n):"),
    ("def flip(qc):\n    qc.x(range(n))\n\nn = SLOT_qubits_0\nqc = QuantumCircuit(n)\nflip(qc)\n", False,
     "qc.x(range(n))"),
    ("n = SLOT_qubits_0\nqc = QuantumCircuit(n)\nqc.x(range(eval('n')))\n", False, "eval('n')"),
], ids=["an alias is renamed through the body", "an alias goes with its comment",
        "reads in a nested function and an f-string are renamed", "a keyword named like the alias stays a keyword",
        "an alias rebound later is kept", "a parameter shadowed in a comprehension keeps the alias",
        "a function's own argument of that name keeps the alias", "a read before the alias keeps it",
        "a program that reads names by string keeps it"])
def test_a_parameter_is_not_kept_under_a_second_name_unless_renaming_could_change_what_runs(
        tmp_path, body, renamed, shows):
    trace = trace_of(IMPORTS + body + RUN)
    source = tool_source(trace, "ones", names_for(trace))
    assert (aliases_in(source, "ones") == []) is renamed, source
    assert shows in source
    # The same behaviour, renamed or not: it passes its verified example and answers a new one exactly.
    assert crystallize(trace, tmp_path, set(), names_for(trace), run=run_code) == "ones"
    assert (tmp_path / "ones.py").read_text() == source
    assert load_tool(tmp_path, "ones")(qubits=4, shots=10) == {"1111": 10}


# Each request is worded so that a line of 100 columns ends inside a hyphenated name: the generator before issue
# #26 broke the first in the module's docstring, the second and third in the function's.
@pytest.mark.parametrize("request_text", [
    "Prepare 3 qubits in one, then a Bernstein-Vazirani circuit, with 100 shots",
    "Prepare the 3 qubits all in one and then compare this with what a small Bernstein-Vazirani circuit does with "
    "100 shots",
    "Prepare the 3 qubits all in one, the way the textbook's well-known Greenberger-Horne-Zeilinger one-by-one "
    "tutorial does, with 100 shots",
    "Prepare all 3 qubits in one with 100 shots for the "
    "very_long_identifier_that_a_user_pasted_into_the_request_and_that_no_line_of_a_hundred_columns_can_hold_whole",
], ids=["the module's docstring keeps a hyphenated name whole", "the function's docstring keeps it whole",
        "every hyphenated word stays whole", "a name longer than a line stays whole"])
def test_a_docstring_breaks_only_between_words(request_text):
    trace = trace_of(IMPORTS + "qc = QuantumCircuit(SLOT_qubits_0)\nqc.x(range(SLOT_qubits_0))\n" + RUN,
                     request_text)
    source = tool_source(trace, "ones", names_for(trace), aliases=["a", "b"])
    tree = ast.parse(source)
    for doc in (ast.get_docstring(tree, clean=False), ast.get_docstring(tree.body[-1], clean=False)):
        assert not [line for line in doc.splitlines() if line.rstrip().endswith("-")], doc
    said = [w.strip(".,") for w in ast.get_docstring(tree.body[-1]).split()]
    assert [w for w in request_text.split() if "-" in w or len(w) > 40 if w.strip(".,") not in said] == []


def test_a_modules_docstring_is_not_indented():
    trace = trace_of(IMPORTS + "qc = QuantumCircuit(SLOT_qubits_0)\nqc.x(range(SLOT_qubits_0))\n" + RUN,
                     "Prepare the 3 qubits all in one and then compare this with what a small Bernstein-Vazirani "
                     "circuit does with 100 shots")
    doc = ast.get_docstring(ast.parse(tool_source(trace, "ones", names_for(trace))), clean=False)
    assert len(doc.splitlines()) > 2 and not [line for line in doc.splitlines() if line.startswith(" ")]


@pytest.fixture(scope="module")
def starter_tools(tmp_path_factory):
    """Every starter skill made a tool in one home's tools/ folder: real programs, checked on Aer."""
    tools = tmp_path_factory.mktemp("home") / "tools"
    made = {}
    for skill in SKILLS:
        trace, _ = starter_trace(skill)
        trace.uses = 5
        made[skill.name] = crystallize(trace, tools, set(made.values()), skill_param_names(trace), run=run_code)
    return tools, made


def test_every_starter_skill_becomes_a_tool_without_aliases_or_broken_words(starter_tools):
    tools, made = starter_tools
    assert None not in made.values() and len(made) == len(SKILLS)
    for function in made.values():
        source = (tools / f"{function}.py").read_text()
        assert aliases_in(source, function) == [], source
        assert not [line for line in source.splitlines() if line.rstrip().endswith("-")], source


def test_the_generated_test_files_pass_pytest_in_a_fresh_process(starter_tools):
    tools, made = starter_tools
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tools)],
                          capture_output=True, text=True, cwd=tools.parent)
    assert done.returncode == 0 and f"{len(made)} passed" in done.stdout, done.stdout + done.stderr


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_type_hints_resolve_on_every_tool_and_every_function_of_its_test_file(starter_tools):
    tools, made = starter_tools
    for function in made.values():
        hints = typing.get_type_hints(load_tool(tools, function))
        assert hints["return"] == dict[str, int] and hints["shots"] is int
        module = _module(tools / f"test_{function}.py")
        functions = [f for f in vars(module).values() if inspect.isfunction(f) and f.__module__ == module.__name__]
        assert len(functions) >= 4  # the loader, bits_of, width, a check and the test
        for f in functions:
            typing.get_type_hints(f)  # NameError if the file annotates with a name it never defines
        assert typing.get_type_hints(getattr(module, f"test_{function}_passes_its_verified_examples"))["values"] \
            == dict[str, object]


def test_a_test_file_carrying_every_check_defines_all_it_uses():
    named = [name for name, (check, _) in checks.CHECKS.items() if check.__name__ != "<lambda>"]
    values = {"qubits": 2, "shots": 10, "bits": "01"}
    module = {}
    exec(compile(tool_test_source("ones", [({"qubits": 2, "shots": 10}, values, named)]), "test_ones.py", "exec"),
         module)
    for counts in ({"01": 10}, {"00": 5, "11": 5}, {"0 1": 4, "1 0": 6}):
        for name in named:  # each check runs as the original does, on the names this file defines
            assert module["CHECKS"][name](counts, values) == checks.CHECKS[name][0](counts, values), name
    for f in (v for v in module.values() if inspect.isfunction(v)):
        typing.get_type_hints(f, globalns=module)


# What the generator before issue #26 wrote for the scripted model's GHZ program: an alias, an indented module
# docstring. A home made then keeps this file, and its trace keeps this file's hash.
OLD_GHZ_TOOL = '''\
"""ghz_state: learned by LLMOS from 2 verified runs of "Create a GHZ state with 3 qubits" (and 1
    other wording).

    test_ghz_state.py beside it replays them.
"""
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator


def ghz_state(qubits: int = 3, shots: int = 1024) -> dict[str, int]:
    """Create a GHZ state with `qubits` qubits, and return the counts of `shots` shots on Aer."""
    n = qubits
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()

    sim = AerSimulator()
    counts = sim.run(transpile(qc, sim), shots=shots).result().get_counts()
    return counts
'''


def test_a_tool_written_by_the_older_generator_still_runs_as_checked(make_engine, server):
    """The hash is of the file's bytes, not of what today's generator would write: an old home's tools stay."""
    server.responder = respond
    engine = make_engine(crystallize_uses=2)
    first = engine.run("Create a GHZ state with 3 qubits")
    assert engine.run("Create a GHZ state with 3 qubits").mode == Mode.FOLLOWER
    trace = engine.memory.traces.get(first.trace_id)
    assert trace.tool_name == "ghz_state"
    assert "n = qubits" not in (engine.memory.tools_dir / "ghz_state.py").read_text()  # today's generator
    (engine.memory.tools_dir / "ghz_state.py").write_text(OLD_GHZ_TOOL)

    def as_an_old_home_has_it(t):
        t.tool_hash = hashlib.sha256(OLD_GHZ_TOOL.encode()).hexdigest()

    engine.memory.traces.modify(trace.id, as_an_old_home_has_it)
    counts = engine.tool("ghz_state")(qubits=4, shots=64)
    assert set(counts) == {"0000", "1111"} and sum(counts.values()) == 64
    r = engine.run("Create a GHZ state with 3 qubits, 500 shots")
    assert r.mode == Mode.CRYSTALLIZED and r.verified and sum(r.counts.values()) == 500
    assert (engine.memory.tools_dir / "ghz_state.py").read_text() == OLD_GHZ_TOOL  # kept, not rewritten
