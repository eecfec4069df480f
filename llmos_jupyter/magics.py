"""%%llmos and %llmos: a thin layer over the engine."""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .aliases import Aliases
from .errors import ConfigError, LLMOSError
from .jupyter_config import LLMOS as LLMOSConfig
from .magic_parsers import SUBCOMMANDS, USAGE, MagicUsage, parse
from .references import fill
from .team import handle_team
from .texttable import text_table


@dataclass(frozen=True)
class FailedCell:
    """The last error LLMOS saw, for %llmos fix: the program that raised and what it raised."""
    source: str
    error: str


@magics_class
class LLMOSMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.settings = LLMOSConfig(parent=shell)
        self.settings.observe(lambda _change: self._drop_engine())
        self._engine = None
        self._dashboard = None
        self.aliases = Aliases(reserved=SUBCOMMANDS)
        self.errors: dict[int, str] = {}  # cell number -> its error, for {Err[n]}
        self.last_error: FailedCell | None = None

    def remember_error(self, result) -> None:
        """post_run_cell hook: a cell's exception, kept for {Err[n]} and %llmos fix. Its text is the exception
        alone (type and message), which is what the model needs and stays the same when the cell is run again,
        so a fix that was learned can replay."""
        exc = result.error_in_exec or result.error_before_exec
        source = getattr(result.info, "raw_cell", "") or ""
        # A mistyped magic, or a request cell itself, is not a program to fix (a request's failed program is
        # kept by _run).
        if exc is None or isinstance(exc, UsageError) or source.lstrip().startswith("%llmos") \
                or source.lstrip().startswith("%%llmos"):
            return
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._failed(result.execution_count, source, text)

    def _failed(self, number: int | None, source: str, error: str) -> None:
        if number is not None:
            self.errors[number] = error
        self.last_error = FailedCell(source, error)

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
            parsed = parse(line, cell)
        except MagicUsage as exc:
            raise UsageError(str(exc)) from None
        try:
            return getattr(self, f"handle_{parsed.command}")(parsed)
        except LLMOSError as exc:
            from .render import notice_bundle

            display(notice_bundle(str(exc), error=True), raw=True)
        return None

    # -- one handler per subcommand (magic_parsers has their models) -----------------------------
    def handle_help(self, _args) -> None:
        print(USAGE)

    def handle_config(self, args) -> None:
        print(self.settings.__class__.class_config_section() if args.help else self._config_text())

    def handle_forget(self, args) -> None:
        n = self.engine.forget(args.what)
        print(f"Forgot {n} trace{'s' * (n != 1)}.")

    def handle_export(self, args) -> None:
        n = self.engine.export_memory(args.path, args.text)
        print(f"Wrote {n} traces to {args.path}.")

    def handle_import(self, args) -> None:
        added, skipped = self.engine.import_memory(args.path)
        print(f"Imported {added} traces from {args.path}" + (f" ({skipped} already here)." if skipped else "."))

    def handle_dashboard(self, _args) -> None:
        from .widgets import show_dashboard

        self._dashboard = show_dashboard(self.engine)

    def handle_finetune(self, args) -> None:
        from .finetune import summary

        card = self.engine.finetune(args.name, steps=args.steps, base=args.base, evaluate=args.evaluate)
        print(summary(card, args.name))

    def handle_reset(self, args) -> None:
        self.engine.reset(ledger=args.ledger)
        print("LLMOS reset: providers will be made afresh" + (" and the token ledger is cleared." if args.ledger
                                                             else "."))

    def handle_ask(self, args) -> None:
        if args.options.help or not args.request.strip():
            print(USAGE)
            return
        filled = fill(args.request, self.shell.user_ns, self.errors)
        request = filled.text.strip()
        if args.options.consensus:
            if filled.functions:
                raise ConfigError("--consensus asks several models at once and offers them no tools; drop "
                                  f"{{&{filled.functions[0]}}} or --consensus.")
            self._consensus(request, args.options)
        else:
            self._run(request, args.options, filled.functions)

    def _config_text(self) -> str:
        rows = [f"LLMOS.{k} = {v!r}" for k, v in self.settings.engine_options().items()]
        return "\n".join(rows) + "\n\nChange with %config LLMOS.<name> = <value>."

    def handle_status(self, _args) -> None:
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

    def handle_memory(self, args) -> None:
        if args.team:
            return print(handle_team(self.engine, "memory", args.text))
        text = args.text
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

    def handle_budget(self, args) -> None:
        value = args.value
        engine = self.engine
        if value is None:
            snap = engine.sentience.snapshot()
            budget = snap.get("budget")
            print("No token budget." if budget is None else
                  f"Budget {budget['tokens']:,} tokens: {budget['spent']:,} spent, {budget['left']:,} left.")
            return
        if value in ("off", "none", "clear"):
            engine.set_budget(None)
            print("Token budget cleared.")
            return
        try:
            tokens = int(value.replace(",", "").replace("_", ""))
            engine.set_budget(tokens)
        except ValueError:
            raise UsageError("%llmos budget takes a whole number of tokens, e.g. %llmos budget 50000, or off.") from None
        print(f"Token budget set to {tokens:,}. Energy is now 1.0 and falls as tokens are billed.")

    def handle_costs(self, args) -> None:
        if args.team:
            return print(handle_team(self.engine, "costs"))
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

    def handle_providers(self, _args) -> None:
        from .providers import available, key_status, resolve_auto

        auto = resolve_auto("auto")
        for name in available():
            try:
                state = key_status(name)
            except LLMOSError as exc:
                state = str(exc)
            print(f"{name:<10} {state}{'   <- auto picks this' if name == auto else ''}")

    def handle_alias(self, args) -> None:
        target = self.aliases.add(args.name, args.target, args.base_url, args.api_key_name)
        extras = ([f"at {target.base_url}"] if target.base_url else []) + \
            ([f"key from ${target.api_key_name}"] if target.api_key_name else [])
        print(f"{args.name} -> {target.spec()}" + (f" ({', '.join(extras)})" if extras else "")
              + f". Use it with %%llmos {args.name}.")

    def handle_unalias(self, args) -> None:
        self.aliases.remove(args.name)
        print(f"Removed alias {args.name}.")

    def handle_list(self, args) -> None:
        """The models a provider lists (asked of its API), and the aliases."""
        from .providers import available, resolve_auto

        aliased = dict(self.aliases.items())
        if args.provider in aliased:
            t = aliased[args.provider]
            provider = self.engine.provider(t.provider, t.model, t.base_url, t.api_key_name)
        elif args.provider is None or args.provider in available():
            provider = self.engine.provider(args.provider)
        else:
            raise ConfigError(f"%llmos list takes a provider ({', '.join(available())}) or an alias, not "
                              f"{args.provider!r}.")
        models = provider.list_models()
        print(text_table((f"{provider.name} models", "use as"), [(m, f"{provider.name}:{m}") for m in models]))
        if aliased:
            print()
            print(text_table(("alias", "model", "base URL", "key from"),
                             [(n, t.spec(), t.base_url or "-", t.api_key_name or "-") for n, t in aliased.items()]))
        if args.provider is None:
            print(f"\n(the configured provider, {resolve_auto(self.settings.provider)}; %llmos list PROVIDER for "
                  "another)")

    def handle_fix(self, args) -> None:
        """The last error with the program that raised it, sent as a request like any other: through the
        dispatcher, so a fix that was learned replays; the corrected program runs, or with -f code goes into a
        new cell."""
        failed = self.last_error
        if failed is None:
            raise ConfigError("There is no error to fix yet: LLMOS keeps the last error a cell raised in this "
                              "session (since %load_ext llmos_jupyter). Run the failing cell, then %llmos fix.")
        self._run(fix_request(failed), args.options)

    # -- a request ------------------------------------------------------------------------------
    def _consensus(self, request: str, options) -> None:
        from .events import Status

        # The models and how they are called come from SPECS; a flag that would be dropped is an error instead.
        unused = [flag for flag, value in (("provider:model", options.model_id), ("--provider", options.provider),
                                           ("--model", options.model), ("-m", options.model_parameters),
                                           ("--temperature", options.temperature),
                                           ("--max-tokens", options.max_tokens), ("-f", options.format),
                                           ("--plan", options.plan), ("--no-exec", options.no_exec)) if value]
        if unused:
            raise ConfigError(f"--consensus takes its models from SPECS and does not use {', '.join(unused)}; "
                              "drop them, or run the cell without --consensus.")
        synthesize = None if options.synthesize.lower() == "none" else options.synthesize
        status = _StatusLine()  # the chosen program may run long
        unsubscribe = self.engine.events.subscribe(status.show, Status)
        try:
            consensus = self.engine.consensus(request, options.consensus, namespace=self.shell.user_ns,
                                              trust=options.trust, synthesize_with=synthesize)
        finally:
            unsubscribe()
            status.clear()
        self.shell.user_ns["_llmos"] = consensus
        if options.json:
            print(json.dumps(consensus.to_dict(), indent=2, default=str))
        else:
            display(consensus)

    def _run(self, request: str, options, functions: tuple[str, ...] = ()) -> None:
        from .events import Status
        from .providers import CallOptions
        from .render import response_bundle, result_bundles, value_bundle

        # Checked before anything is shown or asked: a bad model or parameter runs nothing.
        target = self.aliases.resolve(options.model_id, options.provider, options.model)
        call = CallOptions.of(options.temperature, options.max_tokens, options.model_parameters)
        stream = _StreamView() if not (options.no_stream or options.json or not self.settings.stream) else None
        status = _StatusLine()
        unsubscribe = self.engine.events.subscribe(status.show, Status)
        summary = None
        if not options.json and getattr(self.shell, "kernel", None) is not None:  # widgets render only in a kernel
            from .widgets import live_summary

            summary = live_summary(self.engine)
            display(summary)
        try:
            result = self.engine.run(request, provider=target.provider, model=target.model,
                                     base_url=target.base_url, api_key_name=target.api_key_name, call=call,
                                     execute=not options.no_exec, on_text=stream.write if stream else None,
                                     trust=options.trust, plan=options.plan, answer_as=options.format,
                                     functions=functions)
        finally:
            unsubscribe()
            status.clear()
            if summary is not None:
                summary.detach()
        self.shell.user_ns["_llmos"] = result
        if result.error and result.code:  # the model's program raised: %llmos fix and {Err[n]} can refer to it
            self._failed(self.shell.execution_count, result.code, result.error.strip())
        if options.json:
            print(json.dumps(result.to_dict(), indent=2, default=str))
            return
        if options.format == "code":
            self._into_new_cell(result, stream)
            return
        if options.format is not None:
            self._show_prose(result, options.format, stream)
            return
        if stream:
            stream.finish(result.response)
        elif result.response:
            display(response_bundle(result.response), raw=True)
        for bundle in result_bundles(result):
            display(bundle, raw=True)
        if result.value is not None:  # the program's last expression, with what of its own display is safe
            display(value_bundle(_formats(self.shell, result.value), repr(result.value)), raw=True)


    def _into_new_cell(self, result, stream) -> None:
        """-f code: the program goes into a new cell below, unrun, as Jupyter AI's -f code does (JupyterLab turns
        the set_next_input payload into a code cell)."""
        from .pipeline.stages import NOT_RUN
        from .render import metadata_bundle, notice_bundle

        if stream:
            stream.finish(result.response)
        notice = "\n".join(line for line in (result.notice or "").splitlines() if line != NOT_RUN)
        if notice:  # e.g. a call of the user's function that was refused
            display(notice_bundle(notice), raw=True)
        if result.code:
            self.shell.set_next_input(result.code, replace=False)
            display(notice_bundle("The program is in a new cell below; it has not run. Read it, then run that "
                                  "cell."), raw=True)
        elif result.error:
            display(notice_bundle(result.error, error=True), raw=True)
        display(metadata_bundle(result), raw=True)

    def _show_prose(self, result, form: str, stream) -> None:
        from .render import metadata_bundle, notice_bundle, prose_bundle

        bundle = prose_bundle(form, result.response)
        if stream:
            stream.finish_with(bundle)
        else:
            display(bundle, raw=True)
        if result.notice:
            display(notice_bundle(result.notice), raw=True)
        display(metadata_bundle(result), raw=True)


def fix_request(failed: FailedCell) -> str:
    return (f"Fix this program so that it runs without the error below; answer with the whole corrected program."
            f"\n```python\n{failed.source.rstrip()}\n```\nIt raised:\n{failed.error}")


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

    def finish_with(self, bundle: dict) -> None:
        """The streamed text replaced by its final form (a prose answer's -f form)."""
        if self.handle is None:
            display(bundle, raw=True)
        else:
            self.handle.update(bundle, raw=True)


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
    shell.events.register("post_run_cell", magics.remember_error)
    if magics.settings not in shell.configurables:
        shell.configurables.append(magics.settings)


def unregister(shell) -> None:
    magics = shell.magics_manager.registry.get("LLMOSMagics")
    if magics is not None and magics.remember_error in shell.events.callbacks["post_run_cell"]:
        shell.events.unregister("post_run_cell", magics.remember_error)
    if "llmos" in shell.magics_manager.magics["cell"]:
        del shell.magics_manager.magics["cell"]["llmos"]
        del shell.magics_manager.magics["line"]["llmos"]
