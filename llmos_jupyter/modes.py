from enum import Enum


class Mode(str, Enum):
    """The five ways a request can be answered, cheapest first."""

    CRYSTALLIZED = "CRYSTALLIZED"  # a generated Python tool, 0 tokens
    FOLLOWER = "FOLLOWER"  # replay of a verified earlier run, 0 tokens
    MIXED = "MIXED"  # the LLM guided by a worked example
    LEARNER = "LEARNER"  # the full LLM
    ORCHESTRATOR = "ORCHESTRATOR"  # multi-step, several agents

    def __str__(self) -> str:
        return self.value
