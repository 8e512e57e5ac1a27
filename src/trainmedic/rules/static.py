"""Static rules (TM1xx): mismatches readable from the set-up facts, weighed by pre-flight experiments.

Every rule describes what Keras 3 / PyTorch actually compute. Where an experiment result exists, it raises
or lowers the rule's confidence: a set-up that looks odd but can fit a tiny batch is not called broken.
"""
from __future__ import annotations

import math

from ..findings import Evidence, Finding
from ..recording import Recording
from . import _facts as F
from .registry import rule


def _boost(rec: Recording, base: float, up: float = 0.9, down: float | None = None) -> float:
    """Confidence given the tiny-batch experiment: ``up`` if it failed, ``down`` if it learned."""
    failed = F.overfit_failed(rec)
    if failed is True:
        return max(base, up)
    if failed is False and down is not None:
        return down
    return base


def _weigh_by_training(rec: Recording, conf: float, ev: list[Evidence]) -> float:
    """A suspicion about the set-up is only a cause when the training did not learn anyway: cap the
    confidence below the report threshold when the run clearly learned (evidence appended)."""
    t = F.training_learned(rec)
    if t is not None and t[0]:
        ev.append(Evidence("the training run learned anyway", t[1], None))
        return min(conf, 0.3)
    return conf


def _overfit_evidence(rec: Recording) -> list[Evidence]:
    o = F.exp(rec, "overfit_tiny_batch")
    if not o:
        return []
    ev = [Evidence(f"tiny-batch overfit ({o.get('samples')} samples, {o.get('steps')} steps): loss",
                   observed=f"{o.get('loss_first', float('nan')):.4g} -> {o.get('loss_last', float('nan')):.4g}",
                   expected="near 0")]
    if o.get("accuracy_after") is not None:
        ev.append(Evidence("tiny-batch accuracy after training", observed=round(o["accuracy_after"], 3),
                           expected="1.0 (chance %.3g)" % (o.get("chance_accuracy") or 0)))
    return ev


@rule("TM101", "softmax-single-unit", ["output-activation-mismatch"], "static")
def softmax_single_unit(rec: Recording):
    """
    What it detects:
    A softmax activation on an output layer with a single unit.

    Why training fails:
    Softmax normalises over the units of a layer: over one unit it is exp(z)/exp(z) = 1.0 for every
    input. Every prediction is 1.0, so accuracy equals the share of positive labels and never moves.
    Under the TensorFlow backend Keras 3 still computes the cross-entropy from the pre-activation, so the
    reported loss may fall while the predictions stay pinned at 1.0.

    Evidence:
    The output layer's units and activation; the spread of predictions across inputs (zero).

    Fix:
    Use `Dense(1, activation="sigmoid")` for a binary target (or `Dense(C, activation="softmax")` with C
    classes).

    Example:
    `layers.Dense(1, activation="softmax")` with `loss="binary_crossentropy"` -> use `activation="sigmoid"`.
    """
    if F.out_act(rec) == "softmax" and F.out_units(rec) == 1:
        layer = F.output_activation_layer(rec)
        ev = [Evidence("output units with softmax", observed=1, expected="1 unit -> sigmoid, C units -> softmax")]
        init = F.exp(rec, "initial")
        if init.get("pred_input_spread") is not None:
            ev.append(Evidence("spread of the output across inputs", observed=init["pred_input_spread"],
                               expected="> 0"))
        yield Finding("Softmax over a single output unit is 1.0 for every input: the model cannot predict "
                      "the negative class.", cause="output-activation-mismatch", severity="error",
                      confidence=0.95, evidence=ev, locations=F.loc(layer, F.output_layer(rec)),
                      fix='Use Dense(1, activation="sigmoid") for a binary target.')


@rule("TM102", "output-units-vs-classes", ["output-units-mismatch", "loss-mismatch", "wrong-metric"], "static")
def output_units_vs_classes(rec: Recording):
    """
    What it detects:
    An output layer whose number of units does not match the number of classes in the labels.

    Why training fails:
    With one unit for C > 2 classes (or C units for a different number of classes) most classes cannot be
    represented; the loss broadcasts or compares mismatched columns, and metrics sit at trivial values
    (binary accuracy over C one-hot columns reports 1 - 1/C for a model that predicts nothing).

    Evidence:
    Output units vs the number of classes found in the labels (one-hot width or distinct integer labels).

    Fix:
    One output unit per class with softmax (categorical or sparse categorical cross-entropy); one sigmoid
    unit only for a binary 0/1 target.

    Example:
    42 one-hot classes behind `Dense(1)` -> `Dense(42, activation="softmax")` with categorical
    cross-entropy.
    """
    lab, units = F.label(rec), F.out_units(rec)
    if lab is None or units is None or lab.kind not in ("multiclass-onehot", "multiclass-int", "binary"):
        return
    C = lab.n_classes
    if lab.kind == "binary":
        if units > 2 and F.loss_name(rec) in F.CLASS_LOSSES:
            yield Finding(f"The output has {units} units but the labels have only 2 classes.",
                          cause="output-units-mismatch", severity="warning", confidence=0.6,
                          evidence=[Evidence("output units", units, 2)], locations=F.loc(F.output_layer(rec)))
        return
    if lab.kind == "multiclass-int" and lab.values and units > 1:
        vmax = max(lab.values)
        if units >= vmax + 1:
            return
        if units == len(lab.values) and min(lab.values) >= 1:
            return  # labels 1..C: label-encoding's business
    if units == C:
        return
    also = []
    if units == 1:
        also = ["loss-mismatch"]
        if any(m.resolved == "binary_accuracy" for m in rec.facts.metrics):
            also.append("wrong-metric")
    yield Finding(f"The output layer has {units} unit(s) but the labels have {C} classes.",
                  cause="output-units-mismatch", also=also, severity="error", confidence=0.92,
                  evidence=[Evidence("output units vs classes in the labels", units, C),
                            Evidence("label encoding", lab.kind, None)],
                  locations=F.loc(F.output_layer(rec)),
                  fix=f'Use Dense({C}, activation="softmax") with '
                      f'{"categorical" if lab.kind == "multiclass-onehot" else "sparse_categorical"}_crossentropy.')


@rule("TM103", "linear-output-into-probability-loss", ["output-activation-mismatch"], "static")
def linear_into_probability_loss(rec: Recording):
    """
    What it detects:
    An output without sigmoid/softmax feeding a cross-entropy loss that expects probabilities
    (`from_logits=False`, the default).

    Why training fails:
    Keras clips the "probabilities" to [1e-7, 1 - 1e-7] (binary) or divides them by their sum
    (categorical): raw scores outside [0, 1] get a zero or meaningless gradient, so the loss freezes at a
    constant such as 4.94 or 7.7 and accuracy stays put.

    Evidence:
    The output activation (linear or relu), the loss and its from_logits flag; the gradient at
    initialisation and the tiny-batch experiment.

    Fix:
    Add the activation (sigmoid for one unit, softmax for C units) or keep the linear output and pass
    `from_logits=True` to the loss.

    Example:
    `Dense(2)` + `loss="categorical_crossentropy"` -> `Dense(2, activation="softmax")`, or
    `keras.losses.CategoricalCrossentropy(from_logits=True)`.
    """
    loss, act = F.loss_name(rec), F.out_act(rec)
    if loss not in F.PROB_LOSSES or F.from_logits(rec) or act not in ("linear", "relu", "leaky_relu", "elu",
                                                                       "softplus", "custom"):
        return
    if rec.facts.model and rec.facts.model.framework == "torch":
        return
    units = F.out_units(rec)
    want = "sigmoid" if (units == 1 or loss == "binary_crossentropy") else "softmax"
    ev = [Evidence("output activation", act, want), Evidence("loss", rec.facts.loss.given_as or loss,
                                                              "from_logits=True for raw scores")]
    gf = F.exp(rec, "gradient_flow")
    if gf.get("all_zero"):
        ev.append(Evidence("gradient at initialisation", 0.0, "> 0"))
    ev += _overfit_evidence(rec)
    o = F.exp(rec, "overfit_tiny_batch")
    lo = o.get("loss_min")
    if lo is not None and lo < 0:
        ev.append(Evidence("cross-entropy during the tiny-batch experiment", lo, ">= 0 (it is negative: the "
                                                                                 "loss received invalid probabilities)"))
    out_min = F.exp(rec, "initial").get("output_min")
    if out_min is not None and out_min < 0:
        ev.append(Evidence("smallest output at initialisation", out_min, ">= 0 for a probability"))
    conf = 0.95 if gf.get("all_zero") or (lo is not None and lo < 0) else _boost(rec, 0.8, up=0.93, down=0.75)
    yield Finding(f"The output is {act} (raw scores) but {loss} expects probabilities: Keras clips or "
                  f"normalises them and the gradient vanishes.", cause="output-activation-mismatch",
                  severity="error", confidence=conf, evidence=ev,
                  locations=F.loc(F.output_activation_layer(rec), rec.facts.loss),
                  fix=f'Add activation="{want}" to the output layer, or use from_logits=True in the loss.')


@rule("TM104", "activation-before-logits-loss", ["output-activation-mismatch"], "static")
def activation_before_logits_loss(rec: Recording):
    """
    What it detects:
    A sigmoid/softmax output feeding a loss told that it receives logits (`from_logits=True`), or a
    softmax/sigmoid applied before a PyTorch loss that applies it itself (CrossEntropyLoss,
    BCEWithLogitsLoss).

    Why training fails:
    The activation is applied twice: probabilities in [0, 1] are treated as scores, the effective
    predictions are squeezed towards uniform and the gradient shrinks, so learning is slow or stalls.

    Evidence:
    The output activation and the loss's from_logits flag (or the PyTorch loss class).

    Fix:
    Remove the output activation (keep logits) or set `from_logits=False`.

    Example:
    `Dense(10, activation="softmax")` + `SparseCategoricalCrossentropy(from_logits=True)` -> drop the
    softmax.
    """
    act = F.out_act(rec)
    lf = rec.facts.loss
    if lf is None or act not in ("sigmoid", "softmax"):
        return
    if lf.from_logits or lf.applies in ("softmax", "sigmoid"):
        yield Finding(f"The output already applies {act} but the loss ({lf.given_as or lf.name}) applies it "
                      "again: probabilities are treated as logits.", cause="output-activation-mismatch",
                      severity="error" if F.overfit_failed(rec) else "warning",
                      confidence=_boost(rec, 0.6, up=0.85, down=0.45),
                      evidence=[Evidence("output activation", act, "linear (logits)"),
                                Evidence("loss", lf.given_as or lf.name, None)] + _overfit_evidence(rec),
                      locations=F.loc(F.output_activation_layer(rec), lf),
                      fix="Remove the output activation (the loss applies it), or use from_logits=False.")


@rule("TM105", "bounded-output-for-regression", ["output-activation-mismatch"], "static")
def bounded_output_for_regression(rec: Recording):
    """
    What it detects:
    A regression target outside the range the output activation can produce (sigmoid [0, 1], tanh
    [-1, 1], relu [0, inf), softmax summing to 1).

    Why training fails:
    The network cannot emit the target values: predictions saturate at the bound, the gradient there is
    zero, and the error stays large.

    Evidence:
    The target's observed range vs the activation's range.

    Fix:
    Use a linear output for regression (and standardise the targets), or scale the targets into the
    activation's range.

    Example:
    `Dense(1, activation="sigmoid")` for house prices -> `Dense(1)` (linear).
    """
    lab, act = F.label(rec), F.out_act(rec)
    if lab is None or act not in F.BOUNDED or lab.min is None:
        return
    loss = F.loss_name(rec)
    regression = lab.kind == "regression" or (loss in F.REGRESSION_LOSSES and lab.kind not in ("binary",))
    if not regression:
        return
    lo, hi = F.BOUNDED[act]
    units = F.out_units(rec) or 1
    outside = lab.min < lo - 1e-6 or lab.max > hi + 1e-6
    if act == "softmax":
        outside = True  # softmax outputs sum to 1: never a free regression output
    if not outside:
        return
    yield Finding(f"The {act} output can only produce values in [{lo:g}, {hi:g}]"
                  + (" that sum to 1" if act == "softmax" else "")
                  + f", but the targets range over [{lab.min:.4g}, {lab.max:.4g}].",
                  cause="output-activation-mismatch", severity="error", confidence=0.9,
                  evidence=[Evidence("target range", [round(lab.min, 4), round(lab.max, 4)],
                                     f"within [{lo:g}, {hi:g}]"),
                            Evidence("output activation", act, "linear for regression"),
                            Evidence("output units", units, None)],
                  locations=F.loc(F.output_activation_layer(rec)),
                  fix="Use a linear output layer for regression (and standardise the targets).")


@rule("TM106", "sigmoid-with-categorical-crossentropy", ["output-activation-mismatch"], "static")
def sigmoid_with_cce(rec: Recording):
    """
    What it detects:
    Sigmoid outputs with (sparse) categorical cross-entropy on single-label classes.

    Why training fails:
    It usually does not: Keras 3 computes categorical cross-entropy from the sigmoid's pre-activation
    (as if it were softmax) under the TensorFlow backend, and normalises the outputs under the others, so
    the network trains. But `predict` returns independent sigmoids that do not sum to 1, which misleads
    thresholding and calibration. Reported as a note, not a cause.

    Evidence:
    The output activation, the loss and the one-label-per-sample targets.

    Fix:
    Use softmax for mutually exclusive classes.

    Example:
    `Dense(5, activation="sigmoid")` + `categorical_crossentropy` -> `activation="softmax"`.
    """
    if F.out_act(rec) == "sigmoid" and F.loss_name(rec) in ("categorical_crossentropy",
                                                           "sparse_categorical_crossentropy") \
            and (F.out_units(rec) or 0) > 1:
        yield Finding("Sigmoid outputs with categorical cross-entropy: Keras 3 trains this like softmax, but "
                      "predictions will not sum to 1.", cause="output-activation-mismatch", severity="info",
                      confidence=0.3, evidence=[Evidence("output activation", "sigmoid", "softmax")],
                      locations=F.loc(F.output_activation_layer(rec)),
                      fix='Use activation="softmax" for mutually exclusive classes.')


@rule("TM107", "loss-vs-task", ["loss-mismatch", "label-encoding"], "static")
def loss_vs_task(rec: Recording):
    """
    What it detects:
    A loss that does not fit the labels: categorical cross-entropy on a single output (identically 0),
    a regression loss (MSE/MAE/logcosh) on class labels, binary cross-entropy on regression targets,
    (sparse) categorical cross-entropy with the other label encoding.

    Why training fails:
    The loss defines the gradient. Categorical cross-entropy over one column is log(1) = 0 whatever the
    prediction; MSE on a sigmoid saturates and learns slowly; BCE on targets outside [0, 1] has no
    minimum at the target.

    Evidence:
    The loss, the label kind (binary, one-hot, integer classes, regression) and the output units.

    Fix:
    Binary 0/1 target: one sigmoid unit + binary cross-entropy. C exclusive classes: C softmax units +
    categorical (one-hot) or sparse categorical (integer) cross-entropy. Real values: linear + MSE/MAE.

    Example:
    `Dense(1, activation="sigmoid")` + `loss="categorical_crossentropy"` -> `loss="binary_crossentropy"`.
    """
    loss, lab, units, act = F.loss_name(rec), F.label(rec), F.out_units(rec), F.out_act(rec)
    if loss is None or lab is None:
        return
    locs = F.loc(rec.facts.loss)
    if loss in ("categorical_crossentropy", "categorical_focal_crossentropy") and units == 1:
        gf = F.exp(rec, "gradient_flow")
        ev = [Evidence("output units with categorical cross-entropy", 1, "C >= 2")]
        if gf.get("loss") is not None:
            ev.append(Evidence("loss at initialisation", gf["loss"], "ln 2 = 0.693 for a useful loss"))
        yield Finding("Categorical cross-entropy over a single output column is identically zero: "
                      "there is nothing to learn.", cause="loss-mismatch", severity="error", confidence=0.9,
                      evidence=ev, locations=locs, fix='Use loss="binary_crossentropy" for one sigmoid unit.')
        return
    if loss in ("mse", "mae", "logcosh", "huber", "msle", "mape") and lab.kind in ("binary", "multiclass-onehot",
                                                                                   "multiclass-int"):
        classes = lab.n_classes or 2
        if act in ("sigmoid", "softmax") and (units == classes or (units == 1 and lab.kind == "binary")):
            conf, sev = _boost(rec, 0.45, up=0.6, down=0.3), "warning"
        else:
            conf, sev = 0.7, "error"
        yield Finding(f"A regression loss ({loss}) on class labels ({lab.kind}, {classes} classes): it "
                      "optimises distances between class ids instead of class probabilities.",
                      cause="loss-mismatch", severity=sev, confidence=conf,
                      evidence=[Evidence("loss", loss, "a cross-entropy"), Evidence("labels", lab.kind, None)]
                      + _overfit_evidence(rec), locations=locs,
                      fix="Use binary_crossentropy (one sigmoid unit) or categorical/sparse_categorical "
                          "cross-entropy (softmax units).")
        return
    if loss in ("binary_crossentropy", "bce", "binary_focal_crossentropy") and lab.kind == "regression" \
            and (lab.min < -1e-6 or lab.max > 1 + 1e-6):
        yield Finding(f"Binary cross-entropy on real-valued targets in [{lab.min:.4g}, {lab.max:.4g}]: it has "
                      "no minimum at the target.", cause="loss-mismatch", severity="error", confidence=0.85,
                      evidence=[Evidence("target range", [lab.min, lab.max], "[0, 1] labels")], locations=locs,
                      fix='Use loss="mse" (or "mae") with a linear output for regression.')
        return
    if loss == "sparse_categorical_crossentropy" and lab.kind == "multiclass-onehot":
        yield Finding("Sparse categorical cross-entropy expects integer class ids but the labels are one-hot.",
                      cause="label-encoding", also=["loss-mismatch"], severity="error", confidence=0.85,
                      evidence=[Evidence("labels", "one-hot", "integer class ids")], locations=locs,
                      fix='Use loss="categorical_crossentropy" for one-hot labels (or labels.argmax(1)).')
        return
    if loss == "categorical_crossentropy" and lab.kind == "multiclass-int" and (units or 0) > 1:
        yield Finding("Categorical cross-entropy expects one-hot labels but the labels are integer class ids.",
                      cause="label-encoding", also=["loss-mismatch"], severity="error", confidence=0.85,
                      evidence=[Evidence("labels", "integer ids", "one-hot vectors")], locations=locs,
                      fix='Use loss="sparse_categorical_crossentropy" (or one-hot encode the labels).')
        return
    if loss in ("binary_crossentropy", "bce") and lab.kind == "multiclass-onehot" and units == lab.n_classes \
            and act == "softmax":
        conf = _boost(rec, 0.4, up=0.6, down=0.25)
        yield Finding("Binary cross-entropy on mutually exclusive one-hot classes with a softmax output: each "
                      "column is scored as an independent yes/no question.", cause="loss-mismatch",
                      severity="warning", confidence=conf, evidence=[Evidence("loss", loss, "categorical_crossentropy")],
                      locations=locs, fix='Use loss="categorical_crossentropy".')
    if loss in ("hinge", "squared_hinge", "logcosh", "poisson", "kld", "cosine_similarity") \
            and lab.kind in ("binary", "multiclass-onehot", "multiclass-int") and F.overfit_failed(rec):
        yield Finding(f"{loss} on class labels, and the model cannot fit even a tiny batch.",
                      cause="loss-mismatch", severity="warning", confidence=0.7,
                      evidence=[Evidence("loss", loss, "a cross-entropy")] + _overfit_evidence(rec), locations=locs,
                      fix="Use a cross-entropy loss for classification.")


@rule("TM108", "metric-meaning", ["wrong-metric"], "static")
def metric_meaning(rec: Recording):
    """
    What it detects:
    A metric that cannot mean what the user thinks: `"accuracy"` resolved by Keras to binary accuracy over
    many one-hot columns, or an exact-match `Accuracy()` on probabilities.

    Why training fails:
    Training may be fine or broken; the number the user watches does not tell. Binary accuracy over C
    one-hot columns reports 1 - 1/C (0.9762 for 42 classes) for a model that predicts all zeros; exact
    match of a float probability against a 0/1 label is almost never true.

    Evidence:
    The metric as written, what Keras resolved it to, the label shape and output units.

    Fix:
    `categorical_accuracy` for one-hot labels, `sparse_categorical_accuracy` for integer labels,
    `binary_accuracy` for 0/1 targets.

    Example:
    42 one-hot classes, `Dense(1)`, `metrics=["accuracy"]` reports 0.9762 -> fix the output, then
    `metrics=["categorical_accuracy"]`.
    """
    lab = F.label(rec)
    for m in rec.facts.metrics:
        if m.resolved == "binary_accuracy" and lab is not None and lab.kind == "multiclass-onehot":
            C = lab.n_classes or 0
            yield Finding(f"'{m.given}' resolves to binary accuracy over {C} one-hot columns: a model predicting "
                          f"nothing scores 1 - 1/{C} = {1 - 1 / max(C, 1):.4f}.", cause="wrong-metric",
                          severity="warning", confidence=0.6,
                          evidence=[Evidence("metric", f"{m.given} -> {m.resolved}", "categorical_accuracy"),
                                    Evidence("trivial value", round(1 - 1 / max(C, 1), 4), None)],
                          locations=F.loc(m), fix='Use metrics=["categorical_accuracy"].')
        elif m.resolved == "exact_accuracy" and (F.out_act(rec) in ("sigmoid", "softmax", "linear")):
            yield Finding("keras.metrics.Accuracy() counts exact equality of predictions and labels: "
                          "probabilities are never exactly 0 or 1, so it stays near 0.", cause="wrong-metric",
                          severity="warning", confidence=0.7,
                          evidence=[Evidence("metric", m.given, "BinaryAccuracy() / 'accuracy'")],
                          locations=F.loc(m), fix='Use metrics=["accuracy"] or keras.metrics.BinaryAccuracy().')


_NONLINEAR_PASS = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"}


@rule("TM109", "missing-hidden-activation", ["missing-hidden-activation"], "static")
def missing_hidden_activation(rec: Recording):
    """
    What it detects:
    Hidden Dense/Conv layers with no activation (linear) and no activation layer after them.

    Why training fails:
    A stack of linear layers is one linear map: depth adds nothing, and the network cannot learn any
    decision boundary a linear model cannot.

    Evidence:
    The hidden layers without nonlinearity, out of all hidden layers.

    Fix:
    Give each hidden layer an activation (`activation="relu"`), or add `Activation("relu")` after it.

    Example:
    `Dense(64)`, `Dense(64)`, `Dense(1, activation="sigmoid")` -> `Dense(64, activation="relu")` ...
    """
    m = rec.facts.model
    if not m:
        return
    layers = m.layers
    param_idx = [i for i, l in enumerate(layers) if l.parametric and l.kind != "Embedding"]
    if len(param_idx) < 2:
        return
    hidden = param_idx[:-1]
    linear, maxpool_between = [], False
    for j, i in enumerate(hidden):
        l = layers[i]
        if l.kind in ("LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "MultiHeadAttention"):
            continue
        if l.activation not in (None, "linear"):
            continue
        nxt = param_idx[j + 1]
        between = layers[i + 1:nxt]
        if any(b.is_activation_layer and b.activation not in (None, "linear") for b in between):
            continue
        if any(b.kind in _NONLINEAR_PASS for b in between):
            maxpool_between = True
        linear.append(l)
    if not linear:
        return
    all_linear = len(linear) == len(hidden)
    base = 0.8 if all_linear and not maxpool_between else 0.45
    conf = _boost(rec, base, up=0.85, down=0.35 if not all_linear else 0.6)
    learned: list[Evidence] = []
    conf = _weigh_by_training(rec, conf, learned)
    yield Finding(f"{len(linear)} of {len(hidden)} hidden layers have no nonlinearity "
                  f"({', '.join(l.name for l in linear[:5])}): stacked linear layers collapse into one.",
                  cause="missing-hidden-activation", severity="error" if all_linear else "warning",
                  confidence=conf,
                  evidence=[Evidence("hidden layers without activation", [l.name for l in linear],
                                     "relu (or another nonlinearity)")] + _overfit_evidence(rec) + learned,
                  locations=F.loc(*linear), fix='Add activation="relu" to the hidden layers.')


def _input_scale_problem(rec: Recording) -> tuple[float, list[Evidence], str] | None:
    """(severity score 0..1, evidence, description) of unscaled inputs, None when inputs look scaled."""
    d = rec.facts.data
    if not d or not d.inputs or F.input_scaled_in_model(rec):
        return None
    m = rec.facts.model
    if m and m.layers and m.layers[0].kind == "Embedding":
        return None
    a = d.inputs[0]
    if a.max is None or a.std is None:
        return None
    peak = max(abs(a.max), abs(a.min))
    ev: list[Evidence] = []
    score = 0.0
    desc = ""
    if peak > 20 and a.std > 5:
        score = min(1.0, 0.45 + 0.12 * math.log10(peak / 20 + 1) * 3)
        desc = f"inputs range over [{a.min:.4g}, {a.max:.4g}] (std {a.std:.3g})"
        ev.append(Evidence("input range", [round(a.min, 4), round(a.max, 4)], "about [0, 1] or mean 0, std 1"))
        if a.integer_valued and 0 <= a.min and a.max <= 255:
            ev.append(Evidence("raw 8-bit values", "integers in 0..255", "x / 255"))
            score = max(score, 0.6)
    if a.feature_std_min is not None and a.feature_std_max and a.feature_std_min > 0:
        ratio = a.feature_std_max / a.feature_std_min
        if ratio > 1000 and a.feature_std_max > 10:
            score = max(score, 0.55)
            desc = desc or f"feature scales differ by a factor {ratio:.3g}"
            ev.append(Evidence("ratio of largest to smallest feature std", round(ratio, 1), "< 100"))
    if score == 0.0:
        return None
    return score, ev, desc


@rule("TM110", "unscaled-input", ["unnormalized-input"], "static")
def unscaled_input(rec: Recording):
    """
    What it detects:
    Inputs far from unit scale (raw pixels 0..255, features in the hundreds or thousands, or features
    whose scales differ by orders of magnitude) with no Rescaling/Normalization layer in the model.

    Why training fails:
    The first layer's pre-activations become huge: ReLUs die or sigmoids saturate at initialisation, the
    loss starts far above its expected value, and a learning rate that suits one feature explodes
    another. The network often predicts a single class.

    Evidence:
    The input range and std; confirmed by dead/saturated units and the initial loss at initialisation and
    by the tiny-batch experiment.

    Fix:
    Scale the inputs: `x / 255.0` for images, standardisation (`StandardScaler`, a `Normalization` layer)
    for tabular features.

    Example:
    `model.fit(images, labels)` with uint8 images -> `model.fit(images / 255.0, labels)`.
    """
    found = _input_scale_problem(rec)
    if not found:
        return
    score, ev, desc = found
    confirm = []
    acts = F.exp(rec, "activations")
    dead = [k for k, v in (acts.get("dead_fraction") or {}).items() if v > 0.5]
    sat = [k for k, v in (acts.get("saturation") or {}).items() if v > 0.5]
    if dead:
        confirm.append(Evidence("dead ReLU units at initialisation (layers > 50% dead)", dead, "none"))
    if sat:
        confirm.append(Evidence("saturated units at initialisation (layers > 50% saturated)", sat, "none"))
    init = F.exp(rec, "initial")
    if init.get("loss") is not None and init.get("expected_loss"):
        if init["loss"] > 3 * init["expected_loss"]:
            confirm.append(Evidence("initial loss", init["loss"], f"about {init['expected_loss']:.3g} "
                                                                   f"({init.get('expected_how')})"))
    gf = F.exp(rec, "gradient_flow")
    big = [k for k, v in (gf.get("grad_to_weight") or {}).items() if v is not None and v > 10]
    if big:
        confirm.append(Evidence("gradient/weight norm ratio > 10 at initialisation", big, "< 1"))
    conf = score + 0.12 * len(confirm)
    failed = F.overfit_failed(rec)
    if failed:
        conf += 0.15
    elif failed is False and not confirm:
        conf = min(conf, 0.35 if score < 0.9 else conf)
    conf = min(conf, 0.97)
    conf = _weigh_by_training(rec, conf, ev)  # unscaled inputs that train well are not the problem
    yield Finding(f"The inputs are not scaled: {desc}.", cause="unnormalized-input", severity="error"
                  if conf >= 0.7 else "warning", confidence=conf, evidence=ev + confirm + _overfit_evidence(rec),
                  locations=F.fit_loc(rec), fix="Scale the inputs (x / 255.0 for images, or standardise "
                  "features to mean 0, std 1).")


@rule("TM111", "label-encoding", ["label-encoding", "output-units-mismatch"], "static")
def label_encoding(rec: Recording):
    """
    What it detects:
    Class labels the loss cannot use: binary labels other than 0/1 (e.g. {1, 2}), integer labels starting
    at 1 or reaching the number of output units, negative labels, fractional class labels.

    Why training fails:
    Binary cross-entropy with a target of 2 has its minimum outside [0, 1]; sparse categorical
    cross-entropy with label C on C outputs indexes a class that does not exist (NaN or error); shifted
    labels misassign every class.

    Evidence:
    The distinct label values vs the values the loss and output expect.

    Fix:
    Re-encode labels to 0..C-1 (e.g. `y - 1`, `LabelEncoder`), 0/1 for binary targets.

    Example:
    Labels {1, 2} with `Dense(1, activation="sigmoid")` -> `y - 1`.
    """
    lab, loss, units, act = F.label(rec), F.loss_name(rec), F.out_units(rec), F.out_act(rec)
    if lab is None or loss is None or lab.values is None:
        return
    vals = lab.values
    locs = F.fit_loc(rec)
    if loss in ("binary_crossentropy", "bce", "bce_with_logits", "binary_focal_crossentropy") \
            and lab.kind in ("binary", "multiclass-int") and len(vals) <= 2 and (min(vals) < 0 or max(vals) > 1):
        yield Finding(f"Binary labels are {vals}, but binary cross-entropy needs 0/1 targets.",
                      cause="label-encoding", severity="error", confidence=0.9,
                      evidence=[Evidence("label values", vals, [0, 1])], locations=locs,
                      fix="Map the labels to 0/1 (e.g. y - min(y)).")
        return
    if loss in ("sparse_categorical_crossentropy", "cross_entropy", "nll") and lab.kind in ("multiclass-int",
                                                                                           "binary") \
            and units and units > 1:
        if min(vals) < 0:
            yield Finding(f"Negative class labels {vals[:5]}: class ids must be 0..C-1.", cause="label-encoding",
                          severity="error", confidence=0.9, evidence=[Evidence("smallest label", min(vals), 0)],
                          locations=locs, fix="Re-encode labels to 0..C-1.")
        elif max(vals) >= units:
            shifted = min(vals) >= 1 and max(vals) == units
            yield Finding(f"Labels go up to {max(vals)} but the output has {units} units (classes 0..{units - 1})"
                          + (": the labels look shifted by one." if shifted else "."),
                          cause="label-encoding" if shifted else "output-units-mismatch",
                          also=["output-units-mismatch"] if shifted else ["label-encoding"], severity="error",
                          confidence=0.9, evidence=[Evidence("largest label vs output units", max(vals), units - 1)],
                          locations=locs, fix="Use labels 0..C-1 (e.g. y - 1) or one output unit per class.")
        return
    if lab.kind == "regression" and loss in ("sparse_categorical_crossentropy", "categorical_crossentropy",
                                             "cross_entropy"):
        yield Finding("Class labels are fractional or continuous values but the loss is a classification loss.",
                      cause="label-encoding", severity="error", confidence=0.8,
                      evidence=[Evidence("label values", vals[:8] if vals else [lab.min, lab.max],
                                         "integer class ids")], locations=locs,
                      fix="Use integer class ids (or one-hot vectors) as labels.")


@rule("TM112", "class-imbalance", ["class-imbalance"], "static")
def class_imbalance(rec: Recording):
    """
    What it detects:
    Classes whose frequencies differ by a factor of 10 or more, with no class_weight or sample_weight, where
    the majority rate beats a uniform guess (1/C) by at least 0.2. Weighed by the run: a training that
    clearly beats the majority rate was not held back by the imbalance.

    Why training fails:
    Predicting the majority class everywhere already gives a low loss and high accuracy; the network
    settles there and the minority class is never predicted.

    Evidence:
    Class counts in the training data and the majority rate; whether weights were given.

    Fix:
    `class_weight` (or sample weights, or resampling), and a metric that sees the minority class
    (balanced accuracy, recall, AUC).

    Example:
    95% negatives -> `model.fit(x, y, class_weight={0: 1.0, 1: 19.0})`.
    """
    lab = F.label(rec)
    tr = rec.facts.training
    if lab is None or not lab.class_counts or lab.kind not in ("binary", "multiclass-int", "multiclass-onehot"):
        return
    if tr and (tr.class_weight or tr.sample_weight):
        return
    counts = [c for c in lab.class_counts if c > 0]
    if len(counts) < 2:
        return
    ratio = max(counts) / min(counts)
    majority = max(counts) / sum(counts)
    if ratio < 10 or majority - 1 / len(lab.class_counts) < 0.2:
        return  # many small classes with uneven counts: predicting the majority scores nothing
    conf = min(0.85, 0.5 + 0.1 * math.log10(ratio / 10 + 1) * 3)
    learned: list[Evidence] = []
    conf = _weigh_by_training(rec, conf, learned)
    yield Finding(f"The classes are imbalanced {ratio:.0f}:1 (majority {majority:.1%}) and no class weights are "
                  "used: predicting the majority everywhere already scores well.", cause="class-imbalance",
                  severity="warning", confidence=conf,
                  evidence=[Evidence("class counts", lab.class_counts, "comparable counts or class_weight"),
                            Evidence("majority-class rate", round(majority, 4), None)] + learned,
                  locations=F.fit_loc(rec), fix="Pass class_weight to fit (inverse class frequencies), or "
                  "resample; watch a metric that sees the minority class.")


@rule("TM113", "over-regularization", ["over-regularization"], "static")
def over_regularization(rec: Recording):
    """
    What it detects:
    Dropout rates of 0.8 or more, or kernel L1/L2 factors of 0.1 or more.

    Why training fails:
    Dropping 80%+ of the units leaves too little signal; a huge weight penalty dominates the loss and pins
    the weights near zero, so the network cannot even fit the training data.

    Evidence:
    The dropout rates and regularisation factors per layer; the tiny-batch experiment.

    Fix:
    Dropout 0.1-0.5, L2 1e-4..1e-2.

    Example:
    `Dropout(0.9)` -> `Dropout(0.3)`; `kernel_regularizer=l2(1.0)` -> `l2(1e-4)`.
    """
    m = rec.facts.model
    if not m:
        return
    heavy = [l for l in m.layers if (l.rate or 0) >= 0.8]
    reg = [l for l in m.layers if (l.regularization or 0) >= 0.1]
    if not heavy and not reg:
        return
    ev = []
    if heavy:
        ev.append(Evidence("dropout rates", {l.name: l.rate for l in heavy}, "<= 0.5"))
    if reg:
        ev.append(Evidence("kernel regularisation factors", {l.name: l.regularization for l in reg}, "<= 0.01"))
    conf = _boost(rec, 0.65, up=0.85, down=0.4)
    yield Finding("Regularisation this strong keeps the network from fitting the data.",
                  cause="over-regularization", severity="error" if conf >= 0.7 else "warning", confidence=conf,
                  evidence=ev + _overfit_evidence(rec),
                  locations=F.loc(*F.setting_loc(reg, "regularizer"), *heavy),
                  fix="Lower dropout to 0.1-0.5 and L2 factors to 1e-4..1e-2.")


# Learning rates that are normal for each optimizer family: (alarmingly low, low, high, alarmingly high).
LR_RANGES = {
    "sgd": (1e-5, 1e-3, 1.0, 5.0),
    "adam": (1e-7, 1e-5, 1e-2, 5e-2), "adamw": (1e-7, 1e-5, 1e-2, 5e-2), "nadam": (1e-7, 1e-5, 1e-2, 5e-2),
    "adamax": (1e-7, 1e-5, 3e-2, 1e-1), "rmsprop": (1e-7, 1e-5, 1e-2, 5e-2), "lion": (1e-8, 1e-6, 3e-3, 1e-2),
    "adagrad": (1e-6, 1e-4, 1.0, 5.0), "adadelta": (1e-5, 1e-3, 10.0, 100.0), "ftrl": (1e-6, 1e-4, 1.0, 5.0),
}


@rule("TM114", "learning-rate-for-optimizer", ["lr-too-high", "lr-too-low"], "static")
def learning_rate_for_optimizer(rec: Recording):
    """
    What it detects:
    A learning rate implausible for the optimizer in use: SGD at 0.1 is normal, Adam at 0.1 is not; any
    learning rate <= 0 is wrong. Confirmed or dismissed by the tiny-batch experiment (can the model fit 32
    samples with this optimizer and learning rate?).

    Why training fails:
    Too high: every step overshoots, the loss diverges or ReLUs die. Too low: each update is negligible
    relative to the weights and the metrics stay at chance for many epochs.

    Evidence:
    The optimizer and learning rate vs its usual range (momentum counts: SGD's effective step is
    lr / (1 - momentum)); the tiny-batch loss curve.

    Fix:
    Adam/RMSprop: about 1e-3. SGD: 1e-2..1e-1 (with momentum 0.9). Use the learning-rate range test.

    Example:
    `Adam(learning_rate=0.5)` -> `Adam(learning_rate=1e-3)`; `SGD(learning_rate=1e-6)` ->
    `SGD(learning_rate=0.01, momentum=0.9)`.
    """
    opt = rec.facts.optimizer
    if opt is None or opt.lr is None:
        return
    locs = F.loc(opt)
    if opt.lr <= 0:
        yield Finding(f"The learning rate is {opt.lr:g}: a non-positive rate "
                      + ("ascends the loss." if opt.lr < 0 else "never updates the weights."),
                      cause="lr-too-high" if opt.lr < 0 else "lr-too-low", severity="error", confidence=0.95,
                      evidence=[Evidence("learning rate", opt.lr, "> 0")], locations=locs,
                      fix="Use a positive learning rate (e.g. 1e-3 for Adam).")
        return
    ranges = LR_RANGES.get(opt.name)
    if not ranges:
        return
    very_low, low, high, very_high = ranges
    eff = opt.lr / (1 - opt.momentum) if opt.name == "sgd" and opt.momentum and opt.momentum < 1 else opt.lr
    o = F.exp(rec, "overfit_tiny_batch")
    failed = F.overfit_failed(rec)
    ev_lr = Evidence(f"learning rate for {opt.name}", opt.lr, f"about {low:g}..{high:g}")
    if eff > high:
        alarming = eff > very_high
        conf = 0.6 if alarming else 0.4
        if failed is True or (o and o.get("nonfinite_step") is not None):
            conf = 0.88 if alarming else 0.7
        elif failed is False:
            conf = 0.25
        yield Finding(f"Learning rate {opt.lr:g} is high for {opt.name}"
                      + (f" (effective {eff:g} with momentum {opt.momentum:g})" if eff != opt.lr else "") + ".",
                      cause="lr-too-high", severity="error" if conf >= 0.7 else "warning", confidence=conf,
                      evidence=[ev_lr] + _overfit_evidence(rec), locations=locs,
                      fix=f"Lower the learning rate (about {math.sqrt(low * high):.0e} for {opt.name}).")
    elif opt.lr < low:
        alarming = opt.lr < very_low
        conf = 0.55 if alarming else 0.4
        if failed is True:
            conf = 0.9 if alarming else 0.8
            if o and o.get("loss_ratio") is not None and o["loss_ratio"] < 0.7:
                conf -= 0.2  # it does learn, only slowly
        elif failed is False:
            conf = 0.2
        yield Finding(f"Learning rate {opt.lr:g} is low for {opt.name}: updates are tiny relative to the weights.",
                      cause="lr-too-low", also=["too-few-updates"], severity="error" if conf >= 0.7 else "warning",
                      confidence=conf, evidence=[ev_lr] + _overfit_evidence(rec), locations=locs,
                      fix=f"Raise the learning rate (about {math.sqrt(low * high):.0e} for {opt.name}).")


@rule("TM115", "too-few-updates", ["too-few-updates", "batch-size"], "static")
def too_few_updates(rec: Recording):
    """
    What it detects:
    A training plan with fewer optimizer updates than the model needed to make progress on a tiny batch
    in the pre-flight experiment (or fewer than 20 updates at all).

    Why training fails:
    Each update moves the weights a little; with a handful of epochs over huge (or full) batches the
    network stops before it has learned anything.

    Evidence:
    Planned updates (epochs x steps per epoch, from the batch size and data size) vs the steps the
    tiny-batch experiment needed to halve its loss.

    Fix:
    More epochs, smaller batches, or a higher learning rate.

    Example:
    `fit(x, y, batch_size=len(x), epochs=5)` -> `batch_size=32, epochs=20`.
    """
    tr = rec.facts.training
    if not tr or not tr.planned_updates:
        return
    o = F.exp(rec, "overfit_tiny_batch")
    needed = None
    if o and o.get("losses"):
        ls = [l for l in o["losses"] if l is not None]
        stride = max(1, o.get("steps", len(ls)) // max(len(o["losses"]), 1))
        if ls and ls[0] > 0:
            for i, l in enumerate(ls):
                if l <= 0.5 * ls[0]:
                    needed = i * stride
                    break
    full_batch = tr.batch_size and rec.facts.data and rec.facts.data.n_samples \
        and tr.batch_size >= rec.facts.data.n_samples
    if needed is not None and tr.planned_updates < needed / 2 or tr.planned_updates < 20:
        conf = 0.75 if (needed is not None and tr.planned_updates < needed / 2) else 0.5
        ev = [Evidence("planned optimizer updates", tr.planned_updates,
                       f">= {needed}" if needed is not None else ">= 100")]
        if needed is not None:
            ev.append(Evidence("updates the tiny-batch experiment needed to halve its loss", needed, None))
        yield Finding(f"Training plans only {tr.planned_updates} updates"
                      + (f" (batch size {tr.batch_size} = the whole data set)" if full_batch else "") + ".",
                      cause="too-few-updates", also=["batch-size"] if full_batch else [], severity="warning",
                      confidence=conf, evidence=ev, locations=F.loc(tr),
                      fix="Train for more updates: more epochs or smaller batches (32-128).")


@rule("TM116", "frozen-layers", ["frozen-parameters"], "static")
def frozen_layers(rec: Recording):
    """
    What it detects:
    A model with no trainable weights, or non-trainable layers that still hold random initial weights
    (frozen before any training, so they are not a pre-trained base).

    Why training fails:
    Frozen random layers are fixed random projections; with everything frozen nothing is learned at all.

    Evidence:
    Trainable vs total parameters; the frozen layers and their weight scale compared to a fresh
    initialisation.

    Fix:
    Set `layer.trainable = True` (before compile) on layers that must learn; freeze only pre-trained
    layers.

    Example:
    `Dense(64, activation="relu", trainable=False)` in a model trained from scratch -> remove
    `trainable=False`.
    """
    m = rec.facts.model
    if not m:
        return
    params = [l for l in m.layers if l.parametric and l.n_params > 0]
    if not params:
        return
    frozen = [l for l in params if not l.trainable or (l.n_trainable == 0 and l.n_params > 0)]
    if not frozen:
        return
    if len(frozen) == len(params) or m.n_trainable == 0:
        yield Finding("No layer of the model is trainable: fit cannot change anything.",
                      cause="frozen-parameters", severity="error", confidence=0.95,
                      evidence=[Evidence("trainable parameters", m.n_trainable, f"> 0 of {m.n_params}")],
                      locations=F.setting_loc(frozen, "trainable"),
                      fix="Make the layers trainable (layer.trainable = True) "
                      "before compile.")
        return
    fresh = [l for l in frozen if l.init_std is not None and l.glorot_std
             and 0.5 < l.init_std / l.glorot_std < 2.0 and l.kind != "Embedding"]
    if fresh:
        conf = _boost(rec, 0.6, up=0.8, down=0.45)
        yield Finding(f"{len(fresh)} frozen layer(s) still hold random initial weights "
                      f"({', '.join(l.name for l in fresh[:4])}): they are fixed random projections.",
                      cause="frozen-parameters", severity="warning", confidence=conf,
                      evidence=[Evidence("frozen layers at initial weight scale",
                                         {l.name: round(l.init_std, 4) for l in fresh}, "pre-trained weights")],
                      locations=F.setting_loc(fresh, "trainable"),
                      fix="Remove trainable=False from layers trained from scratch.")


@rule("TM117", "weight-initialisation", ["bad-init"], "static")
def weight_initialisation(rec: Recording):
    """
    What it detects:
    Kernels initialised to a constant (all zeros or all equal), or at a scale 5x or more above/below
    Glorot/He initialisation for their shape.

    Why training fails:
    Constant kernels make every unit of a layer compute the same thing and receive the same gradient:
    they never differentiate. A scale far too large explodes activations and gradients; far too small
    makes them vanish through the layers.

    Evidence:
    The kernel's standard deviation vs the Glorot reference std for its shape.

    Fix:
    Use the default initialisers (`glorot_uniform`; `he_normal` for ReLU layers).

    Example:
    `Dense(64, kernel_initializer="zeros")` -> drop the argument;
    `RandomNormal(stddev=10)` -> `"he_normal"`.
    """
    m = rec.facts.model
    if not m:
        return
    trainable_params = [l for l in m.layers if l.parametric and l.trainable and l.glorot_std]
    const = [l for l in trainable_params if l.kernel_constant]
    big = [l for l in trainable_params if l.init_std and not l.kernel_constant and l.init_std > 5 * l.glorot_std
           * (1.5 if l.activation in ("relu", "leaky_relu", "elu") else 1.0)]
    small = [l for l in trainable_params if l.init_std is not None and not l.kernel_constant
             and 0 < l.init_std < l.glorot_std / 20]
    if const:
        yield Finding(f"Kernels initialised to a constant ({', '.join(l.name for l in const[:4])}): the units "
                      "of each layer stay identical.", cause="bad-init", severity="error",
                      confidence=_boost(rec, 0.8, up=0.92, down=0.5),
                      evidence=[Evidence("kernel std", {l.name: l.init_std for l in const}, "Glorot scale")],
                      locations=F.setting_loc(const, "initializer"),
                      fix="Use the default glorot_uniform (or he_normal) initialiser.")
    if big or small:
        layers = big + small
        gf = F.exp(rec, "gradient_flow")
        conf = _boost(rec, 0.55, up=0.8, down=0.3)
        if gf and not gf.get("finite", True):
            conf = 0.85
        yield Finding("Kernel scale far from Glorot/He initialisation: "
                      + ", ".join(f"{l.name} std {l.init_std:.3g} vs {l.glorot_std:.3g}" for l in layers[:4]) + ".",
                      cause="bad-init", also=["exploding-gradient"] if big else ["vanishing-gradient"],
                      severity="warning", confidence=conf,
                      evidence=[Evidence("kernel std vs Glorot std",
                                         {l.name: [round(l.init_std, 4), round(l.glorot_std, 4)] for l in layers},
                                         "within a factor 5")] + _overfit_evidence(rec),
                      locations=F.setting_loc(layers, "initializer"),
                      fix="Use the default initialisers (he_normal for ReLU layers).")


@rule("TM118", "narrow-bottleneck", ["insufficient-capacity", "dying-relu"], "static")
def narrow_bottleneck(rec: Recording):
    """
    What it detects:
    A hidden layer narrower than the task needs: 1-2 units, or fewer units than the number of classes
    minus one; a ReLU layer of 1-2 units (which dies easily).

    Why training fails:
    All information must squeeze through the bottleneck: a 1-unit layer can only order the inputs along one
    line, and a 1-unit ReLU outputs 0 for half the inputs (all of them once it dies).

    Evidence:
    The layer's units vs the number of classes; the tiny-batch experiment.

    Fix:
    Widen the layer (at least as many units as classes; usually 16-256).

    Example:
    `Dense(1, activation="relu")` as a hidden layer -> `Dense(32, activation="relu")`.
    """
    m = rec.facts.model
    if not m:
        return
    params = [l for l in m.layers if l.parametric and l.units]
    if len(params) < 2:
        return
    C = F.n_classes(rec) or 2
    # a convolution's filters are no bottleneck: each sees every position (16 filters over a 150x150 map)
    narrow = [l for l in params[:-1] if not (l.kind or "").lower().startswith(("conv", "separableconv",
                                                                               "depthwiseconv"))
              and (l.units <= 2 or (C > 3 and l.units < C - 1))]
    if not narrow:
        return
    relu_narrow = [l for l in narrow if l.activation in ("relu", "relu6") and l.units <= 2]
    failed = F.overfit_failed(rec)
    if all(l.units >= 3 for l in narrow):
        # 3+ units into a linear softmax still separate any C classes of a tiny batch (as convex regions):
        # a failed tiny-batch fit is not this layer's doing, so it does not raise the suspicion
        conf = 0.25 if failed is False else 0.45
    else:
        conf = 0.8 if failed else (0.25 if failed is False else 0.5)
    learned: list[Evidence] = []
    conf = _weigh_by_training(rec, conf, learned)
    cause = "dying-relu" if relu_narrow and failed and any(
        v > 0.4 for v in (F.exp(rec, "activations").get("dead_fraction") or {}).values()) else "insufficient-capacity"
    yield Finding(f"Hidden layer(s) {', '.join(f'{l.name} ({l.units} units)' for l in narrow[:3])} are a bottleneck "
                  f"for {C} classes.", cause=cause,
                  also=["insufficient-capacity" if cause == "dying-relu" else "dying-relu"] if relu_narrow else [],
                  severity="warning", confidence=conf,
                  evidence=[Evidence("narrowest hidden layer units", min(l.units for l in narrow), f">= {max(C, 8)}")]
                  + _overfit_evidence(rec) + learned, locations=F.loc(*narrow), fix="Widen the narrow hidden layers.")


@rule("TM119", "deep-saturating-stack", ["vanishing-gradient", "saturated-activation"], "static")
def deep_saturating_stack(rec: Recording):
    """
    What it detects:
    Five or more hidden layers with sigmoid/tanh activations (no batch normalisation or residuals).

    Why training fails:
    Each sigmoid multiplies the gradient by at most 0.25: through many layers the gradient reaching the
    first layers shrinks geometrically and they stop learning.

    Evidence:
    The number of saturating hidden layers; the gradient norm of the first vs the last layer at
    initialisation.

    Fix:
    ReLU-family hidden activations (with He initialisation), batch normalisation, or fewer layers.

    Example:
    Ten `Dense(64, activation="sigmoid")` layers -> `activation="relu"`.
    """
    m = rec.facts.model
    if not m:
        return
    params = [l for l in m.layers if l.parametric]
    hidden = params[:-1]
    sat = [l for l in hidden if l.activation in ("sigmoid", "tanh", "hard_sigmoid")]
    if len(sat) < 5 or any(l.kind in ("BatchNormalization", "LayerNormalization") for l in m.layers):
        return
    gf = F.exp(rec, "gradient_flow")
    ratio = _first_last_ratio(gf)
    conf = 0.45
    ev = [Evidence("saturating hidden layers", len(sat), "< 5 (or ReLU)")]
    if ratio is not None:
        ev.append(Evidence("gradient/weight ratio, first layer / last layer", ratio, "> 0.01"))
        conf = 0.8 if ratio < 1e-3 else (0.6 if ratio < 1e-2 else 0.3)
    if F.overfit_failed(rec):
        conf = max(conf, 0.7)
    yield Finding(f"{len(sat)} stacked sigmoid/tanh hidden layers: the gradient shrinks at every layer.",
                  cause="vanishing-gradient", also=["saturated-activation"], severity="warning", confidence=conf,
                  evidence=ev + _overfit_evidence(rec), locations=F.loc(*sat[:3]),
                  fix='Use activation="relu" in hidden layers (with he_normal), or add BatchNormalization.')


def _first_last_ratio(gf: dict) -> float | None:
    ratios = gf.get("grad_to_weight") or {}
    layers = [k for k in gf.get("layers", []) if ratios.get(k) is not None]
    if len(layers) < 2:
        return None
    first, last = ratios[layers[0]], ratios[layers[-1]]
    if not last or not math.isfinite(last) or not math.isfinite(first):
        return None
    return first / last


@rule("TM120", "relu-before-output-activation", ["dying-relu", "output-activation-mismatch"], "static")
def relu_before_output(rec: Recording):
    """
    What it detects:
    A ReLU applied to the output scores right before the output softmax/sigmoid (e.g. a final
    `Conv2D(10, 1, activation="relu")` before global pooling and softmax), or a ReLU output layer for
    classification.

    Why training fails:
    ReLU clips negative logits to 0: classes cannot be voted against, dead logits get no gradient, and
    with a ReLU output the cross-entropy sees zeros (log 0) for most classes.

    Evidence:
    The chain of activations applied after the last weight layer.

    Fix:
    Keep the final scores linear: no ReLU on the layer that produces the logits.

    Example:
    `Conv2D(10, 1, activation="relu")` -> `Conv2D(10, 1)` before `GlobalAveragePooling2D()` + softmax.
    """
    m = rec.facts.model
    if not m:
        return
    layers = m.layers
    params = [i for i, l in enumerate(layers) if l.parametric]
    if not params:
        return
    last = params[-1]
    chain = [layers[last].activation] + [l.activation for l in layers[last + 1:] if l.is_activation_layer]
    chain = [c for c in chain if c and c != "linear"]
    if len(chain) >= 2 and chain[0] in ("relu", "relu6") and chain[-1] in ("softmax", "sigmoid"):
        yield Finding(f"The output scores pass through ReLU before {chain[-1]}: negative logits are clipped.",
                      cause="dying-relu", also=["output-activation-mismatch"], severity="warning",
                      confidence=_boost(rec, 0.6, up=0.8, down=0.35),
                      evidence=[Evidence("activations after the last weight layer", chain, [chain[-1]])]
                      + _overfit_evidence(rec),
                      locations=F.loc(layers[last]), fix="Remove the ReLU from the layer producing the logits.")
    elif chain == ["relu"] and F.loss_name(rec) in F.CLASS_LOSSES and not F.from_logits(rec):
        pass  # covered by TM103 (a relu output into a probability loss)


@rule("TM121", "nonfinite-data", ["numerical-instability"], "static")
def nonfinite_data(rec: Recording):
    """
    What it detects:
    NaN or Inf in the inputs or labels sample, or float16 inputs.

    Why training fails:
    A single NaN propagates through every sum it enters: the loss and all weights become NaN at the first
    batch that contains it. float16 overflows above 65504.

    Evidence:
    Which array holds non-finite values; the input dtype.

    Fix:
    Clean or impute the data (`np.nan_to_num`, drop rows); feed float32.

    Example:
    `x = df.values` with missing values -> `df.fillna(df.mean()).values.astype("float32")`.
    """
    d = rec.facts.data
    if not d:
        return
    bad = [f"input {i}" for i, a in enumerate(d.inputs) if not a.finite]
    bad += [f"target {i}" for i, t in enumerate(d.targets) if not t.finite]
    if bad:
        yield Finding(f"Non-finite values (NaN/Inf) in the training data: {', '.join(bad)}.",
                      cause="numerical-instability", severity="error", confidence=0.9,
                      evidence=[Evidence("arrays with NaN/Inf", bad, "none")], locations=F.fit_loc(rec),
                      fix="Remove or impute NaN/Inf values before training.")
    f16 = [i for i, a in enumerate(d.inputs) if a.dtype == "float16"]
    if f16 and F.overfit_failed(rec):
        yield Finding("float16 inputs with a failing tiny-batch experiment.", cause="numerical-instability",
                      severity="warning", confidence=0.6,
                      evidence=[Evidence("input dtype", "float16", "float32")], locations=F.fit_loc(rec),
                      fix="Feed float32 inputs.")


@rule("TM122", "dropout-on-output", ["over-regularization", "output-activation-mismatch"], "static")
def dropout_on_output(rec: Recording):
    """
    What it detects:
    A Dropout layer between the last weight layer and the output activation, i.e. dropout on the logits.

    Why training fails:
    Zeroing output scores at random during training makes the target class vanish from the prediction for
    a fraction of the samples: the loss is dominated by noise the network cannot control.

    Evidence:
    The layers after the last weight layer.

    Fix:
    Remove the Dropout after the output layer (dropout belongs between hidden layers).

    Example:
    `Dense(10)`, `Dropout(0.5)`, `Activation("softmax")` -> `Dense(10)`, `Activation("softmax")`.
    """
    m = rec.facts.model
    if not m:
        return
    params = [i for i, l in enumerate(m.layers) if l.parametric]
    if not params:
        return
    after = m.layers[params[-1] + 1:]
    drops = [l for l in after if l.rate]
    if drops:
        yield Finding(f"Dropout ({drops[0].rate:g}) is applied to the output scores.", cause="over-regularization",
                      also=["output-activation-mismatch"], severity="warning",
                      confidence=_boost(rec, 0.6, up=0.8, down=0.4),
                      evidence=[Evidence("layers after the output layer", [l.kind for l in after], "activation only")],
                      locations=F.loc(*drops), fix="Remove the Dropout after the last Dense layer.")


@rule("TM123", "validation-overlaps-training", ["validation-leak"], "static")
def validation_overlaps_training(rec: Recording):
    """
    What it detects:
    Validation samples that are also training samples: rows of `validation_data` found, byte for byte,
    among the training inputs passed to `fit`.

    Why training fails:
    The validation numbers measure memory, not generalisation: they track the training metrics, look good
    and mean nothing; early stopping and model selection are fooled.

    Evidence:
    The number and fraction of validation rows identical to a training row.

    Fix:
    Split once (e.g. `train_test_split(x, y)`) before any augmentation or duplication, and validate on the
    held-out part only.

    Example:
    `model.fit(x, y, validation_data=(x[:200], y[:200]))` -> split first, train on the rest.
    """
    o = F.exp(rec, "validation_overlap")
    frac = o.get("fraction")
    if not o or frac is None or frac < 0.1:
        return
    yield Finding(f"{o['shared']} of {o['n_validation']} validation samples ({frac:.0%}) are also training samples.",
                  cause="validation-leak", severity="error" if frac >= 0.5 else "warning",
                  confidence=0.9 if frac >= 0.5 else 0.7,
                  evidence=[Evidence("validation rows identical to a training row", round(frac, 3), 0.0)],
                  locations=F.loc(*F.fit_loc(rec)[:1], rec.facts.training.validation_origin if rec.facts.training
                                  else None), fix="Validate on samples held out from training.")
