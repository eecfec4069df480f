"""Choosing how a request is answered."""
from .modes import Mode

__all__ = ["Mode"]
