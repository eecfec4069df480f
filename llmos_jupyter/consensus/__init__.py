"""Thermodynamic consensus over several models' answers."""
from .engine import ConsensusEngine, WeighResult
from .specs import parse_specs

__all__ = ["ConsensusEngine", "WeighResult", "parse_specs"]
