"""The sentience layer's state: a valence vector and the latent mode derived from it.

This module owns valence. For now it holds the starting state from the design
(safety 0.6, curiosity 0.1, energy 0.7, self_confidence 0.4); the update rules and
their effect on the dispatcher come with the sentience work.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Valence:
    safety: float = 0.6
    curiosity: float = 0.1
    energy: float = 0.7
    self_confidence: float = 0.4


def latent_mode(v: Valence) -> str:
    """RECOVERY when safety or confidence collapse; AUTO_CREATIVE when curious and energetic;
    AUTO_CONTAINED when energy is low; BALANCED otherwise."""
    if v.safety < 0.3 or v.self_confidence < 0.2:
        return "recovery"
    if v.curiosity > 0.6 and v.energy > 0.5:
        return "auto_creative"
    if v.energy < 0.3:
        return "auto_contained"
    return "balanced"


class Sentience:
    def __init__(self) -> None:
        self.valence = Valence()

    def snapshot(self) -> dict:
        return {"latent_mode": latent_mode(self.valence), "valence": asdict(self.valence)}
