"""The sizes a QPY payload claims, read and bounded before qiskit's reader builds anything from them.

qiskit's reader (Rust, versions 13 on) trusts its payload: a header claiming 20 M qubits makes 20 M qubits,
uninterruptibly, and a count of elements is believed before the bytes that should hold them are read. So the
kernel first walks the payload's structure as that reader does (the layout is qiskit.qpy's documented one,
per version) and refuses it when a circuit is wider than any simulator runs, when the payload claims more
instructions or bits than a real program makes, or when any count claims more elements than the bytes left
could hold. Nothing is built here; what the walk cannot look into (expressions, parameter expressions, the
values of parameters) is skipped by its length, which the reader also respects.

`check(raw)` raises UnsafePayload naming the bound, or returns how many bytes the walk read: all of them for
a payload qiskit wrote, which is how the tests know this walk still follows qiskit's layout."""
from __future__ import annotations

import struct

from . import limits
from .errors import UnsafePayload

# Aer's statevector method stops near 30-35 qubits and today's devices at a few hundred; the stabilizer method
# runs thousands. Each qubit the reader makes costs the kernel about 330 bytes.
MAX_QUBITS = 4096
MAX_CLBITS = 65_536  # mid-circuit measurements: more clbits than qubits
MAX_BITS = 250_000  # qubits, clbits and register bits across every circuit of one payload (about 80 MB)
MAX_INSTRUCTIONS = 1_000_000  # across every circuit of one payload, blocks and definitions included
MAX_NESTING = 32  # circuits inside circuits (control-flow blocks, gate definitions), tuples inside tuples
MAX_VECTOR = 1_000_000  # elements a ParameterVector declares
VERSIONS = range(13, 19)  # what this walk knows; the codec loads no other

_FILE = struct.Struct(">6sB3sQcc")  # magic, version, qiskit version, programs, symbolic encoding, program type
_CIRCUIT = struct.Struct(">HcHIIQIQI")  # name, phase type and size, qubits, clbits, metadata, registers, instr., vars
_REGISTER = struct.Struct(">cBIHB")  # type, standalone, size, name size, in circuit (+ attachment from 18)
_VAR = struct.Struct(">16scH")  # uuid, usage, name size; then its type
_NAMESPACE = struct.Struct(">IQ")
_VECTOR_ENTRY = struct.Struct(">HQ16s")  # name size, vector size, uuid (18: the circuit's table of vectors)
_CUSTOM = struct.Struct(">HcIIBQIIQ")  # name, type, qubits, clbits, has definition, size, ctrl qubits, state, base
_INSTRUCTION = struct.Struct(">HHHIIBHqII")  # name, label, params, qargs, cargs, extras, cond. size/value, ctrl
_ARG = 5  # bit type, index
_VALUE = struct.Struct(">cQ")  # type key, size
_ANNOTATION = struct.Struct(">IQ")
_LAYOUT = struct.Struct(">BiiiIi")  # exists, initial, input mapping, final, extra registers, input qubits
_LAYOUT_BIT = struct.Struct(">ii")
_PAULI = struct.Struct(">QBcQQ")  # operators, standalone, time type, time size, synthesis size
_OBSERVABLE = struct.Struct(">IQQQQ")  # qubits; bytes of coefficients, bit terms, indices, boundaries
_OLD_VECTOR_ELEMENT = struct.Struct(">HQ16sQ")  # name size, vector size, uuid, index (before 18)
_VECTOR_ELEMENT = struct.Struct(">HQ")  # index into the circuit's vector table, index in the vector (18)
_MODIFIER = struct.Struct(">cIId")
_U16, _U32, _U64 = struct.Struct(">H"), struct.Struct(">I"), struct.Struct(">Q")
PAULI_EVOLUTION = b"###PauliEvolutionGate_"


def check(raw: bytes) -> int:
    """Refuse a QPY payload (one circuit, as the codec sends it) whose claims are over a bound."""
    stream = _Stream(memoryview(raw))
    magic, version, _, programs, _, kind = stream.read(_FILE, "the file header")
    if magic != b"QISKIT" or kind != b"q":
        raise UnsafePayload("a QPY payload that is not a circuit was refused")
    if version not in VERSIONS:
        raise UnsafePayload(f"QPY version {version} was refused: its sizes can be checked for versions "
                            f"{VERSIONS.start}..{VERSIONS.stop - 1}")
    if programs != 1:
        raise UnsafePayload(f"a QPY payload of {programs} programs was refused: one circuit travels at a time")
    if version >= 16:
        stream.read(_U64, "the circuit table")
    _Walk(version).circuit(stream, 0)
    return stream.pos


class _Stream:
    """A window on the payload: every read checks the bytes are there."""

    def __init__(self, data: memoryview):
        self.data, self.pos = data, 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int, what: str) -> memoryview:
        if size > self.left():
            raise UnsafePayload(f"a QPY payload whose {what} claims {size} bytes where {self.left()} are left "
                                "was refused")
        part = self.data[self.pos:self.pos + size]
        self.pos += size
        return part

    def read(self, layout: struct.Struct, what: str) -> tuple:
        return layout.unpack(self.take(layout.size, what))

    def count(self, n: int, smallest: int, what: str) -> int:
        """`n` elements of at least `smallest` bytes each must fit in what is left."""
        if n * smallest > self.left():
            raise UnsafePayload(f"a QPY payload claiming {n} {what} in {self.left()} bytes was refused")
        return n

    def part(self, size: int, what: str) -> _Stream:
        return _Stream(self.take(size, what))


def _at_most(value: int, bound: int, what: str) -> int:
    if value > bound:
        raise limits.refuse(f"a QPY payload with {what} of {value}", f"{bound:,}", "qpy_sizes")
    return value


class _Walk:
    def __init__(self, version: int):
        self.version = version
        self.bits = 0
        self.instructions = 0

    def _bits(self, n: int) -> None:
        self.bits += n
        _at_most(self.bits, MAX_BITS, "qubits, clbits and register bits in all")

    def circuit(self, s: _Stream, depth: int) -> None:
        _at_most(depth, MAX_NESTING, "circuits nested")
        (name_size, _, phase_size, qubits, clbits, metadata_size, registers, instructions,
         variables) = s.read(_CIRCUIT, "circuit header")
        _at_most(qubits, MAX_QUBITS, "a circuit's qubits")
        _at_most(clbits, MAX_CLBITS, "a circuit's clbits")
        self._bits(qubits + clbits)
        self.instructions += s.count(instructions, _INSTRUCTION.size, "instructions")
        _at_most(self.instructions, MAX_INSTRUCTIONS, "instructions in all")
        s.take(name_size, "name")
        s.take(phase_size, "global phase")
        s.take(metadata_size, "metadata")
        for _ in range(s.count(registers, _REGISTER.size, "registers")):
            self.register(s)
        for _ in range(s.count(variables, _VAR.size + 1, "variables")):
            *_, var_name = s.read(_VAR, "variable")
            if bytes(s.take(1, "variable type")) == b"u":
                s.take(4, "variable width")
            s.take(var_name, "variable name")
        if self.version >= 15:
            (namespaces,) = s.read(_U32, "annotation header")
            for _ in range(s.count(namespaces, _NAMESPACE.size, "annotation namespaces")):
                namespace, state = s.read(_NAMESPACE, "annotation namespace")
                s.take(namespace, "annotation namespace")
                s.take(state, "annotation state")
        vectors = []
        if self.version >= 18:
            (n,) = s.read(_U16, "parameter vector table")
            for _ in range(s.count(n, _VECTOR_ENTRY.size, "parameter vectors")):
                vector_name, size, _ = s.read(_VECTOR_ENTRY, "parameter vector")
                vectors.append(_at_most(size, MAX_VECTOR, "a parameter vector's elements"))
                s.take(vector_name, "parameter vector name")
        (customs,) = s.read(_U64, "custom definitions")
        for _ in range(s.count(customs, _CUSTOM.size, "custom definitions")):
            self.custom(s, depth, vectors)
        for _ in range(instructions):
            self.instruction(s, depth, vectors, bits=True)
        if self.version < 18:
            (calibrations,) = s.read(_U16, "calibrations")
            if calibrations:
                raise UnsafePayload("a QPY payload with pulse calibrations was refused (Qiskit 2 has none)")
        self.layout(s)

    def register(self, s: _Stream) -> None:
        kind, _, size, name_size, _ = s.read(_REGISTER, "register")
        attached = self.version >= 18 and bytes(s.take(1, "register attachment")) == b"\x01"
        _at_most(size, MAX_QUBITS if kind in (b"q", b"a") else MAX_CLBITS, "a register's bits")
        self._bits(size)  # an attached register's bits are a range: claimed, not stored
        s.take(name_size, "register name")
        if self.version >= 18:
            s.take(4 * (1 if attached else s.count(size, 4, "register bits")), "register bits")
        else:
            s.take(8 * s.count(size, 8, "register bits"), "register bits")

    def custom(self, s: _Stream, depth: int, vectors: list[int]) -> None:
        name_size, _, qubits, clbits, defined, size, controls, _, base_size = s.read(_CUSTOM, "custom definition")
        _at_most(qubits, MAX_QUBITS, "a gate's qubits")
        _at_most(clbits, MAX_CLBITS, "a gate's clbits")
        _at_most(controls, MAX_QUBITS, "a gate's control qubits")
        name = bytes(s.take(name_size, "gate name"))
        data = s.part(size, "gate definition")
        base = s.part(base_size, "base gate")
        if defined:
            if name.startswith(PAULI_EVOLUTION):
                self.pauli_evolution(data)
            else:
                self.circuit(data, depth + 1)
        if base_size:  # a controlled or annotated gate's base, an instruction without bits
            self.instruction(base, depth, vectors, bits=False)

    def instruction(self, s: _Stream, depth: int, vectors: list[int], *, bits: bool) -> None:
        (name_size, label_size, params, qargs, cargs, extras, condition_size, _, controls,
         _) = s.read(_INSTRUCTION, "instruction")
        _at_most(qargs, MAX_QUBITS, "an instruction's qubits")
        _at_most(cargs, MAX_CLBITS, "an instruction's clbits")
        _at_most(controls, MAX_QUBITS, "an instruction's control qubits")
        s.take(name_size, "instruction name")
        s.take(label_size, "instruction label")
        condition = extras & 0b11
        if condition == 1:
            s.take(condition_size, "condition register")
        elif condition == 2:
            self.value(s, depth, vectors)
        elif condition == 3:
            raise UnsafePayload("a QPY instruction with an unknown kind of condition was refused")
        if bits:
            s.take(_ARG * s.count(qargs + cargs, _ARG, "instruction bits"), "instruction bits")
        for _ in range(s.count(params, _VALUE.size, "instruction parameters")):
            self.value(s, depth, vectors)
        if extras & 0b1000_0000:
            (n,) = s.read(_U32, "annotations")
            for _ in range(s.count(n, _ANNOTATION.size, "annotations")):
                _, payload = s.read(_ANNOTATION, "annotation")
                s.take(payload, "annotation")

    def value(self, s: _Stream, depth: int, vectors: list[int]) -> None:
        """A typed value (a parameter, a condition, a tuple's element): its own length bounds it; the kinds
        that claim sizes of their own are read."""
        _at_most(depth, MAX_NESTING, "values nested")
        kind, size = s.read(_VALUE, "parameter")
        data = s.part(size, "parameter")
        if kind == b"q":  # a control-flow block
            self.circuit(data, depth + 1)
        elif kind == b"t":
            (n,) = data.read(_U64, "tuple")
            for _ in range(data.count(n, _VALUE.size, "tuple elements")):
                self.value(data, depth + 1, vectors)
        elif kind == b"n":
            limits.check_npy(bytes(data.take(data.left(), "array")), size, "an array inside a circuit")
        elif kind == b"v" and self.version >= 18:
            table, index = data.read(_VECTOR_ELEMENT, "parameter vector element")
            if table >= len(vectors) or index >= vectors[table]:
                raise UnsafePayload("a QPY parameter vector element outside its vector was refused")
        elif kind == b"v":
            _, size, _, index = data.read(_OLD_VECTOR_ELEMENT, "parameter vector element")
            if index >= _at_most(size, MAX_VECTOR, "a parameter vector's elements"):
                raise UnsafePayload("a QPY parameter vector element outside its vector was refused")
        elif kind == b"m":
            _, controls, _, _ = data.read(_MODIFIER, "modifier")
            _at_most(controls, MAX_QUBITS, "a modifier's control qubits")

    def pauli_evolution(self, s: _Stream) -> None:
        operators, _, _, time_size, synthesis_size = s.read(_PAULI, "Pauli evolution")
        for _ in range(s.count(operators, 9, "Pauli evolution operators")):
            if self.version >= 17 and bytes(s.take(1, "operator kind")) == b"\x01":
                qubits, *arrays = s.read(_OBSERVABLE, "sparse observable")
                _at_most(qubits, MAX_QUBITS, "an observable's qubits")
                for size in arrays:  # bytes (the format's notes say elements; both writers write bytes)
                    s.take(size, "observable terms")
            else:
                (size,) = s.read(_U64, "Pauli operator")
                limits.check_npy(bytes(s.take(size, "Pauli operator")), size, "a Pauli operator's array")
        s.take(time_size, "evolution time")
        s.take(synthesis_size, "evolution synthesis")

    def layout(self, s: _Stream) -> None:
        _, initial, inputs, final, registers, input_qubits = s.read(_LAYOUT, "layout")
        for value, what in ((initial, "initial layout"), (inputs, "input mapping"), (final, "final layout"),
                            (input_qubits, "input qubits")):
            _at_most(value, MAX_QUBITS, f"a layout's {what}")
        for _ in range(s.count(registers, _REGISTER.size, "layout registers")):
            self.register(s)
        for _ in range(s.count(max(initial, 0), _LAYOUT_BIT.size, "initial layout bits")):
            _, name_size = s.read(_LAYOUT_BIT, "initial layout bit")
            s.take(max(name_size, 0), "initial layout register")
        s.take(4 * s.count(max(inputs, 0), 4, "input mapping"), "input mapping")
        s.take(4 * s.count(max(final, 0), 4, "final layout"), "final layout")
