"""What %%llmos and %llmos take: one parsed, frozen model per subcommand (as jupyter-ai's parsers.py has), so
each handler in magics.py reads fields instead of words. No Jupyter import: a bad line raises `MagicUsage`,
which the magic shows as IPython's UsageError."""
from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .settings import FINETUNE

USAGE = """\
%%llmos [provider:model | ALIAS] [--provider NAME] [--model NAME] [-f FORMAT] [-m JSON] [--temperature T]
        [--max-tokens N] [--no-exec] [--json] [--no-stream] [--trust] [--plan] [--consensus SPECS]
<your request, e.g. Create a Bell state circuit>

  The cell is one request, whatever its line breaks.
  provider:model (e.g. openai:gpt-5.5) or an alias picks the model for this cell; so do --provider/--model.
  -f/--format code puts the program into a new cell below instead of running it; markdown, text, html, math
  and json ask for a prose answer in that form (nothing runs). Without -f the program runs.
  -m/--model-parameters '{"top_p": 0.9}' JSON passed to the model call; --temperature and --max-tokens too.
  --plan asks the model to split the task into steps; each step runs as a request of its own (ORCHESTRATOR).

  {name} in the request is replaced by the value of `name` in your namespace ({{ and }} for braces);
  {In[3]}, {Out[3]} and {Err[3]} by cell 3's input, output and error; {&fn} offers your function fn to the
  model as a tool (it runs in your kernel with the model's arguments, checked against its signature).
  --trust runs model-written code even if the guard blocks it (this cell only).
  --consensus anthropic:claude-sonnet-5-5,openai:gpt-5.5,local asks several models in parallel and
  weighs their answers (weights, causal graph, consensus answer, tokens and cost per model). Programs are
  each run apart in the sandbox and weighed by what they compute; the chosen one runs in your namespace.
  --synthesize SPEC: who writes a prose consensus (top: the heaviest answer's model; local; none).
  The last result is kept in `_llmos`.

%llmos fix [provider:model] [-f code] [options]  send the last error with its cell; run the corrected program
%llmos alias NAME provider:model [--base-url URL] [--api-key-name VAR]     %llmos unalias NAME
%llmos list [provider]        models the provider serves (asked of its API), and your aliases
%llmos status | providers | config | reset [--ledger] | help | costs [--team]
%llmos budget 50000 | off     a token budget: energy falls as it is spent; at zero only memory answers
%llmos dashboard              live widgets: mode, tokens saved, valence, consensus weights, causal graph
%llmos memory [TEXT] [--team] list learned traces and tools (those matching TEXT; --team: who verified each)
%llmos forget ID|TEXT         forget traces
%llmos export PATH [TEXT]     write memory as JSON lines;  %llmos import PATH  read it
%llmos finetune [--name N] [--steps K] [--base local|MODEL]
                              train a local adapter on the verified traces; serve it with
                              %config LLMOS.tiers = {"T0": "local:N"}
%llmos <request on one line>
Settings: %config LLMOS.provider = 'openai'   (%config LLMOS lists them all with their help)"""

FORMATS = ("code", "markdown", "text", "html", "math", "json")
PROSE = tuple(f for f in FORMATS if f != "code")
HELP_WORDS = ("help", "-h", "--help")  # never sent to a model as a request


class MagicUsage(ValueError):
    """A line the magic cannot take; the message says what to write instead and ends with the usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would call sys.exit
        raise MagicUsage(f"{message}\n\n{USAGE}")


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"is not JSON ({exc.msg} at character {exc.pos}): write an object such as '{{\"top_p\": 0.9}}', "
            "with double quotes, in single quotes on the magic's line. Choose the model with provider:model "
            "or --model") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{{\"top_p\": 0.9}}', not {text!r}")
    return value


def temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number such as 0.2, not {text!r}") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2, not {text}")
    return value


def positive_tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of tokens such as 1024, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of tokens, not {value}")
    return value


# -- the parsed models, one per subcommand -------------------------------------------------------------------


@dataclass(frozen=True)
class CellOptions:
    """The options of a %%llmos cell (and of %llmos fix): which model, how it is called, what to do with the
    answer."""
    model_id: str | None = None  # positional provider:model or an alias
    provider: str | None = None
    model: str | None = None
    model_parameters: dict[str, Any] = field(default_factory=dict, hash=False)
    temperature: float | None = None
    max_tokens: int | None = None
    format: str | None = None  # None: run the program
    no_exec: bool = False
    json: bool = False
    no_stream: bool = False
    trust: bool = False
    plan: bool = False
    consensus: str | None = None
    synthesize: str = "top"
    help: bool = False


@dataclass(frozen=True)
class Ask:
    command: ClassVar[str] = "ask"
    request: str
    options: CellOptions = CellOptions()


@dataclass(frozen=True)
class Fix:
    command: ClassVar[str] = "fix"
    options: CellOptions = CellOptions()


@dataclass(frozen=True)
class Help:
    command: ClassVar[str] = "help"


@dataclass(frozen=True)
class Status:
    command: ClassVar[str] = "status"


@dataclass(frozen=True)
class Providers:
    command: ClassVar[str] = "providers"


@dataclass(frozen=True)
class Config:
    command: ClassVar[str] = "config"
    help: bool = False


@dataclass(frozen=True)
class Reset:
    command: ClassVar[str] = "reset"
    ledger: bool = False


@dataclass(frozen=True)
class Memory:
    command: ClassVar[str] = "memory"
    text: str | None = None
    team: bool = False  # where each skill came from, in a team store (team.py)


@dataclass(frozen=True)
class Forget:
    command: ClassVar[str] = "forget"
    what: str


@dataclass(frozen=True)
class Export:
    command: ClassVar[str] = "export"
    path: str
    text: str | None = None


@dataclass(frozen=True)
class Import:
    command: ClassVar[str] = "import"
    path: str


@dataclass(frozen=True)
class Budget:
    command: ClassVar[str] = "budget"
    value: str | None = None  # a number of tokens, "off", or None to show it


@dataclass(frozen=True)
class Costs:
    command: ClassVar[str] = "costs"
    team: bool = False  # rows per member and the team's total (team.py)


@dataclass(frozen=True)
class Dashboard:
    command: ClassVar[str] = "dashboard"


@dataclass(frozen=True)
class Finetune:
    command: ClassVar[str] = "finetune"
    name: str = FINETUNE.name
    steps: int = FINETUNE.steps
    base: str = FINETUNE.base
    evaluate: int = FINETUNE.evaluate


@dataclass(frozen=True)
class Alias:
    command: ClassVar[str] = "alias"
    name: str
    target: str
    base_url: str | None = None
    api_key_name: str | None = None


@dataclass(frozen=True)
class Unalias:
    command: ClassVar[str] = "unalias"
    name: str


@dataclass(frozen=True)
class List:
    command: ClassVar[str] = "list"
    provider: str | None = None


# -- argparse parsers for the subcommands that take options ---------------------------------------------------


def _cell_options(prog: str) -> _Parser:
    p = _Parser(prog=prog, add_help=False)
    p.add_argument("model_id", nargs="?", metavar="provider:model", help="the model for this cell, or an alias")
    p.add_argument("--provider", "-p", help="the provider for this cell (anthropic, openai, local, ...)")
    p.add_argument("--model", help="the model name for this cell")
    p.add_argument("--model-parameters", "-m", type=json_object, default={}, metavar="JSON",
                   help="JSON object of parameters passed to the model call, e.g. '{\"top_p\": 0.9}'")
    p.add_argument("--temperature", type=temperature, help="sampling temperature for the model call")
    p.add_argument("--max-tokens", type=positive_tokens, help="most output tokens for the model call")
    p.add_argument("--format", "-f", choices=FORMATS,
                   help="code: the program goes into a new cell below; others: a prose answer in that form")
    p.add_argument("--no-exec", action="store_true", help="show the program without running it")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-stream", action="store_true", help="show the reply when it is complete")
    p.add_argument("--trust", action="store_true", help="run the program even if the guard blocks it")
    p.add_argument("--plan", action="store_true", help="split the task into steps, each a request of its own")
    p.add_argument("--consensus", metavar="SPECS", help="ask several models and weigh their answers")
    p.add_argument("--synthesize", metavar="SPEC", default="top", help="who writes a prose consensus")
    p.add_argument("--help", "-h", action="store_true", help="show this usage")
    return p


def cell_parser() -> _Parser:
    return _cell_options("%%llmos")


def _finetune_parser() -> _Parser:
    p = _Parser(prog="%llmos finetune", add_help=False)
    p.add_argument("--name", default=FINETUNE.name)
    p.add_argument("--steps", type=int, default=FINETUNE.steps)
    p.add_argument("--base", default=FINETUNE.base)
    p.add_argument("--evaluate", type=int, default=FINETUNE.evaluate, help="held-out variations to test the adapter on")
    return p


def _alias_parser() -> _Parser:
    p = _Parser(prog="%llmos alias", add_help=False)
    p.add_argument("name")
    p.add_argument("target", metavar="provider:model")
    p.add_argument("--base-url", metavar="URL")
    p.add_argument("--api-key-name", metavar="VAR")
    return p


def _cell_options_of(ns: argparse.Namespace) -> CellOptions:
    return CellOptions(**vars(ns))


def _need(words: list[str], count: int, message: str) -> None:
    if len(words) < count:
        raise MagicUsage(message)


def _line(command: str, words: list[str]):
    if command == "status":
        return Status()
    if command == "providers":
        return Providers()
    if command == "config":
        return Config(help="--help" in words)
    if command == "reset":
        return Reset(ledger="--ledger" in words)
    if command == "memory":
        kept = [w for w in words if w != "--team"]
        return Memory(" ".join(kept) or None, team="--team" in words)
    if command == "forget":
        _need(words, 1, "%llmos forget needs a trace id or text, e.g. %llmos forget ghz")
        return Forget(" ".join(words))
    if command == "export":
        _need(words, 1, "%llmos export needs a file name, e.g. %llmos export skills.jsonl")
        return Export(words[0], " ".join(words[1:]) or None)
    if command == "import":
        if len(words) != 1:
            raise MagicUsage("%llmos import needs one file name, e.g. %llmos import skills.jsonl")
        return Import(words[0])
    if command == "budget":
        return Budget(words[0] if words else None)
    if command == "costs":
        return Costs(team="--team" in words)
    if command == "dashboard":
        return Dashboard()
    if command == "finetune":
        return Finetune(**vars(_finetune_parser().parse_args(words)))
    if command == "fix":
        return Fix(_cell_options_of(_cell_options("%llmos fix").parse_args(words)))
    if command == "alias":
        return Alias(**vars(_alias_parser().parse_args(words)))
    if command == "unalias":
        if len(words) != 1:
            raise MagicUsage("%llmos unalias needs one alias name, e.g. %llmos unalias fast")
        return Unalias(words[0])
    if command == "list":
        if len(words) > 1:
            raise MagicUsage("%llmos list takes at most one provider, e.g. %llmos list openai")
        return List(words[0] if words else None)
    raise AssertionError(command)


SUBCOMMANDS = ("status", "providers", "config", "reset", "help", "memory", "forget", "export", "import", "budget",
               "costs", "dashboard", "finetune", "fix", "alias", "unalias", "list")


def parse(line: str, cell: str | None = None):
    """The model for one use of the magic: a cell is an `Ask`; a line is a subcommand, or a one-line request."""
    if cell is not None:
        return Ask(cell, _cell_options_of(cell_parser().parse_args(_split(line))))
    first = line.split(None, 1)[0] if line.strip() else ""
    if not first or first in HELP_WORDS:
        return Help()
    if first not in SUBCOMMANDS:
        return Ask(line)  # a one-line request: its apostrophes are words, not shell quotes
    return _line(first, _split(line)[1:])


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise MagicUsage(f"The magic's line could not be read ({exc}): close the quote, e.g. "
                         f"-m '{{\"top_p\": 0.9}}'.\n\n{USAGE}") from None
