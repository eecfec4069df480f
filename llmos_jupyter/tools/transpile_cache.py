"""`transpile(qc, AerSimulator())` at the speed of the simulator, with the same result byte for byte.

Qiskit's `transpile` builds a preset pass manager on every call. For an Aer simulator that takes 110-200 ms on
two cores (Aer rebuilds its Target on each of the ~150 reads the builder makes), although for a simulator with the
same options it is the same pass manager every time; and at the default optimization level, running it on a small
circuit takes another 8-18 ms, although a replay transpiles the very same circuit again. `install()` replaces
`qiskit.transpile` with `transpile` below, which keeps, for this process only:

- the preset pass manager, per (optimization level, simulator options), when the call asks for nothing but a plain
  `AerSimulator` (no target, coupling map, basis gates, seed, noise model, layout or method of its own);
- the transpiled circuit, per (that pass manager, the circuit's content), for circuits made only of standard gates,
  measurements, resets and barriers, with no parameters, metadata or layout. The key is the content (gates, their
  parameters and labels, the bits they act on, registers, global phase), never the circuit's name; a hit returns a
  fresh copy named like the input, so a program may change what it got.

Anything else goes to Qiskit's own `transpile` unchanged: when in doubt, nothing is cached. The pass manager is
handed only to Qiskit's `transpile` (which runs it, and a run keeps its state in a fresh PropertySet), never to a
program. The state is the process's own: in the sandboxed worker a program can spoil it only for itself."""
from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from typing import Any

MAX_CIRCUITS = 256  # transpiled circuits kept (least recently used go first)
MAX_INSTRUCTIONS = 5000  # a larger circuit is not worth keying
# generate_preset_pass_manager's arguments as Qiskit's transpile passes them when the caller set none of them.
_UNSET = {"target": None, "basis_gates": None, "coupling_map": None, "initial_layout": None, "layout_method": None,
          "routing_method": None, "translation_method": None, "scheduling_method": None, "approximation_degree": 1.0,
          "seed_transpiler": None, "unitary_synthesis_method": "default", "unitary_synthesis_plugin_config": None,
          "hls_config": None, "init_method": None, "optimization_method": None, "dt": None,
          "qubits_initially_zero": True}
_PLAIN_VALUES = (type(None), bool, int, float, str)

_lock = threading.RLock()
_running = threading.RLock()
_managers: dict[tuple, Any] = {}
_circuits: OrderedDict[tuple, Any] = OrderedDict()
_inside = threading.local()  # set while our transpile runs Qiskit's: only then is a kept pass manager handed out
_original: dict[str, Any] = {}
stats = {"manager_hits": 0, "manager_builds": 0, "circuit_hits": 0, "circuit_misses": 0}


def install() -> None:
    """Make `qiskit.transpile` (and `qiskit.compiler.transpile`) this module's `transpile`. Idempotent."""
    import qiskit
    import qiskit.compiler
    import qiskit.compiler.transpiler as module

    with _lock:
        if _original:
            return
        _original.update(transpile=module.transpile, generate=module.generate_preset_pass_manager,
                         top=qiskit.transpile, compiler=qiskit.compiler.transpile)
        module.generate_preset_pass_manager = _preset_pass_manager
        qiskit.transpile = qiskit.compiler.transpile = transpile


def uninstall() -> None:
    """Put Qiskit's own functions back (the caches stay for the next install)."""
    import qiskit
    import qiskit.compiler
    import qiskit.compiler.transpiler as module

    with _lock:
        if not _original:
            return
        module.generate_preset_pass_manager = _original["generate"]
        qiskit.transpile, qiskit.compiler.transpile = _original["top"], _original["compiler"]
        _original.clear()


@contextlib.contextmanager
def installed():
    """Installed for the duration (the kernel path: the user's own cells keep Qiskit's functions)."""
    was = bool(_original)
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()


def clear() -> None:
    with _lock:
        _managers.clear()
        _circuits.clear()
        for key in stats:
            stats[key] = 0


def transpile(circuits, backend=None, *args, **kwargs):
    """Qiskit's `transpile`, with what does not change between calls kept (see the module's docstring)."""
    import qiskit.compiler.transpiler as module

    plain = _original.get("transpile", module.transpile)
    manager = None if args or set(kwargs) - {"optimization_level"} else \
        _manager_key(backend, kwargs.get("optimization_level"))
    content = _circuit_key(circuits) if manager is not None else None
    key = (manager, content) if content is not None else None
    if key is not None:
        with _lock:
            kept = _circuits.get(key)
            if kept is not None:
                _circuits.move_to_end(key)
                stats["circuit_hits"] += 1
        if kept is not None:
            out = kept.copy(circuits.name)  # what transpile names its output: the input's name
            return out
    if manager is None:
        return plain(circuits, backend, *args, **kwargs)
    outer = getattr(_inside, "on", False), getattr(_inside, "kept", False)
    # One run at a time: a pass keeps the run's PropertySet on itself while it runs, so two threads must not run
    # the same kept pass manager at once (each had a pass manager of its own before).
    with _running:
        _inside.on, _inside.kept = True, False
        try:
            out = plain(circuits, backend, *args, **kwargs)
            kept_manager = _inside.kept
        finally:
            _inside.on, _inside.kept = outer
    # Kept only when the run used a kept pass manager: then every argument was checked to be the default.
    if key is not None and kept_manager and _cacheable_output(out):
        with _lock:
            stats["circuit_misses"] += 1
            _circuits[key] = out.copy()
            while len(_circuits) > MAX_CIRCUITS:
                _circuits.popitem(last=False)
            if manager == _plain_key(manager[0]) and len(circuits.data) <= LEARN_MAX_INSTRUCTIONS \
                    and circuits.num_qubits <= LEARN_MAX_QUBITS:
                _missed.append((manager[0], circuits.copy()))
                del _missed[:-LEARN_KEPT]
    return out


# The worker's template forks a clean process for each replay, so what a replay's process kept is lost with it.
# Instead the process reports the plain-simulator circuits it missed (missed()), and the template, which never
# runs a program, transpiles each of them itself (learn()): the next process it forks has them. What the template
# keeps is therefore only Qiskit's own output for a circuit's content, whatever the program that reported it did.
LEARN_MAX_INSTRUCTIONS = 500
LEARN_MAX_QUBITS = 32
LEARN_KEPT = 4
_missed: list[tuple[int, Any]] = []
_plain_keys: dict[int, tuple | None] = {}


def _plain_key(level: int) -> tuple | None:
    """The pass manager key of `AerSimulator()` with nothing set, at `level`."""
    if level not in _plain_keys:
        from qiskit_aer import AerSimulator

        _plain_keys[level] = _manager_key(AerSimulator(), level)
    return _plain_keys[level]


def missed() -> list[tuple[int, Any]]:
    """(optimization level, circuit) for the circuits this process transpiled for a plain AerSimulator() and had
    not kept, since the last call."""
    with _lock:
        out, _missed[:] = list(_missed), []
    return out


def learn(level: Any, circuit: Any) -> bool:
    """Transpile `circuit` for a plain AerSimulator() at `level` and keep it, when it is small and plain enough
    to be kept at all; whether it was."""
    from qiskit_aer import AerSimulator

    if type(level) is not int or not 0 <= level <= 3 or _circuit_key(circuit) is None \
            or len(circuit.data) > LEARN_MAX_INSTRUCTIONS or circuit.num_qubits > LEARN_MAX_QUBITS:
        return False
    before = stats["circuit_misses"]
    installed_here = not _original
    install()
    try:
        transpile(circuit, AerSimulator(), optimization_level=level)
    finally:
        if installed_here:
            uninstall()
    return stats["circuit_misses"] > before


def _preset_pass_manager(optimization_level=None, backend=None, **kwargs):
    """Qiskit's generate_preset_pass_manager as Qiskit's transpile calls it, kept per plain simulator."""
    build = _original["generate"]
    key = None
    if getattr(_inside, "on", False) and kwargs.keys() == _UNSET.keys() and all(
            _same(kwargs[name], value) for name, value in _UNSET.items()):
        key = _manager_key(backend, optimization_level)
    if key is None:
        return build(optimization_level, backend=backend, **kwargs)
    with _lock:
        manager = _managers.get(key)
        if manager is not None:
            stats["manager_hits"] += 1
            _inside.kept = True
            return manager
    manager = build(optimization_level, backend=backend, **kwargs)
    with _lock:
        stats["manager_builds"] += 1
        _inside.kept = True
        return _managers.setdefault(key, manager)


def _same(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def _manager_key(backend: Any, level: Any) -> tuple | None:
    """What the preset pass manager for `backend` depends on, or None unless `backend` is a plain AerSimulator:
    made by `AerSimulator(**options)` (no configuration, properties or target of its own, not from_backend),
    every option a plain value (no noise model, no executor)."""
    from qiskit import user_config

    config = user_config.get_config()
    if level is None:
        level = config.get("transpile_optimization_level", 2)
    # A seed from the environment or the user's settings reaches the pass manager: such calls are not kept.
    if type(level) is not int or os.getenv("QISKIT_TRANSPILER_SEED") is not None \
            or config.get("transpiler_seed") is not None:
        return None
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        return None
    if type(backend) is not AerSimulator or backend._from_backend or backend._properties is not None \
            or backend._target is not None:
        return None
    options = tuple(sorted(backend.options.items()))
    configured = tuple(sorted(backend._options_configuration.items()))
    if not all(isinstance(v, _PLAIN_VALUES) for _, v in options) or not all(
            isinstance(v, _PLAIN_VALUES) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for _, v in configured):
        return None
    if backend._configuration.to_dict() != _default_configuration():
        return None
    configured = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in configured)
    return level, backend.name, options, configured, tuple(backend._cached_basis_gates)


_defaults: list[dict] = []


def _default_configuration() -> dict:
    """AerSimulator's own configuration (its name aside, which the method and device change), as a dict."""
    if not _defaults:
        from qiskit_aer import AerSimulator
        from qiskit_aer.backends.backendconfiguration import AerBackendConfiguration

        _defaults.append(AerBackendConfiguration.from_dict(AerSimulator._DEFAULT_CONFIGURATION).to_dict())
    return _defaults[0]


def _circuit_key(circuit: Any) -> tuple | None:
    """The content of `circuit` as a hashable tuple, or None when it holds anything this key could leave out."""
    from qiskit.circuit import Barrier, Measure, QuantumCircuit, Reset

    if type(circuit) is not QuantumCircuit or circuit.num_parameters or circuit.metadata or circuit.layout is not None \
            or circuit.num_vars or circuit.num_stretches or type(circuit.global_phase) not in (float, int) \
            or len(circuit.data) > MAX_INSTRUCTIONS:
        return None
    qubits, clbits = _bits(circuit.qregs, circuit.qubits), _bits(circuit.cregs, circuit.clbits)
    if qubits is None or clbits is None:
        return None
    plain_ops = (Barrier, Measure, Reset)
    instructions = []
    for inst in circuit.data:
        if inst.is_standard_gate():
            if not all(type(p) in (float, int) for p in inst.params):
                return None
            what = (inst.name, tuple(repr(p) for p in inst.params))  # repr: 1 and 1.0, 0.0 and -0.0 stay apart
        else:
            op = inst.operation
            if op.base_class not in plain_ops or op.params:  # base_class: a subclass of Measure is not Measure
                return None
            what = (inst.name, type(op).__name__, op.num_qubits, op.num_clbits)
        instructions.append((what, inst.label, tuple(qubits[q] for q in inst.qubits),
                             tuple(clbits[c] for c in inst.clbits)))
    return (tuple((r.name, r.size) for r in circuit.qregs), tuple((r.name, r.size) for r in circuit.cregs),
            len(circuit.qubits), len(circuit.clbits), repr(circuit.global_phase), tuple(instructions))


def _bits(registers, bits) -> dict | None:
    """bit -> index, when the bits are exactly the registers' bits in order (no loose bits, no register sharing
    one): then the registers' names and sizes say all there is to say about the bits."""
    ordered = [bit for register in registers for bit in register]
    if ordered != list(bits):
        return None
    return {bit: i for i, bit in enumerate(bits)}


def _cacheable_output(out: Any) -> bool:
    from qiskit.circuit import QuantumCircuit

    return type(out) is QuantumCircuit and out.layout is None and not out.metadata
