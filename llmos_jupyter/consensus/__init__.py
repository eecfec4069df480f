"""Thermodynamic consensus over several models' answers.

    from llmos_jupyter.consensus import ConsensusEngine
    eng = ConsensusEngine(device="auto", seed=0)
    res = eng.weigh(embeddings)                      # ground state of the information Hamiltonian
    res = eng.run("Explain ...", providers="anthropic,openai:gpt-5.5,local")

engine.py (Hamiltonian, ground state, pipeline), annealing.py (the search, torch), transfer_entropy.py
and series.py (causal graph), active_inference.py (refinement), privacy.py (Gaussian mechanism and
accountant), reservoir.py (optional Qiskit/Aer reservoir), result.py (what run returns and shows).
Importing this package is light: torch loads on the first weigh, qiskit only for the reservoir.
"""
from .engine import ConsensusEngine, ConsensusError, WeighResult
from .privacy import PrivacyAccountant, PrivacyBudgetExceeded, PrivateAggregator
from .result import ConsensusResult
from .specs import parse_specs

__all__ = ["ConsensusEngine", "ConsensusError", "ConsensusResult", "WeighResult", "PrivacyAccountant",
           "PrivacyBudgetExceeded", "PrivateAggregator", "parse_specs"]
