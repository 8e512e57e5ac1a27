"""Each pre-flight rule: a tiny real Keras model that triggers it, and a healthy twin that does not."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

import trainmedic
from helpers_keras import binary_data, mlp, multiclass_data


def diagnose(model, x, y, loss, optimizer="adam", metrics=("accuracy",), **kw):
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    kw.setdefault("batch_size", 32)
    kw.setdefault("epochs", 20)
    return trainmedic.diagnose(model, x, y, budget_s=4.0, **kw)


def top(d):
    return d.causes[0].id if d.causes else None


def test_healthy_binary_mlp_is_healthy():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy")
    assert d.status == "healthy", d.render()


def test_sgd_lr_0_1_with_momentum_is_normal():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy", keras.optimizers.SGD(0.1, momentum=0.9))
    assert d.status == "healthy", d.render()


def test_softmax_on_single_unit():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")], output=(1, "softmax")), x, y, "binary_crossentropy")
    assert top(d) == "output-activation-mismatch"
    assert "TM101" in d.causes[0].findings


def test_output_units_vs_classes_one_hot():
    x, y = multiclass_data()
    d = diagnose(mlp([(16, "relu")], output=(1, "sigmoid")), x, keras.utils.to_categorical(y, 4), "mse")
    assert top(d) == "output-units-mismatch"
    assert "wrong-metric" in d.cause_ids()


def test_output_units_match_is_healthy():
    x, y = multiclass_data()
    d = diagnose(mlp([(32, "relu")], output=(4, "softmax")), x, keras.utils.to_categorical(y, 4),
                 "categorical_crossentropy")
    assert d.status == "healthy", d.render()


def test_linear_output_into_categorical_crossentropy():
    x, y = multiclass_data()
    d = diagnose(mlp([(16, "relu")], output=(4, None)), x, keras.utils.to_categorical(y, 4),
                 "categorical_crossentropy", "sgd")
    assert top(d) == "output-activation-mismatch"


def test_linear_output_with_from_logits_is_healthy():
    x, y = multiclass_data()
    d = diagnose(mlp([(32, "relu")], output=(4, None)), x, y,
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert d.status == "healthy", d.render()


def test_softmax_before_from_logits_loss():
    x, y = multiclass_data()
    d = diagnose(mlp([(16, "relu")], output=(4, "softmax")), x, y,
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert "output-activation-mismatch" in [f.cause for f in d.findings + d.notes]


def test_bounded_output_for_regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)).astype("float32")
    y = (x @ rng.normal(size=5) * 50 + 100).astype("float32")
    d = diagnose(mlp([(16, "relu")], d=5, output=(1, "sigmoid")), x, y, "mse")
    assert top(d) == "output-activation-mismatch"
    healthy = diagnose(mlp([(16, "relu")], d=5, output=(1, None)), x, (y - y.mean()) / y.std(), "mse")
    assert healthy.status == "healthy", healthy.render()


def test_categorical_crossentropy_on_one_unit_is_identically_zero():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y, "categorical_crossentropy")
    assert "loss-mismatch" in d.cause_ids()


def test_missing_hidden_activation():
    x, _ = binary_data()
    y = ((x[:, 0] - 0.5) * (x[:, 1] - 0.5) > 0).astype("float32")  # XOR-like: needs a nonlinearity
    d = diagnose(mlp([(16, None), (16, None)]), x, y, "binary_crossentropy")
    assert top(d) == "missing-hidden-activation"
    healthy = diagnose(mlp([(32, "relu"), (32, "relu")]), x, y, "binary_crossentropy", epochs=60)
    assert "missing-hidden-activation" not in healthy.cause_ids()


def test_unscaled_input():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), (x * 255).round(), y, "binary_crossentropy", keras.optimizers.SGD(0.01))
    assert top(d) == "unnormalized-input"


def test_rescaling_layer_makes_raw_input_fine():
    x, y = binary_data()
    model = keras.Sequential([keras.Input((8,)), layers.Rescaling(1 / 255), layers.Dense(16, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    d = diagnose(model, (x * 255).round(), y, "binary_crossentropy")
    assert "unnormalized-input" not in d.cause_ids()


def test_label_encoding_one_two():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y + 1, "binary_crossentropy")
    assert top(d) == "label-encoding"


def test_class_imbalance_without_weights_and_weighted_twin():
    x, _ = binary_data(n=1000)
    y = (x[:, 0] > 0.96).astype("float32")
    d = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy")
    assert "class-imbalance" in d.cause_ids()
    w = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy", class_weight={0: 1.0, 1: 24.0})
    assert "class-imbalance" not in w.cause_ids()


def test_heavy_dropout():
    keras.utils.set_random_seed(0)  # the tiny-batch fit through Dropout(0.95) depends on the masks drawn
    x, y = binary_data()
    model = keras.Sequential([keras.Input((8,)), layers.Dense(32, activation="relu"), layers.Dropout(0.95),
                              layers.Dense(1, activation="sigmoid")])
    d = diagnose(model, x, y, "binary_crossentropy")
    assert "over-regularization" in d.cause_ids()


@pytest.mark.parametrize("opt,expected", [
    (lambda: keras.optimizers.SGD(1e-6), "lr-too-low"),
    (lambda: keras.optimizers.SGD(-0.01), "lr-too-high"),
])
def test_learning_rate_for_optimizer(opt, expected):
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy", opt())
    assert top(d) == expected


def test_adam_at_sgd_learning_rate_is_flagged_only_with_evidence():
    # Adam at 0.1 is high; whether it is a cause depends on the tiny-batch experiment, never the number alone
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu")]), x, y, "binary_crossentropy", keras.optimizers.Adam(0.1))
    finding = next(f for f in d.findings + d.notes if f.code == "TM114")
    assert finding.cause == "lr-too-high"


def test_all_layers_frozen():
    x, y = binary_data()
    model = mlp([(16, "relu")])
    for l in model.layers:
        l.trainable = False
    d = diagnose(model, x, y, "binary_crossentropy")
    assert top(d) == "frozen-parameters"


def test_constant_initialisation():
    x, y = binary_data()
    d = diagnose(mlp([(16, "relu"), (16, "relu")], kernel_initializer="ones"), x, y, "binary_crossentropy")
    assert "bad-init" in d.cause_ids()


def test_metric_binary_accuracy_over_one_hot_columns():
    x, y = multiclass_data(c=4)
    d = diagnose(mlp([(16, "relu")], output=(1, "sigmoid")), x, keras.utils.to_categorical(y, 4),
                 "binary_crossentropy")
    assert any(f.code == "TM108" for f in d.findings)


def test_deep_sigmoid_stack_vanishing_gradient():
    x, y = binary_data()
    d = diagnose(mlp([(32, "sigmoid")] * 10), x, y, "binary_crossentropy", keras.optimizers.SGD(0.01))
    assert "vanishing-gradient" in d.cause_ids()


def test_generator_and_dataset_inputs():
    import tensorflow as tf

    x, y = binary_data()
    model = mlp([(16, "relu")], output=(1, "softmax"))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    assert top(trainmedic.diagnose(model, ds, budget_s=3)) == "output-activation-mismatch"

    def gen():
        for i in range(0, 400, 32):
            yield x[i:i + 32], y[i:i + 32]
    assert top(trainmedic.diagnose(model, gen(), budget_s=3)) == "output-activation-mismatch"


def test_user_model_and_rng_untouched():
    import random

    x, y = binary_data()
    model = mlp([(16, "relu")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    py, npy = random.getstate(), np.random.get_state()
    trainmedic.diagnose(model, x, y, budget_s=3)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert random.getstate() == py
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state()[1:2], npy[1:2]))
    assert model.optimizer.iterations.numpy() == 0


def _few_rows(easy: bool, n=40, d=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    if easy:  # each class shifted along its own feature: learnable from 30 rows
        y = np.arange(n) % 3
        x[:, :3] += 4.0 * np.eye(3)[y]
    else:  # a linear rule over all 60 features: 30 rows cannot pin it down
        y = (x @ rng.normal(size=(d, 3))).argmax(axis=1)
    return x, y


def _wide_mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((60,)), layers.Dense(256, activation="relu"),
                             layers.Dense(256, activation="relu"), layers.Dense(3, activation="softmax")])


def test_held_out_folds_show_a_memorised_tiny_training_set():
    x, y = _few_rows(easy=False)
    model = _wide_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    d = trainmedic.diagnose(model, x, y, batch_size=32, epochs=40, budget_s=4.0)
    h = d.recording.experiments["holdout"]
    assert h["folds"] == 4 and h["held_out"] == 40 and h["train_accuracy"] >= 0.95
    assert h["held_out_accuracy"] <= h["train_accuracy"] - 0.25
    assert top(d) == "overfitting" and "TM208" in d.causes[0].findings
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # folds trained a copy
    assert model.optimizer.iterations.numpy() == 0


def test_held_out_folds_of_a_learnable_tiny_set_are_healthy():
    x, y = _few_rows(easy=True)
    d = diagnose(_wide_mlp(), x, y, "sparse_categorical_crossentropy", epochs=40)
    assert d.recording.experiments["holdout"]["held_out_accuracy"] >= 0.85
    assert d.status == "healthy", d.render()


def test_held_out_folds_only_without_validation_and_with_many_parameters_per_example():
    x, y = _few_rows(easy=False)
    d = diagnose(_wide_mlp(), x, y, "sparse_categorical_crossentropy", epochs=40,
                 fit_kwargs={"validation_split": 0.2})
    assert "holdout" not in d.recording.experiments
    x, y = _few_rows(easy=False)
    d = diagnose(mlp([(8, "relu")], d=60, output=(3, "softmax")), x, y, "sparse_categorical_crossentropy")
    assert "holdout" not in d.recording.experiments  # 523 parameters for 40 examples


def _large_targets(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, (n, 2)).astype("float32")
    return x, (3 * x[:, 0] ** 2 + 2 * x[:, 0] * x[:, 1] + x[:, 1]).astype("float32")


def _reg_mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((2,)), layers.Dense(64, activation="relu"),
                             layers.Dense(64, activation="relu"), layers.Dense(1)])


def test_a_first_sgd_update_larger_than_the_weights_is_a_learning_rate_too_high():
    x, y = _large_targets()  # targets up to ~135: gradients ~100x the weights at initialisation
    d = diagnose(_reg_mlp(), x, y, "mse", keras.optimizers.SGD(), metrics=())
    (f,) = [f for f in d.findings if f.code == "TM209"]
    assert f.cause == "lr-too-high" and "exploding-gradient" in f.also and "first SGD update" in f.message
    assert top(d) == "lr-too-high"  # the root of the exploding gradient
    # Adam normalises the step by the gradient's size; SGD at 1e-4 takes a small first step
    for opt in (keras.optimizers.Adam(1e-3), keras.optimizers.SGD(1e-4)):
        d = diagnose(_reg_mlp(), x, y, "mse", opt, metrics=())
        assert not [f for f in d.findings if f.code == "TM209"]
