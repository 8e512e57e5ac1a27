"""The terminal report: verdict and causes first, then evidence, locations and the fix."""
from __future__ import annotations

import textwrap

from ..diagnosis import Diagnosis

_C = {"red": "\033[31m", "green": "\033[32m", "yellow": "\033[33m", "bold": "\033[1m", "dim": "\033[2m",
      "cyan": "\033[36m", "reset": "\033[0m"}


def render(d: Diagnosis, color: bool = False) -> str:
    def c(name: str, text: str) -> str:
        return f"{_C[name]}{text}{_C['reset']}" if color else text

    out: list[str] = []
    rec = d.recording
    title = "trainmedic diagnosis"
    out.append(c("bold", title))
    if d.status == "healthy":
        out.append(c("green", "HEALTHY") + " - no root cause found: the set-up looks able to learn.")
    elif d.status == "error":
        out.append(c("red", "ERROR") + f" - {d.error or 'the diagnosis could not be completed'}")
    else:
        n = len(d.causes)
        out.append(c("red", "UNHEALTHY") + f" - {n} likely root cause{'s' if n != 1 else ''}, most likely first.")
    out.append("")
    for i, cause in enumerate(d.causes, 1):
        out.append(c("bold", f"{i}. [{cause.id}] {cause.title}") + c("dim", f"  (score {cause.score:.2f})"))
        msgs = [f for f in d.findings if f.code in cause.findings]
        for f in msgs[:3]:
            out.extend(_wrap(f"{f.message}  [{f.code} {f.name}]", "   "))
        for e in cause.evidence[:6]:
            out.extend(_wrap("- " + str(e), "     ", first="   "))
        for loc in cause.locations[:3]:
            code = f"    {loc.code}" if loc.code else ""
            out.append("   " + c("cyan", f"at {loc.file}:{loc.line}") + code)
        fix = cause.fix
        badge = {True: c("green", "verified"), False: c("yellow", "not verified: trial did not help"),
                 None: c("dim", "not tried")}[fix.verified]
        out.extend(_wrap(f"fix ({badge}): {fix.summary}", "     ", first="   "))
        if fix.trial is not None:
            t = fix.trial
            out.append("     " + c("dim", f"trial: {t.fix}: {t.margin}"))
        if fix.diff:
            for line in fix.diff.splitlines():
                out.append("     " + (c("red", line) if line.startswith("-") else c("green", line)
                                      if line.startswith("+") else line))
        out.append("")
    if d.notes:
        out.append(c("bold", "Notes"))
        for f in d.notes:
            out.extend(_wrap(f"- {f.message}  [{f.code}]", "  ", first=""))
        out.append("")
    other = [f for f in d.findings if not any(f.code in cz.findings for cz in d.causes)]
    if other:
        out.append(c("bold", "Other observations (below the reporting threshold)"))
        for f in other[:8]:
            out.extend(_wrap(f"- {f.message}  [{f.code}, {f.confidence:.2f}]", "  ", first=""))
        out.append("")
    if rec.warnings:
        out.append(c("yellow", "trainmedic warnings (its own problems, not yours)"))
        for w in rec.warnings[:10]:
            out.extend(_wrap(f"- {w}", "  ", first=""))
        out.append("")
    timing = []
    if rec.diagnosed_at_s is not None:
        timing.append(f"diagnosed after {rec.diagnosed_at_s:.1f} s")
    if d.total_s is not None:
        timing.append(f"total {d.total_s:.1f} s")
    if timing:
        out.append(c("dim", ", ".join(timing)))
    return "\n".join(out).rstrip() + "\n"


def _wrap(text: str, indent: str, first: str | None = None) -> list[str]:
    first = indent if first is None else first
    return textwrap.wrap(text, width=100, initial_indent=first, subsequent_indent=indent) or [first]
