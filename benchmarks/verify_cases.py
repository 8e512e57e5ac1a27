"""Verify that every case of the corpus really shows its symptom and really learns when fixed.

Each case folder ``benchmarks/cases/<id>/`` holds ``case.json`` and either ``buggy.py`` + ``fixed.py``
(a broken program and its minimal fix) or ``healthy.py`` (a correct program that merely looks unusual).
Each program prints, as its last line, ``final <metric>: <value>`` (e.g. ``final accuracy: 0.5000``).
``case.json["expect"]`` states what the programs must show::

    {"metric": "accuracy", "higher_is_better": true, "buggy": 0.6, "fixed": 0.85}

A buggy program must end at or below ``buggy`` (at or above it when ``higher_is_better`` is false) and a
fixed or healthy program at or above ``fixed`` (at or below it when lower is better).
``"buggy_raises": true`` instead means the buggy program is expected to fail with an exception.

``causes`` lists the root cause first (then the others the program has); ``accept`` lists alternatives that
also count as a right top cause; ``fault_lines`` are the lines of ``buggy.py`` to change for the first cause,
and ``accept_lines`` (optional, ``{cause: [lines]}``) where an accepted alternative's own fix goes (scaling the
inputs is done where the data is made or passed, not where the learning rate is set).

Usage: ``python benchmarks/verify_cases.py [CASE_ID ...] [--jobs 2]``; results go to
``benchmarks/results/verify.json`` (merged with earlier results for other cases).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CASES = ROOT / "cases"
RESULTS = ROOT / "results" / "verify.json"
FINAL = re.compile(r"^final ([\w\-]+):\s*([-+0-9.eEnaif]+)\s*$")
REQUIRED = {"id", "source", "framework", "symptom", "causes", "accept", "fault_lines", "fix", "expect"}


def run_program(path: Path, timeout: float = 120.0) -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    env.setdefault("TF_NUM_INTEROP_THREADS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, path.name], cwd=path.parent, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "timeout", "seconds": timeout}
    seconds = time.perf_counter() - start
    value = metric = None
    for line in reversed(proc.stdout.splitlines()):
        m = FINAL.match(line.strip())
        if m:
            metric, value = m.group(1), float(m.group(2))
            break
    return {"returncode": proc.returncode, "metric": metric, "value": value, "seconds": round(seconds, 2),
            "stderr_tail": proc.stderr[-800:] if proc.returncode else ""}


def _passes(value: float | None, bound: float, higher: bool, want_good: bool) -> bool:
    if value is None or math.isnan(value):
        return not want_good  # a NaN metric is a failure to learn
    if want_good:
        return value >= bound if higher else value <= bound
    return value <= bound if higher else value >= bound


def verify_case(folder: Path) -> dict:
    case = json.loads((folder / "case.json").read_text())
    problems = [f"case.json lacks {k}" for k in sorted(REQUIRED - case.keys())]
    exp = case.get("expect", {})
    higher = exp.get("higher_is_better", True)
    out: dict = {"id": case.get("id", folder.name), "problems": problems}
    if (folder / "healthy.py").exists():
        r = run_program(folder / "healthy.py")
        out["healthy"] = r
        if r.get("returncode") != 0 or not _passes(r.get("value"), exp["fixed"], higher, True):
            problems.append(f"healthy program does not learn: {r}")
    else:
        src = (folder / "buggy.py").read_text().splitlines()
        for ln in case.get("fault_lines", []) + [n for ls in case.get("accept_lines", {}).values() for n in ls]:
            if not (1 <= ln <= len(src)) or not src[ln - 1].strip() or src[ln - 1].strip().startswith("#"):
                problems.append(f"fault line {ln} is not a code line of buggy.py")
        b = run_program(folder / "buggy.py")
        f = run_program(folder / "fixed.py")
        out["buggy"], out["fixed"] = b, f
        if exp.get("buggy_raises"):
            if b.get("returncode") == 0:
                problems.append("buggy program was expected to raise but exited 0")
        elif b.get("returncode") != 0 or not _passes(b.get("value"), exp["buggy"], higher, False):
            problems.append(f"buggy program does not show its symptom: {b}")
        if f.get("returncode") != 0 or not _passes(f.get("value"), exp["fixed"], higher, True):
            problems.append(f"fixed program does not learn: {f}")
    out["verified"] = not problems
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    folders = [CASES / c for c in args.cases] if args.cases else sorted(p for p in CASES.iterdir() if (p / "case.json").exists())
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(verify_case, folders))
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for r in results:
        previous[r["id"]] = r
        status = "ok " if r["verified"] else "BAD"
        times = " ".join(f"{k}={r[k].get('value')}({r[k].get('seconds')}s)" for k in ("buggy", "fixed", "healthy") if k in r)
        print(f"{status} {r['id']:45s} {times}")
        for p in r["problems"]:
            print(f"      - {p}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(sorted(previous.items())), indent=1) + "\n")
    bad = sum(not r["verified"] for r in results)
    print(f"{len(results) - bad} verified, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
