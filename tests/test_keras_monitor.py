"""The Keras Monitor callback: what it records, that it changes nothing, and how it fails and stops."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from trainmedic import Recording  # noqa: E402
from trainmedic.facts import ModelFacts  # noqa: E402
from trainmedic.integrations.keras.monitor import next_probe_step  # noqa: E402
from trainmedic.keras import Monitor  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


def data(n=256, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("float32")


def model(extra=(), bias=None):
    kw = {"bias_initializer": keras.initializers.Constant(bias)} if bias is not None else {}
    m = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu", **kw), *extra,
                          layers.Dense(1, activation="sigmoid")])
    return m


def fit(m, x, y, mon=None, epochs=3, optimizer=None, **kw):
    m.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
              metrics=["accuracy"], **kw.pop("compile", {}))
    return m.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[mon] if mon else [], **kw)


def test_schedule_is_log_spaced_then_regular():
    steps, s = [0], 0
    while s < 400:
        s = next_probe_step(s, 100)
        steps.append(s)
    assert steps == [0, 1, 2, 4, 8, 16, 32, 64, 100, 200, 300, 400]
    assert next_probe_step(5, 4) == 8 and next_probe_step(0, 1) == 1


def test_records_loss_metrics_and_probes():
    keras.utils.set_random_seed(0)
    x, y = data()
    mon = Monitor(probe=(x[:64], y[:64]), every=8, max_overhead=None)
    m = model()
    hist = fit(m, x, y, mon, validation_split=0.25)
    rec = mon.recording
    hidden, out = (l.name for l in m.layers)
    assert rec.signal("loss").steps == list(range(18))  # 192 training samples / 32 = 6 steps, 3 epochs
    assert rec.signal("epoch_loss").steps == [6, 12, 18]
    assert rec.signal("epoch_loss").values == pytest.approx(hist.history["loss"])
    assert rec.signal("val_accuracy").values == pytest.approx(hist.history["val_accuracy"])
    assert rec.signal("accuracy").values == pytest.approx(hist.history["accuracy"])
    probed = [0, 1, 2, 4, 8, 16, 18]  # log-spaced, every 8, and the end of training
    for name in (f"grad_norm/{hidden}", f"grad_norm/{out}", f"weight_norm/{hidden}", f"dead_fraction/{hidden}",
                 "pred/entropy", "pred/histogram", "pred/max_prob", "pred/input_spread"):
        assert rec.signal(name).steps == probed, name
    assert rec.signal(f"update_ratio/{out}").steps == probed[1:]
    assert f"saturation/{out}" not in rec.signals  # the output layer's sigmoid is not a hidden saturation
    assert all(isinstance(h, list) and abs(sum(h) - 1) < 1e-9 for h in rec.signal("pred/histogram").values)
    assert rec.facts.model is not None and rec.facts.model.framework == "keras"
    assert rec.facts.data.targets[0].kind == "binary" and rec.facts.training.validation
    assert rec.run["framework"] == "keras" and rec.run["backend"] == "tensorflow"
    assert rec.run["steps"] == 18 and rec.run["epochs"] == 3
    assert not rec.warnings and not rec.events


def test_per_batch_loss_is_recovered_from_running_means():
    keras.utils.set_random_seed(0)
    x, y = data()
    m = model()
    mon = Monitor(every=1000, max_overhead=None)
    fit(m, x, y, mon, epochs=1, optimizer=keras.optimizers.SGD(0.0), shuffle=False)  # weights stay put
    direct = [float(m.compute_loss(x=x[i:i + 32], y=y[i:i + 32], y_pred=m(x[i:i + 32]), training=False))
              for i in range(0, 256, 32)]
    assert mon.recording.signal("loss").values == pytest.approx(direct, rel=1e-4)


@pytest.mark.parametrize("n, spe", [(384, 4), (320, 4)])
def test_steps_per_execution(n, spe):
    keras.utils.set_random_seed(0)
    x, y = data(n)
    batches = n // 32
    mon = Monitor(probe=(x[:64], y[:64]), every=4, max_overhead=None)
    fit(model(), x, y, mon, epochs=2, compile={"steps_per_execution": spe})
    rec = mon.recording
    hooks = list(range(0, batches, spe))
    hooks += [batches + s for s in hooks]  # batch hooks fire once per execution of spe steps
    assert rec.signal("loss").steps == hooks
    assert rec.signal("epoch_loss").steps == [batches, 2 * batches]
    assert rec.run["steps"] == 2 * batches
    probes = next(v for k, v in rec.signals.items() if k.startswith("weight_norm/")).steps
    assert probes[0] == 0 and probes[-1] == 2 * batches and set(probes[:-1]) <= set(hooks) and len(probes) >= 4
    assert all(math.isfinite(v) for v in rec.signal("loss").values)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.drop = layers.Dropout(0.3)
        self.out = layers.Dense(1, activation="sigmoid")

    def call(self, x, training=None):
        return self.out(self.drop(self.hidden(x), training=training))


def _run(with_monitor: bool, kind: str):
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    x, y = data()
    if kind == "input":
        m = model(extra=(layers.BatchNormalization(), layers.Dropout(0.3)))
    elif kind == "deferred":  # no Input: Keras on TensorFlow builds it inside the first training step
        m = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(1, activation="sigmoid")])
    else:
        m = Subclassed()
    mon = Monitor(probe=(x[:64], y[:64]), every=2, max_overhead=None) if with_monitor else None
    hist = fit(m, x, y, mon, epochs=2 if kind != "input" else 3, validation_split=0.25)
    after = (keras.random.uniform((4,)).numpy().tolist(), float(np.random.rand()), layers.Dense(2).name)
    if mon is not None:
        assert not mon.recording.warnings and any(k.startswith("grad_norm/") for k in mon.recording.signals)
    return m.get_weights(), hist.history, after, m.optimizer.iterations.numpy()


@pytest.mark.parametrize("kind", ["input", "deferred", "subclassed"])
def test_harmless_tensorflow_backend(kind):
    a, b = _run(False, kind), _run(True, kind)
    assert all(np.array_equal(p, q) for p, q in zip(a[0], b[0]))
    assert a[1] == b[1] and a[2] == b[2] and a[3] == b[3]


TORCH_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, keras
    from keras import layers
    from trainmedic.keras import Monitor
    from keras.src.callbacks.callback_list import CallbackList

    def run(with_monitor):
        keras.utils.clear_session(); keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 8)).astype("float32"); y = (x[:, 0] + x[:, 1] > 0).astype("float32")
        m = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"), layers.BatchNormalization(),
                              layers.Dropout(0.3), layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
        mon = Monitor(probe=(x[:64], y[:64]), every=2, max_overhead=None) if with_monitor else None
        h = m.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.25, callbacks=[mon] if mon else [])
        after = [keras.random.uniform((4,)).cpu().numpy().tolist(), float(np.random.rand()), layers.Dense(2).name]
        return m.get_weights(), h.history, after, mon

    wa, ha, aa, _ = run(False)
    wb, hb, ab, mon = run(True)
    rec = mon.recording
    print(json.dumps({
        "weights": all(np.array_equal(p, q) for p, q in zip(wa, wb)), "history": ha == hb, "after": aa == ab,
        "loss_steps": rec.signal("loss").steps, "grad": sorted(k for k in rec.signals if k.startswith("grad_norm/")),
        "backend": rec.run.get("backend"), "warnings": rec.warnings,
        "async": CallbackList([mon], model=keras.Sequential([keras.Input((2,)), layers.Dense(1)]))._async_train,
    }))
""")


def test_torch_backend_in_subprocess():
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", TORCH_SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["backend"] == "torch" and not res["warnings"]
    assert res["weights"] and res["history"] and res["after"], res
    assert res["loss_steps"] == list(range(18))
    assert res["grad"] == ["grad_norm/batch_normalization", "grad_norm/dense", "grad_norm/dense_1"]
    assert res["async"], "the Monitor must not switch off Keras's asynchronous batch-end dispatch"


def test_only_needed_batch_hooks_are_overridden():
    base = keras.callbacks.Callback
    batch_hooks = [h for h in dir(base) if h.startswith("on_") and "batch" in h]
    overridden = {h for h in batch_hooks if getattr(Monitor, h) is not getattr(base, h)}
    assert overridden == {"on_train_batch_begin", "on_train_batch_end"}
    assert Monitor.async_safe is True


def test_exception_inside_a_probe_becomes_a_warning():
    keras.utils.set_random_seed(0)
    x, y = data()
    bad_y = np.zeros((64, 3), "float32")  # a probe label of the wrong shape: the probe's loss raises
    mon = Monitor(probe=(x[:64], bad_y), every=2, max_overhead=None)
    hist = fit(model(), x, y, mon)
    rec = mon.recording
    assert len(hist.history["loss"]) == 3  # training finished
    assert any("Monitor (probe) failed" in w for w in rec.warnings)
    assert len(rec.signal("loss")) == 24 and any(k.startswith("weight_norm/") for k in rec.signals)
    assert mon.diagnosis.to_dict()["warnings"] == rec.warnings


def test_without_probe_records_loss_metrics_and_weights_only():
    keras.utils.set_random_seed(0)
    x, y = data()
    mon = Monitor(max_overhead=None)
    fit(model(), x, y, mon)
    kinds = {k.split("/")[0] for k in mon.recording.signals}
    assert kinds == {"loss", "epoch_loss", "accuracy", "lr", "weight_norm", "update_ratio"}


def test_stop_when_diagnosed_stops_a_broken_run_and_the_script_goes_on():
    keras.utils.set_random_seed(0)
    x, y = data(192)
    mon = Monitor(probe=(x[:64], y[:64]), every=4, stop_when_diagnosed=True, max_overhead=None)
    hist = fit(model(bias=-10.0), x, y, mon, epochs=30)  # every ReLU dead from the start
    epochs_run = len(hist.history["loss"])
    assert epochs_run < 30
    (stop,) = [e for e in mon.recording.events if e["kind"] == "stopped"]
    assert stop["cause"] == "dying-relu" and stop["score"] >= 0.8
    assert mon.diagnosis.top.id == "dying-relu"
    assert mon.recording.run["epochs"] == epochs_run  # and we are still here: fit returned normally


def test_halt_on_other_causes_does_not_stop_and_healthy_run_never_stops():
    keras.utils.set_random_seed(0)
    x, y = data(192)
    mon = Monitor(probe=(x[:64], y[:64]), every=4, halt_on=["overfitting"], max_overhead=None)
    hist = fit(model(bias=-10.0), x, y, mon, epochs=6)
    assert len(hist.history["loss"]) == 6 and not [e for e in mon.recording.events if e["kind"] == "stopped"]
    keras.utils.set_random_seed(0)
    mon = Monitor(probe=(x[:64], y[:64]), every=4, stop_when_diagnosed=True, max_overhead=None)
    hist = fit(model(), x, y, mon, epochs=6)
    assert len(hist.history["loss"]) == 6 and mon.diagnosis.healthy
    with pytest.raises(ValueError, match="unknown cause"):
        Monitor(halt_on=["not-a-cause"])


def test_save_to_round_trips_the_signals(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = data()
    mon = Monitor(probe=(x[:64], y[:64]), every=4, save_to=tmp_path / "run", max_overhead=None)
    fit(model(), x, y, mon)
    assert (tmp_path / "run" / "recording.json").exists()
    back = Recording.load(tmp_path / "run")
    rec = mon.recording
    assert back.signals.keys() == rec.signals.keys()
    for k, s in rec.signals.items():
        assert back.signals[k].steps == s.steps and back.signals[k].values == s.values, k
    assert back.facts == rec.facts and back.run == rec.run
    assert mon.save(tmp_path / "again") == tmp_path / "again" / "recording.json"


def test_nonfinite_values_survive_saving(tmp_path):
    rec = Recording()
    rec.record("loss", 0, float("nan"))
    rec.record("grad_norm/dense", 0, float("inf"))
    rec.events.append({"kind": "nonfinite", "step": 0, "where": "loss"})
    rec.save(tmp_path)
    back = Recording.load(tmp_path)
    assert math.isnan(back.signal("loss").values[0]) and back.signal("grad_norm/dense").values[0] == math.inf
    assert back.events == rec.events


def test_appends_to_an_existing_recording():
    keras.utils.set_random_seed(0)
    x, y = data()
    rec = Recording()
    rec.facts.model = ModelFacts(framework="keras", name="from-preflight")
    rec.experiments["initial"] = {"loss": 0.69}
    mon = Monitor(probe=(x[:64], y[:64]), recording=rec, max_overhead=None)
    fit(model(), x, y, mon)
    assert mon.recording is rec and rec.facts.model.name == "from-preflight"
    assert rec.experiments == {"initial": {"loss": 0.69}} and len(rec.signal("loss")) == 24


def test_default_budget_keeps_probing_cheap():
    keras.utils.set_random_seed(0)
    x, y = data()
    mon = Monitor(probe=(x[:64], y[:64]), every=1)  # probe every step, but within the default 1% budget
    fit(model(), x, y, mon)
    probes = next(v for k, v in mon.recording.signals.items() if k.startswith("weight_norm/")).steps
    assert probes[0] == 0 and len(probes) <= 3  # without the budget: 25 (every step and the end)
