"""The Qiskit (and matplotlib) kinds that cross the sandbox boundary, each rebuilt from plain data through the
library's public constructors: circuits and anything that is one underneath (a DAG, a gate or instruction, a
CNOT-dihedral element) as QPY; quantum_info states, operators and channels through their arrays and dims; a
Clifford through its boolean tableau; coupling maps and targets through their edges and instruction
properties; primitive results through their data bins' arrays; a finished primitive job through its result;
noise models through their errors' circuits; fake backends by the name of a class the provider ships; a
transformation pass as a pass whose run() calls the program's own in the worker; and a matplotlib figure
rebuilt from its artists, or as its picture where they are not plain (figures.py).

`encode(value, out)` returns a tagged dict or None (not a kind of ours); `DECODERS[tag](data, into)` rebuilds
one. `out` and `into` are the codec's: they encode or decode nested values within the same budget."""
from __future__ import annotations

from typing import Any

from . import figures, qpy_sizes  # at import: the worker cannot read source files once it is locked down
from .errors import Unconvertible, UnsafePayload

# Bounds on what the kernel builds (the worker keeps what is over them, saying why; the kernel refuses it):
# a SparsePauliOp's terms times qubits (two bytes each, x and z, and several times that while it is built);
# a CNOT-dihedral element's qubits (its polynomial has a term for every three: 2.7 MB at 128, 1 GB near 1000).
MAX_PAULI_ENTRIES = 16_000_000
MAX_CNOT_DIHEDRAL_QUBITS = 128


def _name(value: Any) -> str:
    return type(value).__name__


# ----------------------------------------------------------------------------------------------- encode

def encode(value: Any, out) -> dict | None:
    if (type(value).__module__ or "").startswith("matplotlib"):
        return _figures(value, out)
    from qiskit.circuit import Instruction, QuantumCircuit
    from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector
    from qiskit.result import Counts

    if isinstance(value, QuantumCircuit):
        return {"t": "circuit", "qpy": out.qpy(value)}
    if isinstance(value, (Statevector, DensityMatrix)):
        return {"t": "statevector" if isinstance(value, Statevector) else "densitymatrix",
                "data": out.npy(value.data), "dims": [int(d) for d in value.dims()]}
    if isinstance(value, Operator):
        return {"t": "operator", "data": out.npy(value.data), **_dims_of(value)}
    if isinstance(value, SparsePauliOp):
        out.count(len(value.coeffs))
        _pauli_size(value.size, value.num_qubits, Unconvertible)
        return {"t": "sparsepauliop", "labels": [str(p) for p in value.paulis.to_labels()],
                "coeffs": out.npy(value.coeffs)}
    if isinstance(value, Counts):
        return {"t": "counts", "v": {str(k): int(v) for k, v in value.items()}}
    if isinstance(value, Instruction):
        return {"t": "instruction", "qpy": out.qpy(_holding(value))}
    for kinds in (_circuit_like, _quantum_info, _transpiler, _primitives, _aer):
        found = kinds(value, out)
        if found is not None:
            return found
    return None


def _dims_of(value) -> dict:
    return {"input_dims": [int(d) for d in value.input_dims()], "output_dims": [int(d) for d in value.output_dims()]}


def _holding(operation):
    from qiskit.circuit import QuantumCircuit

    qc = QuantumCircuit(operation.num_qubits, operation.num_clbits)
    qc.append(operation, range(operation.num_qubits), range(operation.num_clbits))
    return qc


def _circuit_like(value, out):
    from qiskit.dagcircuit import DAGCircuit
    from qiskit.quantum_info import CNOTDihedral

    if isinstance(value, DAGCircuit):
        from qiskit.converters import dag_to_circuit

        return {"t": "dag", "qpy": out.qpy(dag_to_circuit(value))}
    if isinstance(value, CNOTDihedral):
        _cnot_dihedral_size(value.num_qubits, Unconvertible)
        return {"t": "cnotdihedral", "qpy": out.qpy(value.to_circuit())}
    return None


def _quantum_info(value, out):
    from qiskit.quantum_info import Clifford, ScalarOp, StabilizerState
    from qiskit.quantum_info.operators.channel.quantum_channel import QuantumChannel

    if isinstance(value, Clifford):
        return {"t": "clifford", "tableau": out.npy(value.tableau)}
    if isinstance(value, StabilizerState):
        return {"t": "stabilizerstate", "tableau": out.npy(value.clifford.tableau)}
    if isinstance(value, ScalarOp):
        return {"t": "scalarop", "coeff": out.value(complex(value.coeff)), **_dims_of(value)}
    if isinstance(value, QuantumChannel) and _name(value) in _CHANNELS:
        # Kraus and Stinespring hold (left, right) with right None for a CP map; the others one matrix.
        data = value._data
        if _name(value) in ("Kraus", "Stinespring"):
            left, right = data
            packed = [[out.npy(m) for m in left] if isinstance(left, list) else out.npy(left),
                      None if right is None else ([out.npy(m) for m in right] if isinstance(right, list)
                                                  else out.npy(right))]
            return {"t": "channel", "kind": _name(value), "pair": packed, **_dims_of(value)}
        return {"t": "channel", "kind": _name(value), "data": out.npy(data), **_dims_of(value)}
    return None


_CHANNELS = ("Choi", "SuperOp", "Kraus", "Stinespring", "Chi", "PTM")


def _transpiler(value, out):
    from qiskit.transpiler import CouplingMap, Target
    from qiskit.transpiler.basepasses import TransformationPass

    if isinstance(value, TransformationPass):  # its code stays in the worker; the kernel gets a pass that calls it
        return {"t": "transformationpass", "name": _name(value), "run": out.value(value.run)}
    if isinstance(value, CouplingMap):
        return {"t": "couplingmap", "qubits": [int(q) for q in value.physical_qubits],
                "edges": [[int(a), int(b)] for a, b in value.get_edges()], "description": value.description}
    if isinstance(value, Target):
        return _encode_target(value, out)
    return None


def _standard_gates() -> dict:
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return get_standard_gate_name_mapping()


def _circuit_class(cls, refuse=None):
    """A class that qiskit.circuit exports under its own name, or `refuse` (Unconvertible when encoding)."""
    import qiskit.circuit
    from qiskit.circuit import Instruction

    if not (isinstance(cls, type) and issubclass(cls, Instruction) and getattr(qiskit.circuit, cls.__name__, None) is cls):
        raise (refuse or Unconvertible)(
            f"an operation type {getattr(cls, '__name__', cls)!r} that qiskit.circuit does not export")
    return cls


def _encode_target(target, out) -> dict:
    from qiskit.circuit import Instruction

    instructions = []
    for name in target.operation_names:
        operation = target.operation_from_name(name)
        props = []
        for qargs, p in target[name].items():
            props.append([None if qargs is None else [int(q) for q in qargs],
                          None if p is None else [p.duration, p.error]])
        standard = _standard_gates().get(name)
        if standard is not None and type(standard) is type(operation) and \
                [str(p) for p in standard.params] == [str(p) for p in operation.params]:
            # by name: QPY cannot write a Delay whose duration is a parameter, as every backend's target has
            instructions.append({"name": name, "standard": name, "props": props})
        elif isinstance(operation, Instruction):
            instructions.append({"name": name, "qpy": out.qpy(_holding(operation)), "props": props})
        else:  # a class (IfElseOp...) stands for every width of itself
            instructions.append({"name": name, "class": _circuit_class(operation).__name__, "props": props})
    qubit_properties = None
    if target.qubit_properties is not None:
        qubit_properties = [None if q is None else [q.t1, q.t2, q.frequency] for q in target.qubit_properties]
    return {"t": "target", "num_qubits": target.num_qubits, "description": target.description, "dt": target.dt,
            "granularity": target.granularity, "min_length": target.min_length,
            "pulse_alignment": target.pulse_alignment, "acquire_alignment": target.acquire_alignment,
            "qubit_properties": qubit_properties, "concurrent_measurements": out.value(
                [list(map(int, group)) for group in (target.concurrent_measurements or [])]),
            "instructions": instructions}


def _primitives(value, out):
    from qiskit.primitives import BasePrimitiveJob, BitArray, DataBin, PrimitiveResult, PubResult

    if isinstance(value, BitArray):
        return {"t": "bitarray", "array": out.npy(value.array), "num_bits": int(value.num_bits)}
    if isinstance(value, DataBin):
        return {"t": "databin", "shape": [int(s) for s in value.shape],
                "fields": {str(k): out.value(v) for k, v in value.items()}}
    if isinstance(value, PubResult):
        return {"t": "pubresult", "kind": _name(value), "data": out.value(value.data),
                "metadata": out.value(dict(value.metadata))}
    if isinstance(value, PrimitiveResult):
        return {"t": "primitiveresult", "pubs": [out.value(p) for p in value],
                "metadata": out.value(dict(value.metadata))}
    if isinstance(value, BasePrimitiveJob):
        # A job comes back done: its result is what the kernel can use (the worker's executor cannot travel).
        try:
            result = value.result()
        except Exception as exc:  # noqa: BLE001 - the job's own failure is the reason it stays behind
            raise Unconvertible(f"a {_name(value)} whose result() raised {type(exc).__name__}: {exc}") from None
        return {"t": "job", "job_id": str(value.job_id()), "result": out.value(result)}
    return None


def _aer(value, out):
    module = type(value).__module__ or ""
    if module.startswith("qiskit_ibm_runtime.fake_provider"):  # imported only when one is met: it is slow
        if _fake_backend_class(_name(value)) is type(value):
            return {"t": "fakebackend", "name": _name(value)}
        return None
    if not module.startswith("qiskit_aer"):
        return None
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    if isinstance(value, NoiseModel):
        return encode_noise_model(value, out)
    if type(value) is AerSimulator and _only_method_set(value):
        method = value.options.method
        return {"t": "aersimulator", "method": method if isinstance(method, str) else "automatic"}
    return None


def _only_method_set(simulator) -> bool:
    """A simulator travels by its method alone, so only one whose other options are all defaults does."""
    from qiskit_aer import AerSimulator

    defaults = dict(AerSimulator._default_options().__dict__)
    options = dict(simulator.options.__dict__)
    return all(options.get(k) == v for k, v in defaults.items() if k != "method")


def _figures(value, out):
    if type(value).__module__ == "matplotlib.figure" and _name(value) == "Figure":
        return figures.encode(value, out)
    return None


# ----------------------------------------------------------------------------------------------- decode

def _dims(into, data, key):
    return into.dims(data.get(key))


def _statevector(data, into):
    from qiskit.quantum_info import DensityMatrix, Statevector

    kind = Statevector if data["t"] == "statevector" else DensityMatrix
    return kind(into.array(data.get("data")), dims=_dims(into, data, "dims"))


def _operator(data, into):
    from qiskit.quantum_info import Operator

    return Operator(into.array(data.get("data")), input_dims=_dims(into, data, "input_dims"),
                    output_dims=_dims(into, data, "output_dims"))


def _sparse_pauli_op(data, into):
    from qiskit.quantum_info import SparsePauliOp

    labels = data.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UnsafePayload("a SparsePauliOp whose labels are not strings")
    into.count(len(labels))
    _pauli_size(len(labels), max(map(len, labels), default=0), UnsafePayload)
    return SparsePauliOp(labels, coeffs=into.array(data.get("coeffs")))


def _pauli_size(terms: int, qubits: int, error: type) -> None:
    if qubits > qpy_sizes.MAX_QUBITS or terms * qubits > MAX_PAULI_ENTRIES:
        raise error(f"a SparsePauliOp of {terms} terms on {qubits} qubits is over the bounds of "
                    f"{qpy_sizes.MAX_QUBITS} qubits and {MAX_PAULI_ENTRIES:,} terms x qubits "
                    "(qiskit_kinds.MAX_PAULI_ENTRIES)")


def _counts(data, into):
    values = data.get("v")
    if not isinstance(values, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        raise UnsafePayload("counts that are not {bitstring: int}")
    return dict(values)


def _instruction(data, into):
    circuit = into.circuit(data.get("qpy"))
    if len(circuit.data) != 1:
        raise UnsafePayload("an instruction payload that is not a circuit of exactly one instruction")
    return circuit.data[0].operation


def _dag(data, into):
    from qiskit.converters import circuit_to_dag

    return circuit_to_dag(into.circuit(data.get("qpy")))


def _cnot_dihedral(data, into):
    from qiskit.quantum_info import CNOTDihedral

    circuit = into.circuit(data.get("qpy"))
    _cnot_dihedral_size(circuit.num_qubits, UnsafePayload)
    return CNOTDihedral(circuit)


def _cnot_dihedral_size(qubits: int, error: type) -> None:
    if qubits > MAX_CNOT_DIHEDRAL_QUBITS:
        raise error(f"a CNOTDihedral on {qubits} qubits is over the bound of {MAX_CNOT_DIHEDRAL_QUBITS} "
                    "(qiskit_kinds.MAX_CNOT_DIHEDRAL_QUBITS)")


def _tableau(data, into):
    import numpy as np

    tableau = into.array(data.get("tableau"))
    if tableau.dtype != np.bool_ or tableau.ndim != 2 or tableau.shape[1] != tableau.shape[0] + 1 \
            or tableau.shape[0] % 2:
        raise UnsafePayload("a Clifford tableau that is not a (2n, 2n+1) boolean array")
    return tableau


def _clifford(data, into):
    from qiskit.quantum_info import Clifford

    return Clifford(_tableau(data, into), validate=False)


def _stabilizer_state(data, into):
    from qiskit.quantum_info import Clifford, StabilizerState

    return StabilizerState(Clifford(_tableau(data, into), validate=False))


def _scalar_op(data, into):
    from qiskit.quantum_info import ScalarOp

    coeff = into.value(data.get("coeff"))
    if not isinstance(coeff, (int, float, complex)) or isinstance(coeff, bool):
        raise UnsafePayload("a ScalarOp whose coefficient is not a number")
    dims = _dims(into, data, "input_dims")
    if dims != _dims(into, data, "output_dims"):
        raise UnsafePayload("a ScalarOp whose input and output dims differ")
    return ScalarOp(dims, coeff=coeff)


def _channel(data, into):
    from qiskit.quantum_info import operators

    kind = data.get("kind")
    if kind not in _CHANNELS:
        raise UnsafePayload(f"a channel of kind {kind!r}")
    cls = getattr(operators, kind)
    dims = {"input_dims": _dims(into, data, "input_dims"), "output_dims": _dims(into, data, "output_dims")}
    if kind in ("Kraus", "Stinespring"):
        pair = data.get("pair")
        if not isinstance(pair, list) or len(pair) != 2:
            raise UnsafePayload(f"a {kind} without its (left, right) pair")

        def part(p):
            return [into.array(m) for m in p] if isinstance(p, list) else into.array(p)
        left, right = part(pair[0]), None if pair[1] is None else part(pair[1])
        return cls(left if right is None else (left, right), **dims)
    return cls(into.array(data.get("data")), **dims)


MAX_QUBIT = 4096


def _ints(value, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value):
        raise UnsafePayload(f"{what} that are not non-negative integers")
    return value


def _coupling_map(data, into):
    from qiskit.transpiler import CouplingMap

    edges = data.get("edges")
    if not isinstance(edges, list):
        raise UnsafePayload("a coupling map without edges")
    into.count(len(edges))
    cmap = CouplingMap([tuple(_qubit_list(e, "edge ends")) for e in edges], description=_text(data.get("description")))
    for q in _qubit_list(data.get("qubits"), "qubits"):
        if q not in cmap.physical_qubits:
            cmap.add_physical_qubit(q)
    return cmap


def _text(value):
    if value is not None and not isinstance(value, str):
        raise UnsafePayload("a description that is not text")
    return value


def _number(value, what: str):
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise UnsafePayload(f"{what} that is not a number")
    return value


def _target(data, into):
    from qiskit.providers import QubitProperties
    from qiskit.transpiler import InstructionProperties, Target

    qubit_properties = data.get("qubit_properties")
    if qubit_properties is not None:
        if not isinstance(qubit_properties, list):
            raise UnsafePayload("qubit properties that are not a list")
        qubit_properties = [None if q is None else QubitProperties(*(_number(x, "a qubit property") for x in q[:3]))
                            for q in qubit_properties]
    groups = into.value(data.get("concurrent_measurements"))
    if (_number(data.get("num_qubits"), "num_qubits") or 0) > MAX_QUBIT:
        raise UnsafePayload(f"a target on more than {MAX_QUBIT} qubits")
    target = Target(description=_text(data.get("description")), num_qubits=_number(data.get("num_qubits"), "num_qubits"),
                    dt=_number(data.get("dt"), "dt"), granularity=_number(data.get("granularity"), "granularity") or 1,
                    min_length=_number(data.get("min_length"), "min_length") or 1,
                    pulse_alignment=_number(data.get("pulse_alignment"), "pulse_alignment") or 1,
                    acquire_alignment=_number(data.get("acquire_alignment"), "acquire_alignment") or 1,
                    qubit_properties=qubit_properties, concurrent_measurements=groups or None)
    instructions = data.get("instructions")
    if not isinstance(instructions, list):
        raise UnsafePayload("a target without its instructions")
    for entry in instructions:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("props"), list):
            raise UnsafePayload("a target instruction without a name and properties")
        if "standard" in entry:
            operation = _standard_gates().get(entry["standard"])
            if operation is None:
                raise UnsafePayload(f"a standard gate {entry['standard']!r} that Qiskit does not have")
        elif "class" in entry:
            import qiskit.circuit

            operation = _circuit_class(getattr(qiskit.circuit, str(entry["class"]), None), UnsafePayload)
        else:
            operation = _instruction({"qpy": entry.get("qpy")}, into)
        props = {}
        for qargs, p in entry["props"]:
            key = None if qargs is None else tuple(_qubit_list(qargs, "qargs"))
            props[key] = None if p is None else InstructionProperties(duration=_number(p[0], "a duration"),
                                                                      error=_number(p[1], "an error"))
        into.count(len(props))
        if isinstance(operation, type):  # a class is added globally, without properties
            target.add_instruction(operation, name=entry["name"])
        else:
            target.add_instruction(operation, props, name=entry["name"])
    return target


def _bitarray(data, into):
    from qiskit.primitives import BitArray

    array = into.array(data.get("array"))
    if array.dtype.name != "uint8":
        raise UnsafePayload("a BitArray whose array is not uint8")
    return BitArray(array, _number(data.get("num_bits"), "num_bits"))


def _databin(data, into):
    from qiskit.primitives import DataBin

    fields = data.get("fields")
    if not isinstance(fields, dict) or not all(isinstance(k, str) and k.isidentifier() and not k.startswith("_")
                                               for k in fields):
        raise UnsafePayload("a data bin whose fields are not names")
    return DataBin(shape=tuple(_ints(data.get("shape"), "a shape")), **{k: into.value(v) for k, v in fields.items()})


def _pub_result(data, into):
    from qiskit.primitives import DataBin, PubResult, SamplerPubResult

    cls = {"PubResult": PubResult, "SamplerPubResult": SamplerPubResult}.get(data.get("kind"), PubResult)
    bin_ = into.value(data.get("data"))
    metadata = into.value(data.get("metadata"))
    if not isinstance(bin_, DataBin) or not isinstance(metadata, dict):
        raise UnsafePayload("a pub result without a data bin and metadata")
    return cls(bin_, metadata)


def _primitive_result(data, into):
    from qiskit.primitives import PrimitiveResult, PubResult

    pubs = [into.value(p) for p in data.get("pubs") or []]
    metadata = into.value(data.get("metadata"))
    if not all(isinstance(p, PubResult) for p in pubs) or not isinstance(metadata, dict):
        raise UnsafePayload("a primitive result whose pubs are not pub results")
    return PrimitiveResult(pubs, metadata)


def _job(data, into):
    from qiskit.primitives import PrimitiveJob

    result = into.value(data.get("result"))
    job = PrimitiveJob(lambda: result)
    job._job_id = _text(data.get("job_id")) or job._job_id  # the worker's id, so logs match
    job._submit()
    return job


def _fake_backend_class(name: Any):
    import qiskit_ibm_runtime.fake_provider as fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    cls = getattr(fake_provider, name, None) if isinstance(name, str) and name.startswith("Fake") else None
    return cls if isinstance(cls, type) and issubclass(cls, FakeBackendV2) else None


def _fake_backend(data, into):
    cls = _fake_backend_class(data.get("name"))
    if cls is None:
        raise UnsafePayload(f"a fake backend {data.get('name')!r} that qiskit_ibm_runtime.fake_provider does not ship")
    return cls()


def _aer_simulator(data, into):
    from qiskit_aer import AerSimulator

    method = data.get("method")
    if method not in AerSimulator._AVAILABLE_METHODS and method != "automatic":
        raise UnsafePayload(f"an AerSimulator method {method!r}")
    return AerSimulator(method=method)


def _figure(data, into):
    return figures.decode(data, into)


def _transformation_pass(data, into):
    from .remote import RemoteFunction, remote_pass

    run = into.value(data.get("run"))
    name = data.get("name")
    if not isinstance(run, RemoteFunction) or not isinstance(name, str) or not name.isidentifier():
        raise UnsafePayload("a transformation pass without its name and the worker's run()")
    return remote_pass(name, run)


def _noise_model(data, into):
    from qiskit_aer.noise import NoiseModel, QuantumError, ReadoutError

    def error(entry):
        if not isinstance(entry, dict) or not isinstance(entry.get("circuits"), list):
            raise UnsafePayload("a quantum error without its circuits")
        probabilities = into.value(entry.get("probabilities"))
        circuits = [into.circuit(c) for c in entry["circuits"]]
        if not isinstance(probabilities, list) or len(probabilities) != len(circuits):
            raise UnsafePayload("a quantum error whose probabilities do not match its circuits")
        return QuantumError(list(zip(circuits, probabilities)))

    basis = into.value(data.get("basis_gates"))
    if not isinstance(basis, list) or not all(isinstance(b, str) for b in basis):
        raise UnsafePayload("basis gates that are not names")
    model = NoiseModel(basis_gates=basis)
    for name, entry in _entries(data.get("default"), 2):
        model.add_all_qubit_quantum_error(error(entry), name, warnings=False)
    for name, qubits, entry in _entries(data.get("local"), 3):
        model.add_quantum_error(error(entry), name, _qubit_list(qubits), warnings=False)
    if data.get("readout") is not None:
        model.add_all_qubit_readout_error(ReadoutError(into.array(data["readout"])), warnings=False)
    for qubits, matrix in _entries(data.get("local_readout"), 2):
        model.add_readout_error(ReadoutError(into.array(matrix)), _qubit_list(qubits), warnings=False)
    for entry in data.get("passes") or []:
        model._custom_noise_passes.append(_relaxation(entry, into))  # what from_backend does; there is no setter
    return model


def _qubit_list(qubits, what: str = "noise qubits"):
    qubits = _ints(qubits, what)
    if any(q > MAX_QUBIT for q in qubits):  # Aer and rustworkx build circuits and graphs this wide, in the kernel
        raise UnsafePayload(f"{what} beyond {MAX_QUBIT}")
    return qubits


def _entries(value, size: int):
    """Noise-table rows: a list of lists of `size` items (None: no rows)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, list) and len(v) == size for v in value):
        raise UnsafePayload(f"noise entries that are not lists of {size}")
    return value


def encode_noise_model(value, out) -> dict:
    """Through the model's own tables: every error is its circuits (QPY) and their probabilities."""
    passes = [_encode_relaxation(p, out) for p in value._custom_noise_passes]

    def error(e):
        return {"circuits": [out.qpy(c) for c in e.circuits], "probabilities": out.value([float(p) for p in e.probabilities])}

    return {"t": "noisemodel", "basis_gates": out.value(sorted(value.basis_gates)),
            "default": [[name, error(e)] for name, e in value._default_quantum_errors.items()],
            "local": [[name, [int(q) for q in qubits], error(e)]
                      for name, by_qubits in value._local_quantum_errors.items() for qubits, e in by_qubits.items()],
            "readout": None if value._default_readout_error is None else out.npy(value._default_readout_error.probabilities),
            "local_readout": [[[int(q) for q in qubits], out.npy(e.probabilities)]
                              for qubits, e in value._local_readout_errors.items()],
            "passes": passes}


def _encode_relaxation(noise_pass, out) -> dict:
    """The one custom pass a noise model built from a backend has: thermal relaxation during delays."""
    from qiskit_aer.noise.passes import RelaxationNoisePass

    if type(noise_pass) is not RelaxationNoisePass:
        raise Unconvertible(f"a NoiseModel with a custom noise pass {_name(noise_pass)}")
    return {"t1s": out.npy(noise_pass._t1s), "t2s": out.npy(noise_pass._t2s), "p1s": out.npy(noise_pass._p1s),
            "dt": noise_pass._dt, "ops": [op.__name__ for op in noise_pass._ops],
            "target": None if noise_pass._target is None else _encode_target(noise_pass._target, out)}


def _relaxation(entry, into):
    import qiskit.circuit
    from qiskit.circuit import Instruction
    from qiskit_aer.noise.passes import RelaxationNoisePass

    if not isinstance(entry, dict) or not isinstance(entry.get("ops"), list):
        raise UnsafePayload("a relaxation pass without its operation types")
    ops = [getattr(qiskit.circuit, name, None) if isinstance(name, str) else None for name in entry["ops"]]
    if not all(isinstance(op, type) and issubclass(op, Instruction) for op in ops):
        raise UnsafePayload("a relaxation pass on something that is not a qiskit.circuit instruction type")
    target = None if entry.get("target") is None else _target(entry["target"], into)
    return RelaxationNoisePass(list(into.array(entry.get("t1s"))), list(into.array(entry.get("t2s"))),
                               dt=_number(entry.get("dt"), "dt"), op_types=ops,
                               excited_state_populations=list(into.array(entry.get("p1s"))), target=target)


DECODERS = {
    "circuit": lambda data, into: into.circuit(data.get("qpy")),
    "statevector": _statevector,
    "densitymatrix": _statevector,
    "operator": _operator,
    "sparsepauliop": _sparse_pauli_op,
    "counts": _counts,
    "instruction": _instruction,
    "dag": _dag,
    "cnotdihedral": _cnot_dihedral,
    "clifford": _clifford,
    "stabilizerstate": _stabilizer_state,
    "scalarop": _scalar_op,
    "channel": _channel,
    "couplingmap": _coupling_map,
    "target": _target,
    "bitarray": _bitarray,
    "databin": _databin,
    "pubresult": _pub_result,
    "primitiveresult": _primitive_result,
    "job": _job,
    "fakebackend": _fake_backend,
    "aersimulator": _aer_simulator,
    "figure": _figure,
    "noisemodel": _noise_model,
    "transformationpass": _transformation_pass,
}
