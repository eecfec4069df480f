"""What always asking the LLM would have billed for a request: the yardstick for `tokens.saved`."""
from __future__ import annotations


def lean_baseline(request: str, code: str) -> int:
    """The lean LEARNER prompt and the request in, the program out (cl100k estimate, plus a few tokens of
    chat framing). Savings are counted against this, never against the bigger prompts LEARNER sends
    when it adds tools and facts."""
    from ..prompts import LEARNER_SYSTEM
    from ..tokencount import count_tokens

    return count_tokens(LEARNER_SYSTEM) + count_tokens(request) + count_tokens(code) + 12
