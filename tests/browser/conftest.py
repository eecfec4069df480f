"""Fixtures for the browser tests: JupyterLab on 127.0.0.1 and headless Chromium (Debian's) via Playwright."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .lab import CHROMIUM, CHROMIUM_ARGS, Lab

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="module")
def lab(browser, lab_root, tmp_path_factory):
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install -e .[lab])")
    server = Lab(lab_root, tmp_path_factory.mktemp("lab-state")).start()
    yield server
    server.stop()


@pytest.fixture
def page(request, browser, lab, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.console_lines = []
    page.on("console", lambda msg: page.console_lines.append(f"{msg.type}: {msg.text}"))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # what the page looked like when it failed
        page.screenshot(path=str(artifacts / f"FAILED-{request.node.name}.png"), full_page=True)
        (artifacts / f"FAILED-{request.node.name}.log").write_text(
            "page errors:\n" + "\n".join(errors) + "\n\nconsole:\n" + "\n".join(page.console_lines))
    context.close()
