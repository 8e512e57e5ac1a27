"""Score trainmedic on the case corpus: run ``trainmedic run --json`` on every buggy, fixed and healthy program.

Usage::

    python benchmarks/score.py                 # the whole corpus, two programs at a time
    python benchmarks/score.py --cases so-45378493 healthy-sgd-momentum
    python benchmarks/score.py --smoke         # the small CI subset

Prints a table (detected, top-1, top-3, fault line located, fix verified, false alarms, time to diagnosis)
overall, by cause and by framework; saves ``benchmarks/results/score-<stamp>.json`` and ``latest.json`` /
``latest.md``.
"""
from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CASES = ROOT / "cases"
RESULTS = ROOT / "results"
SMOKE = ["seed-004-dense2-no-softmax-cce", "mut-lr-too-high-adam", "torch-missing-zero-grad",
         "healthy-sgd-lr0.1-momentum"]
VERIFY = RESULTS / "verify.json"


def statement_spans(path: Path) -> list[tuple[int, int]]:
    """(first, last) line of every simple statement in a file: a located line anywhere in a statement counts."""
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError:
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While,
                                                                ast.If, ast.With, ast.Try, ast.AsyncFunctionDef)):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def fault_spans(path: Path, lines: list[int]) -> list[tuple[int, int]]:
    spans = statement_spans(path)
    out = []
    for ln in lines:
        containing = [s for s in spans if s[0] <= ln <= s[1]]
        out.append(min(containing, key=lambda s: s[1] - s[0]) if containing else (ln, ln))
    return out


def run_program(program: Path, timeout: float, extra_env: dict) -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    env.update(extra_env)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "trainmedic", "run", "--json", str(out), "--quiet", "--no-save",
               "--stop-when-diagnosed", program.name]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=program.parent, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": "timeout", "seconds": timeout}
        seconds = time.perf_counter() - start
        report = json.loads(out.read_text()) if out.exists() else None
    return {"exit": proc.returncode, "seconds": round(seconds, 2), "report": report,
            "stderr_tail": proc.stderr[-1500:] if report is None or proc.returncode >= 2 else ""}


def judge_buggy(case: dict, folder: Path, r: dict) -> dict:
    rep = r.get("report") or {}
    causes = rep.get("causes") or []
    ids = [c["id"] for c in causes]
    primary = case["causes"][0] if case["causes"] else None
    ok_top1 = {primary, *case.get("accept", [])}
    ok_top3 = set(case["causes"]) | set(case.get("accept", []))
    lines = list(case.get("fault_lines", []))
    if ids and ids[0] != primary:  # an accepted alternative is fixed where its own lines say, when the case says
        lines += case.get("accept_lines", {}).get(ids[0], [])
    spans = fault_spans(folder / "buggy.py", lines)
    located = False
    if causes:
        for loc in causes[0].get("locations", []):
            if Path(loc.get("file", "")).name == "buggy.py" and any(a <= loc.get("line", -1) <= b for a, b in spans):
                located = True
    return {
        "detected": rep.get("status") == "unhealthy",
        "top1": bool(ids) and ids[0] in ok_top1,
        "top3": any(i in ok_top3 for i in ids[:3]),
        "located": located,
        "verified": bool(causes) and causes[0].get("fix", {}).get("verified") is True,
        "diagnosed_at_s": (rep.get("timing") or {}).get("diagnosed_at_s"),
        "trials_s": (rep.get("timing") or {}).get("trials_s"),
        "preflight_s": (rep.get("run") or {}).get("preflight_s"),
        "top": ids[:3],
        "status": rep.get("status"),
    }


def load_cases(names: list[str] | None) -> list[tuple[Path, dict]]:
    """The cases to score; a case that ``verify_cases.py`` did not verify (its buggy program shows no symptom
    or its fix does not learn) is left out, and said so."""
    folders = [CASES / n for n in names] if names else sorted(p for p in CASES.iterdir() if (p / "case.json").exists())
    verified = json.loads(VERIFY.read_text()) if VERIFY.exists() else {}
    out = []
    for f in folders:
        if not (verified.get(f.name) or {}).get("verified"):
            print(f"skipped {f.name}: not verified (run benchmarks/verify_cases.py {f.name})", file=sys.stderr)
            continue
        out.append((f, json.loads((f / "case.json").read_text())))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*")
    ap.add_argument("--smoke", action="store_true", help="the small CI subset")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--trial-budget", type=float, default=20.0, help="fix-trial budget per program (s)")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--out", help="also write the rows and summary as JSON to this path")
    args = ap.parse_args(argv)
    cases = load_cases(SMOKE if args.smoke else args.cases)
    jobs = []
    for folder, case in cases:
        if (folder / "healthy.py").exists():
            jobs.append((folder, case, "healthy"))
        else:
            jobs += [(folder, case, "buggy"), (folder, case, "fixed")]
    env = {"TRAINMEDIC_TRIAL_BUDGET_S": str(args.trial_budget)}
    started = time.time()

    def work(job):
        folder, case, kind = job
        r = run_program(folder / f"{kind}.py", args.timeout, env)
        return folder, case, kind, r

    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for folder, case, kind, r in pool.map(work, jobs):
            row = {"id": case["id"], "kind": kind, "framework": case.get("framework"),
                   "cause": case["causes"][0] if case["causes"] else None, "exit": r.get("exit"),
                   "seconds": r.get("seconds"), "error": r.get("error")}
            if kind == "buggy":
                row.update(judge_buggy(case, folder, r))
            else:
                rep = r.get("report") or {}
                row["status"] = rep.get("status")
                row["false_alarm"] = rep.get("status") == "unhealthy"
                row["top"] = [c["id"] for c in rep.get("causes") or []][:3]
                row["verified_fix"] = any(c.get("fix", {}).get("verified") is True for c in rep.get("causes") or [])
            if r.get("stderr_tail"):
                row["stderr_tail"] = r["stderr_tail"]
            rows.append(row)
            mark = _mark(row)
            print(f"{mark:5s} {row['id']:45s} {kind:7s} {row.get('status') or row.get('error')!s:10s} "
                  f"top={row.get('top')} {row['seconds']}s", flush=True)
    summary = summarise(rows)
    summary["wall_s"] = round(time.time() - started, 1)
    summary["commit"] = _commit()
    summary["date"] = dt.date.today().isoformat()
    text = render(summary)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        data = {"summary": summary, "rows": rows}
        name = "smoke" if args.smoke else ("partial" if args.cases else "latest")
        (RESULTS / f"score-{stamp}.json").write_text(json.dumps(data, indent=1))
        (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1))
        (RESULTS / f"{name}.md").write_text(text)
    return 0


def _mark(row: dict) -> str:
    if row["kind"] == "buggy":
        return "ok" if row.get("top1") else ("top3" if row.get("top3") else "MISS")
    return "FA" if row.get("false_alarm") else "ok"


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def summarise(rows: list[dict]) -> dict:
    buggy = [r for r in rows if r["kind"] == "buggy"]
    clean = [r for r in rows if r["kind"] in ("fixed", "healthy")]
    times = [r["diagnosed_at_s"] for r in buggy if r.get("detected") and r.get("diagnosed_at_s") is not None]
    correct = [r for r in buggy if r.get("top1")]
    pre = [r["preflight_s"] for r in buggy if r.get("preflight_s") is not None]
    trials = [r["trials_s"] for r in buggy if r.get("trials_s") is not None]

    def block(rs: list[dict]) -> dict:
        n = len(rs)
        return {"n": n, "detected": sum(bool(r.get("detected")) for r in rs), "top1": sum(bool(r.get("top1")) for r in rs),
                "top3": sum(bool(r.get("top3")) for r in rs), "located": sum(bool(r.get("located")) for r in rs),
                "verified": sum(bool(r.get("verified")) for r in rs)}

    by_cause: dict = {}
    for r in buggy:
        by_cause.setdefault(r["cause"], []).append(r)
    by_fw: dict = {}
    for r in buggy:
        by_fw.setdefault(r["framework"], []).append(r)
    fa_by_fw: dict = {}
    for r in clean:
        fa_by_fw.setdefault(r["framework"], [0, 0])
        fa_by_fw[r["framework"]][0] += bool(r.get("false_alarm"))
        fa_by_fw[r["framework"]][1] += 1
    return {
        "overall": block(buggy),
        "verified_of_correct": [sum(bool(r.get("verified")) for r in correct), len(correct)],
        "false_alarms": {"fixed": [sum(bool(r.get("false_alarm")) for r in clean if r["kind"] == "fixed"),
                                   sum(r["kind"] == "fixed" for r in clean)],
                         "healthy": [sum(bool(r.get("false_alarm")) for r in clean if r["kind"] == "healthy"),
                                     sum(r["kind"] == "healthy" for r in clean)]},
        "healthy_with_verified_fix": sum(bool(r.get("verified_fix")) for r in clean),
        "errors": sum(1 for r in rows if r.get("error") or (r.get("exit") not in (0, 1, 3))),
        "time_to_diagnosis_s": {"median": statistics.median(times) if times else None, "p90": _q(times, 0.9)},
        "preflight_s": {"median": statistics.median(pre) if pre else None, "p90": _q(pre, 0.9)},
        "trials_s": {"median": statistics.median(trials) if trials else None, "p90": _q(trials, 0.9),
                     "n": len(trials)},
        "seconds_per_program": {"median": statistics.median([r["seconds"] for r in rows if r.get("seconds")] or [0])},
        "by_cause": {c: block(rs) for c, rs in sorted(by_cause.items())},
        "by_framework": {f: block(rs) for f, rs in sorted(by_fw.items())},
        "false_alarms_by_framework": fa_by_fw,
    }


def render(s: dict) -> str:
    o = s["overall"]
    n = o["n"]
    fa = s["false_alarms"]
    t = s["time_to_diagnosis_s"]
    lines = [f"trainmedic benchmark - {s.get('date')} - commit {s.get('commit')} - wall {s.get('wall_s')} s", "",
             "| measure | value |", "|---|---|",
             f"| buggy programs | {n} |",
             f"| detected (unhealthy) | {_pct(o['detected'], n)} |",
             f"| top-1 root cause correct | {_pct(o['top1'], n)} |",
             f"| top-3 contains a correct cause | {_pct(o['top3'], n)} |",
             f"| fault line located (top cause) | {_pct(o['located'], n)} |",
             f"| fix verified (top cause) | {_pct(o['verified'], n)} |",
             f"| verified fix among correctly diagnosed | {_pct(*s['verified_of_correct'])} |",
             f"| false alarms on fixed programs | {_pct(*fa['fixed'])} |",
             f"| false alarms on healthy programs | {_pct(*fa['healthy'])} |",
             f"| healthy/fixed programs with a 'verified fix' | {s['healthy_with_verified_fix']} |",
             f"| time to diagnosis from start, median / p90 (s) | {_f(t['median'])} / {_f(t['p90'])} |",
             f"| pre-flight time, median / p90 (s) | {_f(s['preflight_s']['median'])} / {_f(s['preflight_s']['p90'])} |",
             f"| fix-trial time, median / p90 (s) | {_f(s['trials_s']['median'])} / {_f(s['trials_s']['p90'])} |",
             f"| runs that errored or timed out | {s['errors']} |", "",
             "| framework | n | detected | top-1 | top-3 | located | verified |", "|---|---|---|---|---|---|---|"]
    for f, b in s["by_framework"].items():
        lines.append(f"| {f} | {b['n']} | {b['detected']} | {b['top1']} | {b['top3']} | {b['located']} | {b['verified']} |")
    lines += ["", "| primary cause | n | detected | top-1 | top-3 | located | verified |", "|---|---|---|---|---|---|---|"]
    for c, b in s["by_cause"].items():
        lines.append(f"| {c} | {b['n']} | {b['detected']} | {b['top1']} | {b['top3']} | {b['located']} | {b['verified']} |")
    return "\n".join(lines) + "\n"


def _f(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
