"""Stage 1, normalize: the cell's text becomes a `Request` with typed slots and a template."""
from __future__ import annotations

from ..text.normalize import normalize as normalize_text
from ..errors import ConfigError
from .records import Request


def normalize(text: str, request_id: str, *, parent_id: str | None = None,
              context: tuple[tuple[str, str], ...] = ()) -> Request:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("The request is empty. Write what you want, e.g. 'Create a Bell state circuit'.")
    text = text.strip()
    return Request(request_id, text, normalize_text(text), parent_id, tuple(context))
