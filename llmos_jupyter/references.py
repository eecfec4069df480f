"""What a request may refer to: {name} (a value in the namespace), {In[n]}, {Out[n]} and {Err[n]} (cell n's
input, output and error), and {&fn} (a function of the user's, offered to the model as a tool). No Jupyter
import: In and Out are the namespace's own list and dict, the errors come from the extension's hook."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

_NAME = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN = re.compile(r"\{\{|\}\}|\{(In|Out|Err)\[(\d+)\]\}|\{&([A-Za-z_][A-Za-z0-9_]*)\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_CHARS = 8000  # of one referenced value: a printed array must not become a bill


@dataclass(frozen=True)
class Filled:
    """The request with its references filled in, and the functions it offers the model."""
    text: str
    functions: tuple[str, ...] = ()


def interpolate(text: str, namespace: dict) -> str:
    """Replace {name} with the value of `name`; unknown names stay as written."""

    def sub(m: re.Match) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = m.group(1)
        return str(namespace[name]) if name in namespace else token

    return _NAME.sub(sub, text)


def fill(text: str, namespace: dict, errors: dict[int, str]) -> Filled:
    """`text` with every reference filled. A reference to a cell, output or error that does not exist, or to a
    function that is not one, is a ConfigError naming it, so nothing is sent. Unknown {name}s and a literal {}
    stay as written."""
    functions: list[str] = []

    def sub(m: re.Match) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        kind, number, function, name = m.groups()
        if function is not None:
            if not callable(namespace.get(function)):
                raise ConfigError(f"{token} offers `{function}` to the model as a tool, but there is no function "
                                  f"of that name in your namespace. Define it (def {function}(...): ...) and run "
                                  "the cell again. Nothing was sent.")
            if function not in functions:
                functions.append(function)
            return f"`{function}`"
        if kind is not None:
            return _cell(kind, int(number), namespace, errors)
        return str(namespace[name]) if name in namespace else token

    return Filled(_TOKEN.sub(sub, text), tuple(functions))


def _cell(kind: str, n: int, namespace: dict, errors: dict[int, str]) -> str:
    inputs = namespace.get("In") or []
    last = len(inputs) - 1
    if kind == "In":
        if not 0 < n <= last:
            raise ConfigError(f"{{In[{n}]}} refers to cell {n}, which has not run in this session "
                              f"({'the last is In[' + str(last) + ']' if last > 0 else 'no cell has run yet'}). "
                              "Nothing was sent.")
        return _capped(inputs[n])
    if kind == "Out":
        outputs = namespace.get("Out") or {}
        if n not in outputs:
            raise ConfigError(f"{{Out[{n}]}}: cell {n} has no output (Out[n] is kept only for a cell that ends "
                              "with a value). Nothing was sent.")
        return _capped(repr(outputs[n]))
    if n not in errors:
        raise ConfigError(f"{{Err[{n}]}}: cell {n} raised no error that LLMOS saw"
                          + (f" (errors so far: {', '.join(f'Err[{k}]' for k in sorted(errors))})" if errors else "")
                          + ". Nothing was sent.")
    return _capped(errors[n])


def _capped(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + f"\n… ({len(text) - MAX_CHARS:,} more characters)"
