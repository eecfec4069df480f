"""What always asking the LLM would have billed for a request: the yardstick for `tokens.saved`."""
from __future__ import annotations


def lean_baseline(request: str, code: str) -> int:
    """What a user would send without LLMOS: a one-sentence system prompt and the request in, the program out
    (cl100k estimate, plus a few tokens of chat framing). Savings are counted against this, never against
    the bigger prompts LEARNER sends when it adds tools and facts."""
    from ..prompts import LEAN_SYSTEM
    from ..tokencount import count_tokens

    return count_tokens(LEAN_SYSTEM) + count_tokens(request) + count_tokens(code) + 12
