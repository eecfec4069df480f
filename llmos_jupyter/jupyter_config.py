"""Settings in the Jupyter way: `%config LLMOS.provider = 'openai'`, or `c.LLMOS.provider` in
ipython_config.py. The class is named LLMOS because %config finds configurables by class name.
Its traits are made from `Settings`, which owns every default and help text."""
from __future__ import annotations

from dataclasses import Field, fields

from traitlets import Bool, Dict, Float, Int, Unicode
from traitlets.config import Configurable

from .settings import Settings

_TRAITS = {"bool": Bool, "int": Int, "float": Float, "str": Unicode, "dict": Dict}


def _trait(f: Field):
    """The trait for one setting, from its annotation as written ('str | None' allows None). The text is read,
    not evaluated: evaluating every annotation costs %load_ext more than the rest of it."""
    kinds = [k.strip().split("[")[0] for k in str(f.type).split("|")]
    trait = _TRAITS[next(k for k in kinds if k != "None")]
    return trait(Settings.default(f.name), allow_none="None" in kinds, help=Settings.help(f.name)).tag(config=True)


class LLMOS(Configurable):
    locals().update({f.name: _trait(f) for f in fields(Settings)})

    def engine_options(self) -> dict:
        return {name: getattr(self, name) for name in Settings.names()}
