"""The diagnosis: ranked causes, findings and timing, renderable as text, JSON or HTML."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from ._serial import to_jsonable
from .findings import CauseReport, Finding
from .recording import Recording

SCHEMA_VERSION = 1
Status = Literal["healthy", "unhealthy", "error"]


@dataclass
class Diagnosis:
    """The result of judging a recording: ``causes`` best first; ``status`` healthy/unhealthy/error."""

    status: Status
    causes: list[CauseReport]
    findings: list[Finding]
    recording: Recording
    notes: list[Finding] = field(default_factory=list)  # info-level findings, never a cause
    error: str | None = None
    total_s: float | None = None
    suspects: list[str] = field(default_factory=list)  # unreported causes a fix trial may prove (then reported)

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    @property
    def top(self) -> CauseReport | None:
        return self.causes[0] if self.causes else None

    def cause_ids(self) -> list[str]:
        return [c.id for c in self.causes]

    def to_dict(self) -> dict:
        rec = self.recording
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "causes": [
                {
                    "id": c.id,
                    "title": c.title,
                    "score": round(c.score, 3),
                    "evidence": [_evidence(e) for e in c.evidence],
                    "locations": [_loc(l) for l in c.locations],
                    "fix": {
                        "summary": c.fix.summary,
                        "verified": c.fix.verified,
                        "trial": to_jsonable(c.fix.trial) if c.fix.trial else None,
                        "diff": c.fix.diff,
                    },
                    "findings": list(c.findings),
                }
                for c in self.causes
            ],
            "findings": [
                {
                    "code": f.code,
                    "name": f.name,
                    "severity": f.severity,
                    "message": f.message,
                    "cause": f.cause,
                    "confidence": round(f.confidence, 3),
                    "evidence": [_evidence(e) for e in f.evidence],
                    "locations": [_loc(l) for l in f.locations],
                }
                for f in self.findings + self.notes
            ],
            "warnings": list(rec.warnings),
            "error": self.error,
            "timing": {"diagnosed_at_s": rec.diagnosed_at_s, "total_s": self.total_s,
                       "trials_s": (rec.experiments.get("trials") or {}).get("seconds")},
            "run": to_jsonable(rec.run),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def render(self, color: bool = False) -> str:
        from .report.terminal import render

        return render(self, color=color)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        from .report.html import render_html

        return render_html(self, standalone=False)


def _evidence(e) -> dict:
    return {"what": e.what, "observed": to_jsonable(e.observed), "expected": to_jsonable(e.expected), "text": str(e)}


def _loc(l) -> dict:
    return {"file": l.file, "line": l.line, "code": l.code}
