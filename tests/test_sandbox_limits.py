"""Nothing a worker sends makes the kernel allocate without bound (sandbox/limits.py, sandbox/qpy_sizes.py).

Each hostile payload is built the way a program in the worker would build it (a real QPY with its header
edited, a real 1-bit palette PNG of 9000 x 9000 pixels made small by zlib, a JSON body of millions of empty
objects, a figure record rewritten to 24 x 24 in at 1000 dpi, an .npy header claiming a huge shape) and fed to
the kernel's own entry points: framing.read_message through a real pipe, codec.decode, sandbox._pngs. Each is
refused with a message naming its bound, and where the kernel would have allocated, a fresh interpreter
measures that its peak memory barely moves. Then the same through a real Sandbox whose program patches the
worker's own encoder, and the large values real programs return, which must still cross."""
from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from llmos_jupyter.sandbox import Sandbox, codec, framing, limits, qpy_sizes
from llmos_jupyter.sandbox.errors import Unconvertible, UnsafePayload
from llmos_jupyter.sandbox.sandbox import _pngs

GROWTH_MB = 150  # what a refused payload may add to a fresh kernel's peak memory (the red team saw 3-8 GB)
# The red team's circuits claimed 5-20 M qubits. The memory probes claim 2 M and draw a 400 dpi canvas: were
# the bounds gone, that costs a probe 0.4-0.7 GB, plain to see and no danger to the machine running the tests.
QUBITS, PROBE_QUBITS = 5_000_000, 2_000_000

# ------------------------------------------------------------------------------------------------ builders

# qiskit.qpy's documented CIRCUIT_HEADER (v12 on): name size, global phase type and size, qubits, clbits,
# metadata size, registers, instructions, standalone vars. A circuit's name follows its header.
HEADER = struct.Struct(">HcHIIQIQI")
FIELDS = ("name_size", "phase_type", "phase_size", "num_qubits", "num_clbits", "metadata_size", "num_registers",
          "num_instructions", "num_vars")
TOP = 20 + 8  # the file header (version 16 on: magic, version, qiskit version, programs, encoding, type) + table


def qpy_of(circuit, version: int | None = None) -> bytes:
    from qiskit import qpy

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qpy.dump(circuit, buffer, **({} if version is None else {"version": version}))
    return buffer.getvalue()


def forged(raw: bytes, at: int = TOP, **changes) -> bytes:
    """`raw` with the circuit header at offset `at` claiming `changes`."""
    values = dict(zip(FIELDS, HEADER.unpack_from(raw, at)))
    values.update(changes)
    out = bytearray(raw)
    HEADER.pack_into(out, at, *values.values())
    return bytes(out)


def header_of(raw: bytes, name: str) -> int:
    """Where the header of the circuit called `name` starts (a gate named after it may come first)."""
    at = raw.index(name.encode())
    while HEADER.unpack_from(raw, at - HEADER.size)[0] != len(name) or raw[at + len(name):][:1] == b"_":
        at = raw.index(name.encode(), at + 1)
    return at - HEADER.size


INSTRUCTION = struct.Struct(">HHHIIBHqII")  # name, label, params, qargs, cargs, extras, condition size and value...


def first_block_header(raw: bytes, operation: str) -> int:
    """Where the header of a control-flow operation's first block starts: after the instruction's name, label,
    condition register, bits (5 bytes each) and its first parameter's type and size (9 bytes)."""
    at = raw.index(operation.encode())
    name, label, _, qargs, cargs, _, condition, *_ = INSTRUCTION.unpack_from(raw, at - INSTRUCTION.size)
    return at + name + label + condition + 5 * (qargs + cargs) + 9


def tagged(tag: str, raw: bytes) -> dict:
    return {"t": tag, "qpy": base64.b64encode(raw).decode()}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def palette_png(width: int, height: int) -> bytes:
    """A valid 1-bit palette PNG, every pixel index 0: about 10 KB for 9000 x 9000 pixels."""
    row, deflate = b"\x00" + bytes((width + 7) // 8), zlib.compressobj(9)
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (limits.PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0))
            + chunk(b"PLTE", b"\x00\x00\x00") + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def npy_claiming(shape: tuple, dtype: str = "<f8") -> bytes:
    """A real .npy of four zeros whose header is rewritten to declare `shape` (padding keeps its length)."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(4, dtype=dtype))
    raw = buffer.getvalue()
    (size,) = struct.unpack("<H", raw[8:10])
    text = raw[10:10 + size].decode("latin1").replace("(4,)", str(shape)).rstrip().ljust(size - 1) + "\n"
    return raw[:10] + text.encode("latin1") + raw[10 + size:]


def small_figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    encoded = codec.encode(fig)
    plt.close(fig)
    return encoded


def empty_objects(n: int) -> bytes:
    return b"[" + b"{}," * (n - 1) + b"{}]"


def through_pipe(data: bytes):
    """framing.read_message on the reading end of a real pipe that `data` is written into."""
    read_fd, write_fd = os.pipe()

    def write():
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view[: 1 << 20]):]
        except OSError:  # the reader refused and went away
            pass
        finally:
            os.close(write_fd)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        return framing.read_message(read_fd, time.monotonic() + 60)
    finally:
        os.close(read_fd)
        writer.join(10)


def message(body: bytes) -> bytes:
    return framing.HEADER.pack(len(body)) + body


# --------------------------------------------------------------------------- a fresh kernel's peak memory

# The kernel's peak resident memory from here on: Linux resets the high-water mark on request (clear_refs 5),
# so an earlier peak (imports, warm-up) cannot hide what the payload adds; elsewhere ru_maxrss, which can.
MEASURE = r"""
import gc, resource


def _status(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field))


def start():
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return _status("VmRSS:")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak():
    try:
        return _status("VmHWM:")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

PROBE = MEASURE + r"""
import base64, io, json, os, sys, threading, time, warnings
import numpy as np
import matplotlib
matplotlib.use("Agg")
from llmos_jupyter.sandbox import codec, framing
from llmos_jupyter.sandbox.sandbox import _pngs

entry, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
# First the code paths a first value imports (qiskit's reader, PIL, a figure), so the baseline holds them.
from qiskit import QuantumCircuit
codec.decode(codec.encode(QuantumCircuit(2)))
codec.decode(codec.encode(np.zeros(3)))
import matplotlib.pyplot as plt
fig = plt.figure()
plt.plot([0, 1])
codec.decode(codec.encode(fig)).savefig(io.BytesIO(), format="png")
plt.close("all")
payload = json.loads(data) if entry in ("decode", "pngs") else data
before, said = start(), ""
try:
    if entry == "decode":
        value = codec.decode(payload)
        if hasattr(value, "savefig"):
            value.savefig(io.BytesIO(), format="png")  # what the notebook does with a figure that comes back
        said = f"built a {type(value).__name__}"
    elif entry == "pngs":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kept = _pngs(payload)
        said = f"kept {len(kept)}: " + "; ".join(str(w.message) for w in caught)
    else:
        r, w = os.pipe()

        def write():
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(w, view[: 1 << 20]):]
            except OSError:
                pass
            os.close(w)

        threading.Thread(target=write, daemon=True).start()
        framing.read_message(r, time.monotonic() + 60)
        said = "read"
except Exception as exc:
    said = f"{type(exc).__name__}: {exc}"
print(json.dumps({"grew_mb": peak() - before, "said": said}))
"""


def kernel_peak(entry: str, payload: bytes | dict | list, tmp_path: Path) -> tuple[float, str]:
    """(MB a fresh kernel's peak memory grew by, what it said) when `entry` meets `payload`."""
    path = tmp_path / "payload"
    path.write_bytes(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    done = subprocess.run([sys.executable, "-c", PROBE, entry, str(path)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["grew_mb"], result["said"]


# ---------------------------------------------------------------------------------------- JSON messages

def test_a_reply_of_millions_of_empty_objects_is_refused_before_json_builds_them():
    bomb = empty_objects(7_000_000)  # 21 MB: under the size bound, 14 M items
    with pytest.raises(framing.ProtocolError, match=f"over the bound of {limits.MAX_JSON_ITEMS} items"):
        through_pipe(message(bomb))
    with pytest.raises(framing.ProtocolError, match="over the bound of 64 MiB"):  # announced, never read
        through_pipe(framing.HEADER.pack(140 * 1024 * 1024) + b"[{},{}")


def test_deep_wide_and_non_ascii_bodies_are_refused_by_the_scan():
    refusals = {b"[" * 5000 + b"]" * 5000: "nested 5000 deep",
                b'{"s":"\\ud83d\\ude00' + b"a" * (40 << 20) + b'"}': "widens past Latin-1",
                '{"s":"é"}'.encode(): "outside ASCII",
                b'["x\\\\", "]]]]]]]"' + b"]" * 3 + b"]": "more brackets closed than opened"}
    for body, said in refusals.items():
        with pytest.raises(UnsafePayload, match=said):
            limits.check_json(body)


def test_brackets_commas_and_quotes_inside_strings_are_not_counted():
    text = '"[{,:}]" \\" \\\\ ' * 200_000  # 3 M structural characters, all inside one string
    body = json.dumps({"output": text, "xs": [[[1]]]}).encode()
    limits.check_json(body)
    assert framing.unpack(body)["output"] == text


def test_the_deepest_value_the_codec_sends_fits_a_message():
    deep: dict = {}
    for _ in range(codec.MAX_DEPTH):  # dicts take the most JSON levels a value level: {"t", "v": [[k, v]]}
        deep = {"k": deep}
    reply = {"ok": True, "namespace": {"deep": codec.encode(deep)}}
    assert codec.decode(through_pipe(framing.pack(reply))["namespace"]["deep"]) == deep


def test_the_sending_side_refuses_what_the_reading_side_would():
    with pytest.raises(UnsafePayload, match="items"):
        framing.pack({"v": [0] * (limits.MAX_JSON_ITEMS + 1)})
    value = {"text": "✅ naïve 🎉 \udcff", "path": 'C:\\"x"'}  # non-ASCII, a lone surrogate, escapes
    packed = framing.pack(value)
    assert packed[8:].isascii() and through_pipe(packed) == value


def test_a_json_bomb_leaves_a_fresh_kernels_peak_memory_where_it_was(tmp_path):
    grew, said = kernel_peak("message", message(empty_objects(7_000_000)), tmp_path)
    assert "ProtocolError" in said and "items" in said and grew < GROWTH_MB, (grew, said)


# --------------------------------------------------------------------------------------------------- QPY

def test_a_forged_qpy_header_is_refused_for_a_circuit_a_gate_and_a_dag():
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import XGate
    from qiskit.converters import circuit_to_dag

    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    for tag, value in (("circuit", qc), ("instruction", XGate()), ("dag", circuit_to_dag(qc))):
        raw = base64.b64decode(codec.encode(value)["qpy"])
        with pytest.raises(UnsafePayload, match=f"qubits of {QUBITS} was refused: over the bound of "
                                                f"{qpy_sizes.MAX_QUBITS:,}"):
            codec.decode(tagged(tag, forged(raw, num_qubits=QUBITS)))
        with pytest.raises(UnsafePayload, match="clbits of 5000000"):
            codec.decode(tagged(tag, forged(raw, num_clbits=5_000_000)))


def test_counts_that_the_bytes_cannot_hold_are_refused():
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(2)
    qc.rx(0.5, 0)
    raw = qpy_of(qc)
    for changes, said in (({"num_instructions": 2_000_000}, "2000000 instructions"),
                          ({"metadata_size": 1 << 50}, "metadata claims"),
                          ({"num_registers": 1 << 31}, "registers")):
        with pytest.raises(UnsafePayload, match=said):
            codec.decode(tagged("circuit", forged(raw, **changes)))
    programs = bytearray(raw)
    struct.pack_into(">Q", programs, 10, 1 << 40)
    with pytest.raises(UnsafePayload, match="programs"):
        codec.decode(tagged("circuit", bytes(programs)))
    rx = raw.index(b"RXGate") - 33  # an instruction's header: name, label, params (16 bits)...
    params = bytearray(raw)
    struct.pack_into(">H", params, rx + 4, 65535)
    with pytest.raises(UnsafePayload, match="65535 instruction parameters"):
        codec.decode(tagged("circuit", bytes(params)))


def test_a_circuit_nested_in_a_definition_or_a_block_is_bounded_too():
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import IfElseOp

    definition = QuantumCircuit(2, name="innerdefinition")
    definition.cx(0, 1)
    outer = QuantumCircuit(2)
    outer.append(definition.to_gate(), [0, 1])
    raw = qpy_of(outer)
    with pytest.raises(UnsafePayload, match=f"qubits of {QUBITS}"):
        codec.decode(tagged("circuit", forged(raw, header_of(raw, "innerdefinition"), num_qubits=QUBITS)))
    block = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1))
    block.x(0)
    branching = QuantumCircuit(1, 1)
    branching.append(IfElseOp((branching.clbits[0], 1), block), [0], [0])
    raw = qpy_of(branching)
    at = first_block_header(raw, "IfElseOp")
    assert HEADER.unpack_from(raw, at)[3:5] == (1, 1)  # the block's own qubits and clbits
    with pytest.raises(UnsafePayload, match=f"qubits of {QUBITS}"):
        codec.decode(tagged("circuit", forged(raw, at, num_qubits=QUBITS)))


def test_the_instruction_bound_counts_every_circuit(monkeypatch):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(20)
    for i in range(5000):
        qc.cx(i % 20, (i + 1) % 20)
    payload = codec.encode(qc)
    monkeypatch.setattr(qpy_sizes, "MAX_INSTRUCTIONS", 4999)
    with pytest.raises(UnsafePayload, match="instructions in all of 5000 was refused: over the bound of 4,999"):
        codec.decode(payload)
    with pytest.raises(Unconvertible, match="instructions in all of 5000"):  # and the worker would keep it
        codec.encode(qc)


def test_parameters_nested_past_the_bound_are_refused_before_any_recursion():
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(1)
    qc.rz(0.5, 0)
    raw = qpy_of(qc)
    rz = raw.index(b"RZGate")
    param = rz + len("RZGate") + 5  # after the name and the one bit: the angle, as type 'f' and its size
    assert raw[param:param + 1] == b"f"
    nested = raw[param:param + 9 + 8]
    for _ in range(2000):  # a tuple holding a tuple holding ... the angle: deeper than Python recursion goes
        nested = b"t" + struct.pack(">Q", 8 + len(nested)) + struct.pack(">Q", 1) + nested
    with pytest.raises(UnsafePayload, match="values nested of 33"):
        codec.decode(tagged("circuit", raw[:param] + nested + raw[param + 17:]))


def test_a_gate_defined_through_itself_is_refused_not_raised_as_recursion():
    from qiskit import QuantumCircuit

    base = QuantumCircuit(1, name="mygate")
    base.h(0)
    qc = QuantumCircuit(2)
    qc.append(base.to_gate().control(1), [1, 0])
    raw = qpy_of(qc)
    name = raw.index(b"cmygate_0")  # the controlled gate's definition, then its base gate "mygate_1"
    custom = raw[name - 36:name]
    raw = raw[:name - 36] + struct.pack(">H", 8) + custom[2:] + b"cmygate0" + raw[name + 9:]
    base_name = raw.index(b"mygate_1", name)
    raw = raw[:base_name] + b"cmygate0" + raw[base_name + 8:]  # the base gate is now the gate itself
    use = raw.index(b"cmygate_0")
    instruction = raw[use - 33:use]
    raw = raw[:use - 33] + struct.pack(">H", 8) + instruction[2:] + b"cmygate0" + raw[use + 9:]
    with pytest.raises(UnsafePayload, match="nest deeper"):
        codec.decode(tagged("circuit", raw))


def test_the_worker_keeps_what_the_kernel_would_refuse_saying_why():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import CNOTDihedral, SparsePauliOp

    wide = QuantumCircuit(qpy_sizes.MAX_QUBITS + 1)
    for value, said in ((wide, f"qubits of {qpy_sizes.MAX_QUBITS + 1}"),
                        (SparsePauliOp(["X" * (qpy_sizes.MAX_QUBITS + 1)]), "terms x qubits"),
                        (CNOTDihedral(num_qubits=129), "CNOTDihedral on 129 qubits")):
        with pytest.raises(Unconvertible, match=said):
            codec.encode(value)


def test_the_walk_reads_every_byte_qiskit_writes_at_every_version():
    """If qiskit's layout moves, this fails before a real circuit is refused or a claim slips past."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
    from qiskit.circuit import AncillaRegister, Parameter, ParameterVector
    from qiskit.circuit.annotated_operation import AnnotatedOperation, ControlModifier, InverseModifier
    from qiskit.circuit.classical import expr, types
    from qiskit.circuit.library import HGate, PauliEvolutionGate
    from qiskit.quantum_info import SparseObservable, SparsePauliOp, random_unitary
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    theta, vector = Parameter("θ"), ParameterVector("v", 3)
    parametric = QuantumCircuit(2, global_phase=theta)
    parametric.rx(theta, 0)
    parametric.ry(vector[1] * 2 + theta, 1)
    parametric.metadata = {"a": [1, 2]}
    sub = QuantumCircuit(2, name="sub")
    sub.cx(0, 1)
    custom = QuantumCircuit(4)
    custom.append(sub.to_gate(), [0, 1])
    custom.append(sub.to_gate().control(2, ctrl_state=1), [2, 3, 0, 1])
    custom.append(AnnotatedOperation(HGate(), [InverseModifier(), ControlModifier(1)]), [0, 1])
    custom.unitary(random_unitary(4, seed=1), [2, 3])
    custom.append(PauliEvolutionGate(SparsePauliOp(["XX", "ZI"], [1.0, 0.5]), time=0.3), [0, 1])
    rotation = QuantumCircuit(1, name="rotation")
    rotation.rx(vector[0], 0)
    custom.append(rotation.to_gate().control(1), [3, 2])  # its base gate's parameter is in the vector table
    cr = ClassicalRegister(2, "c")
    flow = QuantumCircuit(QuantumRegister(2), cr, AncillaRegister(1))
    flow.measure(0, cr[0])
    with flow.if_test((cr[0], 1)) as orelse:
        flow.x(1)
    with orelse:
        flow.z(1)
    with flow.while_loop(expr.equal(cr, 1)):
        flow.measure(0, 0)
    with flow.for_loop(range(3)) as i:
        flow.rx(i, 0)
    with flow.switch(cr) as case:
        with case(0):
            flow.x(0)
        with case(case.DEFAULT):
            flow.y(0)
    variables = QuantumCircuit(1)
    flag = variables.add_input("flag", types.Bool())
    variables.add_var("n", expr.lift(5, types.Uint(8)))
    with variables.if_test(flag):
        variables.x(0)
    bell = QuantumCircuit(3)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    laid_out = transpile(bell, FakeManilaV2(), seed_transpiler=1)
    observable = QuantumCircuit(2)
    observable.append(PauliEvolutionGate(SparseObservable.from_list([("X+", 1.0)]), time=0.2), [0, 1])
    cases = [(parametric, 13), (custom, 13), (flow, 13), (variables, 13), (laid_out, 13), (observable, 17)]
    for circuit, first in cases:
        for version in range(first, qpy_sizes.VERSIONS.stop):
            raw = qpy_of(circuit, version)
            assert qpy_sizes.check(raw) == len(raw), (circuit.name, version)
        assert codec.decode(codec.encode(circuit)) == circuit


# --------------------------------------------------------------------------------------- pictures, arrays

def test_a_ten_kilobyte_png_of_81_million_pixels_is_refused_from_its_header():
    from PIL import Image

    bomb = palette_png(9000, 9000)
    assert len(bomb) < 20_000 and Image.open(io.BytesIO(bomb)).size == (9000, 9000)
    record = small_figure()
    record["png"] = base64.b64encode(bomb).decode()
    with pytest.raises(UnsafePayload, match="PNG of 9000 x 9000 pixels was refused: over the bound of 25,000,000"):
        codec.decode(record)
    with pytest.warns(UserWarning, match="not shown: a PNG of 9000 x 9000 pixels"):
        assert _pngs([base64.b64encode(bomb).decode()]) == []


def test_the_figures_one_run_shows_are_bounded_in_all():
    allowed = limits.MAX_SHOWN_PIXELS // limits.MAX_PIXELS
    side = int(limits.MAX_PIXELS ** 0.5)
    each = base64.b64encode(palette_png(side, side)).decode()
    with pytest.warns(UserWarning, match="run's figures to .* pixels"):
        assert len(_pngs([each] * (allowed + 1))) == allowed


def test_a_figure_record_rewritten_to_a_huge_canvas_or_too_many_artists_is_refused():
    record = small_figure()
    huge = {**record, "size": [24.0, 24.0], "dpi": 1000.0}
    with pytest.raises(UnsafePayload, match="24 x 24 in at 1000 dpi of 24000 x 24000 pixels was refused"):
        codec.decode(huge)
    crowded = {**record, "axes": [record["axes"][0]] * 300}
    with pytest.raises(UnsafePayload, match="at most 256 axes"):
        codec.decode(crowded)
    axes = dict(record["axes"][0])
    axes["ticks"] = {axis: {**axes["ticks"][axis], "ticks": [0.0] * 3000, "labels": [""] * 3000} for axis in "xy"}
    with pytest.raises(UnsafePayload, match="figure of 12001 artists"):
        codec.decode({**record, "axes": [axes]})


def test_the_worker_side_sends_an_oversized_figure_as_a_picture_or_not_at_all():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig, ax = plt.subplots()
    ax.plot([0, 5000], [0, 1])
    ax.set_xticks(range(5001), [""] * 5001)  # ticks count twice: over the artist budget
    record = codec.encode(fig)
    assert record["axes"][0]["picture"] is not None
    back = codec.decode(record)
    assert isinstance(back, Figure) and back.axes[0].images
    fig.set_size_inches(60, 60)
    fig.set_dpi(300)
    with pytest.raises(Unconvertible, match="pixels"):
        codec.encode(fig)
    plt.close("all")


def test_an_npy_header_claiming_a_huge_shape_is_refused_before_np_load():
    """np.load would allocate the claim first: past the machine's memory a MemoryError, which the codec passes on."""
    for raw, said in ((npy_claiming((100000, 100000)), "declaring 80000000000 bytes of data but carrying 32"),
                      (npy_claiming((10**12,), "|V0"), "1000000000000 elements")):
        with pytest.raises(UnsafePayload, match=said):
            codec.decode({"t": "ndarray", "npy": base64.b64encode(raw).decode()})


@pytest.mark.parametrize("case", ["qpy", "png", "canvas"])
def test_a_refused_payload_leaves_a_fresh_kernels_peak_memory_where_it_was(case, tmp_path):
    from qiskit import QuantumCircuit

    if case == "qpy":
        wide = forged(qpy_of(QuantumCircuit(2)), num_qubits=PROBE_QUBITS)
        entry, payload, said = "decode", tagged("circuit", wide), "qubits"
    elif case == "png":
        record = small_figure()
        record["png"] = base64.b64encode(palette_png(9000, 9000)).decode()
        entry, payload, said = "decode", record, "9000 x 9000 pixels"
    else:
        entry, payload, said = "decode", {**small_figure(), "size": [24.0, 24.0], "dpi": 400.0}, "9600 x 9600"
    grew, what = kernel_peak(entry, payload, tmp_path)
    assert "UnsafePayload" in what and said in what and grew < GROWTH_MB, (grew, what)
    if case == "png":
        grew, what = kernel_peak("pngs", [payload["png"]], tmp_path)
        assert what.startswith("kept 0") and "9000 x 9000" in what and grew < GROWTH_MB, (grew, what)


def test_large_values_real_programs_make_still_cross():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(20, 20)
    rng = np.random.default_rng(7)
    for _ in range(5000):
        a, b = (int(q) for q in rng.choice(20, 2, replace=False))
        if rng.random() < 0.5:
            circuit.cx(a, b)
        else:
            circuit.rz(float(rng.random()), a)
    circuit.measure(range(20), range(20))
    assert codec.decode(codec.encode(circuit)) == circuit
    array = rng.random((2000, 2000))
    assert np.array_equal(codec.decode(codec.encode(array)), array)
    fig = plt.figure(figsize=(10, 10), dpi=100)
    plt.plot(range(100), range(100))
    record = codec.encode(fig)
    png = base64.b64decode(record["png"])
    assert limits.png_size(png) == (1000, 1000) and _pngs([record["png"]]) == [png]
    assert isinstance(codec.decode(record), Figure)
    plt.close("all")


# ------------------------------------------------------------------------------------ through a real Sandbox

@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    with Sandbox(outputs=root / "llmos-outputs") as sandbox:
        yield sandbox


FORGE_QPY = """
import base64, struct, sys
from qiskit import QuantumCircuit

codec = sys.modules["llmos_jupyter.sandbox.codec"]
real_encode = codec.encode

def forging(value, **options):
    out = real_encode(value, **options)
    if isinstance(out, dict) and out.get("t") == "circuit":
        raw = bytearray(base64.b64decode(out["qpy"]))
        struct.pack_into(">I", raw, 28 + 5, 5_000_000)  # the header's qubits
        out["qpy"] = base64.b64encode(bytes(raw)).decode()
    return out

codec.encode = forging
wide = QuantumCircuit(2)
wide.h(0)

def make():
    return wide

wide
"""

FORGE_REPLY = """
import struct, sys

framing = sys.modules["llmos_jupyter.sandbox.framing"]

def forging(message):
    body = b"[" + b"{{}}," * {count} + b"{{}}]"
    return struct.pack(">Q", len(body)) + body

framing.pack = forging
"""


def test_a_program_that_forges_a_qpy_header_leaves_its_circuit_behind(box):
    try:
        r = box.run(FORGE_QPY, session="forge")
        assert r.error is None, r.error
        assert r.value is None and "wide" in r.left_behind and "wide" not in r.namespace
        with pytest.raises(UnsafePayload, match=f"qubits of {QUBITS} was refused: over the bound"):
            r.namespace["make"]()
    finally:
        box.restart()  # the program patched the worker's encoder
    assert box.run("1 + 1").value == 2


def test_a_program_that_sends_millions_of_empty_objects_is_stopped_with_a_message(box):
    r = box.run(FORGE_REPLY.format(count=7_000_000))
    assert r.error_type == "WorkerCrashed" and "over the bound of 2000000 items" in r.error, r.error
    assert box.run("2 + 2").value == 4  # a fresh worker


def test_a_program_that_shows_a_png_bomb_gets_a_warning_not_a_picture(box):
    bomb = base64.b64encode(palette_png(9000, 9000)).decode()
    program = ("import base64, sys\nimport matplotlib.pyplot as plt\n"
               "runner = sys.modules['llmos_jupyter.sandbox.runner']\n"
               f"runner._png = lambda figure: base64.b64decode('{bomb}')\nplt.plot([0, 1])\n")
    try:
        with pytest.warns(UserWarning, match="9000 x 9000 pixels"):
            r = box.run(program)
        assert r.error is None and r.figures == ()
    finally:
        box.restart()


def test_a_real_programs_large_values_cross_the_real_boundary(box):
    from matplotlib.figure import Figure
    from qiskit import QuantumCircuit

    r = box.run("""
import numpy as np
import matplotlib.pyplot as plt
from qiskit import QuantumCircuit

rng = np.random.default_rng(7)
big = QuantumCircuit(20, 20)
for _ in range(5000):
    a, b = (int(q) for q in rng.choice(20, 2, replace=False))
    if rng.random() < 0.5:
        big.cx(a, b)
    else:
        big.rz(float(rng.random()), a)
big.measure(range(20), range(20))
arr = rng.random((2000, 2000))
fig = plt.figure(figsize=(10, 10), dpi=100)
plt.plot(range(100), range(100))
""")
    assert r.error is None, r.error
    ns = r.namespace
    assert isinstance(ns["big"], QuantumCircuit) and ns["big"].num_qubits == 20 and len(ns["big"].data) == 5020
    assert ns["arr"].shape == (2000, 2000) and ns["arr"].dtype == np.float64
    assert isinstance(ns["fig"], Figure)
    assert [limits.png_size(png) for png in r.figures] == [(1000, 1000)]


E2E_PROBE = MEASURE + r"""
import json, sys, tempfile
from pathlib import Path
from llmos_jupyter.sandbox import Sandbox

forge_qpy, forge_reply = Path(sys.argv[1]).read_text(), Path(sys.argv[2]).read_text()
root = Path(tempfile.mkdtemp())
with Sandbox(outputs=root / "llmos-outputs") as box:
    box.run("from qiskit import QuantumCircuit\nQuantumCircuit(2)")  # the kernel's first circuit, before the baseline
    out = {}
    before = start()
    r = box.run(forge_qpy, session="forge")
    out["qpy"] = [peak() - before, str(r.left_behind)]
    box.restart()
    box.run("1")
    before = start()
    r = box.run(forge_reply)
    out["reply"] = [peak() - before, str(r.error)]
    out["after"] = box.run("3 + 3").value
print(json.dumps(out))
"""


def test_a_kernel_running_hostile_programs_keeps_its_peak_memory(tmp_path):
    """The red team's own attacks: a reply of 140 MB of empty objects, a circuit claiming 5 M qubits."""
    (tmp_path / "qpy.py").write_text(FORGE_QPY)
    (tmp_path / "reply.py").write_text(FORGE_REPLY.format(count=140_000_000 // 3))
    done = subprocess.run([sys.executable, "-c", E2E_PROBE, str(tmp_path / "qpy.py"), str(tmp_path / "reply.py")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "wide" in out["qpy"][1] and out["qpy"][0] < GROWTH_MB, out
    assert "over the bound of 64 MiB" in out["reply"][1] and out["reply"][0] < GROWTH_MB, out
    assert out["after"] == 6
