"""The dashboard in real JupyterLab, in headless Chromium: cells run one by one, and what each widget shows
is compared with what the engine says (printed by the notebook as EXPECT lines). Screenshots go to
test-artifacts/browser/."""
from __future__ import annotations

import json
import re

import pytest

from .notebook import write

pytestmark = pytest.mark.browser

CELL_TIMEOUT = 120_000  # ms: the first cell loads the embedding model, the last imports torch


class Notebook:
    def __init__(self, page, lab, path: str):
        self.page = page
        page.goto(f"{lab.url}/lab/tree/{path}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        lab.wait_for_kernel()
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        self.ran = 0

    def cell(self, index: int):
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def run_next(self) -> str:
        """Run the next cell (Shift+Enter), wait for it to finish, return the text of its outputs."""
        index = self.ran
        cell = self.cell(index)
        cell.locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Escape")  # command mode, this cell selected
        self.page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputPrompt").first
        self.page.wait_for_function(
            "el => /\\[\\d+\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=CELL_TIMEOUT)
        self.ran += 1
        text = cell.locator(".jp-OutputArea").inner_text()
        assert "Traceback" not in text and "Error" not in text.split("EXPECT")[0], text
        return text

    @staticmethod
    def expected(text: str) -> dict:
        lines = [line for line in text.splitlines() if line.startswith("EXPECT ")]
        assert lines, f"no EXPECT line in the cell output:\n{text}"
        return json.loads(lines[-1][len("EXPECT "):])


def widget(page, kind: str, nth: int = 0):
    return page.locator(f"[data-llmos-widget='{kind}']").nth(nth)


def wait_data(page, kind: str, key: str, value: str, nth: int = 0):
    """Wait until a widget's data-* attribute shows `value` (the front end renders on the next frame)."""
    loc = widget(page, kind, nth)
    loc.wait_for(state="attached", timeout=30_000)
    page.wait_for_function("([el, key, value]) => el.dataset[key] === value",
                           arg=[loc.element_handle(), key, value], timeout=30_000)
    return loc


def fmt(x: float) -> str:
    return f"{x:.3f}"


def check_valence(page, exp: dict):
    v = exp["valence"]
    loc = wait_data(page, "valence", "safety", fmt(v["safety"]))
    for key in ("curiosity", "energy", "self_confidence"):
        assert loc.get_attribute("data-" + key.replace("_", "-")) == fmt(v[key]), key
    assert loc.get_attribute("data-latent-mode") == exp["latent_mode"]
    assert exp["latent_mode"] in loc.inner_text()


def check_tokens(page, exp: dict):
    loc = wait_data(page, "tokens", "billed", str(exp["billed"]))
    assert loc.get_attribute("data-saved") == str(exp["saved"])
    assert loc.get_attribute("data-baseline") == str(exp["baseline"])
    text = loc.inner_text()
    assert f"{exp['billed']:,}" in text and f"{exp['baseline']:,}" in text
    percent = 100 * exp["saved"] / exp["baseline"] if exp["baseline"] else 0.0
    assert f"{percent:.1f}%" in text
    return loc


def test_dashboard_follows_requests_and_consensus(page, lab, lab_root, artifacts):
    write(lab_root / "dashboard.ipynb")
    nb = Notebook(page, lab, "dashboard.ipynb")
    dashboard = page.locator(".llmos-dashboard").first

    nb.run_next()  # the dashboard, empty
    widget(page, "mode").wait_for(timeout=30_000)
    assert "No requests yet" in widget(page, "mode").inner_text()
    for kind in ("tokens", "valence", "consensus", "causal"):
        widget(page, kind).wait_for(timeout=30_000)
    start = page.locator(".llmos-dashboard").first
    start.screenshot(path=str(artifacts / "dashboard-empty-light.png"))

    # 1. a new request: LEARNER, billed tokens
    first = nb.expected(nb.run_next())
    assert first["mode"] == "LEARNER" and first["billed"] > 0
    mode = wait_data(page, "mode", "modes", "LEARNER")
    assert "LEARNER" in mode.locator(".llmos-mode-current").inner_text()
    for name in ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER", "ORCHESTRATOR"):
        assert name in mode.locator(".llmos-mix").inner_text()
    check_tokens(page, first)
    check_valence(page, first)
    page.wait_for_selector("[data-llmos-widget='tokens'] .llmos-chart .main-svg")
    assert wait_data(page, "summary", "mode", "LEARNER", 0)
    dashboard.screenshot(path=str(artifacts / "dashboard-learner-light.png"))

    # 2. the same request again: FOLLOWER, zero tokens, savings and valence move
    second = nb.expected(nb.run_next())
    assert second["mode"] == "FOLLOWER" and second["billed"] == first["billed"] and second["saved"] > 0
    mode = wait_data(page, "mode", "modes", "LEARNER,FOLLOWER")
    assert "FOLLOWER" in mode.locator(".llmos-mode-current").inner_text()
    assert mode.locator(".llmos-strip .llmos-cell").count() == 2
    tokens = check_tokens(page, second)
    assert tokens.get_attribute("data-percent") != "0"
    check_valence(page, second)
    assert second["valence"] != first["valence"]
    wait_data(page, "summary", "mode", "FOLLOWER", 1)
    assert "saved" in widget(page, "summary", 1).inner_text()
    # the chart has a marker per request plus the starting point
    markers = "[data-llmos-widget='tokens'] .scatterlayer .trace:last-child .point"
    page.wait_for_function("sel => document.querySelectorAll(sel).length === 3", arg=markers)
    dashboard.screenshot(path=str(artifacts / "dashboard-follower-light.png"))

    # 3. consensus: weights while annealing, then the ground state; the causal graph's significant edges
    third = nb.expected(nb.run_next())
    weights = ",".join(f"{w:.4f}" for w in third["weights"])
    consensus = wait_data(page, "consensus", "weights", weights)
    wait_data(page, "consensus", "done", "true")
    assert int(consensus.get_attribute("data-steps")) > 1
    assert "ground state" in consensus.inner_text()
    assert consensus.locator(".llmos-bar-row").count() == 6
    assert "model-a" in consensus.inner_text() and "rogue-1" in consensus.inner_text()
    wait_data(page, "consensus", "histograms", "5")  # a histogram beside each program answer's weight
    assert consensus.locator(".llmos-spark rect").count() == 4 * 2 + 1
    assert consensus.locator(".llmos-spark-none").count() == 1
    assert [4, 5] in [e[:2] for e in third["edges"]]  # the engine found the echo
    causal = wait_data(page, "causal", "edges", str(len(third["edges"])))
    assert causal.get_attribute("data-nodes") == "6"
    edges = {e.get_attribute("data-edge") for e in causal.locator("tr[data-edge]").all()}
    assert edges == {f"{a}-{b}" for a, b, _ in third["edges"]}
    strength = next(s for a, b, s in third["edges"] if (a, b) == (4, 5))
    assert "rogue-1 → rogue-2" in causal.inner_text() and f"{strength:.3f}" in causal.inner_text()
    dashboard.screenshot(path=str(artifacts / "dashboard-light.png"))
    widget(page, "summary", 1).screenshot(path=str(artifacts / "summary-light.png"))
    page.screenshot(path=str(artifacts / "lab-light.png"), full_page=True)

    # 4. the dark theme: same widgets, re-themed in place
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(500)  # the theme's CSS settles, plotly redraws on the next frame
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector(\"[data-llmos-widget='mode']\")).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background
    dashboard.screenshot(path=str(artifacts / "dashboard-dark.png"))
    widget(page, "summary", 1).screenshot(path=str(artifacts / "summary-dark.png"))
    page.screenshot(path=str(artifacts / "lab-dark.png"), full_page=True)

    assert not page.errors, page.errors
