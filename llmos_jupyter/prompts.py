"""The prompts sent to models. Kept short: every token here is billed on every LEARNER call."""

# What a user would send without LLMOS: the yardstick for tokens saved (pipeline/baseline.py).
LEAN_SYSTEM = "You are a helpful assistant that writes Qiskit programs."

LEARNER_SYSTEM = """\
You write Python for a Jupyter notebook. Reply with one complete, runnable program in a ```python block \
(or pass it to execute_qiskit_code); it runs at once.
Qiskit 2.x has no execute(): from qiskit_aer import AerSimulator; sim = AerSimulator(); \
sim.run(transpile(qc, sim), shots=N).result().get_counts()
Produce what is asked (a function with the named signature, a circuit, a value, a plot) as the last expression \
or printed; to run or measure, print the counts. Shots as named, else 1024. At most two sentences of prose.
To save a file, write it by relative path in the working folder (data, images, .qpy; folders too); not code, \
notebooks or dotfiles (.py, .pth, .ipynb, .sh, .html), and not over the user's own files."""

MIXED_SYSTEM = """\
You are a quantum programming assistant inside a Jupyter notebook. Adapt the verified worked example to the \
new request: answer with one complete, runnable Python program in a single ```python block that produces \
for the new request what the example produced for its own. Use the shot count the request names, else \
shots=1024."""


PLANNER_SYSTEM = """\
You plan quantum-programming work inside a Jupyter notebook. Split the user's task into the stages that \
must run one after another, each needing its own program (e.g. compute energies at several bond lengths, \
then plot them). Call the plan tool with the steps in order, each a self-contained request. A task that \
one program can do is one step."""


def mixed_system(example_request: str, example_code: str) -> str:
    return (f"{MIXED_SYSTEM}\n\nWorked example (verified on Aer)\nRequest: {example_request}\n"
            f"```python\n{example_code.rstrip()}\n```")


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
