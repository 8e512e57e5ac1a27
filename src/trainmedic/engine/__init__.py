"""The engine: run every rule on a recording (a failing rule is isolated), rank findings into causes."""
from __future__ import annotations

import time
import traceback
from collections import defaultdict
from dataclasses import replace
from typing import Iterable

from ..causes import CAUSES, OUTPUT_LOSS_CAUSES
from ..diagnosis import Diagnosis
from ..findings import CauseReport, Evidence, Finding, FixReport
from ..recording import Recording
from ..rules import all_rules
from ..rules._facts import training_learned

REPORT_THRESHOLD = 0.5  # a cause is reported (and the run unhealthy) from this score on
SECONDARY_WEIGHT = 0.4  # how much a finding supports the causes in its ``also``
# rules whose learning-rate reading an output/loss cause explains away: the training-loss curve (the loss is
# computed on outputs that cannot fit the target) and the first update's size (the gradient of a mismatched
# output and loss is not the network's usual one)
LOSS_CURVE_RULES = frozenset({"TM209", "TM301", "TM303", "TM304", "TM315"})

# A root cause explains these mechanisms: when both are found, the root ranks above the mechanism.
EXPLAINS: dict[str, tuple[str, ...]] = {
    "unnormalized-input": ("dying-relu", "saturated-activation", "exploding-gradient", "vanishing-gradient",
                           "numerical-instability", "lr-too-high", "lr-too-low"),
    "lr-too-high": ("dying-relu", "exploding-gradient", "numerical-instability"),
    "bad-init": ("dying-relu", "saturated-activation", "vanishing-gradient", "exploding-gradient"),
    "output-units-mismatch": ("loss-mismatch", "wrong-metric", "label-encoding"),
    "output-activation-mismatch": ("numerical-instability", "dying-relu", "saturated-activation"),
    "loss-mismatch": ("wrong-metric",),
    "missing-zero-grad": ("exploding-gradient", "lr-too-high", "numerical-instability"),
    "data-label-misalignment": ("overfitting",),
    "validation-leak": ("overfitting",),
    "frozen-parameters": ("lr-too-low", "too-few-updates"),
    "over-regularization": ("insufficient-capacity",),
}


def run_rules(recording: Recording, select: Iterable[str] | None = None,
              ignore: Iterable[str] | None = None) -> list[Finding]:
    """Run the selected rules; a rule that raises becomes a warning in ``recording.warnings``."""
    select = set(select or ())
    ignore = set(ignore or ())
    findings: list[Finding] = []
    for r in all_rules():
        if select and not _matches(r.code, r.name, select):
            continue
        if _matches(r.code, r.name, ignore):
            continue
        try:
            for f in r(recording):
                findings.append(replace(f, code=r.code, name=r.name))
        except Exception as e:  # isolation: one broken rule never breaks the diagnosis
            tb = traceback.extract_tb(e.__traceback__)[-1]
            recording.warn(f"rule {r.code} ({r.name}) failed: {type(e).__name__}: {e} "
                           f"[{tb.filename.rsplit('/', 1)[-1]}:{tb.lineno}]")
    return findings


def _matches(code: str, name: str, patterns: set[str]) -> bool:
    return any(code.startswith(p) or name == p for p in patterns)


def rank(findings: list[Finding], recording: Recording) -> list[CauseReport]:
    """Group findings by cause, score each cause, let fix trials and root causes reorder them."""
    support: dict[str, list[float]] = defaultdict(list)
    by_cause: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.severity == "info" or not f.cause:
            continue
        support[f.cause].append(f.confidence)
        by_cause[f.cause].append(f)
        for a in f.also:
            support[a].append(f.confidence * SECONDARY_WEIGHT)
            by_cause.setdefault(a, [])
    scores = {c: 1.0 - _prod(1.0 - min(max(x, 0.0), 0.99) for x in xs) for c, xs in support.items()}
    learned = training_learned(recording)
    if learned is not None and learned[0]:
        # the run learned: readings each below the bar (suspicions the run refuted) do not add up to a cause
        for c, xs in support.items():
            if max(xs) < REPORT_THRESHOLD:
                scores[c] = min(scores[c], REPORT_THRESHOLD - 0.01)
    trials = {t.cause: t for t in recording.trials}
    for c, t in trials.items():
        if c in scores and t.verified is True:
            scores[c] = 1.0 - (1.0 - scores[c]) * 0.5
        elif c in scores and t.verified is False:
            scores[c] *= 0.7
    for root, mechanisms in EXPLAINS.items():
        if scores.get(root, 0.0) >= REPORT_THRESHOLD:
            for m in mechanisms:
                if scores.get(m, 0.0) >= scores[root]:
                    scores[root] = min(1.0, scores[m] + 0.005)
                    if scores[m] >= scores[root]:  # both at the top of the scale: the mechanism steps back
                        scores[m] = scores[root] - 0.005
    _explain_away_curves(scores, by_cause, trials)
    reports = []
    for c, score in scores.items():
        if score < REPORT_THRESHOLD or c not in CAUSES:
            continue
        own = sorted(by_cause.get(c, []), key=lambda f: -f.confidence)
        helpers = [f for f in findings if c in f.also and f.severity != "info"]
        fs = own + helpers
        evidence: list[Evidence] = []
        locations = []
        for f in fs:
            for e in f.evidence:
                if all(str(e) != str(x) for x in evidence):
                    evidence.append(e)
            for loc in f.locations:
                if all((loc.file, loc.line) != (x.file, x.line) for x in locations):
                    locations.append(loc)
        info = CAUSES[c]
        fix_text = next((f.fix for f in own if f.fix), None) or info.fixes[0]
        t = trials.get(c)
        reports.append(CauseReport(
            id=c, title=info.title, score=score, evidence=evidence, locations=locations,
            fix=FixReport(summary=fix_text, verified=t.verified if t else None, trial=t,
                          diff=(t.note or None) if t else None),
            findings=list(dict.fromkeys(f.code for f in fs)), why=info.why))
    strongest = {c: max((f.confidence for f in fs), default=0.0) for c, fs in by_cause.items()}
    reports.sort(key=lambda r: (-r.score, -strongest.get(r.id, 0.0), r.id))  # a tie: its own strongest finding
    return reports


def _explain_away_curves(scores: dict, by_cause: dict, trials: dict) -> None:
    """A learning-rate cause seen only in the loss curve ranks below an output/loss cause: not reported
    (unless a fix trial verified it). The diverging or flat loss is what the broken output makes of it."""
    blocking = max((scores[c] for c in OUTPUT_LOSS_CAUSES if scores.get(c, 0.0) >= REPORT_THRESHOLD), default=None)
    if blocking is None:
        return
    for c in ("lr-too-high", "lr-too-low"):
        own = by_cause.get(c, [])
        t = trials.get(c)
        if c in scores and scores[c] <= blocking and own and all(f.code in LOSS_CURVE_RULES for f in own) \
                and not (t is not None and t.verified is True):
            scores[c] = min(scores[c], REPORT_THRESHOLD - 0.01)


def _prod(xs: Iterable[float]) -> float:
    p = 1.0
    for x in xs:
        p *= x
    return p


def judge(recording: Recording, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
          error: str | None = None) -> Diagnosis:
    """Judge a recording: run the rules, rank the causes, return the :class:`Diagnosis`."""
    findings = run_rules(recording, select, ignore)
    causes = rank(findings, recording)
    main = [f for f in findings if f.severity != "info"]
    notes = [f for f in findings if f.severity == "info"]
    main.sort(key=lambda f: (-f.confidence, f.code))
    if error and not causes:
        status = "error"
    else:
        status = "unhealthy" if causes else "healthy"
    if causes and recording.diagnosed_at_s is None:
        recording.diagnosed_at_s = round(time.time() - recording.started_at, 3)
    return Diagnosis(status=status, causes=causes, findings=main, notes=notes, recording=recording, error=error,
                     total_s=round(time.time() - recording.started_at, 3), suspects=_suspects(main, causes))


def _suspects(findings: list[Finding], causes: list[CauseReport]) -> list[str]:
    """Causes of findings that only a fix trial can settle (``proved_by_trial`` rules), not yet reported."""
    from ..rules import get_rule

    reported = {c.id for c in causes}
    out: list[str] = []
    for f in findings:
        if not f.cause or f.cause in reported or f.cause in out:
            continue
        try:
            if getattr(get_rule(f.code).func, "proved_by_trial", False):
                out.append(f.cause)
        except KeyError:
            continue
    return out


CONFIDENT = 0.8  # a cause this sure (and measured, see ``stopping_cause``) may end a training early
EVIDENCE_PHASES = ("dynamic", "experiment", "wiring")


def stopping_cause(diagnosis: Diagnosis, halt_on: Iterable[str] | None = None) -> CauseReport | None:
    """The cause that justifies ending a training early, if any: a score of at least :data:`CONFIDENT`
    backed by something measured (a finding of a dynamic, wiring or pre-flight experiment rule that names the
    cause with a confidence of at least the reporting threshold), and among ``halt_on``
    when that is given. Static findings alone never stop a run: they are known before it starts; nor do
    experiment findings about the state at initialisation that the training itself may refute
    (``suspicion`` rules such as an unusual initial loss)."""
    from ..rules import get_rule

    wanted = set(halt_on or ())
    for c in diagnosis.causes:
        if c.score < CONFIDENT or (wanted and c.id not in wanted):
            continue
        # the measured finding must carry the cause itself, not just lean on it (a weak reading such as
        # "part of a layer is dead, units remain" plus set-up suspicions is no reason to end a run)
        measured = {f.code for f in diagnosis.findings
                    if f.cause == c.id and f.confidence >= REPORT_THRESHOLD}
        for code in c.findings:
            if code not in measured:
                continue
            try:
                r = get_rule(code)
            except KeyError:
                continue
            if r.phase in EVIDENCE_PHASES and not getattr(r.func, "suspicion", False):
                return c
    return None
