import pytest

from llmos_jupyter.testing import Reply, ScriptedLLMServer

BELL = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=1024).result().get_counts()
print(counts)
"""


def ghz(n: int, shots: int) -> str:
    return f"""\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit({n})
qc.h(0)
for q in range({n} - 1):
    qc.cx(q, q + 1)
qc.measure_all()
sim = AerSimulator()
print(sim.run(transpile(qc, sim), shots={shots}).result().get_counts())
"""


def fenced(code: str, before: str = "Here is the circuit:", after: str = "") -> str:
    return f"{before}\n\n```python\n{code}```\n{after}"


KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(autouse=True)
def no_ambient_keys(monkeypatch):
    """Tests decide which keys exist; a developer's own keys must never leak into them."""
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def _server():
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture(params=["openai", "anthropic"])
def api(request):
    return request.param


def base_url_for(server, api: str) -> str:
    return server.openai_base_url if api == "openai" else server.base_url


@pytest.fixture
def make_engine(server, home):
    from llmos_jupyter import LLMOS

    made = []

    def make(api: str = "openai", **kw):
        kw.setdefault("home", home)
        kw.setdefault("api_key", "test-key")
        kw.setdefault("max_retries", 0)
        kw.setdefault("starter_skills", False)  # these tests are about asking the model
        # Where programs run is tested in test_sandbox.py and test_hostile.py; here, what they answer.
        kw.setdefault("execution", "kernel")
        engine = LLMOS(provider=api, base_url=base_url_for(server, api), **kw)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()



# %%llmos through a real IPython shell, against the scripted server, starter skills off; settings put back after.
@pytest.fixture
def shell(server, home):
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    ip.run_line_magic("config", f"LLMOS.home = {str(home)!r}")
    ip.run_line_magic("config", "LLMOS.provider = 'openai'")
    ip.run_line_magic("config", f"LLMOS.base_url = {server.openai_base_url!r}")
    ip.run_line_magic("config", "LLMOS.max_retries = 0")
    ip.run_line_magic("config", "LLMOS.starter_skills = False")
    yield ip
    ip.run_line_magic("config", "LLMOS.provider = 'auto'")
    ip.run_line_magic("config", "LLMOS.base_url = None")
    ip.run_line_magic("config", "LLMOS.max_retries = 2")
    ip.run_line_magic("config", "LLMOS.stream = True")
    ip.run_line_magic("config", "LLMOS.starter_skills = True")
    ip.user_ns.pop("_llmos", None)


def cell(ip, text, line=""):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        ip.run_cell_magic("llmos", line, text)
    return cap


__all__ = ["BELL", "ghz", "fenced", "Reply", "cell"]


# A program that makes the worker's next `op` reply (run or call) carry `changes` (a Python expression, evaluated
# in the worker, of a dict merged into the reply), then puts the real method back.
FORGE = """
import sys
_runner = sys.modules["llmos_jupyter.sandbox.runner"]
_real = _runner.Runner.{op}
def _forged(self, *args, **kwargs):
    _runner.Runner.{op} = _real
    reply = _real(self, *args, **kwargs)
    for key, value in ({changes}).items():
        reply[key] = {{**reply[key], **value}} if isinstance(reply.get(key), dict) else value
    return reply
_runner.Runner.{op} = _forged
"""


def forge(op: str, changes: str) -> str:
    return FORGE.format(op=op, changes=changes)


# -- team store: a real PostgreSQL 16 with pgvector, from the pgserver wheel, for the whole session -------------
@pytest.fixture(scope="session")
def pg_server():
    """The server's URL (a Unix socket in a temporary folder). Without pgserver the PostgreSQL cases are skipped,
    and pytest -ra prints why."""
    try:
        import pgserver
    except ImportError:
        pytest.skip("PostgreSQL store tests need the pgserver wheel (pip install 'llmos-jupyter[test]')")
    import tempfile
    import warnings

    # Not under pytest's basetemp: another pytest session starting meanwhile prunes old basetemps, which would
    # pull the data folder from under the running server.
    folder = tempfile.mkdtemp(prefix="llmos-pg-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset
        try:
            server = pgserver.get_server(folder, cleanup_mode="stop")
        except Exception as exc:  # noqa: BLE001 - any failure to start means: skip, saying why
            pytest.skip(f"pgserver could not start PostgreSQL here: {exc}")
    yield server.get_uri()
    server.cleanup()
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, request):
    """A fresh, empty database on the session's server for one test."""
    import re
    import uuid

    import psycopg

    name = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield re.sub(r"/postgres\?", f"/{name}?", pg_server)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """Each backend in turn: one suite of store tests runs against both."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'team' / 'llmos.db'}"
    return request.getfixturevalue("pg_url")
