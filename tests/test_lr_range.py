"""The learning-rate range test: the framework-free reading of a sweep, and a real sweep on a Keras copy."""
from __future__ import annotations

import math

import numpy as np
import pytest

from trainmedic.experiments.lr_range import (ExplosionWatch, analyse, keras_train_lrs, lr_range_test,
                                             lr_schedule)


def _curve(lrs, good=(1e-3, 1e-1), explode_at=1.0, noise=0.0, seed=0):
    """A typical sweep: flat, falls between ``good`` (per decade), flat again, explodes above ``explode_at``."""
    rng = np.random.default_rng(seed)
    out = []
    lo, hi = (math.log10(v) for v in good)
    for lr in lrs:
        t = (math.log10(lr) - lo) / (hi - lo)
        loss = 2.3 - 2.0 * min(max(t, 0.0), 1.0)
        if lr > explode_at:
            loss *= (lr / explode_at) ** 3 * 10
        out.append(loss * (1 + noise * rng.standard_normal()))
    return out


def test_schedule_is_exponential_from_start_to_end():
    lrs = lr_schedule(1e-7, 10.0, 100)
    assert len(lrs) == 100
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10.0)
    ratios = np.asarray(lrs[1:]) / np.asarray(lrs[:-1])
    assert np.allclose(ratios, ratios[0])


def test_suggestion_lies_in_the_descent_and_below_the_explosion():
    lrs = lr_schedule(1e-7, 10.0, 100)
    res = analyse(lrs, _curve(lrs, noise=0.02))
    assert res.lr_explode is not None and 1.0 < res.lr_explode <= 10.0
    assert res.lr_min_loss is not None and 3e-2 <= res.lr_min_loss <= 1.5
    assert res.suggestion is not None and 1e-3 <= res.suggestion <= 1e-1
    assert res.suggestion <= res.lr_min_loss / 10 + 1e-12  # the conservative reading
    assert res.smoothed and len(res.smoothed) < len(lrs)  # stopped at the explosion
    d = res.to_dict()
    assert d["suggestion"] == pytest.approx(res.suggestion, rel=1e-5) and len(d["lrs"]) == len(d["losses"])


def test_flat_sweep_gives_no_suggestion():
    lrs = lr_schedule(1e-7, 10.0, 100)
    res = analyse(lrs, [1.0986] * 100)
    assert res.suggestion is None and res.lr_min_loss is None
    assert "never fell" in res.how


def test_nonfinite_loss_stops_the_sweep():
    watch = ExplosionWatch(beta=0.9)
    assert not any(watch.update(v) for v in [2.0, 1.9, 1.8, 1.7, 1.6, 1.5])
    assert watch.update(float("nan"))
    lrs = lr_schedule(1e-7, 10.0, 100)
    losses = _curve(lrs)[:80] + [float("inf")] * 20
    res = analyse(lrs, losses)
    assert res.lr_explode == pytest.approx(lrs[80])


def test_lr_range_test_stops_the_trainer_on_explosion():
    lrs_seen = []

    def train_lrs(lrs, should_stop):
        losses = []
        for lr, loss in zip(lrs, _curve(lrs)):
            lrs_seen.append(lr)
            losses.append(loss)
            if should_stop(loss):
                break
        return losses

    res = lr_range_test(train_lrs, 1e-7, 10.0, 100)
    assert len(lrs_seen) < 100 and res.lr_explode is not None
    assert res.suggestion is not None and 1e-3 <= res.suggestion <= 1e-1


def test_keras_sweep_on_a_copy_finds_a_working_sgd_rate():
    keras = pytest.importorskip("keras")
    from keras import layers

    from trainmedic.integrations.keras.adapter import KerasAdapter

    keras.utils.set_random_seed(0)  # the initial weights depend on the global seed: make the run repeatable
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6), loss="binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    adapter = KerasAdapter.from_model(model, x, lr=1e-7)
    res = lr_range_test(keras_train_lrs(adapter.model, x, y, batch_size=32), 1e-7, 10.0, 100)
    assert len(res.losses) >= 50
    assert all(math.isfinite(v) for v in res.losses[:40])
    # the rate really was assigned before every step: the copy's optimizer ends at the sweep's last rate
    assert float(adapter.model.optimizer.learning_rate.numpy()) == pytest.approx(res.lrs[-1], rel=1e-5)
    assert res.suggestion is not None and 1e-3 <= res.suggestion <= 5.0
    assert res.smoothed[-1] < res.smoothed[0] or res.lr_explode is not None
    # the user's model is untouched
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
