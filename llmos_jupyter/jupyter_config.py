"""Settings in the Jupyter way: `%config LLMOS.provider = 'openai'`, or `c.LLMOS.provider` in
ipython_config.py. The class is named LLMOS because %config finds configurables by class name.
Its traits are made from `Settings`, which owns every default and help text."""
from __future__ import annotations

import types
import typing

from traitlets import Bool, Dict, Float, Int, Unicode
from traitlets.config import Configurable

from .settings import Settings

_TRAITS = {bool: Bool, int: Int, float: Float, str: Unicode, dict: Dict}


def _trait(name: str, hint: typing.Any):
    """The trait for one setting: its type from the annotation (`X | None` allows None)."""
    allow_none = False
    if isinstance(hint, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        allow_none = True
    trait = _TRAITS[typing.get_origin(hint) or hint]
    return trait(Settings.default(name), allow_none=allow_none, help=Settings.help(name)).tag(config=True)


class LLMOS(Configurable):
    locals().update({name: _trait(name, hint) for name, hint in typing.get_type_hints(Settings).items()})

    def engine_options(self) -> dict:
        return {name: getattr(self, name) for name in Settings.names()}
