"""A team store that is wrong, missing or goes away: a clear error that says what to do, nothing half-written,
no cell that hangs, and the next request works once the server is back. Real PostgreSQL (pgserver)."""
from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from llmos_jupyter.errors import StoreError
from llmos_jupyter.store import open_store


@pytest.mark.parametrize("url,says", [
    ("postgresql://a b c", "is not a PostgreSQL URL"),
    ("postgresql://postgres@127.0.0.1:1/team", "Cannot reach the team store at postgresql://postgres@127.0.0.1:1"),
    ("postgresql://ada:secret@127.0.0.1:1/team", "Check that the PostgreSQL server is running"),
    ("mysql://db/team", "which LLMOS cannot open"),
])
def test_a_wrong_url_or_a_server_that_is_down_says_what_to_do(url, says, tmp_path):
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match=re.escape(says)) as caught:
        open_store(url, tmp_path, timeout=2)
    assert "secret" not in str(caught.value)  # a password never reaches the page


def test_a_database_without_the_vector_extension_is_refused_with_what_to_do(pg_server, pg_url, tmp_path):
    import psycopg

    with psycopg.connect(pg_server, autocommit=True) as conn:  # a member who may not install extensions
        conn.execute("DROP ROLE IF EXISTS plain_member")
        conn.execute("CREATE ROLE plain_member LOGIN")
        database = re.search(r"/(t_\w+)\?", pg_url).group(1)
        conn.execute(f"ALTER DATABASE {database} OWNER TO plain_member")
    url = pg_url.replace("postgres:@", "plain_member@")
    with pytest.raises(StoreError, match=r"no `vector` extension .* `CREATE EXTENSION vector;`"):
        open_store(url, tmp_path, timeout=2)
    with psycopg.connect(url) as conn:  # nothing half-made: no tables
        assert conn.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def _backends(admin_url: str, database: str) -> list[int]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                                           "pg_backend_pid()", (database,))]


def test_a_connection_dropped_mid_request_writes_nothing_and_the_next_request_works(pg_server, pg_url, tmp_path):
    import psycopg

    from llmos_jupyter.ledger import Ledger, Usage

    store = open_store(pg_url, tmp_path, timeout=5)
    ledger = Ledger(store, "ada")
    database = re.search(r"/(t_\w+)\?", pg_url).group(1)
    with pytest.raises(StoreError, match="was lost .* Nothing from this request was written"):
        with store.transaction() as cur:
            cur.execute("INSERT INTO llm_calls (request_id, ts, provider, model, input_tokens, output_tokens,"
                        " cache_read_tokens, cache_write_tokens, usage_reported) VALUES ('half', 0, 'p', 'm', 1,"
                        " 1, 0, 0, 1)")
            with psycopg.connect(pg_server, autocommit=True) as admin:  # the server drops this connection
                for pid in _backends(pg_server, database):
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            cur.execute("SELECT 1")
    ledger.record_call("next", "openai", "m", Usage(3, 2))  # a new connection from the pool
    assert [r["request_id"] for r in store.query("SELECT request_id FROM llm_calls")] == ["next"]
    store.close()


def test_a_row_another_kernel_holds_gives_an_error_in_time_not_a_hung_cell(pg_url, tmp_path):
    from llmos_jupyter.memory.embed import Embedder
    from llmos_jupyter.memory.traces import TraceStore

    store = open_store(pg_url, tmp_path, timeout=1)
    with store.transaction() as cur:
        cur.execute("INSERT INTO traces (id, created, updated, origin, title, request, template, signature, code,"
                    " bound, shape, generalized, defaults, examples, checks) VALUES ('t', 0, 0, 'learner', 't', 'r',"
                    " 'r', '[]', 'print(1)', '[]', 's', '[]', '{}', '[]', '[]')")
    traces = TraceStore(store, Embedder(), "bob")
    held, release = threading.Event(), threading.Event()

    def holder():  # another kernel, stuck mid-transaction with the row locked
        with store.transaction() as cur:
            cur.select_for_update("SELECT id FROM traces WHERE id = 't'")
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    # The holder keeps its lock for 10 s; the store's lock timeout (1 s) ends the wait with an error first.
    with pytest.raises(StoreError, match="held a row .* Nothing from this request was written"):
        traces.modify("t", lambda t: setattr(t, "uses", t.uses + 1))
    assert not release.is_set() and thread.is_alive()
    release.set()
    thread.join()
    assert traces.get("t").uses == 0
    traces.modify("t", lambda t: setattr(t, "uses", t.uses + 1))
    assert traces.get("t").uses == 1
    store.close()


def test_a_server_that_stops_gives_an_error_and_the_next_request_works_when_it_is_back(tmp_path):
    """A server of its own, stopped (fast shutdown) and started again under a live store."""
    import tempfile

    pgserver = pytest.importorskip("pgserver")
    from llmos_jupyter.ledger import Ledger, Usage

    server = pgserver.get_server(tempfile.mkdtemp(prefix="llmos-pg-"), cleanup_mode="stop")  # see pg_server
    try:
        store = open_store(server.get_uri(), tmp_path, timeout=2)
        ledger = Ledger(store, "ada")
        ledger.record_call("before", "openai", "m", Usage(1, 1))
        pid = server.get_pid()
        os.kill(pid, signal.SIGINT)  # the postmaster this test started
        for _ in range(100):
            try:
                os.kill(pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                break
        with pytest.raises(StoreError, match="(was lost|Cannot reach) .*team store at"):
            ledger.record_call("while-down", "openai", "m", Usage(1, 1))
        server.ensure_postgres_running()
        ledger.record_call("after", "openai", "m", Usage(1, 1))
        assert [r[0] for r in store.query("SELECT request_id FROM llm_calls ORDER BY id")] == ["before", "after"]
        store.close()
    finally:
        server.cleanup()
