"""The five user reports in the case corpus (``benchmarks/cases/seed-*``), diagnosed with the public
``trainmedic.diagnose`` before training: each buggy program gets its case's primary cause on top, each fixed
program comes out healthy.

Each program runs as written except that ``Model.fit`` does not train: it records the model, the data and
the arguments (epochs add up over repeated calls, as in a script that calls ``fit(epochs=1)`` in a loop) and
returns an empty History. ``diagnose`` then gets what the user would pass it.
"""
from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import keras
import pytest

import trainmedic

CASES = Path(__file__).resolve().parent.parent / "benchmarks" / "cases"
SEEDS = ["seed-000-face-tagger-sgd-lr", "seed-001-three-class-cnn-raw-pixels", "seed-002-blue-vs-red-raw-pixels",
         "seed-003-42-classes-dense1-bce", "seed-004-dense2-no-softmax-cce"]


def _planned_fit(program: Path, workdir: Path, monkeypatch) -> tuple:
    """Run ``program`` in ``workdir`` with a non-training ``fit``; return (model, x, y, fit arguments)."""
    calls: list = []

    def fit(model, x=None, y=None, **kw):
        if calls and calls[0][0] is model:
            calls[0][3]["epochs"] = calls[0][3].get("epochs", 1) + kw.get("epochs", 1)
        elif not calls:
            calls.append((model, x, y, {k: kw[k] for k in ("batch_size", "class_weight") if k in kw}
                          | {"epochs": kw.get("epochs", 1)}))
        h = keras.callbacks.History()
        h.history = {}
        return h

    monkeypatch.setattr(keras.Model, "fit", fit)
    shutil.copy(program, workdir / program.name)
    monkeypatch.chdir(workdir)
    runpy.run_path(str(workdir / program.name), run_name="__main__")
    monkeypatch.undo()  # diagnose's experiments train copies with the real fit
    assert calls, f"{program} never called fit"
    return calls[0]


@pytest.mark.parametrize("kind", ["buggy", "fixed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_seed_program_preflight(seed, kind, tmp_path, monkeypatch, capsys):
    case = json.loads((CASES / seed / "case.json").read_text())
    model, x, y, kw = _planned_fit(CASES / seed / f"{kind}.py", tmp_path, monkeypatch)
    d = trainmedic.diagnose(model, x, y, **kw)
    capsys.readouterr()  # the program's own output
    if kind == "buggy":
        assert d.causes and d.causes[0].id == case["causes"][0], d.render()
    else:
        assert d.status == "healthy", d.render()
