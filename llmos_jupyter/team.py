"""`%llmos memory --team` and `%llmos costs --team`: where each skill came from, and what each member billed.

Text tables from the engine's store; the magics call `handle_team` and print what it returns."""
from __future__ import annotations

from .errors import ConfigError
from .texttable import text_table

TEAM_COMMANDS = ("memory", "costs")


def handle_team(engine, command: str, text: str | None = None) -> str:
    """The table for `%llmos <command> --team` (`text` filters memory as `%llmos memory TEXT` does)."""
    if command == "memory":
        return team_memory(engine, text)
    if command == "costs":
        return team_costs(engine)
    raise ConfigError(f"--team goes with %llmos memory or %llmos costs, not {command}.")


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}"


def team_memory(engine, text: str | None = None) -> str:
    """Every trace in the store with who verified it and how this kernel runs its replays."""
    from .memory.traces import STARTER

    engine.memory.ready()
    traces = engine.memory.traces.all(text)
    if not traces:
        return "No traces" + (f" match {text!r}." if text else f" in {engine.store.where} yet.")
    rows = []
    for t in traces:
        source = "starter skill" if t.verified_by == STARTER else t.verified_by or f"unknown ({t.origin})"
        runs = "where you chose" if engine.own_trace(t) else "sandboxed worker"
        seal = "intact" if t.intact else "BROKEN"
        rows.append((t.id, source, t.uses, seal, runs, t.title))
    you = engine.member + (" (read-only)" if engine.settings.read_only else "")
    return (f"Team store {engine.store.where}; you are {you}.\n"
            + text_table(("id", "verified by", "uses", "seal", "replays run in", "title"), rows, right=(2,)))


def team_costs(engine) -> str:
    """Per-member rows of the ledger and the team's total."""
    team = engine.ledger.team()
    rows = [(r["member"], r["requests"], r["calls"], f"{r['input']:,}", f"{r['output']:,}", f"{r['saved']:,}",
             _usd(r["cost_usd"])) for r in [*team["members"], team["total"]]]
    return text_table(("member", "requests", "calls", "input", "output", "saved", "cost"), rows,
                      right=(1, 2, 3, 4, 5, 6))
