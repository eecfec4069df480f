"""What one run may not leave behind for the next: the worker's builtins, signal handlers and timers, the
interpreter's hooks (display, except, trace, profile, import machinery) and the modules it had loaded are put
back as they were at the worker's start, and a name that shadows a builtin does not stay in a session. A
hostile answer must not be able to poison the replays of verified programs that run after it in the same
worker. What this does not undo (attributes patched inside a library module) lasts until restart()."""
from __future__ import annotations

import builtins
import signal
import sys
from typing import Any

HOOKS = ("displayhook", "excepthook", "breakpointhook", "unraisablehook")
_FINDER_MODULES = frozenset({"importlib._bootstrap_external", "_frozen_importlib_external", "zipimport"})
TIMERS = tuple(getattr(signal, name) for name in ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF") if hasattr(signal, name))


class Pristine:
    def __init__(self):
        self.builtins = dict(builtins.__dict__)
        self.names = frozenset(n for n in self.builtins if not n.startswith("_"))
        self.hooks = {name: getattr(sys, name) for name in HOOKS if hasattr(sys, name)}
        self.meta_path, self.path_hooks, self.path = list(sys.meta_path), list(sys.path_hooks), list(sys.path)
        self.modules = dict(sys.modules)
        self.signals = {}
        for number in signal.valid_signals():
            try:
                self.signals[number] = signal.getsignal(number)
            except (ValueError, OSError):
                continue

    def before(self, namespace: dict[str, Any]) -> None:
        """Real builtins, for the module and for this namespace (a program may have replaced __builtins__)."""
        current = builtins.__dict__
        for name in [n for n in current if n not in self.builtins]:
            del current[name]
        for name, value in self.builtins.items():
            if current.get(name) is not value:
                current[name] = value
        namespace["__builtins__"] = builtins

    def after(self, namespace: dict[str, Any]) -> list[str]:
        """Undo what the run changed outside its own names; the names it dropped for shadowing builtins."""
        self._signals()
        for name, value in self.hooks.items():
            setattr(sys, name, value)
        sys.settrace(None)
        sys.setprofile(None)
        if (sys.meta_path, sys.path_hooks, sys.path) != (self.meta_path, self.path_hooks, self.path):
            sys.meta_path[:], sys.path_hooks[:], sys.path[:] = self.meta_path, self.path_hooks, self.path
            sys.path_importer_cache.clear()
        for key, finder in list(sys.path_importer_cache.items()):
            if finder is not None and type(finder).__module__ not in _FINDER_MODULES:
                del sys.path_importer_cache[key]  # a finder the program planted for a path
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        dropped = sorted(n for n in namespace if n in self.names)
        for name in dropped:
            del namespace[name]
        self.before(namespace)
        return dropped

    def _signals(self) -> None:
        for timer in TIMERS:
            try:
                signal.setitimer(timer, 0)
            except (OSError, ValueError):
                pass
        if hasattr(signal, "alarm"):
            signal.alarm(0)
        for number, handler in self.signals.items():
            try:
                if handler is not None and signal.getsignal(number) is not handler:
                    signal.signal(number, handler)
            except (OSError, ValueError, TypeError):
                continue
