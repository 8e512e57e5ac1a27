"""Fault localization: the line a user must change, for settings made away from the layer itself (an
initializer or regularizer object, ``layer.trainable = False``), validation data, a custom loss, a
``model.eval()`` inside a helper function, and the tensors a PyTorch loop slices its batches from."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from trainmedic import sites
from trainmedic.facts import Location

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore", TRAINMEDIC_TRIAL_BUDGET_S="5")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "train.py"
    p.write_text(textwrap.dedent(text))
    return p


def _line(path: Path, needle: str) -> int:
    return next(i for i, l in enumerate(path.read_text().splitlines(), 1) if needle in l)


def test_data_origin_of_validation_data_and_callers_of_a_helper(tmp_path):
    p = _write(tmp_path, """\
        x_train, y_train = load()
        x_val, y_val = x_train[:100], y_train[:100]
        x_val = x_val * 1.0


        def evaluate(model):
            model.eval()
            return 1


        print(evaluate(model))
        model.fit(x_train, y_train,
                  validation_data=(x_val, y_val))
        acc = evaluate(model)
        """)
    for fit in (Location(str(p), _line(p, "model.fit(")), Location(str(p), _line(p, "validation_data="))):
        assert sites.data_origin(fit).line == 1  # not the fit call itself
        assert sites.data_origin(fit, keyword="validation_data").line == 3
        assert sites.data_origin(fit, keyword="nope") is None
    calls = sites.callers(Location(str(p), _line(p, "model.eval()")))
    assert [c.line for c in calls] == [_line(p, "print(evaluate"), _line(p, "acc = evaluate")]
    assert sites.callers(Location(str(p), 1)) == []  # not inside a function


def test_returned_at_names_the_return_statement_of_a_custom_loss(tmp_path):
    p = _write(tmp_path, """\
        import math


        def log_loss(t, p):
            a = t * math.log(p)
            return -(a
                     + (1 - t) * math.log(1 - p))


        class Holder:
            def call(self, t, p):
                if t:
                    return 0.0
                return abs(t - p)
        """)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        mod = importlib.import_module("train")
        importlib.reload(mod)
        assert sites.returned_at(mod.log_loss).line == _line(p, "return -(a")
        assert sites.returned_at(mod.Holder().call).line == _line(p, "return abs")
        assert sites.returned_at(len) is None  # a builtin: no user code
        assert sites.returned_at(json.dumps) is None  # the standard library is not the user's code
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("train", None)


KERAS = """\
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("float32")
x_val, y_val = x[:150], y[:150]
init = keras.initializers.Constant(0.05)
reg = keras.regularizers.l2(1.0)
model = keras.Sequential([
    keras.Input((8,)),
    layers.Dense(32, activation="relu", kernel_initializer=init, kernel_regularizer=reg),
    layers.Dense(16, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.layers[1].trainable = False
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=3, batch_size=32, validation_data=(x_val, y_val), verbose=0)
"""


def _run(tmp_path: Path, script: str) -> tuple[Path, dict]:
    p = tmp_path / "train.py"
    p.write_text(script)
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--json", str(out), "--no-save",
                           "--no-fix-trials", "train.py"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert out.exists(), proc.stderr[-3000:]
    return p, json.loads(out.read_text())


def _lines(report: dict, code: str) -> list[int]:
    f = next((f for f in report["findings"] if f["code"] == code), None)
    assert f is not None, [x["code"] for x in report["findings"]]
    return [l["line"] for l in f["locations"] if l["file"] == "train.py"]


def test_keras_settings_are_located_where_they_were_made(tmp_path):
    p, report = _run(tmp_path, KERAS)
    assert _lines(report, "TM117")[0] == _line(p, "Constant(0.05)")  # the initializer object, then its layer
    assert _line(p, "kernel_initializer=init") in _lines(report, "TM117")
    assert _lines(report, "TM113")[0] == _line(p, "l2(1.0)")
    assert _lines(report, "TM116")[0] == _line(p, ".trainable = False")
    assert _line(p, "x_val, y_val =") in _lines(report, "TM123")


def test_keras_settings_in_the_layer_call_stay_at_the_layer(tmp_path):
    script = KERAS.replace("kernel_initializer=init, kernel_regularizer=reg", 'kernel_initializer="zeros"') \
        .replace("model.layers[1].trainable = False\n", "").replace(
        'layers.Dense(16, activation="relu")', 'layers.Dense(16, activation="relu", trainable=False)')
    p, report = _run(tmp_path, script)
    assert _lines(report, "TM117")[0] == _line(p, 'kernel_initializer="zeros"')
    assert _lines(report, "TM116")[0] == _line(p, "trainable=False")
    assert "TM113" not in [f["code"] for f in report["findings"]]


TORCH = """\
import torch
from torch import nn

torch.manual_seed(0)
X = torch.rand(1200, 12) * 900 + 500
X_train = X[:900].clone()
X_test = X[900:].clone()
y_train = (X_train[:, 0] > 950).long()
y_test = (X_test[:, 0] > 950).long()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.drop = nn.Dropout(p=0.9)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def evaluate(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


model = Net()
print("before", evaluate(model, X_test, y_test))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
for epoch in range(2):
    perm = torch.randperm(len(X_train))
    for i in range(0, len(X_train), 64):
        idx = perm[i:i + 64]
        xb = X_train[idx]
        optimizer.zero_grad()
        criterion(model(xb), y_train[idx]).backward()
        optimizer.step()
"""


def test_torch_layers_eval_mode_and_data_are_located(tmp_path):
    p, report = _run(tmp_path, TORCH)
    assert _lines(report, "TM113") == [_line(p, "nn.Dropout(p=0.9)")]  # the module's line in the class
    tm405 = _lines(report, "TM405")
    # model.eval() in the helper, the call of the helper, and the epoch loop where model.train() belongs
    assert tm405[:3] == [_line(p, "model.eval()"), _line(p, 'print("before"'), _line(p, "for epoch in")]
    # the tensor the batches are sliced from, found by value (the batch is made on an earlier line)
    assert _line(p, "X_train = X[:900]") in _lines(report, "TM110")
    assert report["run"]["framework"] == "torch"
