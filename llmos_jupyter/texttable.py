"""Plain-text tables for `%llmos` subcommands: each column as wide as its widest cell, so nothing falls out of
line whatever the ids, names or numbers are."""
from __future__ import annotations

from typing import Sequence


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """`right`: indexes of columns aligned right (numbers). The last column is not padded."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [c.rjust(w) if i in right else (c if i == len(row) - 1 else c.ljust(w))
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
