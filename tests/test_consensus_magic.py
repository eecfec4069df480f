"""%%llmos --consensus: several models in parallel through the real SDKs, weighed, shown, billed."""
import json

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from conftest import Reply

ANSWERS = {
    "m1": "Dephasing randomizes the relative phase between |000> and |111>, so coherence decays n times faster.",
    "m2": "Each qubit's dephasing multiplies the off-diagonal term, so the GHZ coherence decays exponentially in n.",
    "m3": "A GHZ state is fragile because the phases of all qubits add up; dephasing on any qubit destroys it.",
    "m4": "Bananas are yellow and rich in potassium.",
}


def test_consensus_cell(server, home, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    server.responder = lambda req: Reply(text=ANSWERS[req.body["model"]], input_tokens=50, output_tokens=20,
                                         model=req.body["model"])
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    ip.run_line_magic("config", f"LLMOS.home = {str(home)!r}")
    try:
        with capture_output() as cap:
            ip.run_cell_magic("llmos", "--consensus openai:m1,openai:m2,openai:m3,openai:m4,gemini --json",
                              "Explain why a GHZ state is fragile under dephasing")
        d = json.loads(cap.stdout)
        res = ip.user_ns["_llmos"]
        weights = dict(zip(res.models, res.weights))
        assert len(weights) == 4 and abs(sum(weights.values()) - 1) < 1e-9
        assert weights["openai:m4"] < min(weights[f"openai:m{i}"] for i in (1, 2, 3))
        assert any("gemini" in str(f) for f in res.failures)  # the unknown provider is left out and shown
        # The top-weighted model writes the consensus from the weighted answers; that call is billed too.
        top = res.models[int(res.weights.argmax())]
        assert top != "openai:m4" and res.answer_source == f"synthesis:{top}" and d
        engine = ip.magics_manager.registry["LLMOSMagics"].engine
        assert engine.ledger.totals().billed == 5 * 70
    finally:
        ip.run_line_magic("config", "LLMOS.home = '.llmos'")
