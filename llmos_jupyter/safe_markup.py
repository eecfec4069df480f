"""Text from a model or a program, made safe to put on a notebook page.

JupyterLab trusts every output of the user's own kernel and does not sanitize it, so markup made by pasting
strings runs whatever script they carry, with the notebook's token. Here, markup is built from parts: `tag`
escapes every string it is given, and only `Markup` (what this module made) goes in as markup. A model's
Markdown is rendered with raw HTML off and then cleaned by nh3 (Rust's ammonia) against a small allowlist;
links survive only when they are absolute http(s) or mailto (a relative one would act on the Jupyter server).
Plotly reads a subset of HTML (links included) in its labels, so strings for it are escaped too. No Jupyter
import."""
from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Iterable
from typing import Any

import nh3

_ATTRIBUTE = re.compile(r"[a-z][a-z0-9-]*")
# Absolute only: "http:/api/x" (no //) is resolved against the page's own server by browsers.
_LINK = re.compile(r"(?i)(?:https?://[^\s\\/?#@][^\s\\]*|mailto:[^\s\\/:]+@[^\s\\/]+)")
_TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
         "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
         "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}, "td": {"colspan", "rowspan", "style"},
               "th": {"colspan", "rowspan", "style"}}
# The pictures a value may show; of its other kinds only text is kept (see safe_bundle): JavaScript and SVG can
# run script, and LaTeX is typeset by MathJax, whose \href makes links of its own.
_IMAGES = ("image/png", "image/jpeg")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
# MathJax typesets text/html outputs too; its \href makes links (relative ones included) that nh3 never sees.
# Every element holding text from elsewhere carries these classes, which MathJax skips with all below them.
NO_MATH = "mathjax_ignore tex2jax_ignore"


class Markup(str):
    """HTML this module built (its strings escaped) or cleaned: the only kind of str `tag` inserts unescaped."""

    __slots__ = ()


def escape(text: Any) -> Markup:
    return text if isinstance(text, Markup) else Markup(html.escape(str(text), quote=True))


def tag(name: str, attrs: dict[str, Any] | None = None, *children: Any) -> Markup:
    """<name attrs>children</name>, every string escaped; children may be Markup, strings or lists of them.
    Attribute names are the caller's own words (never an event handler); their values are escaped."""
    if not _ATTRIBUTE.fullmatch(name):
        raise ValueError(f"not a tag name: {name!r}")
    parts = [f"<{name}"]
    for key, value in (attrs or {}).items():
        if not _ATTRIBUTE.fullmatch(key) or key.startswith("on"):
            raise ValueError(f"attribute {key!r} is not allowed here")
        if value is not None and value is not False:
            parts.append(f' {key}="{escape(value)}"')
    parts.append(">")
    parts.extend(escape(child) for child in _flat(children))
    parts.append(f"</{name}>")
    return Markup("".join(parts))


def _flat(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if isinstance(child, (list, tuple)):
            yield from _flat(child)
        elif child is not None:
            yield child


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if element == "a" and _LINK.fullmatch(value) else None
    if attribute == "style":  # table alignment from Markdown; nothing else
        return value if re.fullmatch(r"text-align:\s*(left|right|center);?", value) else None
    return value


_CLEANER = nh3.Cleaner(tags=_TAGS, clean_content_tags={"script", "style", "textarea", "title", "noscript"},
                       attributes=_ATTRIBUTES, attribute_filter=_keep_attribute, url_schemes={"http", "https", "mailto"},
                       link_rel="noopener noreferrer nofollow", strip_comments=True)


def clean_html(markup: str) -> Markup:
    """HTML from elsewhere, cut to prose, lists, tables, code and absolute http(s)/mailto links: no script,
    styles, event handlers, images, forms or frames."""
    return Markup(_CLEANER.clean(markup))


@functools.cache
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    # A model's picture would be fetched from wherever it says (the Jupyter server included): show its words.
    md.add_render_rule("image", lambda self, tokens, idx, options, env: html.escape(
        self.renderInlineAsText(tokens[idx].children or [], options, env)))
    return md


def markdown_html(text: str) -> Markup:
    """A model's Markdown as clean HTML: raw HTML in it stays text, the result goes through `clean_html`."""
    return tag("div", {"class": f"llmos-prose {NO_MATH}"}, clean_html(_markdown().render(text)))


@functools.lru_cache(maxsize=128)  # a replay shows the same program again: highlighting it took 2-5 ms a cell
def code_html(code: str, language: str = "python") -> Markup:
    """Source code, highlighted by pygments (its classes themed by jupyterlab_pygments), or plain."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
    except ImportError:
        return tag("pre", {"class": "llmos-code"}, tag("code", {}, code))
    coloured = highlight(code, get_lexer_by_name(language), HtmlFormatter(cssclass="highlight"))
    # pygments escapes the code; the cleaner keeps its spans and classes and nothing else, should it ever not.
    return Markup(nh3.clean(coloured, tags={"div", "pre", "span"}, attributes={"*": {"class"}},
                            clean_content_tags={"script", "style"}, url_schemes=set()))


def plotly_text(text: Any) -> str:
    """A string for a plotly label, title or hover text: plotly turns <a href>, <span style> and friends in
    them into SVG, shows entities as the characters they stand for, and hands $...$ to MathJax where it can."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("$", "&#36;")


def safe_bundle(formats: dict[str, Any], text: str) -> dict[str, Any]:
    """A value's own mime bundle, cut to what cannot run script: text/plain (always; `text` where it has none),
    PNG and JPEG pictures, its HTML cleaned and its Markdown rendered safely (both as text/html)."""
    out: dict[str, Any] = {"text/plain": str(formats.get("text/plain", text))}
    for mime in _IMAGES:
        data = formats.get(mime)
        if isinstance(data, (bytes, bytearray)):
            data = base64.b64encode(bytes(data)).decode("ascii")
        if isinstance(data, str) and _BASE64.fullmatch(data):
            out[mime] = data
    if isinstance(formats.get("text/html"), str):
        out["text/html"] = tag("div", {"class": NO_MATH}, clean_html(formats["text/html"]))
    elif isinstance(formats.get("text/markdown"), str):
        out["text/html"] = markdown_html(formats["text/markdown"])
    return out


# MathJax commands that make links, set classes, ids or styles, load extensions or reach HTML: LaTeX holding
# one is shown as text, never typeset. What is left draws symbols only.
_UNSAFE_TEX = re.compile(r"\\(href|url|class|cssId|style|require|html|data|unicode|mmlToken|begingroup|def|"
                         r"newcommand|renewcommand|let|input|include)(?![A-Za-z])")


def safe_latex(text: str) -> str | None:
    """LaTeX for text/latex (typeset by MathJax), between $$ delimiters; None when it holds a command that could
    make a link or markup, or a $ of its own that could end the math early."""
    body = unfenced(text)
    for opening, closing in (("$$", "$$"), ("\\[", "\\]"), ("$", "$")):
        if len(body) > len(opening) + len(closing) and body.startswith(opening) and body.endswith(closing):
            body = body[len(opening):-len(closing)].strip()
            break
    if not body or _UNSAFE_TEX.search(body) or "$" in body:
        return None
    return f"$$\n{body}\n$$"


_FENCE = re.compile(r"\A```[A-Za-z0-9_+-]*\n(.*?)\n?```\Z", re.S)


def unfenced(text: str) -> str:
    """A reply that is one code fence, without the fence (models fence JSON, HTML and LaTeX when told not to)."""
    body = text.strip()
    m = _FENCE.match(body)
    return m.group(1).strip() if m else body

