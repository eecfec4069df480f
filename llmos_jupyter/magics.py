"""%%llmos and %llmos: a thin layer over the engine."""
from __future__ import annotations

import argparse
import json
import re
import shlex
import time

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .errors import LLMOSError
from .jupyter_config import LLMOS as LLMOSConfig
from .settings import FINETUNE
from .team import handle_team
from .texttable import text_table

USAGE = """\
%%llmos [--provider NAME] [--model NAME] [--no-exec] [--json] [--no-stream] [--trust] [--plan] [--consensus SPECS]
<your request, e.g. Create a Bell state circuit>

  The cell is one request, whatever its line breaks.
  --plan asks the model to split the task into steps; each step runs as a request of its own (ORCHESTRATOR).

  {name} in the request is replaced by the value of `name` in your namespace ({{ and }} for braces).
  --trust runs model-written code even if the guard blocks it (this cell only).
  --consensus anthropic:claude-sonnet-5-5,openai:gpt-5.5,local asks several models in parallel and
  weighs their answers (weights, causal graph, consensus answer, tokens and cost per model). Programs are
  each run apart in the sandbox and weighed by what they compute; the chosen one runs in your namespace.
  --synthesize SPEC: who writes a prose consensus (top: the heaviest answer's model; local; none).
  The last result is kept in `_llmos`.

%llmos status | providers | config | reset [--ledger] | help | costs
%llmos budget 50000 | off     a token budget: energy falls as it is spent; at zero only memory answers
%llmos dashboard              live widgets: mode, tokens saved, valence, consensus weights, causal graph
%llmos memory [TEXT]          list learned traces and tools (those matching TEXT)
%llmos forget ID|TEXT         forget traces
%llmos export PATH [TEXT]     write memory as JSON lines;  %llmos import PATH  read it
%llmos finetune [--name N] [--steps K] [--base local|MODEL]
                              train a local adapter on the verified traces; serve it with
                              %config LLMOS.tiers = {"T0": "local:N"}
%llmos <request on one line>
Settings: %config LLMOS.provider = 'openai'   (see %llmos config)"""

SUBCOMMANDS = ("status", "providers", "config", "reset", "help", "memory", "forget", "export", "import", "budget",
               "costs", "dashboard", "finetune")
HELP_WORDS = ("help", "-h", "--help")  # never sent to a model as a request
_NAME = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would call sys.exit
        raise UsageError(f"{message}\n\n{USAGE}")


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%llmos", add_help=False)
    p.add_argument("--provider", "-p")
    p.add_argument("--model", "-m")
    p.add_argument("--no-exec", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--trust", action="store_true")
    p.add_argument("--plan", action="store_true")
    p.add_argument("--consensus", metavar="SPECS")
    p.add_argument("--synthesize", metavar="SPEC", default="top")
    p.add_argument("--help", "-h", action="store_true")
    return p


def _finetune_parser() -> _Parser:
    p = _Parser(prog="%llmos finetune", add_help=False)
    p.add_argument("--name", default=FINETUNE.name)
    p.add_argument("--steps", type=int, default=FINETUNE.steps)
    p.add_argument("--base", default=FINETUNE.base)
    p.add_argument("--evaluate", type=int, default=FINETUNE.evaluate, help="held-out variations to test the adapter on")
    return p


def interpolate(text: str, namespace: dict) -> str:
    """Replace {name} with the value of `name`; unknown names stay as written."""

    def sub(m: re.Match) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = m.group(1)
        return str(namespace[name]) if name in namespace else token

    return _NAME.sub(sub, text)


@magics_class
class LLMOSMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.settings = LLMOSConfig(parent=shell)
        self.settings.observe(lambda _change: self._drop_engine())
        self._engine = None
        self._dashboard = None

    # The engine is made on first use so %load_ext stays fast and settings made before it apply.
    @property
    def engine(self):
        if self._engine is None:
            from .engine import LLMOS

            self._engine = LLMOS(namespace=self.shell.user_ns, **self.settings.engine_options())
            if self._dashboard is not None:  # a %config change made a new engine: the dashboard follows it
                self._dashboard.attach(self._engine)
        return self._engine

    def _drop_engine(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self._engine = None

    @line_cell_magic
    def llmos(self, line: str, cell: str | None = None):
        try:
            if cell is None:
                return self._line(line)
            return self._cell(line, cell)
        except LLMOSError as exc:
            from .render import notice_bundle

            display(notice_bundle(str(exc), error=True), raw=True)

    # -- line magic ------------------------------------------------------------------------------
    def _line(self, line: str):
        words = shlex.split(line)
        if not words or words[0] in HELP_WORDS:
            print(USAGE)
            return None
        command = words[0]
        if command not in SUBCOMMANDS:
            return self._cell("", line)
        if "--team" in words[1:]:  # team store views (team.py)
            return print(handle_team(self.engine, command, " ".join(w for w in words[1:] if w != "--team") or None))
        if command == "status":
            self._print_status()
        elif command == "providers":
            self._print_providers()
        elif command == "config":
            print(self.settings.__class__.class_config_section() if "--help" in words else self._config_text())
        elif command == "memory":
            self._print_memory(" ".join(words[1:]) or None)
        elif command == "forget":
            if len(words) < 2:
                raise UsageError("%llmos forget needs a trace id or text, e.g. %llmos forget ghz")
            n = self.engine.forget(" ".join(words[1:]))
            print(f"Forgot {n} trace{'s' * (n != 1)}.")
        elif command == "export":
            if len(words) < 2:
                raise UsageError("%llmos export needs a file name, e.g. %llmos export skills.jsonl")
            n = self.engine.export_memory(words[1], " ".join(words[2:]) or None)
            print(f"Wrote {n} traces to {words[1]}.")
        elif command == "import":
            if len(words) != 2:
                raise UsageError("%llmos import needs one file name, e.g. %llmos import skills.jsonl")
            added, skipped = self.engine.import_memory(words[1])
            print(f"Imported {added} traces from {words[1]}" + (f" ({skipped} already here)." if skipped else "."))
        elif command == "dashboard":
            from .widgets import show_dashboard

            self._dashboard = show_dashboard(self.engine)
        elif command == "budget":
            self._budget(words[1:])
        elif command == "costs":
            self._print_costs()
        elif command == "finetune":
            self._finetune(words[1:])
        elif command == "reset":
            ledger = "--ledger" in words
            self.engine.reset(ledger=ledger)
            print("LLMOS reset: providers will be made afresh" + (" and the token ledger is cleared." if ledger else "."))
        return None

    def _config_text(self) -> str:
        rows = [f"LLMOS.{k} = {v!r}" for k, v in self.settings.engine_options().items()]
        return "\n".join(rows) + "\n\nChange with %config LLMOS.<name> = <value>."

    def _print_status(self) -> None:
        s = self.engine.status()
        led = s["ledger"]
        lines = [
            f"provider : {s['provider']} (setting: {s['provider_setting']})",
            f"model    : {s.get('model', '-')}",
        ]
        if s.get("note"):
            lines.append(f"note     : {s['note']}")
        if s.get("provider_error"):
            lines.append(f"problem  : {s['provider_error']}")
        lines += [
            f"home     : {s['home']}",
            f"ledger   : {led['requests']} requests, {led['input']:,} input + {led['output']:,} output tokens billed, "
            f"{led['saved']:,} saved",
            f"memory   : {s['memory']['traces']} traces; starter skills "
            + ("off" if not s["memory"]["starter_skills"] else "on" if s["memory"]["traces"]
               else "on (loaded with the first request)"),
            f"sentience: {s['sentience']['latent_mode']} {s['sentience']['valence']}",
        ]
        lines += [f"           {b}" for b in s["sentience"].get("behaviour", [])]
        if s["sentience"].get("budget"):
            b = s["sentience"]["budget"]
            lines.append(f"budget   : {b['tokens']:,} tokens, {b['left']:,} left")
        print("\n".join(lines))

    def _print_memory(self, text: str | None) -> None:
        engine = self.engine
        engine.memory.ready()
        traces = engine.memory.traces.all(text)
        if not traces:
            print("No traces" + (f" match {text!r}." if text else " yet."))
            return
        rows = []
        for t in traces:
            kind = "tool" if t.tool_name else t.origin
            rebinds = ",".join(p.split("_")[1] for p in t.generalized) or "-"
            label = f"{t.title}" + (f"  -> {t.tool_name}()" if t.tool_name else "")
            rows.append((t.id, kind, t.uses, t.misses, rebinds, label))
        print(text_table(("id", "kind", "uses", "miss", "rebinds", "title / tool"), rows, right=(2, 3)))

    def _budget(self, args: list[str]) -> None:
        engine = self.engine
        if not args:
            snap = engine.sentience.snapshot()
            budget = snap.get("budget")
            print("No token budget." if budget is None else
                  f"Budget {budget['tokens']:,} tokens: {budget['spent']:,} spent, {budget['left']:,} left.")
            return
        if args[0] in ("off", "none", "clear"):
            engine.set_budget(None)
            print("Token budget cleared.")
            return
        try:
            tokens = int(args[0].replace(",", "").replace("_", ""))
            engine.set_budget(tokens)
        except ValueError:
            raise UsageError("%llmos budget takes a whole number of tokens, e.g. %llmos budget 50000, or off.") from None
        print(f"Token budget set to {tokens:,}. Energy is now 1.0 and falls as tokens are billed.")

    def _finetune(self, args: list[str]) -> None:
        from .finetune import summary

        a = _finetune_parser().parse_args(args)
        card = self.engine.finetune(a.name, steps=a.steps, base=a.base, evaluate=a.evaluate)
        print(summary(card, a.name))

    def _print_costs(self) -> None:
        c = self.engine.costs()

        def usd(v):
            return "unknown" if v is None else f"${v:,.4f}"

        print(text_table(("provider/model", "calls", "input", "output", "cost"),
                         [(f"{r['provider']}/{r['model']}", r["calls"], f"{r['input']:,}", f"{r['output']:,}",
                           usd(r["cost_usd"])) for r in c["by_model"]], right=(1, 2, 3, 4)))
        print()
        print(text_table(("mode", "requests", "input", "output", "cost", "saved tokens", "saved (floor)"),
                         [(r["mode"], r["requests"], f"{r['input']:,}", f"{r['output']:,}", usd(r["cost_usd"]),
                           f"{(r['saved'] or 0):,}", usd(r["saved_usd"])) for r in c["by_mode"]],
                         right=(1, 2, 3, 4, 5, 6)))
        print(f"\ntotal billed {usd(c['total_usd'])}; {c['saved_tokens']:,} tokens saved by memory\n")
        print(text_table(("prices per 1M tokens", "input", "output"),
                         [(row["model"], usd(row["input"]), usd(row["output"])) for row in c["prices"]],
                         right=(1, 2)))
        print("Set one with %config LLMOS.prices = {'model-prefix': (input, output)}; local models: {'local': (i, o)}.")

    def _print_providers(self) -> None:
        from .providers import available, key_status, resolve_auto

        auto = resolve_auto("auto")
        for name in available():
            try:
                state = key_status(name)
            except LLMOSError as exc:
                state = str(exc)
            print(f"{name:<10} {state}{'   <- auto picks this' if name == auto else ''}")

    # -- cell magic ------------------------------------------------------------------------------
    def _cell(self, line: str, cell: str):
        args = _cell_parser().parse_args(shlex.split(line))
        request = interpolate(cell, self.shell.user_ns).strip()
        if args.help or not request:
            print(USAGE)
            return None
        from .render import response_bundle, result_bundles, value_bundle

        if args.consensus:
            synthesize = None if args.synthesize.lower() == "none" else args.synthesize
            from .events import Status

            status = _StatusLine()  # the chosen program may run long
            unsubscribe = self.engine.events.subscribe(status.show, Status)
            try:
                consensus = self.engine.consensus(request, args.consensus, namespace=self.shell.user_ns,
                                                  trust=args.trust, synthesize_with=synthesize)
            finally:
                unsubscribe()
                status.clear()
            self.shell.user_ns["_llmos"] = consensus
            if args.json:
                print(json.dumps(consensus.to_dict(), indent=2, default=str))
            else:
                display(consensus)
            return None

        stream = _StreamView() if not (args.no_stream or args.json or not self.settings.stream) else None
        status = _StatusLine()
        from .events import Status

        unsubscribe = self.engine.events.subscribe(status.show, Status)
        summary = None
        if not args.json and getattr(self.shell, "kernel", None) is not None:  # widgets render only in a kernel
            from .widgets import live_summary

            summary = live_summary(self.engine)
            display(summary)
        try:
            result = self.engine.run(request, provider=args.provider, model=args.model, execute=not args.no_exec,
                                     on_text=stream.write if stream else None, trust=args.trust,
                                     plan=args.plan)
        finally:
            unsubscribe()
            status.clear()
            if summary is not None:
                summary.detach()
        self.shell.user_ns["_llmos"] = result
        if args.json:
            print(json.dumps(result.to_dict(), indent=2, default=str))
            return None
        if stream:
            stream.finish(result.response)
        elif result.response:
            display(response_bundle(result.response), raw=True)
        for bundle in result_bundles(result):
            display(bundle, raw=True)
        if result.value is not None:  # the program's last expression, with what of its own display is safe
            display(value_bundle(_formats(self.shell, result.value), repr(result.value)), raw=True)
        return None


class _StatusLine:
    """A transient line for slow first-use steps (loading the embedding model) and for a program that is still
    running (with how to stop it), updated in place and removed when done."""

    def __init__(self):
        self.handle = None

    def show(self, event) -> None:
        bundle = {"text/plain": event.text}
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)

    def clear(self) -> None:
        if self.handle is not None:
            self.handle.update({"text/plain": ""}, raw=True)


class _StreamView:
    """The model's reply, shown as it arrives; updates are throttled so a fast stream stays cheap."""

    INTERVAL = 0.1

    def __init__(self):
        self.parts: list[str] = []
        self.handle = None
        self.last = 0.0

    def write(self, piece: str) -> None:
        self.parts.append(piece)
        now = time.monotonic()
        if now - self.last >= self.INTERVAL:
            self.last = now
            self._show("".join(self.parts) + " ▌")

    def _show(self, text: str) -> None:
        from .render import response_bundle

        bundle = response_bundle(text)
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)

    def finish(self, text: str) -> None:
        if text or self.handle is not None:
            self._show(text)


def _formats(shell, value) -> dict:
    """The mime bundle IPython would make for `value`, without letting it display itself (_ipython_display_
    would put its output on the page unfiltered)."""
    formatter = shell.display_formatter
    formats = formatter.mimebundle_formatter(value) or {}
    if isinstance(formats, tuple):  # (data, metadata)
        formats = formats[0] or {}
    formats = dict(formats)
    for mime, format_ in formatter.formatters.items():
        if mime not in formats:
            data = format_(value)
            if data is not None:
                formats[mime] = data[0] if isinstance(data, tuple) else data
    return formats


def register(shell) -> None:
    magics = LLMOSMagics(shell)
    shell.register_magics(magics)
    if magics.settings not in shell.configurables:
        shell.configurables.append(magics.settings)


def unregister(shell) -> None:
    if "llmos" in shell.magics_manager.magics["cell"]:
        del shell.magics_manager.magics["cell"]["llmos"]
        del shell.magics_manager.magics["line"]["llmos"]
