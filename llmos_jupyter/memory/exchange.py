"""Export and import of learned memory as JSON lines, to share skills with a colleague.

An import is checked record by record before anything is written, and written in one
transaction: a bad file changes nothing. A file says what a program is and what it was shown to
handle; how far it is trusted is earned here: an imported trace starts with no verified uses, no
misses and no tool, whatever the file claims, so it crystallizes only after verified replays in
this home.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..text.normalize import rekey, terms_of
from ..errors import LLMOSError
from .templates import PLACEHOLDER, shape_of
from .traces import Trace, TraceStore

FORMAT = "llmos-memory"
VERSION = 1
_FIELDS = {"id": str, "origin": str, "title": str, "request": str, "template": str, "signature": list, "code": str,
           "bound": list, "shape": str, "generalized": list, "defaults": dict, "examples": list, "checks": list,
           "baseline_tokens": int, "uses": int, "misses": int}
_TRUSTED = ("uses", "misses", "baseline_tokens")  # counts this home keeps for itself: they start at 0


class ImportRejected(LLMOSError):
    pass


def export(traces: TraceStore, path: str | Path, text: str | None = None) -> int:
    rows = traces.all(text)
    tmp = Path(path).with_suffix(Path(path).suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "version": VERSION, "traces": len(rows)}) + "\n")
        for t in rows:
            record = t.to_json()
            for key in ("tool_name", "tool_hash", "seal"):  # tools and seals are made where the memory is used
                record.pop(key, None)
            f.write(json.dumps({"trace": record, "aliases": traces.aliases(t.id)}) + "\n")
    tmp.replace(path)
    return len(rows)


def _check(record: object, line: int) -> tuple[Trace, list[str]]:
    def bad(why: str) -> ImportRejected:
        return ImportRejected(f"Line {line} of the memory file is not a valid trace: {why}. Nothing was imported.")

    if not isinstance(record, dict) or not isinstance(record.get("trace"), dict):
        raise bad("expected an object with 'trace' and 'aliases'")
    data, aliases = record["trace"], record.get("aliases")
    if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
        raise bad("'aliases' must be a non-empty list of strings")
    for key, kind in _FIELDS.items():
        if not isinstance(data.get(key), kind) or (kind is int and isinstance(data.get(key), bool)):
            raise bad(f"'{key}' must be {kind.__name__}")
    try:
        compile(data["code"], "<imported trace>", "exec")
    except SyntaxError as exc:
        raise bad(f"its code does not parse ({exc.msg})") from None
    used = {m.group(0) for m in PLACEHOLDER.finditer(data["code"])}
    if used != set(data["bound"]):
        raise bad("its placeholders do not match 'bound'")
    if not set(data["generalized"]) <= set(data["bound"]) or not all(isinstance(e, dict) for e in data["examples"]):
        raise bad("'generalized' or 'examples' are inconsistent")
    from .checks import CHECKS

    if not set(data["checks"]) <= set(CHECKS):
        raise bad(f"unknown checks {sorted(set(data['checks']) - set(CHECKS))}")
    results = data.get("results", {})  # absent in files written before results were recorded
    if not isinstance(results, dict) or not all(isinstance(v, str) for v in results.get("defined", {}).values()):
        raise bad("'results' must be an object naming what verified runs defined")
    # Never from the file: use counts (crystallize_uses of them make a tool), the tokens it claims a model billed,
    # and a tool, its hash or a seal (`_TRUSTED` are checked for their type above, then set here).
    trace = Trace(**{k: data[k] for k in _FIELDS if k not in _TRUSTED}, tool_name=None, tool_hash="", seal="",
                  results=results)
    trace.signature, trace.bound = tuple(trace.signature), tuple(trace.bound)
    trace.generalized, trace.checks = tuple(trace.generalized), tuple(trace.checks)
    trace.shape = shape_of(trace.code)  # never trust a given shape
    trace.origin = "import"
    return trace, aliases


def import_(traces: TraceStore, path: str | Path, guard=None) -> tuple[int, int]:
    """(imported, skipped as already present). `guard(code)` may reject code before it is stored."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ImportRejected(f"{path} is empty. Nothing was imported.")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ImportRejected(f"{path} is not an llmos memory export (its first line lacks the header). "
                             "Nothing was imported.")
    if header.get("version") != VERSION:
        raise ImportRejected(f"{path} is memory format version {header.get('version')}; this package reads "
                             f"version {VERSION}. Nothing was imported.")
    parsed = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportRejected(f"Line {number} of {path} is not JSON ({exc.msg}). Nothing was imported.") from None
        trace, aliases = _check(record, number)
        if guard is not None:
            problem = guard(trace.code)
            if problem:
                raise ImportRejected(f"Line {number} of {path}: {problem}. Nothing was imported.")
        parsed.append((trace, aliases))
    existing = {t.id for t in traces.all()}
    fresh = [(t, a) for t, a in parsed if t.id not in existing]
    # A file written by an older version carries older keys: bring them to this normalizer's form.
    traces.add_many([(t, list(dict.fromkeys((rekey(a), terms_of(a)) for a in aliases))) for t, aliases in fresh])
    return len(fresh), len(parsed) - len(fresh)
