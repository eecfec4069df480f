"""Running answers: counts come from the Aer jobs, not from printed text."""
from llmos_jupyter.tools.extract import code_from_text
from llmos_jupyter.tools.qiskit_exec import run_code

from conftest import BELL, ghz


def test_counts_are_captured_without_any_print():
    e = run_code(BELL.replace("print(counts)\n", ""), {})
    assert e.output == "" and set(e.counts) == {"00", "11"} and e.shots == 1024


def test_the_last_measuring_job_wins():
    code = ghz(2, 100) + ghz(3, 300)
    e = run_code(code, {})
    assert len(e.jobs) == 2 and set(e.counts) == {"000", "111"} and e.shots == 300


def test_sampler_v2_jobs_are_seen():
    code = (
        "from qiskit import QuantumCircuit\n"
        "from qiskit_aer.primitives import SamplerV2\n"
        "qc = QuantumCircuit(1); qc.x(0); qc.measure_all()\n"
        "SamplerV2().run([qc], shots=64).result()\n"
    )
    e = run_code(code, {})
    assert e.counts == {"1": 64}


def test_statevector_only_program_has_no_counts():
    code = (
        "from qiskit import QuantumCircuit, transpile\nfrom qiskit_aer import AerSimulator\n"
        "qc = QuantumCircuit(1); qc.h(0); qc.save_statevector()\n"
        "sim = AerSimulator(method='statevector')\n"
        "sv = sim.run(transpile(qc, sim)).result().get_statevector()\n"
    )
    e = run_code(code, {})
    assert e.error is None and e.counts is None


def test_errors_do_not_escape():
    assert run_code("def f(:\n", {}).error_type == "SyntaxError"
    e = run_code("import sys\nsys.exit(3)\n", {})
    assert e.error_type == "SystemExit"
    e = run_code("raise KeyError('k')\n", {})
    assert "KeyError: 'k'" in e.error and "<llmos-cell-" in e.error


def test_aer_is_unpatched_after_a_run():
    from qiskit_aer.jobs import AerJob

    before = AerJob.result
    run_code("raise RuntimeError\n", {})
    assert AerJob.result is before


def test_code_extraction():
    assert code_from_text("no code here") is None
    assert code_from_text("```python\na = 1\n```\n```python\nb = 2\nc = 3\n```") == "b = 2\nc = 3"
    assert code_from_text("```\nx = 1\n```") == "x = 1"
    assert code_from_text("```bash\nls\n```") is None
    assert code_from_text("```python\nunclosed = True\n") == "unclosed = True"
