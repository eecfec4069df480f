"""Turn a Result into what a notebook cell shows: mime bundles, no frontend needed to build them.

Every string in a Result may come from a model or a program, so HTML here is built with safe_markup's `tag`
(which escapes it) or its Markdown renderer and cleaner, never by pasting; text/markdown is never sent."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .pipeline.result import Result
from .safe_markup import (NO_MATH, Markup, clean_html, code_html, markdown_html, plotly_text, safe_bundle, safe_latex,
                          tag, unfenced)

MAX_BARS = 64
# The dashboard's bundles take the same file (js/src/lib/format.js), so badge and dashboard agree.
MODE_COLOURS = json.loads((Path(__file__).with_name("palette.json")).read_text())["modes"]


def metadata_line(r: Result) -> str:
    t = r.tokens
    parts = [str(r.mode)]
    if r.provider:
        parts.append(f"{r.provider}/{r.model}")
    if r.why.get("tier_reason"):
        parts.append(str(r.why["tier_reason"]))  # which tier answered, and why
    tokens = f"tokens in {t.input:,} / out {t.output:,} / saved {t.saved:,} (cumulative {t.cumulative_saved:,})"
    if t.cache_read or t.cache_write:
        tokens += f", cache read {t.cache_read:,} / write {t.cache_write:,}"
    if not t.reported:
        tokens += " [provider sent no usage]"
    parts.append(tokens)
    if r.cost_usd:
        parts.append(f"${r.cost_usd:,.4f}")
    if r.shots:
        parts.append(f"{r.shots:,} shots")
    parts.append(f"{r.execution_time_ms / 1000:.2f} s")
    return " · ".join(parts)


def metadata_bundle(r: Result) -> dict[str, Any]:
    line = metadata_line(r)
    colour = MODE_COLOURS.get(str(r.mode), "#555")
    mode, _, rest = line.partition(" · ")
    markup = tag("div", {"class": f"llmos-meta {NO_MATH}",
                         "style": "font-family:var(--jp-code-font-family,monospace);font-size:12px;"
                                  "color:var(--jp-ui-font-color1,inherit)"},
                 _badge(mode, colour, "padding:1px 6px;border-radius:3px;font-weight:600"), " ", rest)
    return {"text/plain": line, "text/html": markup}


def _badge(text: str, colour: str, style: str) -> Markup:
    return tag("span", {"style": f"background:{colour};color:#fff;{style}"}, text)


def notice_bundle(text: str, *, error: bool = False) -> dict[str, Any]:
    colour = "var(--jp-error-color1,#c62828)" if error else "var(--jp-warn-color1,#e65100)"
    kind = "error" if error else "notice"
    markup = tag("div", {"class": f"llmos-{kind} {NO_MATH}",
                         "style": f"border-left:3px solid {colour};padding:4px 8px;white-space:pre-wrap"}, text)
    return {"text/plain": text, "text/html": markup}


def response_bundle(text: str) -> dict[str, Any]:
    """The model's prose: its Markdown rendered with raw HTML off, then sanitized (safe_markup)."""
    return {"text/plain": text, "text/html": markdown_html(text)}


def prose_bundle(form: str, text: str) -> dict[str, Any]:
    """A prose answer (-f FORM) as the page may show it: Markdown rendered with raw HTML off, HTML sanitized,
    LaTeX typeset only when it holds no command that makes links or markup, JSON only when it parses; whatever
    fails its form is shown as text with a notice saying why."""
    if form == "markdown":
        return response_bundle(text)
    if form == "html":
        return {"text/plain": text, "text/html": tag("div", {"class": f"llmos-prose {NO_MATH}"},
                                                     clean_html(unfenced(text)))}
    if form == "math":
        latex = safe_latex(text)
        if latex is None:
            return notice_bundle("The answer is shown as text: it is not LaTeX that can be typeset safely (a link, "
                                 f"style or macro command, or a stray $).\n\n{text}")
        return {"text/plain": text, "text/latex": latex}
    if form == "json":
        try:
            value = json.loads(unfenced(text))
        except ValueError as exc:
            return notice_bundle(f"The answer is not JSON ({exc}); shown as text. Ask again, or use -f text."
                                 f"\n\n{text}")
        # JupyterLab's JSON viewer shows values as data, never as markup.
        return {"application/json": value if isinstance(value, (dict, list)) else {"value": value},
                "text/plain": json.dumps(value, indent=2, ensure_ascii=False)}
    return {"text/plain": text}


def code_bundle(code: str) -> dict[str, Any]:
    return {"text/plain": code, "text/html": code_html(code)}


def text_histogram(counts: dict[str, int], width: int = 40) -> str:
    top = max(counts.values())
    rows = sorted(counts.items())[:MAX_BARS]
    pad = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:>{pad}} │{'█' * max(1, round(width * v / top))} {v}" for k, v in rows)


def histogram_bundle(counts: dict[str, int], title: str = "Aer counts") -> dict[str, Any]:
    """A plotly bar chart as a mime bundle (rendered by JupyterLab's bundled plotly extension, offline),
    with a text histogram for terminals."""
    items = sorted(counts.items())
    if len(items) > MAX_BARS:
        items = sorted(sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_BARS])
        title += f" (top {MAX_BARS} of {len(counts)} outcomes)"
    total = sum(counts.values())
    figure = {
        "data": [{
            "type": "bar",
            "x": [plotly_text(k) for k, _ in items],  # plotly reads HTML in category labels
            "y": [v for _, v in items],
            "text": [f"{v / total:.1%}" for _, v in items],
            "textposition": "auto",
            "marker": {"color": "#6929c4"},
            "hovertemplate": "|%{x}⟩: %{y} shots<extra></extra>",
        }],
        "layout": {
            "title": {"text": plotly_text(title)},
            "xaxis": {"title": {"text": "outcome"}, "type": "category"},
            "yaxis": {"title": {"text": "counts"}},
            "height": 320,
            "margin": {"l": 50, "r": 20, "t": 40, "b": 50},
            "template": "plotly_white",
        },
        "config": {"displaylogo": False, "responsive": True},
    }
    return {"application/vnd.plotly.v1+json": json.loads(json.dumps(figure)),
            "text/plain": text_histogram(counts)}


def steps_bundle(r: Result) -> dict[str, Any]:
    """ORCHESTRATOR: the plan, with each step's mode and tokens."""
    rows = [(i, str(s["step"]), str(s["mode"]), s["tokens"]["input"], s["tokens"]["output"], s["tokens"]["saved"],
             "error" if s.get("error") else "ok") for i, s in enumerate(r.steps, start=1)]
    text = "\n".join(f"{i}. {step} — {mode}, in {a} / out {b} / saved {c} ({ok})" for i, step, mode, a, b, c, ok in rows)
    head = tag("tr", {}, [tag("th", {}, h) for h in ("#", "step", "mode", "in", "out", "saved", "")])
    body = [tag("tr", {}, tag("td", {}, i), tag("td", {}, step),
                tag("td", {}, _badge(mode, MODE_COLOURS.get(mode, "#555"), "padding:0 5px;border-radius:3px")),
                [tag("td", {}, f"{n:,}") for n in (a, b, c)], tag("td", {}, ok))
            for i, step, mode, a, b, c, ok in rows]
    table = tag("table", {"class": f"llmos-plan {NO_MATH}", "style": "font-size:12px"}, head, body)
    return {"text/plain": text, "text/html": table}


def defined_bundle(defined: dict[str, str]) -> dict[str, Any]:
    """The names the program left in the namespace: functions with their signatures, values with types."""
    rows = [f"{name}{d[3:]}" if d.startswith("def") else f"{name}: {d}" for name, d in defined.items()]
    text = "Defined: " + ", ".join(rows)
    items = [[", " if i else "", tag("code", {}, row)] for i, row in enumerate(rows)]
    return {"text/plain": text, "text/html": tag("div", {"class": f"llmos-defined {NO_MATH}"}, "Defined: ", items)}


def saved_bundle(saved: tuple[str, ...]) -> dict[str, Any]:
    """The files the program saved in the working folder, each a link relative to the notebook (quoted, so a
    name is never read as a scheme or markup)."""
    text = "Saved in your folder: " + ", ".join(saved)
    links = [[", " if i else "", tag("a", {"href": quote(path)}, tag("code", {}, path))]
             for i, path in enumerate(saved)]
    return {"text/plain": text,
            "text/html": tag("div", {"class": f"llmos-saved {NO_MATH}"}, "Saved in your folder: ", links)}


def value_bundle(formats: dict[str, Any], text: str) -> dict[str, Any]:
    """The program's last value, from its own mime bundle (`formats`) cut to what cannot run script."""
    return safe_bundle(formats, text)


def result_bundles(r: Result) -> list[dict[str, Any]]:
    """Everything a finished request shows, in order (the streamed reply is shown separately)."""
    out: list[dict[str, Any]] = []
    if r.steps:
        out.append(steps_bundle(r))
    if r.code and r.code not in r.response:
        out.append(code_bundle(r.code))
    if r.output:
        out.append({"text/plain": r.output.rstrip("\n")})  # text/plain is shown as text, never as markup
    if r.defined:
        out.append(defined_bundle(r.defined))
    for png in r.figures:  # drawn in the sandboxed worker, sent back as PNG
        out.append({"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"})
    if r.saved:
        out.append(saved_bundle(r.saved))
    if r.error:
        out.append(notice_bundle(r.error, error=True))
    if r.notice:
        out.append(notice_bundle(r.notice))
    if r.counts:
        out.append(histogram_bundle(r.counts, title=f"Aer counts · {r.shots or sum(r.counts.values()):,} shots"))
    out.append(metadata_bundle(r))
    return out
