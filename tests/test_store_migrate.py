"""`llmos migrate SRC DST`: a home into a team's PostgreSQL and back, checked record by record; a failure leaves
both sides unchanged."""
from __future__ import annotations

import sqlite3

import pytest

from llmos_jupyter import Mode
from llmos_jupyter.cli import main
from llmos_jupyter.store import open_store
from llmos_jupyter.testing.qiskit_model import respond

GHZ = "Create a GHZ state with 3 qubits"
RECORDS = {"traces": "id", "aliases": "trace_id, template", "requests": "id", "llm_calls": "request_id, ts",
           "facts": "text", "history": "session, ts"}


def dump(spec: str, tmp_path) -> dict[str, list]:
    """Every record, vectors as float lists, members as the home's owner sees them."""
    store = open_store(spec, tmp_path)
    out = {}
    for table, order in RECORDS.items():
        rows = []
        for r in store.query(f"SELECT * FROM {table} ORDER BY {order}"):
            row = {k: v for k, v in dict(r).items() if k != "id" or table in ("traces", "requests")}
            if "embedding" in row:
                row["embedding"] = store.vectors_of([row["embedding"]], 384)[0].tolist()
            rows.append(row)
        out[table] = rows
    store.close()
    return out


@pytest.fixture
def home_with_memory(make_engine, server, tmp_path):
    """A home that learned a GHZ program, replayed it, and has the starter skills."""
    server.responder = respond
    engine = make_engine("openai", home=tmp_path / "ada-home", member="ada")
    learned = engine.run(GHZ)
    assert learned.mode == Mode.LEARNER
    assert engine.run(GHZ).mode == Mode.FOLLOWER
    engine.close()
    make_engine("openai", home=tmp_path / "ada-home", member="ada", starter_skills=True).memory.ready()
    return f"sqlite://{tmp_path / 'ada-home' / 'llmos.db'}", learned.trace_id


def test_a_home_moves_into_a_team_store_and_back_record_by_record(home_with_memory, pg_url, make_engine, tmp_path,
                                                                  capsys):
    home, trace_id = home_with_memory
    assert main(["migrate", home, pg_url]) == 0
    assert "matched" in capsys.readouterr().out
    before = dump(home, tmp_path)
    assert dump(pg_url, tmp_path) == before and before["traces"] and before["llm_calls"]
    # Twice: nothing is copied again.
    assert main(["migrate", home, pg_url]) == 0
    assert dump(pg_url, tmp_path) == before
    # A member's kernel on the team store replays the migrated skill at zero tokens.
    bob = make_engine("openai", store=pg_url, home=tmp_path / "bob", member="bob")
    replayed = bob.run(GHZ)
    assert replayed.mode == Mode.FOLLOWER and (replayed.tokens.input, replayed.tokens.output) == (0, 0)
    assert bob.memory.traces.get(trace_id).verified_by == "ada"
    bob.close()
    # And back, into a fresh home.
    back = f"sqlite://{tmp_path / 'new-home' / 'llmos.db'}"
    assert main(["migrate", pg_url, back]) == 0
    assert {t["id"] for t in dump(back, tmp_path)["traces"]} == {t["id"] for t in dump(pg_url, tmp_path)["traces"]}


def test_a_failed_migration_leaves_both_sides_unchanged(home_with_memory, pg_url, tmp_path, capsys):
    home, _ = home_with_memory
    with sqlite3.connect(home[len("sqlite://"):]) as db:  # a count the team store's INTEGER column cannot hold
        db.execute("INSERT INTO llm_calls (request_id, ts, provider, model, input_tokens, output_tokens,"
                   " cache_read_tokens, cache_write_tokens, usage_reported) VALUES ('x', 1, 'p', 'm', 3000000000,"
                   " 1, 0, 0, 1)")
    source = dump(home, tmp_path)
    target = dump(pg_url, tmp_path)
    assert main(["migrate", home, pg_url]) == 2
    err = capsys.readouterr().err
    assert "nothing was migrated" in err.lower() or "nothing from this request was written" in err.lower()
    assert dump(home, tmp_path) == source and dump(pg_url, tmp_path) == target
    # Into a new home that fails: no file is left behind.
    missing = tmp_path / "nowhere" / "llmos.db"
    assert main(["migrate", f"sqlite://{tmp_path / 'none.db'}", f"sqlite://{missing}"]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.exists()
