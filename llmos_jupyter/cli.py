"""`llmos run "..." [--json]`, `llmos status`, `llmos providers`, `llmos finetune`, `llmos migrate SRC DST`: the
engine from a terminal."""
from __future__ import annotations

import argparse
import json
import sys

from .errors import LLMOSError
from .magic_parsers import FORMATS, json_object, positive_tokens, temperature
from .settings import FINETUNE, Settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llmos", description="Ask LLMOS for quantum programs; run them on Aer.")
    for name in ("home", "store", "member", "provider", "model", "base_url"):
        default = Settings.default(name)
        p.add_argument("--" + name.replace("_", "-"), default=default,
                       help=Settings.help(name) + (f" (default {default})" if default else ""))
    p.add_argument("--no-starter-skills", action="store_true", help="start with an empty memory")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="answer one request")
    run.add_argument("request", nargs="+")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--no-exec", action="store_true", help="show the code without running it")
    run.add_argument("--format", "-f", choices=FORMATS,
                     help="code: print the program only, unrun; markdown, text, html, math, json: a prose answer")
    run.add_argument("--model-parameters", "-m", type=json_object, default={}, metavar="JSON",
                     help="JSON object sent with the model call, e.g. '{\"top_p\": 0.9}'")
    run.add_argument("--temperature", type=temperature, help="sampling temperature for the model call")
    run.add_argument("--max-tokens", type=positive_tokens, help="most output tokens for the model call")
    sub.add_parser("status", help="provider, home and token totals")
    move = sub.add_parser("migrate", help="copy a store into another, checked record by record (a home's "
                                          "sqlite:///path/llmos.db into a team's postgresql://..., or back)")
    move.add_argument("src", help="the store to copy from (only read)")
    move.add_argument("dst", help="the store to copy into (changed only if every record checks)")
    sub.add_parser("providers", help="known providers and whether their keys are set")
    tune = sub.add_parser("finetune", help="train a local adapter (AdaLoRA) on the home's verified traces")
    tune.add_argument("--name", default=FINETUNE.name, help="adapter name; saved under HOME/adapters/NAME")
    tune.add_argument("--steps", type=int, default=FINETUNE.steps, help=f"optimizer steps (default {FINETUNE.steps})")
    tune.add_argument("--base", default=FINETUNE.base, help="base model: local (the embedded SmolLM2-135M) or a "
                                                            "folder or name transformers can load offline")
    tune.add_argument("--evaluate", type=int, default=FINETUNE.evaluate,
                      help=f"held-out variations to test it on (default {FINETUNE.evaluate})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "providers":
            from .providers import available, key_status

            for name in available():
                print(f"{name:<10} {key_status(name)}")
            return 0
        if args.command == "migrate":
            return _migrate(args)
        from .engine import LLMOS

        engine = LLMOS(home=args.home, provider=args.provider, model=args.model, base_url=args.base_url,
                       stream=False, starter_skills=not args.no_starter_skills, store=args.store,
                       member=args.member)
        if args.command == "status":
            print(json.dumps(engine.status(), indent=2))
            return 0
        if args.command == "finetune":
            from .finetune import summary

            card = engine.finetune(args.name, steps=args.steps, base=args.base, evaluate=args.evaluate)
            print(summary(card, args.name))
            return 0
        from .providers import CallOptions

        call = CallOptions.of(args.temperature, args.max_tokens, args.model_parameters)
        result = engine.run(" ".join(args.request), execute=not args.no_exec, call=call, answer_as=args.format)
    except LLMOSError as exc:
        print(f"llmos: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    elif args.format == "code" and result.code:
        print(result.code)  # the program alone, to redirect into a file
    else:
        from .render import metadata_line, text_histogram

        print(result.response.strip())
        if result.output:
            print("\n--- output ---\n" + result.output.rstrip())
        if result.error:
            print("\n--- error ---\n" + result.error.rstrip(), file=sys.stderr)
        if result.notice:
            print("\n" + result.notice)
        if result.counts:
            print("\n" + text_histogram(result.counts))
        print("\n" + metadata_line(result))
    return 1 if result.error else 0


def _migrate(args) -> int:
    from .memory.migrate import migrate
    from .texttable import text_table

    moved = migrate(args.src, args.dst, Settings(member=args.member).who())
    print(text_table(("table", "copied", "already there"), [(m.table, m.copied, m.present) for m in moved],
                     right=(1, 2)))
    print(f"\nEvery copied record was read back from the destination and matched; {sum(m.copied for m in moved)} "
          "records copied.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
