"""The benchmark's smoke subset (benchmarks/score.py --smoke): real corpus programs through `trainmedic run`.
A regression in diagnosis, localisation or false alarms on these cases fails CI; the full corpus is a
separate command (python benchmarks/score.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_cases_diagnosed_right_and_clean_programs_stay_healthy(tmp_path):
    out = tmp_path / "smoke.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "score.py"), "--smoke", "--no-save",
                           "--trial-budget", "10", "--out", str(out)], capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    rows = data["rows"]
    buggy = [r for r in rows if r["kind"] == "buggy"]
    clean = [r for r in rows if r["kind"] != "buggy"]
    assert len(buggy) == 3 and len(clean) == 4, [r["id"] for r in rows]
    for r in buggy:
        assert r["top1"] and r["located"], r
    for r in clean:
        assert not r["false_alarm"] and not r.get("verified_fix"), r
    assert data["summary"]["errors"] == 0
