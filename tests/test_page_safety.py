"""Nothing a model or a program writes reaches the page as markup (issue #22). Every output render.py and the
magic make, fed hostile strings in each place, is checked as a browser would read it (tests/page_check.py)
and must still show those strings as text. The magic runs in a real InteractiveShell against the scripted
server, its programs in the real sandboxed worker."""
from __future__ import annotations

import base64
import dataclasses

import pytest
from conftest import Reply, cell
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from page_check import check_bundle, check_html

from llmos_jupyter import render
from llmos_jupyter.modes import Mode
from llmos_jupyter.pipeline.result import Result, Tokens
from llmos_jupyter.safe_markup import clean_html, code_html, markdown_html, plotly_text, safe_bundle, tag

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
MATH_LINK = r"$\href{/api/terminals}{math link}$"
PROSE = f"""Here you are {XSS} and {SCRIPT}.

[js](javascript:alert(3)) [rel](/api/terminals) [half](http:/api/kernels) [ok](https://qiskit.org)
![pic](/files/secret.png) <button data-commandlinker-command="terminal:create-new">go</button> {MATH_LINK}

```python" onmouseover="alert(4)
x = 1
```
"""
CODE = 'print("```")\ns = "</code></pre><script>alert(5)</script>"\n```\n<img src=x onerror=alert(6)>\n'
PAYLOADS = [XSS, SCRIPT, "</code></pre><script>alert(5)</script>"]


def visible(bundles) -> str:
    return "\n".join(check_bundle(b) for b in bundles)


# -- the building blocks --------------------------------------------------------------------------------

def test_markdown_keeps_words_and_drops_everything_that_acts():
    out = markdown_html(PROSE)
    text = check_html(out)
    for words in (XSS, SCRIPT, "[js](javascript:alert(3))", "pic", "go", MATH_LINK, "x = 1"):
        assert words in text, words
    assert '<a href="https://qiskit.org" rel="noopener noreferrer nofollow">ok</a>' in out
    assert out.count("href=") == 1 and "<button" not in out
    assert "onmouseover" not in out.replace("&quot; onmouseover=&quot;", "")  # the info string is not an attribute


@pytest.mark.parametrize("link", ["/api/terminals", "api/contents", "//evil.example/x", "http:/api/kernels",
                                  "https:api", "javascript:alert(1)", "data:text/html,<b>", "file:///etc/passwd",
                                  "vbscript:x", "&#x2F;api/terminals"])
def test_only_absolute_web_links_survive(link):
    out = clean_html(f'<a href="{link}">x</a>') + markdown_html(f"[x]({link})")
    check_html(out)
    assert "href" not in out


@pytest.mark.parametrize("link", [" https://ok.example/", "http://ok.example\\evil", "https://ok.example/a b"])
def test_a_link_a_browser_would_read_differently_is_dropped(link):
    out = clean_html(f'<a href="{link}">x</a>')
    assert "href" not in out and check_html(out) == "x"


def test_html_is_cut_to_prose():
    out = clean_html('<p style="position:fixed">a</p><svg onload=alert(1)><a xlink:href="javascript:x">b</a></svg>'
                     '<iframe srcdoc="<script>1</script>"></iframe><style>*{}</style><form action=/x><input></form>'
                     '<td style="text-align:right;background:url(/x)">c</td><!-- hi --><math><mi>x</mi></math>')
    check_html(out)
    assert check_html(out) == "ac" and "style" not in out


def test_code_is_shown_exactly_as_written():
    out = code_html(CODE)
    assert check_html(out).rstrip("\n") == CODE.rstrip("\n")


def test_tag_escapes_text_and_refuses_handlers():
    assert tag("b", {"title": '"><x'}, "<i>") == '<b title="&quot;&gt;&lt;x">&lt;i&gt;</b>'
    with pytest.raises(ValueError):
        tag("b", {"onclick": "x"})
    with pytest.raises(ValueError):
        tag("b x", {})


def test_plotly_text_shows_markup_as_characters():
    assert plotly_text('<a href="/api">$x$</a> & b') == '&lt;a href="/api"&gt;&#36;x&#36;&lt;/a&gt; &amp; b'


def test_a_value_keeps_only_what_cannot_run():
    png = b"\x89PNG\r\n\x1a\n"
    formats = {"text/plain": XSS, "text/html": f"<b onclick=x>bold</b>{SCRIPT}<a href=/api/terminals>t</a>",
               "text/markdown": f"{XSS}", "image/svg+xml": "<svg onload=alert(1)/>", "image/png": png,
               "image/jpeg": "not base64 <script>", "application/javascript": "alert(1)",
               "text/latex": MATH_LINK, "application/x-unknown": "?"}
    out = safe_bundle(formats, "fallback")
    assert set(out) == {"text/plain", "text/html", "image/png"}
    assert out["image/png"] == base64.b64encode(png).decode()
    assert "bold" in check_bundle(out) and XSS in out["text/plain"]
    markdown_only = safe_bundle({"text/markdown": f"**b** {XSS}"}, "fallback")
    assert markdown_only["text/plain"] == "fallback" and XSS in check_bundle(markdown_only)
    assert "<strong>b</strong>" in markdown_only["text/html"]


# -- every bundle of a Result ----------------------------------------------------------------------------

def hostile_result(**changes) -> Result:
    r = Result(
        request=XSS, mode=Mode.LEARNER, tokens=Tokens(input=1, output=2), response=PROSE, code=CODE,
        output=f"printed {SCRIPT}\n{MATH_LINK}\n", error=f"Traceback ...\nValueError: {XSS} {MATH_LINK}",
        notice=f"notice {SCRIPT}", counts={XSS: 3, "$x$": 1, "01": 2}, shots=6, provider=f"openai{XSS}",
        model=SCRIPT, why={"tier_reason": MATH_LINK}, cost_usd=0.5,
        steps=[{"step": XSS, "mode": "LEARNER'><script>alert(7)</script>",
                "tokens": {"input": 1, "output": 1, "saved": 0}}],
        defined={"weird": f"def(x='`</code>{XSS}`')", "value": f"`{SCRIPT}`"}, figures=(b"\x89PNG",))
    return dataclasses.replace(r, **changes)


def test_every_result_bundle_shows_hostile_text_as_text():
    r = hostile_result()
    bundles = [render.response_bundle(r.response), *render.result_bundles(r)]
    assert not any("text/markdown" in b for b in bundles)
    seen = visible(bundles)
    for words in (XSS, SCRIPT, CODE, MATH_LINK, "LEARNER'><script>alert(7)</script>", f"`</code>{XSS}`", "$x$"):
        assert words in seen, words
    assert f"`{SCRIPT}`" in seen  # a default value's repr with backticks, as written


def test_the_histogram_title_is_escaped_too():
    (bundle,) = [b for b in render.result_bundles(hostile_result(shots=None)) if "application/vnd.plotly.v1+json" in b]
    figure = bundle["application/vnd.plotly.v1+json"]
    assert figure["layout"]["title"]["text"] == "Aer counts · 6 shots"
    check_bundle(render.histogram_bundle({"0": 1}, title=XSS))


# -- the magic, end to end --------------------------------------------------------------------------------

PROGRAM = f'''\
import matplotlib.pyplot as plt
import qiskit.result
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

def weird(x="`</code>{XSS}`"):
    return x

globals()["{XSS}"] = "`{SCRIPT}`"
# A program owns its worker: the counts it reports can say anything.
qiskit.result.Result.get_counts = lambda self, *a: {{"{XSS}": 7, "$x$": 3}}
qc = QuantumCircuit(1)
qc.h(0)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=10).result().get_counts()
print("printed {SCRIPT}", {MATH_LINK!r})
fig, ax = plt.subplots()
ax.set_title("{XSS}")
"{SCRIPT}"
'''


def test_the_cell_shows_a_hostile_reply_and_program_as_text(shell, server):
    server.enqueue(Reply(text=f"{PROSE}\n```python\n{PROGRAM}```\n"))
    cap = cell(shell, "Make a hostile program")
    r = shell.user_ns["_llmos"]
    assert r.counts == {XSS: 7, "$x$": 3} and r.value == SCRIPT and XSS in r.defined and r.figures
    bundles = [o.data for o in cap.outputs]
    assert not any("text/markdown" in b for b in bundles)
    seen = visible(bundles)
    for words in (XSS, SCRIPT, f"`</code>{XSS}`", f"printed {SCRIPT} {MATH_LINK}", "$x$", f"'{SCRIPT}'"):
        assert words in seen, words
    streamed = [b for b in bundles if "llmos-prose" in b.get("text/html", "")]
    assert streamed and all(MATH_LINK in check_bundle(b) for b in streamed)


def test_an_exception_message_and_a_plain_reply(shell, server):
    shell.run_line_magic("config", "LLMOS.stream = False")
    try:
        message = f"{XSS} {MATH_LINK}"
        server.enqueue(Reply(text=f"{PROSE}\n```python\nraise ValueError({message!r})\n```\n"))
        cap = cell(shell, "Fail in a hostile way")
    finally:
        shell.run_line_magic("config", "LLMOS.stream = True")
    seen = visible([o.data for o in cap.outputs])
    assert f"ValueError: {XSS} {MATH_LINK}" in seen and "[js](javascript:alert(3))" in seen


def test_an_error_notice_from_the_magic(shell):
    cap = cell(shell, "anything", f"--provider '{XSS}'")
    (bundle,) = [o.data for o in cap.outputs if "text/html" in o.data]
    assert "Unknown provider" in check_bundle(bundle) and XSS in check_bundle(bundle)


def test_line_commands_print_plain_text(shell, server):
    server.enqueue(Reply(text="```python\nprint(1)\n```"))
    cell(shell, f"Remember {XSS}")
    with capture_output() as cap:
        shell.run_line_magic("llmos", "memory")
    assert XSS in cap.stdout and not cap.outputs


def test_a_consensus_panel_with_a_hostile_model_name(server, home, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    server.responder = lambda req: Reply(text=f"{req.body['model']} says {MATH_LINK} {SCRIPT}",
                                         model=req.body["model"])
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llmos_jupyter")
    ip.run_line_magic("config", f"LLMOS.home = {str(home)!r}")
    try:
        with capture_output() as cap:
            ip.run_cell_magic("llmos", f"--consensus 'openai:{XSS},openai:m2' --synthesize none", "Explain GHZ")
    finally:
        ip.run_line_magic("config", "LLMOS.home = '.llmos'")
        ip.user_ns.pop("_llmos", None)
    (bundle,) = [o.data for o in cap.outputs]
    seen = check_bundle(bundle)
    assert f"openai:{XSS}" in seen and MATH_LINK in seen and SCRIPT in seen


def test_a_consensus_histogram_with_hostile_outcomes():
    from llmos_jupyter.consensus.result import _histogram_svg

    out = f"<div class='mathjax_ignore'>{_histogram_svg({XSS: 0.5, '$x$': 0.5})}</div>"
    assert XSS in check_html(out) and "$x$" in check_html(out)
