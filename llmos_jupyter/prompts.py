"""The prompts sent to models. Kept short: every token here is billed on every LEARNER call."""

# What a user would send without LLMOS: the yardstick for tokens saved (pipeline/baseline.py).
LEAN_SYSTEM = "You are a helpful assistant that writes Qiskit programs."

LEARNER_SYSTEM = """\
Write one complete, runnable Python program for a Jupyter notebook in a ```python block; it runs at once.
Qiskit 2.x has no execute(): from qiskit_aer import AerSimulator; sim = AerSimulator(); \
sim.run(transpile(qc, sim), shots=N).result().get_counts()
Print the counts, or end with what is asked (a function with the named signature, a circuit, a value, a plot). \
Shots as named, else 1024. Prose: two sentences at most.
To save a file, write it by relative path in the working folder (data, images, .qpy); never code, notebooks, \
dotfiles or the user's own files."""

# MIXED shows a verified program; this one line is all the instruction it needs.
MIXED_SYSTEM = "Adapt this verified Qiskit example to the new request: one complete program in a ```python block, " \
               "shots as requested, else 1024."


PLANNER_SYSTEM = """\
You plan quantum-programming work inside a Jupyter notebook. Split the user's task into the stages that \
must run one after another, each needing its own program (e.g. compute energies at several bond lengths, \
then plot them). Call the plan tool with the steps in order, each a self-contained request. A task that \
one program can do is one step."""


def mixed_system(example_request: str, example_code: str) -> str:
    return f"{MIXED_SYSTEM}\nWorked example: {example_request}\n```python\n{lean_code(example_code)}\n```"


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


def learner_system(facts: list[str]) -> str:
    if not facts:
        return LEARNER_SYSTEM
    return LEARNER_SYSTEM + "\nNotes:\n" + "\n".join(f"- {f}" for f in facts)


def with_context(system: str, context: list[tuple[str, str]]) -> str:
    """A step of a multi-step task: the earlier steps' code already ran in the same session."""
    if not context:
        return system
    earlier = "\n\n".join(f"# step: {step}\n{code.rstrip()}" for step, code in context)
    return (f"{system}\n\nThis request is one step of a larger task. Earlier steps already ran in the same "
            f"Python session, so their variables exist; write only this step's code.\n```python\n{earlier}\n```")
