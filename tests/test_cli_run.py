"""End-to-end: real scripts through `trainmedic run` in a subprocess: exit codes, JSON, located lines,
the script's own output, argv, __name__ and relative file access."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore", TRAINMEDIC_TRIAL_BUDGET_S="10")

KERAS_SCRIPT = """\
import sys
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
print("argv:", sys.argv[1:], "name:", __name__)
print("data:", open("data.txt").read().strip())
rng = np.random.default_rng(0)
x = rng.random((300, 6)).astype("float32")
y = (x[:, 0] > 0.5).astype("float32")
model = keras.Sequential([
    keras.Input((6,)),
    layers.Dense(16, activation="relu"),
    layers.Dense(1, activation="{act}"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=int(sys.argv[2]), batch_size=32, verbose=0)
{tail}
"""


def run(tmp_path: Path, script: str, *args: str, name: str = "train.py"):
    (tmp_path / name).write_text(script)
    (tmp_path / "data.txt").write_text("hello\n")
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--json", str(out), "--no-save", name, *args],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    report = json.loads(out.read_text()) if out.exists() else None
    return proc, report


def test_broken_script_exit_1_with_cause_and_line(tmp_path):
    proc, report = run(tmp_path, KERAS_SCRIPT.format(act="softmax", tail="print('done')"), "--epochs", "3")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "argv: ['--epochs', '3'] name: __main__" in proc.stdout
    assert "data: hello" in proc.stdout and "done" in proc.stdout
    assert report["status"] == "unhealthy"
    top = report["causes"][0]
    assert top["id"] == "output-activation-mismatch"
    assert {"file": "train.py", "line": 15} == {k: top["locations"][0][k] for k in ("file", "line")}
    # the fix trial runs after the run's patches are undone: copies of the model still build and train
    assert top["fix"]["verified"] is True, top["fix"]
    assert not report["run"].get("warnings"), report["run"]["warnings"]
    assert report["run"]["framework"] == "keras" and report["run"]["exit_status"] == 0
    assert report["timing"]["diagnosed_at_s"] is not None


def test_healthy_script_exit_0(tmp_path):
    proc, report = run(tmp_path, KERAS_SCRIPT.format(act="sigmoid", tail=""), "--epochs", "3")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert report["status"] == "healthy" and report["causes"] == []


def test_script_that_crashes_exit_3_and_report_written(tmp_path):
    proc, report = run(tmp_path, KERAS_SCRIPT.format(act="softmax", tail="1 / 0"), "--epochs", "2")
    assert proc.returncode == 3
    assert "ZeroDivisionError" in proc.stderr and 'train.py", line 19' in proc.stderr
    assert "trainmedic/cli" not in proc.stderr  # the traceback is the script's, not ours
    assert report is not None and report["causes"][0]["id"] == "output-activation-mismatch"
    assert "ZeroDivisionError" in report["run"]["script_error"]


def test_script_without_training_exit_2(tmp_path):
    proc, report = run(tmp_path, "print('nothing to train here')\n")
    assert proc.returncode == 2
    assert "nothing to train here" in proc.stdout
    assert report["status"] == "error" and "no training" in report["error"]


def test_script_failing_before_training_exit_3(tmp_path):
    proc, report = run(tmp_path, "import json\nraise ValueError('bad config')\n")
    assert proc.returncode == 3
    assert "ValueError: bad config" in proc.stderr
    assert report["status"] == "error"


def test_missing_script_and_syntax_error_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "nope.py"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no such script" in proc.stderr
    (tmp_path / "bad.py").write_text("def f(:\n")
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "bad.py"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "syntax error" in proc.stderr


SEEDED_SCRIPT = """\
import hashlib
import numpy as np
import keras
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.random((256, 6)).astype("float32")
y = (x[:, 0] > 0.5).astype("float32")


class Jittered(keras.utils.PyDataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        s = slice(32 * i, 32 * i + 32)
        return x[s] + np.random.normal(0, 0.05, x[s].shape).astype("float32"), y[s]


def model():
    m = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                          layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return m


for name, data in (("tf.data", tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(32)),
                   ("PyDataset", Jittered())):
    m = model()
    h = m.fit(data, epochs=3, verbose=0)
    digest = hashlib.sha1(b"".join(w.tobytes() for w in m.get_weights())).hexdigest()
    print(name, digest, h.history["loss"])
"""


SEEDED_TORCH_SCRIPT = """\
import hashlib
import numpy as np
import keras
import torch
from torch.utils.data import DataLoader, TensorDataset
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.random((256, 6)).astype("float32")
y = (x[:, :1] > 0.5).astype("float32")
m = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                      layers.Dense(1, activation="sigmoid")])
m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
loader = DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=32, shuffle=True)
h = m.fit(loader, epochs=3, verbose=0)
print("DataLoader", hashlib.sha1(b"".join(w.tobytes() for w in m.get_weights())).hexdigest(), h.history["loss"])
"""


@pytest.mark.parametrize("script, backend, runs", [(SEEDED_SCRIPT, "tensorflow", ("tf.data", "PyDataset")),
                                                   (SEEDED_TORCH_SCRIPT, "torch", ("DataLoader",))])
def test_a_seeded_script_trains_the_same_with_and_without_trainmedic(tmp_path, script, backend, runs):
    """The pre-flight samples the training data and experiments on copies: a tf.data dataset that reshuffles
    each iteration is sampled through a private copy (iterating it would move the user's shuffle order by an
    epoch), a PyDataset's random augmentation keeps its stream, a torch DataLoader's shuffle keeps torch's
    generator, and the experiments move no RNG stream (Keras on torch draws dropout masks from torch's)."""
    (tmp_path / "seeded.py").write_text(script)
    env = dict(ENV, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1",
               KERAS_BACKEND=backend)
    plain = subprocess.run([sys.executable, "seeded.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    medic = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--json", "r.json", "--no-save", "seeded.py"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in plain.stdout.splitlines() if ln.startswith(runs)]
    assert len(lines) == len(runs), plain.stderr[-2000:]
    assert all(ln in medic.stdout for ln in lines), (lines, medic.stdout[-3000:])
    assert not json.loads((tmp_path / "r.json").read_text())["run"].get("warnings")


def test_run_module_and_usage_errors(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text("import sys\nprint('module', __name__, sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--no-save", "-m", "pkg.train", "a", "--b"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert "module __main__ ['a', '--b']" in proc.stdout
    assert proc.returncode == 2  # ran, but nothing to diagnose
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "-m", "no.such.mod"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no module" in proc.stderr


def test_configuration_from_pyproject_and_env(tmp_path):
    from trainmedic.cli.config import ConfigError, load_settings

    (tmp_path / "pyproject.toml").write_text('[tool.trainmedic]\nexit-zero = true\nignore = ["TM112"]\n')
    s = load_settings(tmp_path, environ={"TRAINMEDIC_MAX_SECONDS": "30"})
    assert s.exit_zero is True and s.ignore == ["TM112"] and s.max_seconds == 30.0
    (tmp_path / "pyproject.toml").write_text('[tool.trainmedic]\nbogus = 1\n')
    with pytest.raises(ConfigError):
        load_settings(tmp_path, environ={})


def test_report_command_rejudges_a_saved_recording(tmp_path):
    from trainmedic import Recording
    from trainmedic.cli.main import main
    from trainmedic.facts import LayerFact, ModelFacts, SetupFacts

    rec = Recording(facts=SetupFacts(model=ModelFacts(framework="keras", layers=[
        LayerFact("d", "Dense", units=4, activation="relu", parametric=True),
        LayerFact("out", "Dense", units=1, activation="softmax", parametric=True)],
        output_units=1, output_activation="softmax")))
    rec.save(tmp_path / "rec")
    assert main(["report", str(tmp_path / "rec"), "--format", "json", "-o", str(tmp_path / "r.json")]) == 1
    assert json.loads((tmp_path / "r.json").read_text())["causes"][0]["id"] == "output-activation-mismatch"
    assert main(["report", str(tmp_path / "missing")]) == 2


TORCH_SCRIPT = """\
import time
import torch
from torch import nn

torch.manual_seed(0)
x = torch.rand(256, 8)
y = (x[:, 0] > 0.5).long()
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
steps = 0
for epoch in range({epochs}):
    for i in range(0, 256, 16):
        loss = loss_fn(model(x[i:i + 16]), y[i:i + 16])
        {zero}
        loss.backward()
        opt.step()
        steps += 1
        {sleep}
print("finished", steps)
"""


def run_flags(tmp_path: Path, script: str, *flags: str):
    (tmp_path / "train.py").write_text(script)
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--json", str(out), "--no-save", *flags,
                           "train.py"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    return proc, json.loads(out.read_text()) if out.exists() else None


def test_torch_stop_when_diagnosed_ends_the_loop_early(tmp_path):
    script = TORCH_SCRIPT.format(epochs=60, zero="", sleep="")  # no zero_grad: gradients pile up
    proc, report = run_flags(tmp_path, script, "--stop-when-diagnosed")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "finished" not in proc.stdout  # the loop was ended: 960 steps were planned
    assert report["causes"][0]["id"] == "missing-zero-grad"
    assert report["run"]["stopped_early"] is True and report["run"]["steps"] < 960
    assert report["run"]["stopped"]["cause"] == "missing-zero-grad"
    # without the option the same script runs to its end
    proc, report = run_flags(tmp_path, TORCH_SCRIPT.format(epochs=2, zero="", sleep=""))
    assert "finished 32" in proc.stdout and report["causes"][0]["id"] == "missing-zero-grad"


def test_max_seconds_stops_torch_and_keras_training(tmp_path):
    script = TORCH_SCRIPT.format(epochs=1000, zero="opt.zero_grad()", sleep="time.sleep(0.01)")
    proc, report = run_flags(tmp_path, script, "--max-seconds", "3")
    assert "finished" not in proc.stdout
    assert report["run"]["stopped_early"] is True
    assert report["status"] == "healthy", report["causes"]
    assert report["run"]["stopped"]["reason"] == "max-seconds reached"
    keras_script = KERAS_SCRIPT.format(act="sigmoid", tail="print('after fit')").replace(
        'open("data.txt").read().strip()', '"-"').replace("int(sys.argv[2])", "10000")
    proc, report = run_flags(tmp_path, keras_script, "--max-seconds", "20")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "after fit" in proc.stdout  # keras: fit returns early, the script goes on
    assert report["run"]["epochs"] < 10000 and report["run"]["stopped"]["reason"] == "max-seconds reached"


AFTER_TRAINING = """\
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
n = 1200
y = rng.integers(0, 3, n)
centers = rng.normal(size=(3, 10)) * 3
x = (centers[y] + rng.normal(size=(n, 10))) * 40 + 200      # raw features, far from mean 0 / std 1
x_train, y_train, x_test, y_test = x[:900], y[:900], x[900:], y[900:]
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
x_train = (x_train - mean) / std
{prep_test}
{mix}
model = keras.Sequential([keras.Input((10,)), layers.Dense(64, activation="relu"),
                          layers.Dense(64, activation="relu"), layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=12, batch_size=32, validation_split=0.2, verbose=0)
pred = model.predict(x_test, verbose=0).argmax(axis=1)
print("test accuracy", (pred == y_test).mean())
"""


def test_eval_inputs_on_another_scale_are_a_train_eval_mismatch(tmp_path):
    script = AFTER_TRAINING.format(prep_test="", mix="")  # x_test skipped the scaling
    proc, report = run_flags(tmp_path, script, "--no-fix-trials")
    assert proc.returncode == 1, proc.stderr[-2000:]
    top = report["causes"][0]
    assert top["id"] == "train-eval-mismatch" and "TM124" in top["findings"]
    assert top["locations"][0]["line"] == script.splitlines().index(
        "pred = model.predict(x_test, verbose=0).argmax(axis=1)") + 1
    proc, report = run_flags(tmp_path, AFTER_TRAINING.format(prep_test="x_test = (x_test - mean) / std", mix=""),
                             "--no-fix-trials")
    assert proc.returncode == 0 and report["status"] == "healthy", report["causes"]


def test_labels_shuffled_apart_from_inputs_are_misaligned(tmp_path):
    mix = "rng.shuffle(x_train)\nrng.shuffle(y_train)"
    script = AFTER_TRAINING.format(prep_test="x_test = (x_test - mean) / std", mix=mix)
    proc, report = run_flags(tmp_path, script, "--no-fix-trials")
    assert proc.returncode == 1, proc.stderr[-2000:]
    top = report["causes"][0]
    assert top["id"] == "data-label-misalignment" and "TM312" in top["findings"]
    assert any(l["line"] == script.splitlines().index("rng.shuffle(x_train)") + 1 for l in top["locations"])
