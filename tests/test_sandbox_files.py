"""Programs may save files where the user works (issue #23, item 4), and nothing else of the user's changes.

The worker may only read the working folder (the kernel's cwd); its Python-level writes there are staged in
the workdir (sandbox/staging.py) and the kernel copies in what is safe after each run (sandbox/saving.py),
looking at the staging folder itself: nothing the worker says decides what is copied. Every test uses a real
worker and real Qiskit / matplotlib / numpy; the hostile ones check the user's files are as they were."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import Reply, fenced, forge
from llmos_jupyter.render import result_bundles
from llmos_jupyter.sandbox import Sandbox
from llmos_jupyter.sandbox.saving import FOLDER, Manifest, collect, name_problem

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'



@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """The user's folder (a notebook and a data file in it) and the LLMOS home beside it."""
    root = tmp_path_factory.mktemp("files")
    work, home = root / "work", root / "home"
    work.mkdir()
    home.mkdir()
    (work / "analysis.ipynb").write_text(NOTEBOOK)
    (work / "angles.csv").write_text("theta\n0.5\n1.0\n")
    (work / "notes.txt").write_text("the user's own notes\n")
    (work / ".env").write_text("OPENAI_API_KEY=sk-not-for-programs\n")
    return work, home


@pytest.fixture(scope="module")
def box(place):
    work, home = place
    before = os.getcwd()
    os.chdir(work)  # the worker works where the kernel does
    try:
        sandbox = Sandbox(outputs=work / "llmos-outputs", protect=[home], saved_manifest=home / "saved-files.json")
    finally:
        os.chdir(before)
    with sandbox:
        yield sandbox


def ok(result):
    assert result.error is None, result.error
    return result


def not_saved(result, name: str) -> str:
    lines = [line for line in result.not_saved if line.startswith(repr(name))]
    assert lines, (name, result.not_saved)
    return lines[0]


# ------------------------------------------------------------------------------------- ordinary programs

def test_a_histogram_saved_with_savefig_lands_in_the_working_folder(box, place):
    work, _ = place
    r = ok(box.run("""
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.bar(["00", "11"], [512, 512])
fig.savefig("bell_counts.png")
plt.close(fig)
"""))
    assert r.saved == ("bell_counts.png",) and r.not_saved == ()
    assert (work / "bell_counts.png").read_bytes().startswith(PNG_MAGIC)


def test_a_circuit_written_as_bell_qpy_is_there_and_loads_in_the_kernel(box, place):
    work, _ = place
    r = ok(box.run("""
from qiskit import QuantumCircuit, qpy
bell = QuantumCircuit(2, name="bell")
bell.h(0)
bell.cx(0, 1)
with open("bell.qpy", "wb") as f:
    qpy.dump(bell, f)
with open("bell.qpy", "rb") as f:  # the program reads back what it wrote in this run
    again = qpy.load(f)[0]
print(again == bell)
"""))
    assert r.saved == ("bell.qpy",) and "True" in r.output
    from qiskit import QuantumCircuit, qpy

    expected = QuantumCircuit(2, name="bell")
    expected.h(0)
    expected.cx(0, 1)
    with open(work / "bell.qpy", "rb") as f:
        assert qpy.load(f)[0] == expected


def test_a_file_a_function_writes_is_there_when_the_call_returns(box, place):
    """HumanEval's create_binary_serialization(): the task's check calls the function, then reads bell.qpy."""
    work, _ = place
    r = ok(box.run("""
from qiskit import QuantumCircuit, qpy
def create_binary_serialization():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    with open("phi_plus.qpy", "wb") as f:
        qpy.dump(qc, f)
"""))
    assert r.saved == () and not (work / "phi_plus.qpy").exists()
    r.namespace["create_binary_serialization"]()
    from qiskit import qpy

    with open(work / "phi_plus.qpy", "rb") as f:
        assert qpy.load(f)[0].count_ops() == {"h": 1, "cx": 1}


def test_a_file_a_function_may_not_write_is_named_in_a_warning(box, place):
    work, _ = place
    r = ok(box.run('def plant():\n    open("sitecustomize.py", "w").write("print(1)")\n'))
    with pytest.warns(UserWarning, match="sitecustomize.py"):
        r.namespace["plant"]()
    assert not (work / "sitecustomize.py").exists()


def test_a_csv_named_from_the_parameters_reads_the_users_data_file_beside_it(box, place):
    work, _ = place
    r = ok(box.run("""
import csv
import numpy as np
thetas = np.loadtxt("angles.csv", skiprows=1)
shots = 256
with open(f"expectations_shots{shots}_n{len(thetas)}.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["theta", "expectation"])
    for theta in thetas:
        writer.writerow([theta, round(float(np.cos(theta)), 6)])
"""))
    assert r.saved == ("expectations_shots256_n2.csv",)
    rows = (work / "expectations_shots256_n2.csv").read_text().splitlines()
    assert rows == ["theta,expectation", "0.5,0.877583", "1.0,0.540302"]
    assert (work / "angles.csv").read_text() == "theta\n0.5\n1.0\n"


def test_a_results_folder_made_with_pathlib_then_filled(box, place):
    work, _ = place
    r = ok(box.run("""
from pathlib import Path
import numpy as np
out = Path("results")
out.mkdir()
print(out.exists(), out.is_dir())
(out / "summary.txt").write_text("bell state, 1024 shots\\n")
np.save(out / "probabilities.npy", np.array([0.5, 0.0, 0.0, 0.5]))
(out / "runs").mkdir(parents=True, exist_ok=True)
(out / "runs" / "first.json").write_text('{"00": 512}')
print(sorted(p.name for p in out.iterdir()))
"""))
    assert "True True" in r.output and "['probabilities.npy', 'runs', 'summary.txt']" in r.output
    assert sorted(r.saved) == ["results/probabilities.npy", "results/runs/first.json", "results/summary.txt"]
    assert (work / "results" / "summary.txt").read_text() == "bell state, 1024 shots\n"
    assert np.load(work / "results" / "probabilities.npy").tolist() == [0.5, 0.0, 0.0, 0.5]
    assert json.loads((work / "results" / "runs" / "first.json").read_text()) == {"00": 512}


def test_a_json_of_a_timing_sweep(box, place):
    work, _ = place
    r = ok(box.run("""
import json, time
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
sim, sweep = AerSimulator(), {}
for n in (2, 3):
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    started = time.perf_counter()
    counts = sim.run(transpile(qc, sim), shots=64).result().get_counts()
    sweep[n] = {"seconds": time.perf_counter() - started, "outcomes": sorted(counts)}
json.dump(sweep, open("timing_sweep.json", "w"), indent=1)
"""))
    assert r.saved == ("timing_sweep.json",)
    sweep = json.loads((work / "timing_sweep.json").read_text())
    assert sweep["2"]["outcomes"] == ["00", "11"] and sweep["3"]["outcomes"] == ["000", "111"]


def test_running_again_overwrites_llmos_own_file(box, place):
    work, _ = place
    program = "open('counts_latest.txt', 'w').write({text!r})"
    assert ok(box.run(program.format(text="first"))).saved == ("counts_latest.txt",)
    r = ok(box.run(program.format(text="second")))
    assert r.saved == ("counts_latest.txt",) and r.not_saved == ()
    assert (work / "counts_latest.txt").read_text() == "second"


def test_appending_to_llmos_own_file_keeps_what_was_there(box, place):
    work, _ = place
    ok(box.run("open('log.txt', 'w').write('one\\n')"))
    r = ok(box.run("open('log.txt', 'a').write('two\\n')"))
    assert r.saved == ("log.txt",) and (work / "log.txt").read_text() == "one\ntwo\n"


# ------------------------------------------------------------------------------------- what is refused

def test_code_notebooks_and_settings_are_kept_back(box, place):
    work, _ = place
    r = ok(box.run("""
import os
open("numpy.py", "w").write("raise SystemExit")
open("evil.pth", "w").write("import os")
open("analysis.ipynb", "w").write('{"cells": [{"cell_type": "code", "source": "stolen()"}]}')
open("run.sh", "w").write("curl example.com")
open("page.html", "w").write("<script>x()</script>")
open(".bashrc", "w").write("curl example.com")
os.makedirs(".jupyter", exist_ok=True)
open(".jupyter/jupyter_server_config.json", "w").write("{}")
open("jupyter_server_config.json", "w").write("{}")
os.makedirs("__pycache__", exist_ok=True)
open("__pycache__/numpy.cpython-311.pyc", "wb").write(b"x")
os.makedirs("plugin.dist-info", exist_ok=True)
open("plugin.dist-info/entry_points.txt", "w").write("[qiskit.transpiler.init]\\nx = os:system")
open("fine.txt", "w").write("kept")
"""))
    assert r.saved == ("fine.txt",)
    for name, why in (("numpy.py", ".py files"), ("evil.pth", ".pth files"), ("analysis.ipynb", ".ipynb files"),
                      ("run.sh", ".sh files"), ("page.html", ".html files"), (".bashrc", "hidden names"),
                      (".jupyter/jupyter_server_config.json", "hidden names"),
                      ("jupyter_server_config.json", "Jupyter or IPython would load it"),
                      ("__pycache__/numpy.cpython-311.pyc", "Python, pip, pytest"),
                      ("plugin.dist-info/entry_points.txt", ".dist-info files")):
        line = not_saved(r, name)
        assert why in line and "It is kept at" in line, line
        assert not os.path.lexists(work / name) or name == "analysis.ipynb"
    assert (work / "analysis.ipynb").read_text() == NOTEBOOK
    for folder in (".jupyter", "__pycache__", "plugin.dist-info"):
        assert not (work / folder).exists()
    kept = Path(not_saved(r, "numpy.py").split("It is kept at ")[1].rstrip("."))
    assert (kept / "numpy.py").read_text() == "raise SystemExit"  # nothing is lost


def test_a_user_file_llmos_did_not_write_is_never_overwritten(box, place):
    work, _ = place
    r = ok(box.run("open('notes.txt', 'w').write('replaced by a program')"))
    assert r.saved == () and "LLMOS did not write it" in not_saved(r, "notes.txt")
    assert (work / "notes.txt").read_text() == "the user's own notes\n"


def test_a_file_the_user_edited_after_llmos_wrote_it_is_kept(box, place):
    work, _ = place
    assert ok(box.run("open('energies.txt', 'w').write('-1.137')")).saved == ("energies.txt",)
    (work / "energies.txt").write_text("-1.137  # checked by hand\n")
    r = ok(box.run("open('energies.txt', 'w').write('-1.0')"))
    assert r.saved == () and "changed since LLMOS wrote it" in not_saved(r, "energies.txt")
    assert (work / "energies.txt").read_text() == "-1.137  # checked by hand\n"


def test_escapes_from_the_working_folder_are_refused_by_the_os_as_before(box, place):
    work, _ = place
    for path in ("../escaped.txt", "results/../../escaped.txt", str(work.parent / "escaped.txt")):
        r = box.run(f"open({path!r}, 'w').write('x')")
        assert r.error_type == "PermissionError", (path, r.error)
        assert r.saved == ()
    assert not (work.parent / "escaped.txt").exists()


def test_names_with_control_characters_are_kept_back(box, place):
    work, _ = place
    r = ok(box.run("open('two\\nlines.txt', 'w').write('x')"))
    assert r.saved == () and "control character" in not_saved(r, "two\nlines.txt")
    assert not (work / "two\nlines.txt").exists()
    r = box.run("open('nul\\0.txt', 'w')")  # Python itself refuses: there is no such name to stage
    assert r.error_type == "ValueError" and r.saved == ()
    assert name_problem("a\0b") and name_problem("a\x1bb") and name_problem("..") and name_problem("~backup")


def test_the_working_folders_dotfiles_stay_unreadable(box):
    r = box.run("print(open('.env').read())")
    assert r.error_type == "PermissionError" and "sk-not-for-programs" not in r.output + (r.error or "")


def test_a_link_in_the_staging_folder_is_not_followed(box, place):
    """Whatever a program manages to leave in the staging folder (here a link to the user's file, and the
    staging folder itself turned into a link), the kernel copies no bytes through it."""
    work, _ = place
    r = box.run("import os\nos.symlink('notes.txt', 'copy_of_notes.txt')")  # the program cannot make one itself
    assert r.error_type == "PermissionError" and r.saved == ()
    staging = box.workdir / FOLDER
    staging.mkdir(exist_ok=True)
    (staging / "copy_of_notes.txt").symlink_to(work / "notes.txt")
    r = ok(box.run("x = 1"))
    assert r.saved == () and "symbolic link" in not_saved(r, "copy_of_notes.txt")
    assert not os.path.lexists(work / "copy_of_notes.txt")
    os.symlink(work, staging)  # the whole staging folder a link into the user's folder
    try:
        r = ok(box.run("x = 2"))
        assert r.saved == () and any("not a plain folder" in line for line in r.not_saved), r.not_saved
    finally:
        os.unlink(staging)
    assert (work / "notes.txt").read_text() == "the user's own notes\n"


def test_a_link_in_the_working_folder_is_not_written_through(box, place, tmp_path):
    work, _ = place
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (work / "linked").symlink_to(elsewhere)
    try:
        r = ok(box.run("import os\nos.makedirs('linked', exist_ok=True)\nopen('linked/out.txt', 'w').write('x')"))
        assert r.saved == () and "not a plain folder" in not_saved(r, "linked/out.txt")
        assert list(elsewhere.iterdir()) == []
    finally:
        (work / "linked").unlink()


def test_a_forged_report_saves_nothing(box, place):
    work, _ = place
    ok(box.run(forge("run", "{'saved': ['/etc/passwd', '../../x', 'notes.txt'], "
                                 "'not_saved': [], 'staged': ['/etc/passwd', '../../x']}")))
    r = ok(box.run("y = 1"))
    assert r.saved == () and r.not_saved == ()
    assert not (work / "passwd").exists() and not (work.parent.parent / "x").exists()
    assert (work / "notes.txt").read_text() == "the user's own notes\n"


def test_the_manifest_lives_where_the_worker_cannot_write(box, place):
    _, home = place
    manifest = json.loads((home / "saved-files.json").read_text())
    assert any(path.endswith("/bell.qpy") for path in manifest)
    r = box.run(f"open({str(home / 'saved-files.json')!r}, 'w').write('{{}}')")
    assert r.error_type == "PermissionError"
    assert json.loads((home / "saved-files.json").read_text()) == manifest


def test_collect_with_an_in_memory_manifest(tmp_path):
    """Sandbox without a manifest file keeps it in memory: its own files may be replaced, a user's not."""
    workdir, work = tmp_path / "workdir", tmp_path / "work"
    (workdir / FOLDER).mkdir(parents=True)
    work.mkdir()
    manifest = Manifest()
    (workdir / FOLDER / "a.txt").write_text("1")
    assert collect(workdir, work, manifest, 1).saved == ("a.txt",)
    (workdir / FOLDER).mkdir(exist_ok=True)
    (workdir / FOLDER / "a.txt").write_text("2")
    assert collect(workdir, work, manifest, 2).saved == ("a.txt",) and (work / "a.txt").read_text() == "2"
    os.link(work / "a.txt", tmp_path / "hard")  # a second name for it: writing would change that one too
    (workdir / FOLDER).mkdir(exist_ok=True)
    (workdir / FOLDER / "a.txt").write_text("3")
    refused = collect(workdir, work, manifest, 3)
    assert refused.saved == () and "hard links" in refused.not_saved[0]
    assert (tmp_path / "hard").read_text() == "2"


# ------------------------------------------------------------------------------------- end to end

def test_a_request_to_save_a_file_through_llmos_run(make_engine, server, tmp_path, monkeypatch):
    work = tmp_path / "notebooks"
    work.mkdir()
    monkeypatch.chdir(work)
    server.enqueue(Reply(text=fenced("""\
from qiskit import QuantumCircuit, qpy
qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
with open("bell.qpy", "wb") as f:
    qpy.dump(qc, f)
""")))
    engine = make_engine(execution="worker", outputs=str(work / "llmos-outputs"))
    r = engine.run("Make a Bell circuit and write it as 'bell.qpy'", namespace={})
    assert r.error is None and r.saved == ("bell.qpy",), (r.error, r.notice)
    assert r.to_dict()["metadata"]["files_saved"] == ["bell.qpy"]
    assert (work / "bell.qpy").read_bytes()[:6] == b"QISKIT"
    html = "".join(b.get("text/html", "") for b in result_bundles(r))
    assert '<a href="bell.qpy"><code>bell.qpy</code></a>' in html
    # the model was told where it may write
    assert any("relative path in the working folder" in json.dumps(q.body) for q in server.requests)


def test_a_not_saved_folder_that_is_a_link_is_not_followed(tmp_path):
    """Refused files are set aside in workdir/not-saved; were that a link into the user's folder, a rename
    through it would carry them there."""
    workdir, work = tmp_path / "workdir", tmp_path / "work"
    (workdir / FOLDER).mkdir(parents=True)
    work.mkdir()
    (workdir / "not-saved").symlink_to(work)
    (workdir / FOLDER / "planted.py").write_text("import os")
    result = collect(workdir, work, Manifest(), 1)
    assert result.saved == () and "could not be set aside" in result.not_saved[0]
    assert list(work.iterdir()) == []


def test_a_staging_tree_too_deep_is_not_walked(tmp_path):
    workdir, work = tmp_path / "workdir", tmp_path / "work"
    deep = workdir / FOLDER / "/".join(["d"] * 40)
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    (workdir / FOLDER / "top.txt").write_text("ok")
    work.mkdir()
    result = collect(workdir, work, Manifest(), 1)
    assert result.saved == ("top.txt",) and any("folders deep" in line for line in result.not_saved)
    assert not (work / "d").exists()


def test_a_saved_name_reaches_the_page_only_as_text(box, place):
    from llmos_jupyter.render import saved_bundle

    work, _ = place
    name = '<img src=x onerror="alert(1)">&x.png'
    r = ok(box.run(f"open({name!r}, 'wb').write(b'not a picture')"))
    assert r.saved == (name,) and (work / name).read_bytes() == b"not a picture"
    html = saved_bundle(r.saved)["text/html"]
    assert "<img" not in html and "onerror=\"" not in html
    assert 'href="%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E%26x.png"' in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;x.png" in html


def test_copies_and_files_moved_into_place(box, place):
    """shutil.copy from the user's data file, and a file written under a temporary name then moved into place
    (how some libraries save), both end in the working folder; the user's file is as it was."""
    work, _ = place
    r = ok(box.run("""
import os, shutil
shutil.copy("angles.csv", "angles_copy.csv")
with open("sweep.tmp", "w") as f:
    f.write("done")
os.replace("sweep.tmp", "sweep.txt")
print(os.path.exists("sweep.tmp"), open("sweep.txt").read())
"""))
    assert "False done" in r.output
    assert sorted(r.saved) == ["angles_copy.csv", "sweep.txt"]
    assert (work / "angles_copy.csv").read_text() == (work / "angles.csv").read_text() == "theta\n0.5\n1.0\n"
    assert (work / "sweep.txt").read_text() == "done" and not (work / "sweep.tmp").exists()


def test_a_staging_folder_of_many_names_is_bounded(tmp_path):
    """A worker that fills the staging folder with names costs the kernel a bounded walk and a short notice."""
    from llmos_jupyter.sandbox import saving

    workdir, work = tmp_path / "workdir", tmp_path / "work"
    (workdir / FOLDER).mkdir(parents=True)
    work.mkdir()
    for i in range(saving.MAX_FILES + 50):
        (workdir / FOLDER / f"f{i:05d}.py").write_text("")
    result = collect(workdir, work, Manifest(), 1)
    assert result.saved == () and len(result.not_saved) == saving.MAX_SAID + 1
    assert "more files were not saved" in result.not_saved[-1] and list(work.iterdir()) == []


def test_a_new_kernel_may_replace_what_llmos_wrote_before_and_still_not_the_users(place, box):
    """The manifest is on disk in the LLMOS home: a new Sandbox (a restarted kernel) knows LLMOS's files."""
    work, home = place
    assert ok(box.run("open('spectrum.txt', 'w').write('first kernel')")).saved == ("spectrum.txt",)
    before = os.getcwd()
    os.chdir(work)
    try:
        second = Sandbox(outputs=work / "llmos-outputs", protect=[home], saved_manifest=home / "saved-files.json")
    finally:
        os.chdir(before)
    with second:
        r = ok(second.run("open('spectrum.txt', 'w').write('second kernel')\nopen('notes.txt', 'w').write('no')"))
    assert r.saved == ("spectrum.txt",) and (work / "spectrum.txt").read_text() == "second kernel"
    assert "LLMOS did not write it" in not_saved(r, "notes.txt")
    assert (work / "notes.txt").read_text() == "the user's own notes\n"
    # and the first kernel sees what the second wrote (the manifest is read afresh, never a stale copy)
    assert ok(box.run("open('spectrum.txt', 'w').write('first again')")).saved == ("spectrum.txt",)
