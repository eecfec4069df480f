"""A small curated Qiskit 2.x / qiskit-aer 0.17+ knowledge base: what LLMs most often get wrong.

Each fact is one or two short sentences, checked against the installed packages, retrieved by
embedding (`facts.Facts`) and injected into a prompt only when relevant.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    topic: str
    text: str


FACTS: tuple[Fact, ...] = (
    # running circuits
    Fact("execute removed",
         "qiskit.execute() no longer exists. Run with sim = AerSimulator(); "
         "sim.run(transpile(qc, sim), shots=1024).result().get_counts()."),
    Fact("aer import",
         "Use `from qiskit_aer import AerSimulator`; qiskit.providers.aer, qiskit.Aer and BasicAer are gone, "
         "and Aer.get_backend('qasm_simulator') is legacy."),
    Fact("basic simulator",
         "The pure-Python simulator bundled with Qiskit is qiskit.providers.basic_provider.BasicSimulator "
         "(it replaced BasicAer); prefer AerSimulator for speed."),
    Fact("counts bit order",
         "Counts keys are little-endian: in '101' qubit 0 is the rightmost character. "
         "Read a bit string with reversed(bits) when mapping characters to qubits."),
    Fact("multiple registers",
         "With several classical registers, get_counts() keys hold one group per register separated by "
         "spaces, the last-added register leftmost, e.g. '10 1'."),
    Fact("measure_all",
         "qc.measure_all() adds a barrier and a new classical register named 'meas'; "
         "QuantumCircuit(n, n) instead has a register named 'c' for explicit qc.measure(q, c)."),
    Fact("seeds",
         "For reproducible results pass seed_simulator=... to AerSimulator.run or its options, "
         "and seed_transpiler=... to transpile()."),
    # primitives
    Fact("primitives v2",
         "Qiskit 2.x has only V2 primitives: qiskit.primitives.StatevectorSampler and StatevectorEstimator; "
         "the V1 Sampler and Estimator classes were removed."),
    Fact("sampler result",
         "SamplerV2: result = sampler.run([qc], shots=1000).result(); counts = "
         "result[0].data.meas.get_counts(), where 'meas' is the classical register's name."),
    Fact("estimator result",
         "EstimatorV2: result = estimator.run([(qc, observable)]).result(); "
         "result[0].data.evs holds the expectation values and .data.stds their standard errors."),
    Fact("estimator circuits",
         "Circuits given to StatevectorEstimator must have no measurements; "
         "the Sampler needs measurements or its result is empty."),
    Fact("aer primitives",
         "qiskit_aer.primitives.SamplerV2 and EstimatorV2 are the Aer primitives; "
         "the V1 qiskit_aer.primitives.Sampler and Estimator are deprecated."),
    Fact("pub parameters",
         "A primitive PUB is a tuple: sampler (circuit, parameter_values), estimator "
         "(circuit, observables, parameter_values); a 2-D array of values runs a parameter sweep."),
    # transpilation
    Fact("transpile levels",
         "transpile(qc, backend, optimization_level=0..3, seed_transpiler=7): the default level is 2; "
         "3 optimizes hardest and 0 only maps to the backend."),
    Fact("preset pass manager",
         "pm = generate_preset_pass_manager(optimization_level=3, backend=backend); isa = pm.run(qc). "
         "It is importable from qiskit or qiskit.transpiler."),
    Fact("isa circuits",
         "IBM Runtime primitives accept only ISA circuits: transpile to the backend first, "
         "and map observables with observable.apply_layout(isa.layout)."),
    # simulator methods
    Fact("aer methods",
         "AerSimulator(method=...): 'automatic' (default), 'statevector', 'density_matrix', 'stabilizer', "
         "'matrix_product_state', 'extended_stabilizer', 'unitary', 'superop'."),
    Fact("many qubits",
         "A statevector of n qubits takes 16 * 2**n bytes (16 GiB at 30); use method='matrix_product_state' "
         "for many weakly entangled qubits, 'stabilizer' for Clifford circuits."),
    Fact("save statevector",
         "qc.save_statevector() (added by importing qiskit_aer) then "
         "sim.run(transpile(qc, sim)).result().get_statevector() returns the simulated state."),
    Fact("statevector",
         "Statevector.from_instruction(qc) or Statevector(qc) gives the exact state of a circuit "
         "without measurements; .probabilities_dict() gives little-endian bit-string probabilities."),
    # noise
    Fact("noise model",
         "nm = NoiseModel(); nm.add_all_qubit_quantum_error(depolarizing_error(0.01, 1), ['h']); "
         "sim = AerSimulator(noise_model=nm) (qiskit_aer.noise)."),
    Fact("noise two-qubit",
         "Two-qubit gates need two-qubit errors: depolarizing_error(p, 2) for ['cx']. "
         "Readout noise: nm.add_all_qubit_readout_error(ReadoutError(probabilities))."),
    Fact("noise errors",
         "qiskit_aer.noise provides depolarizing_error, pauli_error, amplitude_damping_error, "
         "phase_damping_error and thermal_relaxation_error(t1, t2, time)."),
    Fact("fake backends",
         "Device-like fake backends live in qiskit_ibm_runtime.fake_provider (FakeManilaV2, FakeSherbrooke); "
         "AerSimulator.from_backend(backend) simulates with their noise."),
    Fact("generic backend",
         "qiskit.providers.fake_provider.GenericBackendV2(num_qubits=5) is the only fake backend left in "
         "Qiskit itself; it has a coupling map and noise."),
    # circuit library
    Fact("library functions",
         "Qiskit 2.1 deprecated RealAmplitudes, EfficientSU2, ZZFeatureMap and TwoLocal classes; "
         "use functions real_amplitudes, efficient_su2, zz_feature_map, n_local."),
    Fact("qft",
         "Use qc.append(QFTGate(n), range(n)) (qiskit.circuit.library) and QFTGate(n).inverse(); "
         "the QFT class is deprecated and there is no qft() function."),
    Fact("grover",
         "qiskit.circuit.library.grover_operator(oracle) builds the Grover iterate; a multi-controlled Z "
         "(phase oracle) is qc.mcp(math.pi, controls, target)."),
    Fact("removed gate methods",
         "qc.cnot, qc.toffoli, qc.fredkin and qc.mct were removed; use qc.cx, qc.ccx, qc.cswap and qc.mcx."),
    # parameters, operators
    Fact("parameters",
         "theta = Parameter('θ'); qc.rx(theta, 0); bound = qc.assign_parameters({theta: 0.5}). "
         "bind_parameters() was removed."),
    Fact("hamiltonians",
         "Write Hamiltonians as SparsePauliOp.from_list([('ZZ', 1.0), ('XI', 0.5)]); "
         "the rightmost Pauli letter acts on qubit 0."),
    Fact("time evolution",
         "Time evolution: qiskit.circuit.library.PauliEvolutionGate(op, t, synthesis=LieTrotter(reps=4)), "
         "with LieTrotter or SuzukiTrotter from qiskit.synthesis."),
    # dynamic circuits
    Fact("dynamic circuits",
         "Classical control uses `with qc.if_test((clbit, 1)):` (else via `as else_`); "
         "Instruction.c_if was removed in Qiskit 2.0."),
    Fact("control flow",
         "QuantumCircuit also has while_loop, for_loop and switch; AerSimulator runs these dynamic circuits "
         "directly, including mid-circuit measurement and reset."),
    # output
    Fact("plotting",
         "plot_histogram(counts) and qc.draw('mpl') need matplotlib installed; qc.draw() gives a text "
         "diagram without it."),
    Fact("qasm",
         "qc.qasm() was removed: use qiskit.qasm2.dumps(qc) or qiskit.qasm3.dumps(qc); "
         "read with qiskit.qasm2.loads(text)."),
    Fact("removed modules",
         "qiskit.opflow, qiskit.algorithms, qiskit.tools and qiskit.pulse no longer exist; use SparsePauliOp, "
         "the V2 primitives and gate-level circuits."),
)
