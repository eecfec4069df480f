"""One suite for both stores: the embedded SQLite file and a team's PostgreSQL with pgvector (a real server
from the pgserver wheel; without it these cases are skipped, with the reason in pytest's summary)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import ghz
from llmos_jupyter import Mode
from llmos_jupyter.errors import StoreError
from llmos_jupyter.testing.qiskit_model import respond

GHZ = "Create a GHZ state with 3 qubits"


@pytest.fixture
def team(make_engine, server, store_url, tmp_path):
    """make(member, **settings): a kernel of its own (own home, own settings) on the one shared store."""
    server.responder = respond

    def make(member: str, **kw):
        return make_engine("openai", store=store_url, home=tmp_path / member, member=member, **kw)

    return make


def test_a_learned_skill_replays_from_the_store_at_zero_tokens(team, store_url):
    ada = team("ada")
    first = ada.run(GHZ)
    assert first.mode == Mode.LEARNER and first.verified
    again = ada.run(GHZ)
    assert again.mode == Mode.FOLLOWER and (again.tokens.input, again.tokens.output) == (0, 0)
    assert again.counts and set(again.counts) == {"000", "111"}
    status = ada.status()
    assert status["member"] == "ada" and status["ledger"]["requests"] == 2
    assert ("postgresql://" in status["store"]) == store_url.startswith("postgresql")
    trace = ada.memory.traces.get(first.trace_id)
    assert trace.verified_by == "ada" and trace.uses >= 1 and trace.intact


def test_migrations_are_versioned_and_a_newer_schema_is_refused(store_url, tmp_path):
    from llmos_jupyter.store import open_store

    store = open_store(store_url, tmp_path)
    if store.kind == "sqlite":
        from llmos_jupyter.store.sqlite import MIGRATIONS

        assert store.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        with store.transaction() as cur:
            cur.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    else:
        from llmos_jupyter.store.postgres import MIGRATIONS

        assert store.query("SELECT version FROM llmos_schema")[0][0] == len(MIGRATIONS)
        with store.transaction() as cur:
            cur.execute("UPDATE llmos_schema SET version = ?", (len(MIGRATIONS) + 1,))
    store.close()
    with pytest.raises(StoreError, match="newer llmos-jupyter"):
        open_store(store_url, tmp_path)


def test_nearest_aliases_are_the_exact_cosine_ranking(store_url, tmp_path):
    """Starter skills seeded into the store; the search (HNSW in SQL on PostgreSQL, a matrix product on SQLite)
    returns the aliases an exact cosine ranking over the stored vectors returns, best first."""
    from llmos_jupyter.memory import Memory
    from llmos_jupyter.store import open_store

    store = open_store(store_url, tmp_path)
    memory = Memory(store, tmp_path)
    memory.ready()
    assert store.ranks_vectors == (store.kind == "postgresql")
    rows = store.query("SELECT trace_id, template, embedding FROM aliases")
    matrix = store.vectors_of((r["embedding"] for r in rows), 384)
    for query in ("Create a GHZ state with 4 qubits", "quantum fourier transform on 3 qubits",
                  "prepare a bell pair and measure"):
        vector = memory.embedder.one(query)
        exact = np.argsort(-(matrix @ vector))[:5]
        hits = memory.traces.search(vector, k=5)
        assert [(h.trace_id, h.alias) for h in hits] == [(rows[i]["trace_id"], rows[i]["template"]) for i in exact]
        assert all(abs(h.score - float(matrix[i] @ vector)) < 1e-4 for h, i in zip(hits, exact))
    store.close()


WRITER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from llmos_jupyter.ledger import Ledger, Usage
    from llmos_jupyter.memory.embed import Embedder
    from llmos_jupyter.memory.templates import shape_of
    from llmos_jupyter.memory.traces import Trace, TraceStore
    from llmos_jupyter.sentience import Outcome, Sentience
    from llmos_jupyter.store import open_store

    url, home, member, n, vector, code = sys.argv[1:7]
    store = open_store(url, home)
    embedder = Embedder()
    embedder._cache["same program"] = np.array(json.loads(vector), np.float32)  # encoded once, by the test
    traces, ledger, sentience = TraceStore(store, embedder, member), Ledger(store, member), Sentience(store)
    for i in range(int(n)):
        traces.modify("shared", lambda t: setattr(t, "uses", t.uses + 1))
        rid = f"{member}-{i}"
        ledger.record_call(rid, "openai", "gpt-test", Usage(10, 5))
        ledger.record_request(rid, "r", "LEARNER", "openai", "gpt-test", 0, True, 1.0)
        sentience.observe(Outcome("LEARNER", True, billed=1))
        fresh = Trace(id="", origin="learner", title="t", request="r", template="r", signature=(), code=code,
                      bound=(), shape=shape_of(code), examples=[{"by": rid}])
        traces.merge_or_add(fresh, lambda t: t.examples.append({"by": rid}), ("same program", frozenset()))
    store.close()
""")


def test_concurrent_kernels_lose_no_update_and_make_no_duplicate(store_url, tmp_path):
    """Four processes at once, each counting replays of one trace, billing calls, moving the shared budget and
    learning the same program: every count arrives once, and the program is one trace."""
    from llmos_jupyter.ledger import Ledger
    from llmos_jupyter.memory.embed import Embedder
    from llmos_jupyter.memory.templates import shape_of
    from llmos_jupyter.memory.traces import Trace, TraceStore
    from llmos_jupyter.sentience import Sentience
    from llmos_jupyter.store import open_store

    store = open_store(store_url, tmp_path)
    embedder = Embedder()
    vector = embedder.one("same program")
    traces = TraceStore(store, embedder, "test")
    code = ghz(3, 1024)
    traces.add(Trace(id="shared", origin="learner", title="t", request="q", template="q", signature=(),
                     code="print(1)", bound=(), shape=shape_of("print(1)")), [("same program", frozenset())])
    Sentience(store).set_budget(10_000)
    processes, n = 4, 15
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    children = [subprocess.Popen([sys.executable, "-c", WRITER, store_url, str(tmp_path / f"k{p}"), f"m{p}", str(n),
                                  json.dumps(vector.tolist()), code], env=env, stderr=subprocess.PIPE, text=True)
                for p in range(processes)]
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
    total = processes * n
    assert traces.get("shared").uses == total
    same = [t for t in traces.all() if t.shape == shape_of(code)]
    assert len(same) == 1 and len(same[0].examples) == total
    team = Ledger(store).team()
    assert [m["requests"] for m in team["members"]] == [n] * processes
    assert team["total"]["calls"] == total and team["total"]["input"] == 10 * total
    assert Sentience(store).spent == total
    store.close()


def test_a_skill_one_member_verified_replays_for_another_on_the_next_request(team):
    ada, bob = team("ada"), team("bob")
    bob.run("Prepare a Bell state")  # bob's kernel has read the store before ada learns anything
    learned = ada.run(GHZ)
    assert learned.mode == Mode.LEARNER
    replayed = bob.run(GHZ)
    assert replayed.mode == Mode.FOLLOWER and replayed.trace_id == learned.trace_id
    assert (replayed.tokens.input, replayed.tokens.output) == (0, 0) and set(replayed.counts) == {"000", "111"}
    # Trust: bob runs programs in his kernel (execution = "kernel"), but ada's trace runs in the sandboxed worker.
    assert replayed.protections["where"] == "worker"
    own = bob.run("Prepare a Bell state")
    assert own.mode == Mode.FOLLOWER and own.protections["where"] == "kernel"
    # The ledger: rows per member and the team's total.
    team_costs = bob.ledger.team()
    rows = {r["member"]: r for r in team_costs["members"]}
    assert rows["ada"]["requests"] == 1 and rows["bob"]["requests"] == 3
    assert rows["ada"]["calls"] == 1 and rows["bob"]["calls"] == 1
    assert team_costs["total"]["input"] == rows["ada"]["input"] + rows["bob"]["input"] > 0
    assert team_costs["total"]["input"] == bob.ledger.totals().input


def test_a_tool_one_home_made_replays_in_another_and_stays_that_homes(team):
    """Tool files live in the home that made them: another kernel on the store replays the verified program
    instead, and leaves the tool in place, so the two do not take turns making it again."""
    ada, bob = team("ada", crystallize_uses=1), team("bob", crystallize_uses=1)
    learned = ada.run(GHZ)
    ada.run(GHZ)  # the first verified replay: the trace becomes a tool in ada's home
    tool = ada.memory.traces.get(learned.trace_id).tool_name
    assert tool and (ada.memory.tools_dir / f"{tool}.py").is_file()
    assert ada.run(GHZ).mode == Mode.CRYSTALLIZED
    replayed = bob.run(GHZ)
    assert replayed.mode == Mode.FOLLOWER and set(replayed.counts) == {"000", "111"}
    assert "tool_elsewhere" in replayed.to_dict()["metadata"]["why"]
    assert not (bob.memory.tools_dir / f"{tool}.py").exists()
    assert bob.memory.traces.get(learned.trace_id).tool_name == tool
    assert ada.run(GHZ).mode == Mode.CRYSTALLIZED


def test_a_read_only_member_replays_and_changes_nothing(team):
    ada = team("ada")
    learned = ada.run(GHZ)
    uses = ada.memory.traces.get(learned.trace_id).uses
    carol = team("carol", read_only=True)
    assert carol.status()["member"] == "carol (read-only)"
    replayed = carol.run(GHZ)
    assert replayed.mode == Mode.FOLLOWER and replayed.verified
    asked = carol.run("Prepare a Bell state")
    assert asked.mode == Mode.LEARNER and asked.counts
    assert ada.memory.traces.get(learned.trace_id).uses == uses
    assert [t.id for t in ada.memory.traces.all()] == [learned.trace_id]
    with pytest.raises(StoreError, match="read-only"):
        carol.forget("GHZ")
    assert {r["member"] for r in ada.ledger.team()["members"]} == {"ada", "carol"}  # carol is still billed


def test_team_views_show_who_verified_each_skill_and_what_each_member_billed(shell, server, team, store_url,
                                                                              monkeypatch):
    from IPython.utils.capture import capture_output

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    ada = team("ada")
    learned = ada.run(GHZ)
    shell.run_line_magic("config", f"LLMOS.store = {store_url!r}")
    shell.run_line_magic("config", "LLMOS.member = 'bob'")
    try:
        shell.run_cell_magic("llmos", "", "Prepare a Bell state")
        with capture_output() as memory:
            shell.run_line_magic("llmos", "memory --team")
        with capture_output() as costs:
            shell.run_line_magic("llmos", "costs --team")
    finally:
        shell.run_line_magic("config", "LLMOS.store = None")
        shell.run_line_magic("config", "LLMOS.member = None")
    rows = {line.split()[0]: line for line in memory.stdout.splitlines()[2:]}
    assert "you are bob" in memory.stdout
    assert "ada" in rows[learned.trace_id] and "sandboxed worker" in rows[learned.trace_id]
    bobs = [line for tid, line in rows.items() if tid != learned.trace_id]
    assert bobs and all(" bob " in line and "where you chose" in line for line in bobs)
    billed = {line.split()[0]: line.split() for line in costs.stdout.splitlines()[1:]}
    assert set(billed) == {"ada", "bob", "team"}
    assert int(billed["team"][1]) == int(billed["ada"][1]) + int(billed["bob"][1]) == 2


def test_a_read_only_role_in_postgresql_replays_and_is_billed(make_engine, server, pg_server, pg_url, tmp_path):
    """The database enforces it too: a role with the grants the README lists replays the team's memory and is
    billed; a write to memory is refused by the server with a clear error."""
    import re

    import psycopg

    server.responder = respond
    ada = make_engine("openai", store=pg_url, home=tmp_path / "ada", member="ada")
    learned = ada.run(GHZ)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS reader_role")
        conn.execute("CREATE ROLE reader_role LOGIN")
        conn.execute("GRANT SELECT ON traces, aliases, facts, fact_vectors, meta, llmos_schema TO reader_role")
        conn.execute("GRANT INSERT ON requests, llm_calls, history TO reader_role")
        conn.execute("GRANT SELECT, INSERT, UPDATE ON sentience TO reader_role")
        conn.execute("GRANT SELECT ON requests, llm_calls TO reader_role")
        conn.execute("GRANT USAGE ON SEQUENCE history_id_seq, llm_calls_id_seq TO reader_role")
    url = pg_url.replace("postgres:@", "reader_role@")
    carol = make_engine("openai", store=url, home=tmp_path / "carol", member="carol", read_only=True)
    replayed = carol.run(GHZ)
    assert replayed.mode == Mode.FOLLOWER and replayed.trace_id == learned.trace_id and replayed.error is None
    assert carol.run("Prepare a Bell state").counts  # asked the model, billed, learned nothing
    rows = {r["member"]: r for r in ada.ledger.team()["members"]}
    assert rows["carol"]["requests"] == 2 and rows["carol"]["calls"] == 1
    writer = make_engine("openai", store=url, home=tmp_path / "eve", member="eve")  # not set read-only
    with pytest.raises(StoreError, match=re.escape("refused a write: this member is read-only")):
        writer.forget("GHZ")
    assert ada.memory.traces.get(learned.trace_id) is not None


def test_the_store_comes_from_the_environment_when_no_setting_names_one(make_engine, server, store_url, monkeypatch,
                                                                         tmp_path):
    monkeypatch.setenv("LLMOS_STORE", store_url)
    engine = make_engine("openai", home=tmp_path / "elsewhere")
    assert engine.store.kind == ("postgresql" if store_url.startswith("postgresql") else "sqlite")
    assert engine.status()["store"] == engine.store.where
    assert not (tmp_path / "elsewhere" / "llmos.db").exists()  # nothing written to home's default file
    with pytest.raises(StoreError, match="which LLMOS cannot open"):
        make_engine("openai", store="mysql://db/team")
