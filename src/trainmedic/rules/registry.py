"""The rule registry: each rule is metadata plus one pure function from a recording to findings."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from ..causes import CAUSES
from ..findings import Finding
from ..recording import Recording

RuleFunc = Callable[[Recording], Iterable[Finding]]
SECTIONS = ("What it detects", "Why training fails", "Evidence", "Fix", "Example")
PHASES = ("static", "experiment", "dynamic", "wiring")


@dataclass(frozen=True)
class Rule:
    """A documented check. ``func(recording)`` yields :class:`Finding` objects."""

    code: str
    name: str
    causes: tuple[str, ...]
    phase: str
    func: RuleFunc
    doc: dict[str, str]

    def __call__(self, recording: Recording) -> list[Finding]:
        return list(self.func(recording) or ())

    @property
    def summary(self) -> str:
        return self.doc.get("What it detects", "").split("\n")[0]

    def render_doc(self) -> str:
        lines = [f"{self.code} {self.name}", f"causes: {', '.join(self.causes)}   phase: {self.phase}", ""]
        for s in SECTIONS:
            if self.doc.get(s):
                lines += [f"## {s}", self.doc[s], ""]
        return "\n".join(lines).rstrip() + "\n"


_REGISTRY: dict[str, Rule] = {}


def parse_doc(text: str) -> dict[str, str]:
    """Split a rule docstring into its fixed sections (``What it detects:`` ... ``Example:``)."""
    import inspect

    text = inspect.cleandoc(text or "")
    pattern = re.compile(r"^(%s):\s*$" % "|".join(re.escape(s) for s in SECTIONS), re.M)
    parts = pattern.split(text)
    doc: dict[str, str] = {}
    for i in range(1, len(parts) - 1, 2):
        doc[parts[i]] = parts[i + 1].strip("\n").rstrip()
    return doc


def rule(code: str, name: str, causes: Iterable[str], phase: str) -> Callable[[RuleFunc], RuleFunc]:
    """Register ``func`` as a rule. Its docstring must have every section of :data:`SECTIONS`."""
    causes = tuple(causes)

    def deco(func: RuleFunc) -> RuleFunc:
        unknown = [c for c in causes if c not in CAUSES]
        if unknown:
            raise ValueError(f"rule {code}: unknown cause ids {unknown}")
        if phase not in PHASES:
            raise ValueError(f"rule {code}: unknown phase {phase!r}")
        if code in _REGISTRY:
            raise ValueError(f"rule code {code} registered twice")
        doc = parse_doc(func.__doc__ or "")
        missing = [s for s in SECTIONS if s not in doc]
        if missing:
            raise ValueError(f"rule {code} lacks doc sections {missing}")
        _REGISTRY[code] = Rule(code, name, causes, phase, func, doc)
        return func

    return deco


def proved_by_trial(func: RuleFunc) -> RuleFunc:
    """Mark a rule whose findings are suspicions that only a fix trial can settle (put it under ``@rule``).

    Its findings stay below the reporting threshold; their causes are listed in ``Diagnosis.suspects`` and
    tried like reported causes, and a verified trial lifts the cause over the threshold. An expert's "it
    might be the learning rate - try a higher one and see", with the trying done."""
    func.proved_by_trial = True
    return func


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by code."""
    from . import load_builtin_rules

    load_builtin_rules()
    return [_REGISTRY[c] for c in sorted(_REGISTRY)]


def get_rule(code_or_name: str) -> Rule:
    """The rule with this code (a dict lookup: the judge asks for each finding) or name."""
    from . import load_builtin_rules

    load_builtin_rules()
    if code_or_name in _REGISTRY:
        return _REGISTRY[code_or_name]
    for r in all_rules():
        if code_or_name in (r.code, r.name):
            return r
    raise KeyError(f"no rule {code_or_name!r}")
