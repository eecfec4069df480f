"""Nothing a model or a program writes runs in the page (issue #22), in real JupyterLab and headless Chromium:
%%llmos cells whose replies, programs, counts, names, errors and model names carry script (hostile_notebook.py)
run one by one; then the notebook is saved, closed and opened again. Both times: no payload set its window flag
or made a request, the outputs hold no script element, event handler, command link or URL that is not an
absolute http(s) one, and every payload is still there to read, as text."""
from __future__ import annotations

import pytest

from .hostile_notebook import CELLS, REQUEST, SHOWN, write

pytestmark = pytest.mark.browser

CELL_TIMEOUT = 120_000  # ms: the first request loads the embedding model and starts the sandboxed worker

# Every element of the notebook (its outputs, widgets and plotly's SVG included), read as the browser has it.
DOM_PROBLEMS = """(root) => {
  const problems = [];
  const absolute = /^(https?:\\/\\/[^\\s\\\\\\/?#@]|mailto:)/i;
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'img', 'image', 'form', 'base', 'use'].includes(tag)
        && !(tag === 'img' && el.closest('.jp-RenderedImage, .jp-RenderedPlotly'))) {  // theirs: PNG, snapshot
      problems.push(`<${tag} ${el.getAttribute('src') || ''}> in ${el.parentElement.className}`.slice(0, 160));
    }
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on')) problems.push(`<${tag} ${name}>`);
      if (name.startsWith('data-commandlinker')) problems.push(`<${tag} ${name}>`);
      if (['href', 'xlink:href', 'src', 'action', 'formaction', 'srcdoc'].includes(name)
          && !(tag === 'img' && (a.value === '' || a.value.startsWith('data:image/png;base64,')))
          && !(name === 'href' && a.value.startsWith('#'))  // plotly's and the causal graph's own defs
          && !absolute.test(a.value)) problems.push(`<${tag} ${name}=${a.value.slice(0, 60)}>`);
    }
  }
  return problems;
}"""


class Notebook:
    def __init__(self, page, lab, path: str):
        self.page = page
        page.goto(f"{lab.url}/lab/tree/{path}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        lab.wait_for_kernel()
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)

    def cell(self, index: int):
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def run(self, index: int) -> None:
        cell = self.cell(index)
        cell.locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Escape")  # command mode, this cell selected
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function("el => /\\[\\d+\\]/.test(el.textContent)",
                                    arg=cell.locator(".jp-InputPrompt").first.element_handle(), timeout=CELL_TIMEOUT)

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").evaluate("el => el.textContent")


def assert_nothing_ran(page, requests: list[str]) -> None:
    notebook = page.locator(".jp-Notebook").first
    assert notebook.evaluate(DOM_PROBLEMS) == []
    page.wait_for_timeout(300)  # a beacon or an image load an error handler started would be out by now
    assert page.evaluate("() => window.__pwned") is None
    assert [url for url in requests if "pwned" in url] == []


def assert_payloads_shown(nb: Notebook) -> None:
    for index, texts in SHOWN.items():
        shown = nb.output_text(index)
        missing = [t for t in texts if t not in shown]
        assert not missing, f"cell {index} does not show {missing}:\n{shown[:3000]}"


def watch(page) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def test_hostile_text_stays_text_live_and_after_reopening(page, lab, lab_root, artifacts):
    write(lab_root / "hostile.ipynb")
    requests = watch(page)
    nb = Notebook(page, lab, "hostile.ipynb")
    for index in range(len(CELLS)):
        nb.run(index)
    page.wait_for_selector(".jp-OutputArea .js-plotly-plot .xtick", timeout=30_000)  # the counts chart drew

    # The dashboard's tokens chart: the hostile request, in plotly's hover label, as text.
    point = page.locator("[data-llmos-widget='tokens'] .scatterlayer .trace:last-child .point").nth(1)
    point.wait_for(state="attached", timeout=30_000)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("[data-llmos-widget='tokens'] .hoverlayer .hovertext")
    hover.wait_for(timeout=10_000)
    assert REQUEST in hover.evaluate("el => el.textContent") and hover.locator("a").count() == 0
    strip = page.locator("[data-llmos-widget='mode'] .llmos-strip .llmos-cell").first  # its tooltip
    assert REQUEST in strip.get_attribute("title")

    assert_nothing_ran(page, requests)
    assert_payloads_shown(nb)
    assert nb.cell(2).locator(".llmos-prose").count() == 1 and nb.cell(2).locator(".jp-RenderedImage img").count()
    page.screenshot(path=str(artifacts / "hostile-live.png"), full_page=True)

    # Saved (JupyterLab signs what it saves, so its outputs come back trusted), closed, opened again.
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000)
    page.goto("about:blank")
    requests.clear()
    reopened = Notebook(page, lab, "hostile.ipynb")
    page.wait_for_selector(".jp-OutputArea .js-plotly-plot .xtick", timeout=30_000)
    assert reopened.cell(2).locator(".llmos-prose").count() == 1
    assert_nothing_ran(page, requests)
    assert_payloads_shown(reopened)
    page.screenshot(path=str(artifacts / "hostile-reopened.png"), full_page=True)
