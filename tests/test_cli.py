"""The `llmos` command line, run as a real subprocess against the scripted server."""
import json
import subprocess
import sys

from conftest import BELL, Reply, fenced


def llmos(*args, env=None):
    return subprocess.run([sys.executable, "-m", "llmos_jupyter.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_run_json(server, home):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=90, output_tokens=30))
    p = llmos("--home", str(home), "--provider", "openai", "--base-url", server.openai_base_url,
              "--no-starter-skills", "run", "Create a Bell state circuit", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["metadata"]["mode"] == "LEARNER"
    assert d["metadata"]["tokens"]["input"] == 90 and d["metadata"]["tokens"]["output"] == 30
    assert sum(d["metadata"]["counts"].values()) == 1024


def test_run_text_shows_histogram_and_metadata(server, home):
    server.enqueue(Reply(text=fenced(BELL), input_tokens=9, output_tokens=1))
    p = llmos("--home", str(home), "--provider", "openai", "--base-url", server.openai_base_url,
              "--no-starter-skills", "run", "Create", "a", "Bell", "state")
    assert p.returncode == 0, p.stderr
    assert "│" in p.stdout and "LEARNER" in p.stdout and "tokens in 9 / out 1" in p.stdout
    assert server.requests[-1].last_user_text() == "Create a Bell state"


def test_errors_go_to_stderr_with_nonzero_exit(home):
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    p = llmos("--home", str(home), "--provider", "anthropic", "--no-starter-skills", "run", "Create a Bell state",
              env=env)
    assert p.returncode == 2 and "ANTHROPIC_API_KEY" in p.stderr


def test_status(home):
    p = llmos("--home", str(home), "--provider", "local", "status")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["provider"] == "local" and s["ledger"]["requests"] == 0 and "weak" in s["note"]


def test_run_takes_the_magics_model_parameters_and_formats(server, home):
    common = ("--home", str(home), "--provider", "openai", "--base-url", server.openai_base_url, "--no-starter-skills")
    server.enqueue(Reply(text=fenced(BELL)))
    p = llmos(*common, "run", "Create a Bell state circuit", "-f", "code", "--temperature", "0.4",
              "-m", '{"top_p": 0.5}', "--max-tokens", "300")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == BELL.strip() and "│" not in p.stdout  # the program alone, not run
    body = server.requests[-1].body
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.4, 0.5, 300)
    p = llmos(*common, "run", "Create a Bell state circuit", "-m", "{top_p: 1}")
    assert p.returncode == 2 and "is not JSON" in p.stderr and len(server.requests) == 1
