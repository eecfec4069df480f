"""What a mime bundle may put on a notebook page, checked the way a browser would read it (issue #22): no
script, no event handler, no URL but an absolute http(s)/mailto one, no JupyterLab command link, nothing that
MathJax would typeset outside an element it skips, no Markdown (JupyterLab renders raw HTML in it when the
output is trusted). Returns the text a reader sees, so tests can check the hostile strings are still shown."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

ALLOWED_MIMES = {"text/plain", "text/html", "image/png", "image/jpeg", "application/vnd.plotly.v1+json"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "img", "image", "use", "foreignobject", "form",
                  "input", "button", "link", "meta", "style", "base", "video", "audio", "source", "math", "animate",
                  "set", "textarea", "select"}
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "srcset", "data", "poster", "background"}
ABSOLUTE = re.compile(r"(?i)(https?://[^\s\\/?#@][^\s\\]*|mailto:[^\s\\/]+)")
VOID = {"area", "br", "col", "hr", "img", "input", "wbr", "meta", "link", "source"}
MATH = re.compile(r"\$|\\\(|\\\[|\\begin")
IGNORED_BY_MATHJAX = {"pre", "code", "script", "noscript", "style", "textarea", "annotation"}


class PageCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, MathJax skips it and all below)

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        if tag not in VOID:
            classes = dict(attrs).get("class") or ""
            skipped = (bool(self.stack) and self.stack[-1][1]) or tag in IGNORED_BY_MATHJAX \
                or "mathjax_ignore" in classes.split()
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.text.append(data)
        if MATH.search(data) and not (self.stack and self.stack[-1][1]):
            self.problems.append(f"text MathJax would typeset: {data[:80]!r}")

    def handle_comment(self, data):
        self.problems.append(f"a comment: {data[:80]!r}")

    def _check(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an event handler")
            elif name in URL_ATTRIBUTES and not ABSOLUTE.fullmatch(value):
                self.problems.append(f"<{tag} {name}={value!r}>: not an absolute http(s)/mailto URL")
            elif name.startswith("data-commandlinker") or name in ("srcdoc", "formaction"):
                self.problems.append(f"<{tag} {name}>: acts on JupyterLab")
            elif name == "style" and re.search(r"(?i)url\(|expression|javascript:|@import", value):
                self.problems.append(f"<{tag} style={value!r}>")
            if re.search(r"(?i)javascript:|vbscript:|data:", value) and name != "title":
                self.problems.append(f"<{tag} {name}={value!r}>: a script or data URL")


def check_html(markup: str) -> str:
    """The visible text of `markup`; AssertionError listing what a page must not get."""
    parser = PageCheck()
    parser.feed(markup)
    parser.close()
    assert not parser.problems, f"{parser.problems}\nin:\n{markup}"
    return "".join(parser.text)


def plotly_strings(figure: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(figure, dict):
        return [p for k, v in figure.items() for p in plotly_strings(v, k)]
    if isinstance(figure, list):
        return [p for v in figure for p in plotly_strings(v, key)]
    return [(key, figure)] if isinstance(figure, str) else []


def check_plotly(figure: dict) -> str:
    """Plotly turns <a href>, <span style>... in any label into SVG and hands $...$ to MathJax: only our own
    hover template may hold markup. Returns the labels as plotly shows them."""
    shown = []
    for key, value in plotly_strings(figure):
        if key == "hovertemplate":
            assert value.count("<") == 2 and "<extra></extra>" in value, value
            continue
        assert "<" not in value and ">" not in value and "$" not in value, (key, value)
        shown.append(html.unescape(value))
    return "\n".join(shown)


def check_bundle(bundle: dict[str, Any]) -> str:
    """Everything a reader sees of one output (plain text, HTML text, plotly labels), once it is checked."""
    assert set(bundle) <= ALLOWED_MIMES, set(bundle) - ALLOWED_MIMES
    assert isinstance(bundle.get("text/plain"), str), "every output has a text/plain form"
    seen = [bundle["text/plain"]]
    if "text/html" in bundle:
        seen.append(check_html(bundle["text/html"]))
    if "application/vnd.plotly.v1+json" in bundle:
        seen.append(check_plotly(bundle["application/vnd.plotly.v1+json"]))
    return "\n".join(seen)
