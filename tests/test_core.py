"""The taxonomy, the rule registry and docs, the engine's isolation and ranking, the JSON contract."""
from __future__ import annotations

import json

import pytest

import trainmedic
from trainmedic import CAUSE_IDS, Evidence, Finding, Recording
from trainmedic.engine import judge
from trainmedic.rules.registry import SECTIONS, _REGISTRY, rule

EXPECTED_IDS = ("loss-mismatch output-activation-mismatch output-units-mismatch label-encoding unnormalized-input "
                "lr-too-high lr-too-low too-few-updates bad-init dying-relu saturated-activation vanishing-gradient "
                "exploding-gradient missing-hidden-activation data-label-misalignment class-imbalance overfitting "
                "wrong-metric train-eval-mismatch validation-leak numerical-instability frozen-parameters "
                "missing-zero-grad batch-size over-regularization insufficient-capacity").split()


def test_cause_ids_are_the_public_contract():
    assert list(CAUSE_IDS) == EXPECTED_IDS
    for c in trainmedic.CAUSES.values():
        assert c.title and len(c.why) > 40 and c.fixes


def test_every_rule_is_documented_and_names_known_causes():
    rules = trainmedic.all_rules()
    assert len(rules) >= 20
    codes = [r.code for r in rules]
    assert len(codes) == len(set(codes))
    for r in rules:
        assert all(s in r.doc and r.doc[s].strip() for s in SECTIONS), r.code
        assert set(r.causes) <= set(CAUSE_IDS)
        assert r.name == r.name.lower() and " " not in r.name


def _temporary_rule(code, func):
    rule(code, f"test-{code.lower()}", ["bad-init"], "static")(func)
    return code


def test_a_rule_that_raises_is_isolated():
    def broken(rec):
        """
        What it detects:
        x
        Why training fails:
        x
        Evidence:
        x
        Fix:
        x
        Example:
        x
        """
        raise RuntimeError("boom")

    code = _temporary_rule("TM999", broken)
    try:
        rec = Recording()
        d = judge(rec)
        assert d.status == "healthy"
        assert any("TM999" in w and "boom" in w for w in rec.warnings)
    finally:
        _REGISTRY.pop(code)


def test_ranking_and_json_contract():
    def two(rec):
        """
        What it detects:
        x
        Why training fails:
        x
        Evidence:
        x
        Fix:
        x
        Example:
        x
        """
        yield Finding("strong", cause="bad-init", confidence=0.9, evidence=[Evidence("w std", 0.0, 0.05)])
        yield Finding("weak", cause="dying-relu", confidence=0.3)
        yield Finding("note", cause="wrong-metric", severity="info", confidence=0.9)

    code = _temporary_rule("TM998", two)
    try:
        d = judge(Recording())
        data = json.loads(d.to_json())
        assert data["schema_version"] == 1 and data["status"] == "unhealthy"
        assert [c["id"] for c in data["causes"]] == ["bad-init"]  # weak ones and notes are not causes
        c = data["causes"][0]
        assert set(c) >= {"id", "title", "score", "evidence", "locations", "fix", "findings"}
        assert set(c["fix"]) >= {"summary", "verified", "trial"}
        assert 0 <= c["score"] <= 1 and c["findings"] == ["TM998"]
        assert {"code", "name", "severity", "message", "evidence", "locations"} <= set(data["findings"][0])
        assert set(data["timing"]) == {"diagnosed_at_s", "total_s", "trials_s"}
    finally:
        _REGISTRY.pop(code)


def test_recording_round_trip(tmp_path):
    rec = Recording()
    rec.record("loss", 0, 0.7)
    rec.record("loss", 1, float("nan"))
    rec.experiments["initial"] = {"loss": 1.0}
    rec.save(tmp_path)
    back = Recording.load(tmp_path)
    assert back.signals["loss"].steps == [0, 1]
    assert back.signals["loss"].values[0] == 0.7 and back.signals["loss"].values[1] != back.signals["loss"].values[1]
    assert back.experiments["initial"]["loss"] == 1.0


@pytest.mark.parametrize("cmd", [["causes"], ["rules"], ["rule", "TM101"]])
def test_listing_commands(cmd, capsys):
    from trainmedic.cli.main import main

    assert main(cmd) == 0
    out = capsys.readouterr().out
    assert ("loss-mismatch" in out) or ("TM101" in out)
