"""Starter skills as traces: verified, parameterized, and free to rebind every parameter."""
from __future__ import annotations

from ..text.normalize import normalize
from ..prompts import LEAN_SYSTEM
from ..tokencount import count_tokens
from .templates import shape_of
from .traces import STARTER, Trace, TraceStore

PREFIX = "starter-"


def _trace(skill) -> tuple[Trace, list]:
    first = normalize(skill.phrases[0])
    defaults = {p.placeholder: p.default for p in skill.params}
    # What asking the LLM would have cost: the lean LEARNER prompt plus the request, and the program back.
    baseline = count_tokens(LEAN_SYSTEM) + count_tokens(skill.phrases[0]) + count_tokens(skill.code) + 20
    trace = Trace(
        id=PREFIX + skill.name, origin="starter", title=skill.title, request=skill.phrases[0],
        template=first.template, signature=first.signature, code=skill.code,
        bound=tuple(sorted(defaults)), shape=shape_of(skill.code), generalized=tuple(sorted(defaults)),
        defaults=defaults, examples=[defaults], checks=tuple(skill.checks), baseline_tokens=baseline)
    aliases = []
    for phrase in skill.phrases:
        n = normalize(phrase)
        aliases.append((n.key, n.terms))
    return trace, list(dict.fromkeys(aliases))


def seed_starter_skills(traces: TraceStore) -> int:
    """Add the starter skills missing from this home; the ones already there (and their use counts) stay."""
    from .starter_skills import SKILLS

    present = {r[0] for r in traces.store.query("SELECT id FROM traces WHERE origin = 'starter'")}
    missing = [_trace(s) for s in SKILLS if PREFIX + s.name not in present]
    for trace, _ in missing:
        trace.verified_by = STARTER
    return traces.add_many(missing) if missing else 0


def skill_limits(trace: Trace):
    from .starter_skills import skill

    s = skill(trace.id[len(PREFIX):])
    names = {p.placeholder: p.name for p in s.params}

    def check(values: dict) -> str | None:
        try:
            s.values(**{names[k]: v for k, v in values.items() if k in names})
        except ValueError as exc:
            return str(exc)
        return None

    return check


def skill_param_names(trace: Trace) -> dict[str, str]:
    from .starter_skills import skill

    return {p.placeholder: p.name for p in skill(trace.id[len(PREFIX):]).params}
