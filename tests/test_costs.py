"""Model tiers and costs: routing by mode, prices from the table, sums by model and mode."""
import pytest

from conftest import BELL, Reply, fenced, ghz
from llmos_jupyter import Mode
from llmos_jupyter.ledger import Usage
from llmos_jupyter.prices import PriceTable


def test_price_arithmetic():
    table = PriceTable()
    usage = Usage(input=1_000_000, output=1_000_000, cache_read=400_000, cache_write=100_000)
    # uncached 500k at $3 + reads 400k at $0.30 + writes 100k at $3.75 + output 1M at $15
    assert table.cost("anthropic", "claude-sonnet-5-5", usage) == pytest.approx(1.5 + 0.12 + 0.375 + 15)
    # local models cost the seeds' T0 figure ($0.01 per 1M) unless set, for their name or for "local"
    assert table.cost("local", "SmolLM2-135M-Instruct", Usage(1_000_000, 1_000_000)) == pytest.approx(0.02)
    assert PriceTable({"local": (0, 0)}).cost("local", "qiskit-t0", usage) == 0
    assert PriceTable({"qiskit-t0": (0.05, 0.05)}).cost("local", "qiskit-t0", Usage(1_000_000, 0)) == 0.05
    assert table.cost("openai", "mystery-model", usage) is None
    assert PriceTable({"mystery": (1, 2)}).cost("openai", "mystery-model", Usage(1_000_000, 0)) == 1.0


@pytest.fixture
def tiered(make_engine, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    return make_engine("openai", tiers={"T1": "openai:small-model", "T2": "openai:large-model"},
                       prices={"small-model": (0.5, 1.0), "large-model": (10.0, 30.0)})


def test_tiers_route_by_mode_and_costs_add_up(tiered, server):
    server.enqueue(Reply(text=fenced(ghz(3, 1024)), input_tokens=1000, output_tokens=100, model="large-model"))
    learner = tiered.run("Create a GHZ state with 3 qubits")
    assert learner.mode == Mode.LEARNER and learner.why["tier"] == "T2"
    assert server.requests[-1].body["model"] == "large-model"
    assert learner.cost_usd == pytest.approx((1000 * 10 + 100 * 30) / 1e6)
    server.enqueue(Reply(text=fenced(ghz(5, 1024)), input_tokens=400, output_tokens=100, model="small-model"))
    mixed = tiered.run("Create a GHZ state with 5 qubits")
    assert mixed.mode == Mode.MIXED and mixed.why["tier"] == "T1" and server.requests[-1].body["model"] == "small-model"
    assert mixed.cost_usd == pytest.approx((400 * 0.5 + 100 * 1.0) / 1e6)
    follower = tiered.run("Create a GHZ state with 7 qubits")
    assert follower.mode == Mode.FOLLOWER and follower.cost_usd == 0
    costs = tiered.costs()
    by_model = {r["model"]: r for r in costs["by_model"]}
    assert by_model["large-model"]["cost_usd"] == pytest.approx(0.013)
    assert by_model["small-model"]["cost_usd"] == pytest.approx(0.0003)
    by_mode = {r["mode"]: r for r in costs["by_mode"]}
    assert by_mode["LEARNER"]["input"] == 1000 and by_mode["MIXED"]["input"] == 400
    assert by_mode["FOLLOWER"]["saved"] == follower.tokens.saved > 0 and by_mode["FOLLOWER"]["cost_usd"] == 0
    assert costs["total_usd"] == pytest.approx(0.0133)


def test_low_energy_routes_one_tier_down(tiered, server):
    tiered.sentience.valence.energy = 0.1
    server.enqueue(Reply(text=fenced(BELL), model="small-model"))
    r = tiered.run("Create a Bell state circuit")
    assert r.why["tier"] == "T1" and server.requests[-1].body["model"] == "small-model"


def test_costs_magic(make_engine, server):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    home = make_engine("openai").home
    for line in (f"LLMOS.home = {str(home)!r}", "LLMOS.provider = 'openai'", "LLMOS.starter_skills = False",
                 f"LLMOS.base_url = {server.openai_base_url!r}", "LLMOS.prices = {'gpt-5.5': (2.0, 8.0)}"):
        ip.run_line_magic("config", line)
    try:
        server.enqueue(Reply(text=fenced(BELL), input_tokens=1000, output_tokens=1000))
        with capture_output():
            ip.run_cell_magic("llmos", "", "Create a Bell state circuit")
        with capture_output() as cap:
            ip.run_line_magic("llmos", "costs")
        assert "openai/gpt-5.5" in cap.stdout and "$0.0100" in cap.stdout and "LEARNER" in cap.stdout
        # the price table, local models beside remote ones
        assert "local/SmolLM2-135M-Instruct" in cap.stdout and "claude-sonnet" in cap.stdout
        with capture_output() as cap:
            ip.run_line_magic("llmos", "budget 50000")
            ip.run_line_magic("llmos", "budget")
        assert "Budget 50,000 tokens: 0 spent, 50,000 left." in cap.stdout
    finally:
        for line in ("LLMOS.provider = 'auto'", "LLMOS.base_url = None", "LLMOS.prices = {}",
                     "LLMOS.starter_skills = True", "LLMOS.home = '.llmos'"):
            ip.run_line_magic("config", line)
