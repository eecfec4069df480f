"""Checks on what a program produced besides counts: the names it defined (functions with their
signatures), the type of its last expression's value, and whether it drew figures. A trace records them
from its verified runs; a replay must produce the same kinds of results."""
from __future__ import annotations

Results = dict  # {"defined": {name: description}, "value": type name | None, "figures": int}


def recorded(produced: Results) -> Results:
    """What a verified run lets a trace expect of every later run: the functions and classes it defined
    (a loop variable or an intermediate value may come and go with the parameters), its value's type, and
    whether it drew."""
    out: Results = {}
    defined = {k: v for k, v in produced.get("defined", {}).items() if v.startswith("def") or v == "class"}
    if defined:
        out["defined"] = defined
    if produced.get("value"):
        out["value"] = produced["value"]
    if produced.get("figures"):
        out["figures"] = 1  # at least one: how many may depend on the parameters
    return out


def merged(expected: Results, produced: Results) -> Results:
    """Another verified run of the same program: keep only what it agrees with."""
    now = recorded(produced)
    out: Results = {}
    defined = {k: v for k, v in expected.get("defined", {}).items() if now.get("defined", {}).get(k) == v}
    if defined:
        out["defined"] = defined
    if expected.get("value") and expected.get("value") == now.get("value"):
        out["value"] = expected["value"]
    if expected.get("figures") and now.get("figures"):
        out["figures"] = 1
    return out


def failures(expected: Results, produced: Results) -> list[str]:
    """What a run failed to produce of what its trace expects; [] when it matches."""
    problems = []
    have = produced.get("defined", {})
    for name, description in expected.get("defined", {}).items():
        if have.get(name) != description:
            problems.append(f"defines {name} {description}" if name not in have
                            else f"{name} is {have[name]}, not {description}")
    if expected.get("value") and produced.get("value") != expected["value"]:
        problems.append(f"returns a {expected['value']}, got {produced.get('value') or 'nothing'}")
    if expected.get("figures") and not produced.get("figures"):
        problems.append("draws a figure")
    return problems
