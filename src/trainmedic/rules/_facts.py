"""Small accessors shared by rules: read facts and experiment results with None for unknown."""
from __future__ import annotations

import math

from ..facts import LabelFacts, LayerFact, Location
from ..recording import Recording

PROB_LOSSES = {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "binary_focal_crossentropy", "categorical_focal_crossentropy", "bce", "nll"}
CLASS_LOSSES = PROB_LOSSES | {"cross_entropy", "bce_with_logits", "hinge", "squared_hinge", "categorical_hinge"}
REGRESSION_LOSSES = {"mse", "mae", "huber", "logcosh", "msle", "mape", "l1", "smooth_l1", "poisson"}
BOUNDED = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, float("inf")),
           "hard_sigmoid": (0.0, 1.0), "softplus": (0.0, float("inf")), "relu6": (0.0, 6.0),
           "elu": (-1.0, float("inf")), "exponential": (0.0, float("inf"))}


def label(rec: Recording) -> LabelFacts | None:
    d = rec.facts.data
    return d.targets[0] if d and d.targets else None


def loss_name(rec: Recording) -> str | None:
    return rec.facts.loss.name if rec.facts.loss else None


def from_logits(rec: Recording) -> bool:
    return bool(rec.facts.loss and rec.facts.loss.from_logits)


def out_act(rec: Recording) -> str | None:
    return rec.facts.model.output_activation if rec.facts.model else None


def out_units(rec: Recording) -> int | None:
    return rec.facts.model.output_units if rec.facts.model else None


def output_layer(rec: Recording) -> LayerFact | None:
    m = rec.facts.model
    if not m:
        return None
    return next((l for l in reversed(m.layers) if l.parametric), None)


def output_activation_layer(rec: Recording) -> LayerFact | None:
    """The layer that sets the output activation (an activation layer after the output, or the output)."""
    m = rec.facts.model
    if not m:
        return None
    for l in reversed(m.layers):
        if l.is_activation_layer and l.activation not in (None, "linear"):
            return l
        if l.parametric:
            return l
    return None


def loc(*items) -> list[Location]:
    """Locations of facts that have one (layers, loss, optimizer ...), without duplicates."""
    out: list[Location] = []
    for it in items:
        l = it if isinstance(it, Location) else getattr(it, "location", None)
        if l is not None and all((l.file, l.line) != (o.file, o.line) for o in out):
            out.append(l)
    return out


def setting_loc(layers, key: str) -> list[Location]:
    """Where a setting of these layers was made (the initializer object, ``layer.trainable = False``),
    then the layers themselves: the first line is the one to change."""
    return loc(*[l.set_at[key] for l in layers if key in (l.set_at or {})], *layers)


def compile_loc(rec: Recording) -> list[Location]:
    return loc(rec.facts.loss)


def fit_loc(rec: Recording) -> list[Location]:
    d = rec.facts.data
    return loc(d.location, d.origin) if d else []


def exp(rec: Recording, name: str) -> dict:
    return rec.experiments.get(name) or {}


def output_blocked(rec: Recording) -> bool:
    """Is the output independent of the input or the gradient zero at initialisation? Then no other
    defect can be judged by whether training works: this one blocks everything."""
    init, gf = exp(rec, "initial"), exp(rec, "gradient_flow")
    spread = init.get("pred_input_spread")
    return bool(gf.get("all_zero")) or (spread is not None and spread < 1e-7)


def overfit_failed(rec: Recording) -> bool | None:
    """Did the tiny-batch overfit experiment fail to learn? None when it did not run, or when a blocking
    defect (constant output, zero gradient) explains the failure by itself."""
    o = exp(rec, "overfit_tiny_batch")
    if not o or output_blocked(rec):
        return None
    acc, chance = o.get("accuracy_after"), o.get("chance_accuracy")
    ratio = o.get("loss_ratio")
    if o.get("nonfinite_step") is not None:
        return True
    if acc is not None and chance is not None:
        return acc < max(chance + 0.5 * (1 - chance), 0.75)
    if ratio is not None:
        return ratio > 0.5
    return None


def overfit_learned(rec: Recording) -> bool:
    return overfit_failed(rec) is False


def n_classes(rec: Recording) -> int | None:
    lab = label(rec)
    return lab.n_classes if lab else None


def input_scaled_in_model(rec: Recording) -> bool:
    """Does the model start with a rescaling/normalisation layer (so raw inputs are fine)?"""
    m = rec.facts.model
    if not m:
        return False
    for l in m.layers:
        if l.kind in ("Rescaling", "Normalization", "BatchNormalization", "LayerNormalization",
                      "BatchNorm1d", "BatchNorm2d", "LayerNorm"):
            return True
        if l.parametric:
            return False
    return False


_ACC_SIGNALS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "acc")


def majority_rate(rec: Recording) -> float | None:
    """The share of the most frequent class in the training labels (single-label classification only)."""
    lab = label(rec)
    if lab is None or not lab.class_counts or lab.kind not in ("binary", "multiclass-int", "multiclass-onehot"):
        return None
    counts = [c for c in lab.class_counts if c > 0]
    return max(counts) / sum(counts) if counts else None


def mse_target_variance(rec: Recording) -> float | None:
    """The targets' variance for a single-output MSE regression (the loss of predicting their mean), else
    None: ``1 - loss / variance`` is then the R^2 of a training loss."""
    lab = label(rec)
    if loss_name(rec) == "mse" and lab is not None and lab.kind == "regression" and lab.std \
            and (len(lab.shape) == 1 or (len(lab.shape) == 2 and lab.shape[1] == 1)):
        return lab.std ** 2
    return None


def training_learned(rec: Recording) -> tuple[bool, str] | None:
    """Did the user's training itself clearly learn? (verdict, what shows it), None when nothing says.

    Classification with a recorded training accuracy: the accuracy of the last two epochs (and the validation
    accuracy, when recorded) closes at least 60% of the gap between the majority-class rate and 1. Otherwise:
    the last epoch loss is at most a fifth of the loss at the start (the pre-flight initial loss, else the
    first recorded one) and, for a single-output MSE regression, at most 40% of the targets' variance (what
    predicting their mean scores). Static suspicions (an odd
    architecture, unscaled features) are weighed by this, as an expert would: a set-up that trains well is
    not why a network does not learn."""
    chance = majority_rate(rec)
    if chance is not None:
        for name in _ACC_SIGNALS:
            s = rec.signals.get(name)
            vals = s.finite() if s is not None else []
            if len(vals) >= 2:
                bar = chance + 0.6 * (1 - chance)
                vs = rec.signals.get(f"val_{name}")
                val = vs.finite()[-2:] if vs is not None else []
                ok = min(vals[-2:]) >= bar and (not val or min(val) >= bar)
                seen = f"training {name} {vals[-1]:.4g}" + (f", validation {val[-1]:.4g}" if val else "")
                return ok, f"{seen} over the last epochs (majority rate {chance:.3g}, bar {bar:.3g})"
    s = rec.signals.get("epoch_loss")
    vals = s.finite() if s is not None else []
    if len(vals) < 2:
        return None
    start = exp(rec, "initial").get("loss")
    if start is None or not math.isfinite(start) or start <= 0:
        start = vals[0]
    if start <= 0:
        return None
    var = mse_target_variance(rec)
    if var is not None:
        # regression: the baseline is predicting the mean (MSE = the targets' variance); learned means
        # explaining at least 60% of it (R^2 >= 0.6), whatever the loss was at the start
        r2 = 1 - vals[-1] / var
        return vals[-1] <= 0.2 * start and r2 >= 0.6, \
            f"training loss {start:.4g} -> {vals[-1]:.4g} (target variance {var:.4g}: R^2 {r2:.2f}, bar 0.6)"
    return vals[-1] <= 0.2 * start, f"training loss {start:.4g} -> {vals[-1]:.4g}"
