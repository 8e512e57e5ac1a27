"""Dynamic rules (TM3xx) on real Keras runs: every rule fires on a run that shows its failure and stays
silent on a healthy twin. Tiny models, TensorFlow backend, the Monitor probing every few steps."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from trainmedic import Recording, judge  # noqa: E402
from trainmedic.keras import Monitor  # noqa: E402


def blobs(n=384, d=8, c=3, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(c, d)) * 2
    y = rng.integers(0, c, n)
    x = (centers[y] + rng.normal(size=(n, d)) * noise).astype("float32")
    return x, y


def mlp(units=(16,), act="relu", out=3, out_act="softmax", d=8, **kw):
    return keras.Sequential([keras.Input((d,))] + [layers.Dense(u, activation=act, **kw) for u in units]
                            + [layers.Dense(out, activation=out_act)])


def train(model, x, y, optimizer, loss="sparse_categorical_crossentropy", metrics=("accuracy",), epochs=6,
          every=4, **fit):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    mon = Monitor(probe=(x[:128], y[:128]), every=every, max_overhead=None)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[mon], **fit)
    return mon.recording, mon.diagnosis


def codes(diagnosis, code=None):
    fs = [f for f in diagnosis.findings + diagnosis.notes if f.code.startswith("TM3")]
    return [f for f in fs if f.code == code] if code else fs


@pytest.fixture(scope="module")
def healthy():
    """The healthy twin of most failures: the same MLP and data, Adam at a sensible rate, validation."""
    keras.utils.set_random_seed(0)
    x, y = blobs()
    return train(mlp(), x, y, keras.optimizers.Adam(1e-2), validation_split=0.25)


@pytest.fixture(scope="module")
def lr_low():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    return train(mlp(), x, y, keras.optimizers.SGD(1e-5))


@pytest.fixture(scope="module")
def lr_high():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    return train(mlp((32, 32)), x, y, keras.optimizers.SGD(3.0))


@pytest.fixture(scope="module")
def dead():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    return train(mlp((16, 16), bias_initializer=keras.initializers.Constant(-10.0)), x, y,
                 keras.optimizers.Adam(1e-2))


def test_healthy_run_is_healthy(healthy):
    rec, d = healthy
    assert codes(d) == [], [f.message for f in codes(d)]
    assert d.healthy, d.cause_ids()
    assert not rec.warnings


# -- TM301 loss-flat ---------------------------------------------------------------------------------------
def test_flat_loss_from_tiny_lr(lr_low, healthy):
    _, d = lr_low
    (f,) = codes(d, "TM301")
    assert f.cause == "lr-too-low" and "flat" in f.message
    assert d.top.id == "lr-too-low"
    assert not codes(healthy[1], "TM301")


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_exactly_constant_loss_of_a_frozen_model():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    model = mlp()
    model.trainable = False
    _, d = train(model, x, y, keras.optimizers.Adam(1e-2))
    (f,) = codes(d, "TM301")
    assert "exactly constant" in f.message and f.cause == "frozen-parameters"
    assert codes(d, "TM309")[0].cause == "frozen-parameters"
    assert "frozen-parameters" in d.cause_ids()


# -- TM302 nonfinite-loss ----------------------------------------------------------------------------------
def test_nan_from_log_of_zero_is_numerical_instability(healthy):
    keras.utils.set_random_seed(0)
    x, y = blobs()

    def log_loss(y_true, y_pred):  # hand-written cross-entropy on a ReLU output: log(0) = -inf
        onehot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), 3)
        return -keras.ops.mean(keras.ops.sum(onehot * keras.ops.log(y_pred), axis=-1))

    rec, d = train(mlp(out_act="relu"), x, y, keras.optimizers.Adam(1e-2), loss=log_loss, metrics=(), epochs=3)
    (f,) = codes(d, "TM302")
    assert f.cause == "numerical-instability" and "step 0" in f.message
    assert d.top.id == "numerical-instability"
    assert not codes(d, "TM308"), "dead fractions of NaN activations must not count"
    assert not codes(healthy[1], "TM302")


def test_nan_after_growth_is_exploding_gradient():
    keras.utils.set_random_seed(0)
    x, _ = blobs()
    y = (x @ np.random.default_rng(1).normal(size=8) * 1000).astype("float32")  # unscaled targets
    rec, d = train(mlp(out=1, out_act=None), x, y, keras.optimizers.SGD(0.01), loss="mse", metrics=(), epochs=2)
    (f,) = codes(d, "TM302")
    assert f.cause == "exploding-gradient" and "lr-too-high" in f.also
    assert any(e["where"] == "loss" for e in rec.events if e["kind"] == "nonfinite")
    assert "exploding-gradient" in d.cause_ids()[:2]
    # the healthy twin: the same regression with standardised targets
    _, ok = train(mlp(out=1, out_act=None), x, (y - y.mean()) / y.std(), keras.optimizers.SGD(0.01), loss="mse",
                  metrics=(), epochs=2)
    assert not codes(ok, "TM302") and not codes(ok, "TM307")


# -- TM303 loss-divergence, TM304 loss-oscillation ---------------------------------------------------------
def test_divergence_from_a_huge_learning_rate(lr_high, healthy):
    _, d = lr_high
    (f,) = codes(d, "TM303")
    assert f.cause == "lr-too-high" and "initial value" in f.message
    assert d.top.id == "lr-too-high"
    assert not codes(healthy[1], "TM303")


def test_oscillation():
    keras.utils.set_random_seed(0)
    x, y = blobs(noise=2.0)
    _, d = train(mlp((32,)), x, y, keras.optimizers.Adam(0.3), epochs=8, every=16)
    (f,) = codes(d, "TM304")
    assert f.cause == "lr-too-high" and "oscillates" in f.message
    _, ok = train(mlp((32,)), x, y, keras.optimizers.Adam(0.01), epochs=8, every=16)
    assert not codes(ok, "TM304") and not codes(ok, "TM303")


# -- TM305 accuracy-at-trivial-value -----------------------------------------------------------------------
def test_accuracy_stuck_at_majority_rate_names_it(healthy):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(384, 8)).astype("float32")
    y = (rng.random(384) < 0.1).astype("int64")  # 90% negatives, no signal
    _, d = train(mlp(out=1, out_act="sigmoid"), x, y, keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                 epochs=8)
    (f,) = codes(d, "TM305")
    assert f.cause == "class-imbalance" and "majority-class rate" in f.message
    assert not codes(healthy[1], "TM305")


def test_binary_accuracy_over_one_hot_columns_stuck_at_one_minus_one_over_c():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(384, 8)) * 0.01).astype("float32")  # inputs without information
    y = keras.utils.to_categorical(rng.integers(0, 4, 384), 4)
    _, d = train(mlp(out=4), x, y, keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                 metrics=("binary_accuracy",))
    (f,) = codes(d, "TM305")
    assert "1-1/C" in f.message and f.cause == "wrong-metric"


def test_accuracy_stuck_at_a_single_class_rate(dead):
    _, d = dead
    (f,) = codes(d, "TM305")
    assert "always predicting class" in f.message


# -- TM306 prediction-collapse, TM308 dying-relu -----------------------------------------------------------
def test_dead_relu_from_the_start(dead, healthy):
    _, d = dead
    fs = codes(d, "TM308")
    assert fs and all(f.cause == "dying-relu" and "from the start" in f.message for f in fs)
    (c,) = codes(d, "TM306")
    assert c.cause == "dying-relu" and "balanced" in c.message
    # the bias initialiser (-10) is the root, the dead units its mechanism: both named, the root first
    assert d.cause_ids()[:2] == ["bad-init", "dying-relu"]
    assert not codes(healthy[1], "TM308") and not codes(healthy[1], "TM306")


def test_relus_killed_by_a_huge_learning_rate(lr_high):
    rec, d = lr_high
    (f,) = codes(d, "TM308")
    assert "rose from" in f.message and "lr-too-high" in f.also


# -- TM307 gradient-scale ----------------------------------------------------------------------------------
def test_vanishing_gradient_through_sigmoid_stack():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    _, d = train(mlp((16,) * 8, act="sigmoid"), x, y, keras.optimizers.SGD(0.01), epochs=3, every=8)
    (f,) = codes(d, "TM307")
    assert f.cause == "vanishing-gradient" and "dense" in f.message
    assert "vanishing-gradient" in d.cause_ids()
    _, ok = train(mlp((16,) * 8, act="relu", kernel_initializer="he_normal"), x, y, keras.optimizers.Adam(1e-2),
                  epochs=3, every=8)
    assert not codes(ok, "TM307")


def test_exploding_gradient_growth(lr_high):
    _, d = lr_high
    assert any(f.cause == "exploding-gradient" and "grew" in f.message for f in codes(d, "TM307"))


# -- TM309 update-ratio ------------------------------------------------------------------------------------
def test_update_ratio_too_small_and_too_large(lr_low, lr_high, healthy):
    (small,) = codes(lr_low[1], "TM309")
    assert small.cause == "lr-too-low" and "tiny" in small.message
    (large,) = codes(lr_high[1], "TM309")
    assert large.cause == "lr-too-high" and "oversize" in large.message
    assert not codes(healthy[1], "TM309")


def test_update_ratio_relative_to_adam():
    keras.utils.set_random_seed(0)
    x, y = blobs()
    _, d = train(mlp(), x, y, keras.optimizers.Adam(1e-6))
    (f,) = codes(d, "TM309")
    assert f.cause == "lr-too-low" and "adam" in " ".join(str(e) for e in f.evidence)


# -- TM310 overfitting-gap, TM311 validation-tracks-training -----------------------------------------------
def _noisy(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x[:, 0] + rng.normal(size=n)) > 0).astype("int64")


def test_overfitting_gap():
    xv, yv = _noisy(200, 5)
    x, y = _noisy(120, 4)
    _, d = train(mlp((128, 128), out=1, out_act="sigmoid"), x, y, keras.optimizers.Adam(1e-2),
                 loss="binary_crossentropy", epochs=12, every=50, validation_data=(xv, yv))
    (f,) = codes(d, "TM310")
    assert f.cause == "overfitting" and "validation loss rose" in f.message
    x, y = _noisy(600, 4)  # the twin: enough data for a small model
    _, ok = train(mlp((16,), out=1, out_act="sigmoid"), x, y, keras.optimizers.Adam(1e-2),
                  loss="binary_crossentropy", epochs=6, every=50, validation_data=(xv, yv))
    assert not codes(ok, "TM310") and not codes(ok, "TM311")


def test_validation_leak_and_disjoint_twin():
    x, y = _noisy(240, 4)
    _, d = train(mlp((256, 256), out=1, out_act="sigmoid"), x, y, keras.optimizers.Adam(1e-2),
                 loss="binary_crossentropy", epochs=20, every=50, validation_data=(x[:80], y[:80]))
    (f,) = codes(d, "TM311")
    assert f.cause == "validation-leak"  # a hint (confidence < 0.5): the direct evidence is the static TM123
    _, twin = train(mlp((256, 256), out=1, out_act="sigmoid"), x[80:], y[80:], keras.optimizers.Adam(1e-2),
                    loss="binary_crossentropy", epochs=20, every=50, validation_data=(x[:80], y[:80]))
    assert not codes(twin, "TM311")


# -- offline ------------------------------------------------------------------------------------------------
def test_rules_are_silent_without_signals():
    assert codes(judge(Recording())) == []


def test_recording_round_trip_rejudges_the_same(lr_high, tmp_path):
    rec, d = lr_high
    rec.save(tmp_path)
    again = judge(Recording.load(tmp_path))
    assert [(f.code, f.cause) for f in codes(again)] == [(f.code, f.cause) for f in codes(d)]
