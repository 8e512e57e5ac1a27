"""Fix trials: every fix kind proven on a tiny real Keras model that really fails, a fix that does not help
reported as not verified, healthy programs never tried, and the user's model left untouched."""
from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from trainmedic import sites
from trainmedic.diagnosis import Diagnosis
from trainmedic.experiments.fixes import CodeEdits, drop_arg, get_arg, set_arg, wrap_arg
from trainmedic.experiments.trials import TrialData, run_trials, verdict
from trainmedic.facts import Location
from trainmedic.findings import CauseReport, FixReport
from trainmedic.recording import Recording

keras = pytest.importorskip("keras")
layers = keras.layers

from trainmedic.preflight import diagnose_keras, preflight_keras  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_sites():
    sites.clear()
    yield
    sites.clear()


RNG = np.random.default_rng(0)


def _binary(n=400, d=8):
    x = RNG.normal(size=(n, d)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("float32")


def _xor(n=400, d=4):
    x = RNG.normal(size=(n, d)).astype("float32")
    return x, (x[:, 0] * x[:, 1] > 0).astype("float32")


def _classes(n=400, d=8, c=3, onehot=True):
    x = RNG.normal(size=(n, d)).astype("float32")
    k = (x @ RNG.normal(size=(d, c))).argmax(axis=1)
    return x, (np.eye(c, dtype="float32")[k] if onehot else k)


def _seq(shape, *ls):
    return keras.Sequential([keras.Input(shape)] + list(ls))


def _diagnose(model, x, y, **kw):
    """The real entry point; pre-flight experiments off to keep the tests fast (the static rules suffice)."""
    kw.setdefault("experiments", False)
    return diagnose_keras(model, x, y, fix_trials=True, batch_size=32, epochs=10, trial_budget_s=60, **kw)


def _verified(d, cause, kind):
    assert cause in d.cause_ids(), d.cause_ids()
    t = next(t for t in d.recording.trials if t.cause == cause)
    assert t.verified is True, (t.fix, t.margin, t.after.get("candidates"))
    assert t.after["kind"] == kind
    assert "verified needs" in t.margin and t.margin.endswith(": verified")
    if not t.before.get("error"):
        better = (t.after["final_metric"] < t.before["final_metric"]) if "mse" in t.after \
            else (t.after["final_metric"] > t.before["final_metric"])
        assert better
    report = next(c for c in d.causes if c.id == cause)
    assert report.fix.verified is True and report.fix.trial is t
    return t


# -- one verified fix per kind ------------------------------------------------------------------------------
def test_softmax_on_one_unit_becomes_sigmoid_with_a_diff_of_the_users_line():
    x, y = _binary()
    out = layers.Dense(1, activation="softmax")
    sites.remember(out, Location("train.py", 12, 'layers.Dense(1, activation="softmax"),'))
    model = _seq((8,), layers.Dense(16, activation="relu"), out)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    d = _diagnose(model, x, y)
    t = _verified(d, "output-activation-mismatch", "output-activation")
    assert "sigmoid" in t.fix
    assert t.before["balanced_accuracy"] == pytest.approx(0.5)  # softmax over one unit: always 1.0
    assert t.note == ('@@ train.py:12 @@\n- layers.Dense(1, activation="softmax"),\n'
                      '+ layers.Dense(1, activation="sigmoid"),')


def test_linear_output_with_categorical_crossentropy_gets_softmax():
    x, y = _classes(c=3)
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(3))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    t = _verified(_diagnose(model, x, y), "output-activation-mismatch", "output-activation")
    assert "softmax" in t.fix


def test_raw_pixel_inputs_get_scaled():
    x = RNG.integers(0, 256, size=(400, 16)).astype("float32")
    y = (x[:, :4].mean(axis=1) > x[:, 4:8].mean(axis=1)).astype("float32")
    sites.remember_event("fit", Location("train.py", 30, "model.fit(x_train, y_train, epochs=10)"))
    model = _seq((16,), layers.Dense(32, activation="tanh"), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    t = _verified(_diagnose(model, x, y), "unnormalized-input", "input-scale")
    assert "+ model.fit(x_train / 255.0, y_train, epochs=10)" in t.note \
        or "+ model.fit((x_train - x_train.mean(axis=0)) / x_train.std(axis=0), y_train, epochs=10)" in t.note


def test_sgd_at_1e6_gets_the_range_test_rate():
    x, y = _classes(c=3, onehot=False)
    opt = keras.optimizers.SGD(learning_rate=1e-6)
    sites.remember(opt, Location("train.py", 20, "opt = keras.optimizers.SGD(learning_rate=1e-6)"))
    model = _seq((8,), layers.Dense(32, activation="relu"), layers.Dense(3, activation="softmax"))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    d = _diagnose(model, x, y)
    t = _verified(d, "lr-too-low", "lr")
    sweep = d.recording.experiments["lr_range"]
    assert sweep["suggestion"] and 1e-3 < sweep["suggestion"] < 10 and sweep["user_lr"] == pytest.approx(1e-6)
    assert len(sweep["lrs"]) == len(sweep["losses"]) >= 50
    new_lr = float(re.search(r"learning rate ([0-9.e+-]+)", t.fix).group(1))
    assert new_lr > 1e-3
    assert re.search(r"\+ opt = keras\.optimizers\.SGD\(learning_rate=[0-9.e-]+\)", t.note)


def test_one_output_unit_for_four_classes_becomes_four_softmax_units():
    x, y = _classes(c=4, onehot=False)
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(1))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    t = _verified(_diagnose(model, x, y), "output-units-mismatch", "output-units")
    assert "4 output units" in t.fix and "softmax" in t.fix


def test_missing_hidden_activation_gets_relu():
    x, y = _xor()
    model = _seq((4,), layers.Dense(32), layers.Dense(32), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    t = _verified(_diagnose(model, x, y), "missing-hidden-activation", "hidden-activation")
    assert "relu" in t.fix


def test_frozen_layers_get_unfrozen():
    x, y = _binary()
    model = _seq((8,), layers.Dense(16, activation="relu", trainable=False),
                 layers.Dense(1, activation="sigmoid", trainable=False))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    _verified(_diagnose(model, x, y), "frozen-parameters", "unfreeze")


def test_dropout_095_becomes_03():
    x, y = _xor()
    drop = layers.Dropout(0.95)
    sites.remember(drop, Location("train.py", 8, "layers.Dropout(0.95),"))
    model = _seq((4,), layers.Dense(64, activation="relu"), drop, layers.Dense(64, activation="relu"),
                 layers.Dropout(0.95), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    t = _verified(_diagnose(model, x, y), "over-regularization", "regularization")
    assert "dropout 0.3" in t.fix
    assert "+ layers.Dropout(0.3)," in t.note


def test_shifted_binary_labels_get_reencoded():
    x, y = _binary()
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    t = _verified(_diagnose(model, x, y + 1), "label-encoding", "label-encoding")
    assert "[1, 2]" in t.fix


def test_bounded_output_for_regression_becomes_linear():
    x = RNG.normal(size=(400, 6)).astype("float32")
    y = (50 + 30 * (x @ RNG.normal(size=6))).astype("float32")
    model = _seq((6,), layers.Dense(32, activation="relu"), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    d = _diagnose(model, x, y)
    t = _verified(d, "output-activation-mismatch", "output-activation")
    assert t.after["mse"] <= 0.5 * t.before["mse"] and "held-out MSE" in t.margin


# -- fixes that must not be verified -------------------------------------------------------------------------
def test_a_fix_for_a_cause_that_is_not_the_problem_is_not_verified():
    x, y = _binary()  # inputs already standardised: scaling them cannot help the softmax-on-one-unit bug
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(1, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    rec = preflight_keras(model, x, y, batch_size=32, epochs=10, experiments=False)
    wrong = CauseReport(id="unnormalized-input", title="", score=0.6, evidence=[], locations=[],
                        fix=FixReport(summary=""), findings=[])
    run_trials(model, rec, Diagnosis(status="unhealthy", causes=[wrong], findings=[], recording=rec),
               budget_s=30)
    assert len(rec.trials) == 1
    t = rec.trials[0]
    assert t.cause == "unnormalized-input" and t.verified is False
    assert t.margin.endswith("not verified")
    assert t.after["balanced_accuracy"] < t.before["balanced_accuracy"] + 0.125
    again = Recording.from_dict(json.loads(json.dumps(rec.to_dict())))  # trials survive save/load
    assert again.trials[0].verified is False and again.trials[0].margin == t.margin


def test_healthy_program_gets_no_trial():
    x, y = _binary()
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    d = _diagnose(model, x, y, experiments=True)
    assert d.status == "healthy"
    assert d.recording.trials == [] and "trials" not in d.recording.experiments


def test_users_model_optimizer_and_rng_are_unchanged():
    x, y = _classes(c=3, onehot=False)
    model = _seq((8,), layers.Dense(16, activation="relu"), layers.Dense(3, activation="softmax"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # the optimizer now has state
    weights = [w.copy() for w in model.get_weights()]
    opt_state = [np.array(v.numpy()).copy() for v in model.optimizer.variables]
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    d = _diagnose(model, x, y)
    assert d.recording.trials, d.recording.warnings  # trials really ran (lr range test included)
    assert "lr_range" in d.recording.experiments
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert all(np.array_equal(a, np.asarray(v.numpy())) for a, v in zip(opt_state, model.optimizer.variables))
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-6)
    assert int(model.optimizer.iterations.numpy()) == 2
    assert random.getstate() == py_state and np.array_equal(np.random.get_state()[1], np_state)


# -- pure parts ------------------------------------------------------------------------------------------
def test_verdict_margins_for_classification_and_regression():
    cls = TrialData(None, None, None, None, "classification", None, 0.25, None)
    ok, text, _ = verdict(cls, {"balanced_accuracy": 0.30}, {"balanced_accuracy": 0.52})
    assert ok and "+0.188" in text  # max(0.1, 0.25 * 0.75)
    ok, _, _ = verdict(cls, {"balanced_accuracy": 0.30}, {"balanced_accuracy": 0.45})
    assert not ok
    ok, text, _ = verdict(cls, {"error": "ValueError: shapes", "final_metric": None}, {"balanced_accuracy": 0.9})
    assert ok and "cannot train" in text
    reg = TrialData(None, None, None, None, "regression", None, None, 100.0)
    assert verdict(reg, {"mse": 400.0}, {"mse": 40.0})[0]
    assert not verdict(reg, {"mse": 400.0}, {"mse": 150.0})[0]  # halved but worse than predicting the mean
    assert not verdict(reg, {"mse": 60.0}, {"mse": 40.0})[0]  # better, but not by half


def test_code_edits_on_source_lines():
    assert set_arg('layers.Dense(1, activation="softmax"),', "Dense", "activation", '"sigmoid"') \
        == 'layers.Dense(1, activation="sigmoid"),'
    assert set_arg("layers.Dense(64),", "Dense", "activation", '"relu"') == 'layers.Dense(64, activation="relu"),'
    assert set_arg("Dense(1)", "Dense", "units", "4", pos=0) == "Dense(4)"
    assert set_arg("layers.Dropout(rate=0.95)", "Dropout", "rate", "0.3", 0) == "layers.Dropout(rate=0.3)"
    assert drop_arg('Dense(16, activation="relu", trainable=False)', "Dense", "trainable") \
        == 'Dense(16, activation="relu")'
    assert wrap_arg("model.fit(x, y, epochs=3)", "fit", "x", 0, lambda e: f"{e} / 255.0") \
        == "model.fit(x / 255.0, y, epochs=3)"
    assert get_arg("model.compile(optimizer=SGD(lr(2)), loss='mse')", "compile", "loss") == "'mse'"
    assert set_arg("model.fit(x,", "fit", "epochs", "3") is None  # a call continued on the next line
    edits = CodeEdits()
    loc = Location("a.py", 3, "Dense(1)")
    edits.edit(loc, lambda c: set_arg(c, "Dense", "units", "4", 0))
    edits.edit(loc, lambda c: set_arg(c, "Dense", "activation", '"softmax"'))
    assert edits.diff() == '@@ a.py:3 @@\n- Dense(1)\n+ Dense(4, activation="softmax")'


# -- a suspicion that only a trial settles --------------------------------------------------------------------
def _sine(n=512):
    x = RNG.uniform(0, 1, (n, 1)).astype("float32")
    return x, np.sin(2 * np.pi * x).astype("float32")


def _unfinished(model, x, y, curve):
    """The pre-flight of a real model, then the epoch losses its training would have recorded."""
    rec = preflight_keras(model, x, y, batch_size=32, epochs=len(curve), experiments=True, budget_s=3)
    for i, v in enumerate(curve):
        rec.record("epoch_loss", (i + 1) * 250, v)
    return rec


def test_an_unfinished_regression_is_reported_only_when_a_higher_rate_proves_it():
    """TM315 is a suspicion (proved_by_trial): the judge lists it in ``suspects``, the trials try it, and the
    range test's steepest rate halving the error makes lr-too-low a cause."""
    from trainmedic.engine import judge

    keras.utils.set_random_seed(0)
    x, y = _sine()
    model = _seq((1,), layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu"),
                 layers.Dense(64, activation="relu"), layers.Dense(1))
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    var = float(np.var(y))
    rec = _unfinished(model, x, y, [0.65 * var, 0.3 * var, 0.265 * var, 0.248 * var])  # R^2 0.75, -6%
    d = judge(rec)
    assert "lr-too-low" not in d.cause_ids() and d.suspects == ["lr-too-low"]
    assert any(f.code == "TM315" and f.confidence < 0.5 for f in d.findings)
    run_trials(model, rec, d, budget_s=30)
    d = judge(rec)
    t = next(t for t in rec.trials if t.cause == "lr-too-low")
    assert t.verified is True and "steepest" in t.fix, (t.fix, t.margin)
    (c,) = [c for c in d.causes if c.id == "lr-too-low"]
    assert c.fix.verified is True and c.score >= 0.7


def test_a_converged_or_good_regression_fit_raises_no_suspicion():
    from trainmedic.engine import judge

    keras.utils.set_random_seed(0)
    x, y = _sine()
    model = _seq((1,), layers.Dense(64, activation="relu"), layers.Dense(1))
    model.compile(optimizer=keras.optimizers.SGD(0.03), loss="mse")
    var = float(np.var(y))
    for curve in ([0.5 * var, 0.2 * var, 0.12 * var, 0.1 * var],  # R^2 0.9: a good fit, still improving
                  [0.5 * var, 0.3 * var, 0.25 * var, 0.249 * var]):  # R^2 0.75 but converged: no faster rate helps
        d = judge(_unfinished(model, x, y, curve))
        assert not d.suspects and not any(f.code == "TM315" for f in d.findings + d.notes)
