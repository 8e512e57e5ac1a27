"""Findings, evidence and the diagnosis: what the judge produces from a recording."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .facts import Location

Severity = Literal["error", "warning", "info"]


@dataclass
class Evidence:
    """One measured or read fact behind a finding: what, observed vs expected."""

    what: str
    observed: Any = None
    expected: Any = None

    def __str__(self) -> str:
        text = self.what
        if self.observed is not None:
            text += f": observed {_fmt(self.observed)}"
        if self.expected is not None:
            text += f", expected {_fmt(self.expected)}"
        return text


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v == 0 or 1e-3 <= abs(v) < 1e5:
            return f"{v:.4g}"
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return "[" + ", ".join(_fmt(x) for x in v[:8]) + ", ...]"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


@dataclass
class Finding:
    """What one rule concluded. ``cause`` is the root cause it supports, ``also`` weaker ones."""

    message: str
    cause: str | None = None
    also: list[str] = field(default_factory=list)
    severity: Severity = "warning"
    confidence: float = 0.5
    evidence: list[Evidence] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    fix: str | None = None
    code: str = ""
    name: str = ""


@dataclass
class Trial:
    """A fix tried on a copy of the user's model: the original vs the fix under the same budget."""

    cause: str
    fix: str
    verified: bool | None
    before: dict = field(default_factory=dict)  # {"loss": [...], "metric": [...], "final_metric": x, ...}
    after: dict = field(default_factory=dict)
    margin: str = ""
    seconds: float = 0.0
    note: str = ""


@dataclass
class FixReport:
    summary: str
    verified: bool | None = None
    trial: Trial | None = None
    diff: str | None = None


@dataclass
class CauseReport:
    """A ranked root cause with everything that supports it."""

    id: str
    title: str
    score: float
    evidence: list[Evidence]
    locations: list[Location]
    fix: FixReport
    findings: list[str]
    why: str = ""
