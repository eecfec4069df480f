"""Errors a user sees. Each message says what happened and what to do next."""


class LLMOSError(Exception):
    """Base class: the message is one paragraph meant for the person at the keyboard."""


class ConfigError(LLMOSError):
    """A setting is wrong or missing (unknown provider, no API key)."""


class ProviderError(LLMOSError):
    """The model provider failed: unreachable, refused, rate-limited, timed out."""

    def __init__(self, message: str, *, provider: str, kind: str, status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.kind = kind
        self.status = status


class StoreError(LLMOSError):
    """The persistent store (SQLite under `home`, or a team's PostgreSQL) cannot be opened or written."""


class BudgetExhausted(LLMOSError):
    """The token budget set with %llmos budget is spent."""
