"""Thermodynamic consensus over several models' answers.

    from llmos_jupyter.consensus import ConsensusEngine, run_consensus
    eng = ConsensusEngine(device="auto", seed=0)
    res = eng.weigh(embeddings)                      # ground state of the information Hamiltonian
    res = run_consensus("Explain ...", "anthropic,openai:gpt-5.5,local", engine=eng)

hamiltonian.py (the Hamiltonian and its ground state), annealing.py (the search, torch), pipeline.py
(asking the models, billing, embedding, synthesis), transfer_entropy.py and series.py (causal graph),
active_inference.py (refinement), privacy.py (Gaussian mechanism and accountant), reservoir.py (optional
Qiskit/Aer reservoir), result.py (what run_consensus returns and shows).
Importing this package is light: torch loads on the first weigh, qiskit only for the reservoir.
"""
from .hamiltonian import ConsensusEngine, WeighResult
from .pipeline import ConsensusError, ConsensusOptions, run_consensus
from .privacy import PrivacyAccountant, PrivacyBudgetExceeded, PrivateAggregator
from .result import ConsensusResult
from .specs import parse_specs

__all__ = ["ConsensusEngine", "ConsensusError", "ConsensusOptions", "ConsensusResult", "WeighResult",
           "PrivacyAccountant", "PrivacyBudgetExceeded", "PrivateAggregator", "parse_specs", "run_consensus"]
