"""The prompts sent to models. Kept short: every token here is billed on every LEARNER call."""
import ast
import re

# What a user would send without LLMOS: the yardstick for tokens saved (pipeline/baseline.py).
LEAN_SYSTEM = "You are a helpful assistant that writes Qiskit programs."

# LEARNER's instruction, sent in parts as the request needs them (issue #24: a LEARNER call should cost little
# more than the user's own call). The core goes on every call; the sampling recipe only to requests that run
# a circuit for counts; the file rule only to requests that save something.
LEARNER_CORE = ("Reply with one complete, runnable Qiskit 2.x program in a ```python block that ends with what is "
                "asked (a value, circuit, plot, or a function with the named signature); prose: two sentences at most.")
LEARNER_SAMPLING = ("No execute(): from qiskit_aer import AerSimulator; sim = AerSimulator(); "
                    "sim.run(transpile(qc, sim), shots=N).result().get_counts(); print the counts. "
                    "Shots as named, else 1024.")
LEARNER_FILES = ("To save a file, write it by relative path in the working folder (data, images, .qpy); never "
                 "code, notebooks, dotfiles or the user's own files.")
LEARNER_SYSTEM = "\n".join((LEARNER_CORE, LEARNER_SAMPLING, LEARNER_FILES))  # everything, for reference

# A request that names a result other than counts does not need the sampling recipe. A wrong guess costs
# nothing but tokens: the answer is still run and verified.
_OTHER_RESULT = re.compile(
    r"state\s*vector|amplitudes|\boperator\b|\bunitary\b|\bmatrix\b|\bfunction\b|\bdef\b|qasm|transpil|"
    r"\bcompile|noise\s*model|expectation|estimator|sampler|eigen|density|\bdepth\b|parameters|\benergy\b|"
    r"\bexport|serializ|\bplot\b|\bdraw\b", re.IGNORECASE)
_SAMPLING = re.compile(r"\bmeasur|\bshots?\b|\bcounts?\b|\bsampl|\bsimulat|\bhistogram|\bexecute\b",
                       re.IGNORECASE)
_FILES = re.compile(r"\b(?:save|saves|saved|saving|file|files|disk|folder)\b|\b\w+\.(?:qpy|png|jpe?g|svg|pdf|"
                    r"csv|json|txt|npy|npz|qasm|pkl|h5|dat)\b", re.IGNORECASE)

# MIXED shows a verified program without its imports and asks for the lines to change: an edit is a fraction
# of the program's tokens. pipeline/ask.py applies it (finetune/prompt.py's format) and puts the imports back.
MIXED_SYSTEM = ("Adapt the verified example to the new request: reply with a ```diff of the lines to change "
                "(@@ hunks; ' kept', '-removed', '+added') or a whole ```python program.")


PLANNER_SYSTEM = """\
You plan quantum-programming work inside a Jupyter notebook. Split the user's task into the stages that \
must run one after another, each needing its own program (e.g. compute energies at several bond lengths, \
then plot them). Call the plan tool with the steps in order, each a self-contained request. A task that \
one program can do is one step."""


def mixed_system(example_request: str, example_code: str) -> str:
    body = shown_example(example_code, example_request)[1]
    return f"{MIXED_SYSTEM}\nWorked example: {example_request}\n```python\n{body}\n```"


ELIDED = '"…"'  # a long string the example's request already carries, as MIXED shows it
_IMPORT_LINE = re.compile(r"(?:import|from)\s+[\w.]+(?:\s+import\s+[^(\\]*)?(?:\s+as\s+\w+)?\s*$")  # one line
_LONG_STRING = re.compile(r"'(?:[^'\\]|\\.){40,}'|\"(?:[^\"\\]|\\.){40,}\"")


def shown_example(code: str, request: str = "") -> tuple[str, str, dict[str, str]]:
    """What MIXED shows of a verified program: (the imports at its top, the rest without blank lines and
    comments, {shown line: program line}). The model sees the rest, and in it a long string that the
    example's request carries (a QASM source pasted into the request) as "…": the new request carries its
    own. An edit of the shown rest gets the imports back (a new import is an added line), and every line it
    leaves with an elided string its original text (`restore`)."""
    lines = lean_code(code).splitlines()
    k = 0
    while k < len(lines) and _IMPORT_LINE.match(lines[k]):
        k += 1
    body, originals = [], {}
    said = " ".join(request.split())
    for line in lines[k:]:
        shown = line
        for literal in _LONG_STRING.findall(line):
            try:
                text = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                continue
            if isinstance(text, str) and " ".join(text.split()) in said:
                shown = shown.replace(literal, ELIDED)
        if shown != line:
            originals[shown] = line
        body.append(shown)
    return "\n".join(lines[:k]), "\n".join(body), originals


def restore(program: str, originals: dict[str, str]) -> str:
    """An edited example with the strings it was shown elided put back where the edit left their lines."""
    return "\n".join(originals.get(line, line) for line in program.splitlines()) + "\n"


def lean_code(code: str) -> str:
    """A program without its blank lines and comments: what a model needs of a worked example."""
    kept = []
    for line in code.splitlines():
        if line.lstrip().startswith("#"):
            continue
        code_part = line.partition("  #")[0]
        if code_part != line and code_part.count("'") % 2 == 0 and code_part.count('"') % 2 == 0:
            line = code_part.rstrip()  # a trailing comment: its quotes are balanced before it, so not in a string
        if line.strip():
            kept.append(line)
    return "\n".join(kept)


def learner_system(facts: list[str], request: str = "") -> str:
    """The LEARNER instruction for `request`: the core, the sampling recipe when the request runs a circuit
    for counts (it names sampling, or no other kind of result), the file rule when it saves, and `facts`."""
    parts = [LEARNER_CORE]
    if _SAMPLING.search(request) or not _OTHER_RESULT.search(request):
        parts.append(LEARNER_SAMPLING)
    if _FILES.search(request):
        parts.append(LEARNER_FILES)
    if facts:
        parts.append("Notes:\n" + "\n".join(f"- {f}" for f in facts))
    return "\n".join(parts)


def with_context(system: str, context: list[tuple[str, str]]) -> str:
    """A step of a multi-step task: the earlier steps' code already ran in the same session."""
    if not context:
        return system
    earlier = "\n\n".join(f"# step: {step}\n{code.rstrip()}" for step, code in context)
    return (f"{system}\n\nThis request is one step of a larger task. Earlier steps already ran in the same "
            f"Python session, so their variables exist; write only this step's code.\n```python\n{earlier}\n```")
