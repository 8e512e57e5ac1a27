"""Experiment rules (TM2xx): what the pre-flight experiments on a copy of the model measured."""
from __future__ import annotations

import math

from ..findings import Evidence, Finding
from ..recording import Recording
from . import _facts as F
from .registry import rule
from .static import _first_last_ratio, _input_scale_problem, _overfit_evidence


def weighed_by_training(fn):
    """For rules about the state at initialisation: when the user's training clearly learned anyway
    (:func:`_facts.training_learned`), the state it started from was not why it fails - cap the confidence
    below the report threshold and say why."""
    import functools
    from dataclasses import replace

    @functools.wraps(fn)
    def wrapped(rec: Recording):
        t = F.training_learned(rec)
        for f in fn(rec):
            if t is not None and t[0] and f.confidence > 0.3:
                f = replace(f, confidence=0.3, evidence=[*f.evidence,
                                                         Evidence("the training run learned anyway", t[1], None)])
            yield f
    wrapped.suspicion = True  # the run can refute it: never a reason to end a training early
    return wrapped


@rule("TM201", "zero-gradient-at-init", ["output-activation-mismatch", "loss-mismatch", "dying-relu", "bad-init"],
      "experiment")
def zero_gradient(rec: Recording):
    """
    What it detects:
    A gradient of exactly zero in every layer at initialisation, on a batch of real training data.

    Why training fails:
    With a zero gradient no optimizer, learning rate or number of epochs changes a single weight: the loss
    is frozen at its first value. The usual reasons: probabilities clipped at the loss's bounds (raw
    scores into a probability loss), an output that does not depend on the weights (softmax over one
    unit, categorical cross-entropy over one column), or every ReLU dead.

    Evidence:
    The gradient norm per layer and the loss on the probe batch.

    Fix:
    Fix the output activation / loss pairing (see the other findings); for dead ReLUs scale the inputs.

    Example:
    `Dense(2)` + `categorical_crossentropy` (no softmax): gradient 0, loss frozen at 4.94.
    """
    gf = F.exp(rec, "gradient_flow")
    if not gf or not gf.get("all_zero"):
        return
    act, loss, units = F.out_act(rec), F.loss_name(rec), F.out_units(rec)
    dead = F.exp(rec, "activations").get("dead_fraction") or {}
    if act == "softmax" and units == 1:
        cause, also = "output-activation-mismatch", []
    elif loss in ("categorical_crossentropy",) and units == 1:
        cause, also = "loss-mismatch", ["output-activation-mismatch"]
    elif loss in F.PROB_LOSSES and not F.from_logits(rec) and act not in ("sigmoid", "softmax"):
        cause, also = "output-activation-mismatch", []
    elif dead and max(dead.values()) > 0.99:
        cause, also = "dying-relu", ["unnormalized-input"] if _input_scale_problem(rec) else ["bad-init"]
    else:
        cause, also = "bad-init", []
    yield Finding("The gradient is exactly zero in every layer at initialisation: no update can change the "
                  "weights.", cause=cause, also=also, severity="error", confidence=0.85,
                  evidence=[Evidence("gradient norm, all layers", 0.0, "> 0"),
                            Evidence("loss on the probe batch", gf.get("loss"), None)],
                  locations=F.loc(F.output_activation_layer(rec), rec.facts.loss))


@rule("TM202", "initial-loss-off", ["unnormalized-input", "bad-init", "loss-mismatch"], "experiment")
@weighed_by_training
def initial_loss_off(rec: Recording):
    """
    What it detects:
    An initial loss far from the value an untrained, well-initialised network should have (ln C for C
    classes, ln 2 for a binary output), or exactly zero.

    Why training fails:
    A loss many times ln C at initialisation means the network is confidently wrong before it has learned
    anything: huge pre-activations from unscaled inputs or a bad initialisation, saturated outputs with
    tiny gradients. A loss of exactly 0 means the loss cannot see the predictions.

    Evidence:
    The measured loss on a probe batch vs the expected value.

    Fix:
    Scale the inputs; use the default initialisers; check the loss/output pairing.

    Example:
    3 classes, initial loss 45 instead of ln 3 = 1.10, raw pixel inputs -> `x / 255`.
    """
    init = F.exp(rec, "initial")
    lossv, expected = init.get("loss"), init.get("expected_loss")
    if lossv is None or not expected:
        return
    if lossv == 0.0 and F.loss_name(rec) in F.PROB_LOSSES:
        yield Finding("The loss is exactly 0 at initialisation: it does not depend on the predictions.",
                      cause="loss-mismatch", severity="error", confidence=0.8,
                      evidence=[Evidence("initial loss", 0.0, f"{expected:.3g} ({init.get('expected_how')})")],
                      locations=F.loc(rec.facts.loss))
        return
    if not math.isfinite(lossv) or lossv > 4 * expected + 1:
        unscaled = _input_scale_problem(rec)
        # a probability loss fed something that is not a probability (relu/linear output, no from_logits):
        # Keras clips it, and the clipped values set the loss - the output, not the initialisation
        not_prob = F.loss_name(rec) in ("binary_crossentropy", "categorical_crossentropy",
                                        "sparse_categorical_crossentropy") and not F.from_logits(rec) \
            and F.out_act(rec) not in (None, "sigmoid", "softmax")
        cause = "unnormalized-input" if unscaled else "output-activation-mismatch" if not_prob else "bad-init"
        yield Finding(f"The initial loss is {lossv:.4g}, expected about {expected:.3g} "
                      f"({init.get('expected_how')}): the untrained network is confidently wrong.",
                      cause=cause, severity="warning", confidence=0.55 if unscaled else 0.45,
                      evidence=[Evidence("initial loss", lossv, f"about {expected:.3g}")],
                      locations=F.fit_loc(rec) if unscaled else F.loc(F.output_activation_layer(rec)) if not_prob
                      else [])


@rule("TM203", "dead-relu-at-init", ["dying-relu", "unnormalized-input", "bad-init"], "experiment")
@weighed_by_training
def dead_relu_at_init(rec: Recording):
    """
    What it detects:
    Hidden ReLU layers where more than half of the units output 0 for every sample of a probe batch,
    before any training.

    Why training fails:
    A dead ReLU has zero gradient for every input, so it never recovers; once most units of a layer are
    dead the layers above see a constant and the network predicts a single class.

    Evidence:
    Dead fraction per ReLU layer on the probe batch.

    Fix:
    Scale the inputs, use He initialisation, lower the learning rate, or use LeakyReLU.

    Example:
    Raw 0..255 pixels into `Conv2D(..., activation="relu")`: 80% of units dead at initialisation.
    """
    dead = F.exp(rec, "activations").get("dead_fraction") or {}
    bad = {k: v for k, v in dead.items() if v > 0.5}
    if not bad:
        return
    worst = max(bad.values())
    unscaled = _input_scale_problem(rec)
    m = rec.facts.model
    layers = [l for l in (m.layers if m else []) if l.name in bad]
    neg_bias = [l for l in layers if l.bias_mean is not None and l.bias_mean < -0.5]
    if neg_bias:
        cause, also = "dying-relu", ["bad-init"]
    elif unscaled:
        cause, also = "dying-relu", ["unnormalized-input"]
    else:
        cause, also = "dying-relu", []
    conf = 0.55 + 0.3 * (worst - 0.5) * 2
    if F.overfit_learned(rec):
        conf = min(conf, 0.35)
    yield Finding(f"{len(bad)} ReLU layer(s) are mostly dead at initialisation (worst {worst:.0%} of units never "
                  "active).", cause=cause, also=also, severity="warning", confidence=min(conf, 0.9),
                  evidence=[Evidence("dead fraction per ReLU layer", {k: round(v, 3) for k, v in bad.items()},
                                     "< 0.5")] + ([Evidence("mean bias", {l.name: round(l.bias_mean, 3)
                                                                          for l in neg_bias}, ">= 0")]
                                                  if neg_bias else []),
                  locations=F.loc(*layers))


@rule("TM204", "saturated-at-init", ["saturated-activation", "unnormalized-input"], "experiment")
@weighed_by_training
def saturated_at_init(rec: Recording):
    """
    What it detects:
    Hidden sigmoid/tanh layers where more than half of the outputs sit in the flat tails (sigmoid below
    0.01 or above 0.99, |tanh| above 0.99) at initialisation.

    Why training fails:
    In the tails the derivative is nearly zero: the gradient does not pass and these layers do not learn.

    Evidence:
    Saturated fraction per sigmoid/tanh layer on the probe batch.

    Fix:
    Scale the inputs; lower the initial weight scale; use ReLU in hidden layers.

    Example:
    Features in the thousands into `Dense(64, activation="tanh")`: 97% saturated.
    """
    sat = F.exp(rec, "activations").get("saturation") or {}
    bad = {k: v for k, v in sat.items() if v > 0.5}
    if not bad:
        return
    unscaled = _input_scale_problem(rec)
    m = rec.facts.model
    layers = [l for l in (m.layers if m else []) if l.name in bad]
    conf = 0.6 + 0.3 * (max(bad.values()) - 0.5) * 2
    if F.overfit_learned(rec):
        conf = min(conf, 0.35)
    yield Finding(f"{len(bad)} sigmoid/tanh layer(s) are saturated at initialisation.",
                  cause="saturated-activation", also=["unnormalized-input"] if unscaled else [],
                  severity="warning", confidence=min(conf, 0.9),
                  evidence=[Evidence("saturated fraction", {k: round(v, 3) for k, v in bad.items()}, "< 0.5")],
                  locations=F.loc(*layers))


@rule("TM205", "gradient-flow-at-init", ["vanishing-gradient", "exploding-gradient", "numerical-instability"],
      "experiment")
@weighed_by_training
def gradient_flow(rec: Recording):
    """
    What it detects:
    At initialisation, a gradient (relative to the weights) in the first layer 1000x smaller than in the
    last layer (vanishing), a gradient larger than 100x the weights (exploding), or a non-finite loss or
    gradient.

    Why training fails:
    Vanishing: the first layers never learn. Exploding: the first update throws the weights far away and
    the loss becomes Inf/NaN.

    Evidence:
    Gradient norm / weight norm per layer on a probe batch.

    Fix:
    Vanishing: ReLU activations, He initialisation, batch normalisation. Exploding: scale inputs and
    targets, lower the learning rate, clip gradients.

    Example:
    Ten sigmoid layers: first/last gradient ratio 2e-6.
    """
    gf = F.exp(rec, "gradient_flow")
    if not gf or gf.get("all_zero"):
        return
    if not gf.get("finite", True):
        yield Finding("The loss or the gradient is NaN/Inf at initialisation.", cause="numerical-instability",
                      also=["exploding-gradient"], severity="error", confidence=0.8,
                      evidence=[Evidence("loss on the probe batch", gf.get("loss"), "finite")])
        return
    ratio = _first_last_ratio(gf)
    if ratio is not None and ratio < 1e-3 and len(gf.get("layers", [])) >= 3:
        yield Finding(f"The gradient reaching the first layer is {ratio:.2g} times that of the last layer "
                      "(relative to their weights).", cause="vanishing-gradient", severity="warning",
                      confidence=0.75 if ratio < 1e-4 else 0.6,
                      evidence=[Evidence("first/last layer gradient-to-weight ratio", ratio, "> 1e-2")])
    rel = gf.get("grad_to_weight") or {}
    huge = {k: v for k, v in rel.items() if v is not None and v > 100}
    if huge:
        unscaled = _input_scale_problem(rec)
        lab = F.label(rec)
        big_targets = lab is not None and lab.kind == "regression" and lab.std is not None and lab.std > 100
        yield Finding("Gradients are more than 100 times larger than the weights at initialisation.",
                      cause="exploding-gradient",
                      also=["unnormalized-input"] if unscaled or big_targets else [],
                      severity="warning", confidence=0.6,
                      evidence=[Evidence("gradient/weight norm ratio", {k: round(v, 1) for k, v in huge.items()},
                                         "< 1")]
                      + ([Evidence("target std", lab.std, "about 1 (standardised)")] if big_targets else []))


@rule("TM206", "constant-output", ["output-activation-mismatch", "dying-relu"], "experiment")
def constant_output(rec: Recording):
    """
    What it detects:
    Predictions that do not depend on the input: the same output for every sample, both at
    initialisation and after the tiny-batch experiment trained the copy.

    Why training fails:
    If the output cannot vary with the input, the best the network can do is predict the label
    frequencies: accuracy at the majority rate, a single class predicted for everything.

    Evidence:
    The spread of the outputs across inputs before and after training the copy.

    Fix:
    Follow the other findings (output activation, dead ReLUs, unscaled inputs).

    Example:
    Softmax over one unit: every output is 1.0.
    """
    init = F.exp(rec, "initial")
    o = F.exp(rec, "overfit_tiny_batch")
    s0 = init.get("pred_input_spread")
    s1 = (o.get("pred_after") or {}).get("input_spread") if o else None
    if s0 is None or s1 is None:
        return
    if s0 < 1e-7 and s1 < 1e-7:
        act, units = F.out_act(rec), F.out_units(rec)
        dead = F.exp(rec, "activations").get("dead_fraction") or {}
        cause = "output-activation-mismatch" if (act == "softmax" and units == 1) else (
            "dying-relu" if dead and max(dead.values()) > 0.9 else None)
        if cause is None:
            return
        yield Finding("The output is the same for every input, before and after training a copy on a tiny batch.",
                      cause=cause, severity="error", confidence=0.7,
                      evidence=[Evidence("output spread across inputs (init, after training)", [s0, s1], "> 0")])


@rule("TM207", "tiny-batch-diverges", ["lr-too-high", "numerical-instability", "exploding-gradient"], "experiment")
def tiny_batch_diverges(rec: Recording):
    """
    What it detects:
    The tiny-batch experiment, trained with the user's optimizer and learning rate, produces a NaN/Inf
    loss or ends with a loss well above where it started.

    Why training fails:
    If 32 samples cannot be fitted without diverging, the full run will diverge too: the steps are too
    large for the loss surface (learning rate, unscaled inputs or targets, an unstable loss).

    Evidence:
    The loss curve of the experiment and the step where it became non-finite.

    Fix:
    Lower the learning rate; scale inputs and targets; clip gradients; use the built-in losses.

    Example:
    `Adam(learning_rate=1.0)`: loss NaN at step 3 of the experiment.
    """
    o = F.exp(rec, "overfit_tiny_batch")
    if not o:
        return
    nf = o.get("nonfinite_step")
    first, last = o.get("loss_first"), o.get("loss_last")
    diverged = nf is not None or (first and last and math.isfinite(first) and math.isfinite(last)
                                  and last > 1.5 * first)
    if not diverged:
        return
    opt = rec.facts.optimizer
    from .static import LR_RANGES

    high = opt is not None and opt.lr is not None and opt.name in LR_RANGES and opt.lr > LR_RANGES[opt.name][2]
    unscaled = _input_scale_problem(rec)
    lab = F.label(rec)
    big_targets = lab is not None and lab.kind == "regression" and lab.std is not None and lab.std > 100
    if unscaled or big_targets:
        cause, also = "unnormalized-input", ["exploding-gradient"]
    elif high:
        cause, also = "lr-too-high", ["exploding-gradient"]
    elif F.loss_name(rec) == "custom":
        cause, also = "numerical-instability", []
    else:
        cause, also = "exploding-gradient", ["lr-too-high"]
    yield Finding("Training a copy on a tiny batch with your optimizer "
                  + (f"hits NaN/Inf at step {nf}." if nf is not None else f"raises the loss from {first:.4g} to "
                                                                          f"{last:.4g}."),
                  cause=cause, also=also, severity="error", confidence=0.8,
                  evidence=_overfit_evidence(rec) + ([Evidence("target std", lab.std, "about 1")] if big_targets
                                                     else []),
                  locations=F.loc(opt) if cause == "lr-too-high" else
                  F.loc(rec.facts.loss.computed_at, *F.fit_loc(rec)) if cause == "numerical-instability"
                  else F.fit_loc(rec))


@rule("TM208", "held-out-folds-not-learned", ["overfitting", "data-label-misalignment"], "experiment")
def held_out_folds(rec: Recording):
    """
    What it detects:
    On a small training set with hundreds of parameters per example and no validation data, a copy of the
    model trained as planned (the user's starting weights, epochs and batch size) on three quarters of the
    training set fits them (training accuracy at least 0.95) but predicts the quarter it did not see at least
    0.25 worse - pooled over four folds, every example held out once.

    Why training fails:
    With far more parameters than examples the network stores the training set instead of learning the rule
    behind it: the training metrics are perfect and new data is predicted badly. Without validation data
    nothing in the user's run shows it. When the held-out accuracy stays at chance, nothing generalises at
    all - which is also what labels that do not belong to their inputs look like.

    Evidence:
    Training and held-out accuracy of the folds, the majority-class rate, parameters per example.

    Fix:
    Train on more data (or all of it), a smaller or regularised model, and always a validation split
    (`validation_split=0.2`) with early stopping.

    Example:
    40 examples of 60 features into Dense(256) -> Dense(256) -> Dense(3): folds fit 1.0, held-out 0.55.
    """
    h = F.exp(rec, "holdout")
    if not h or h.get("folds", 0) < 2 or h.get("held_out", 0) < 20:
        return
    train, held, chance = h["train_accuracy"], h["held_out_accuracy"], h.get("chance_accuracy") or 0.0
    if train < 0.95 or held > train - 0.25:
        return
    m, d = rec.facts.model, rec.facts.data
    per = m.n_trainable / d.n_samples if m and d and d.n_samples else None
    at_chance = held <= chance + 0.1 * (1 - chance)
    low = held <= chance + 0.5 * (1 - chance)
    yield Finding(f"A copy trained as planned on {h['folds']} x 3/4 of the {h['samples']} training examples fits "
                  f"them (training accuracy {train:.2f}) but predicts the examples it did not see with accuracy "
                  f"{held:.2f} (majority rate {chance:.2f}): the network memorises the training set instead of "
                  "learning from it." + (f" It has {per:.0f} parameters per example." if per else ""),
                  cause="overfitting", also=["data-label-misalignment"] if at_chance else [],
                  severity="error", confidence=0.75 if low else 0.6,
                  evidence=[Evidence("accuracy on the training folds", round(train, 3), ">= 0.95"),
                            Evidence(f"accuracy on the held-out folds ({h['held_out']} examples)", round(held, 3),
                                     f"close to {train:.2f}"),
                            Evidence("majority-class rate", round(chance, 3))]
                  + ([Evidence("trainable parameters per training example", round(per), "< 200")] if per else []),
                  locations=F.fit_loc(rec),
                  fix="Train on more data (or all of it), shrink or regularise the model (Dropout, weight decay), and "
                      "validate (validation_split=0.2 with EarlyStopping).")


FIRST_STEP_TOO_LARGE = 1.0  # plain SGD: the first update moves a layer's weights by their own norm


@rule("TM209", "first-update-too-large", ["lr-too-high", "exploding-gradient"], "experiment")
@weighed_by_training
def first_update_too_large(rec: Recording):
    """
    What it detects:
    With plain SGD (momentum or not) the first update of a layer is the learning rate times its gradient.
    Measured on a batch of training data at initialisation: learning rate x gradient norm / weight norm of at
    least 1 in some layer - the very first step moves its weights by more than their whole norm.

    Why training fails:
    A step as large as the weights throws away the initialisation: pre-activations jump far from zero, ReLU
    units die, the loss jumps or the output collapses to a constant. SGD, unlike Adam, does not normalise the
    step by the gradient's size, so large gradients (unscaled targets or inputs) make a usual rate too high.

    Evidence:
    Per layer: learning rate x gradient/weight norm ratio at initialisation; the optimizer and rate.

    Fix:
    Lower the learning rate until the first steps are small (well under 0.1 of the weights), or an adaptive
    optimizer (Adam), clip gradients (`clipnorm=1.0`), and scale targets/inputs to unit variance.

    Example:
    MSE on targets up to 135 with `SGD()` (0.01): gradients 194x the weights, the first step 1.9x the weights;
    the ReLU layers die and the network predicts the mean.
    """
    gf = F.exp(rec, "gradient_flow")
    opt = rec.facts.optimizer
    if not gf or gf.get("all_zero") or not gf.get("finite", True) or opt is None or opt.name != "sgd" \
            or not opt.lr or opt.lr <= 0:
        return
    rel = {k: v * opt.lr for k, v in (gf.get("grad_to_weight") or {}).items() if v is not None and math.isfinite(v)}
    big = {k: v for k, v in rel.items() if v >= FIRST_STEP_TOO_LARGE}
    if not big:
        return
    worst = max(big, key=big.get)
    unscaled = _input_scale_problem(rec)
    lab = F.label(rec)
    big_targets = lab is not None and lab.kind == "regression" and lab.std is not None and lab.std > 10
    ev = [Evidence("learning rate x gradient/weight norm at initialisation (first update / weights)",
                   {k: round(v, 2) for k, v in sorted(big.items(), key=lambda kv: -kv[1])[:4]},
                   f"< {FIRST_STEP_TOO_LARGE:g} (well under 0.1)"),
          Evidence("optimizer", f"sgd, learning rate {opt.lr:g}")]
    if big_targets:
        ev.append(Evidence("target std", round(lab.std, 3), "about 1 (standardised)"))
    yield Finding(f"The first SGD update would move the weights of {worst} by {big[worst]:.2g}x their norm "
                  f"(learning rate {opt.lr:g} x gradient {big[worst] / opt.lr:.3g}x the weights): the learning rate "
                  "is too high for gradients this large.", cause="lr-too-high",
                  also=["exploding-gradient"] + (["unnormalized-input"] if unscaled or big_targets else []),
                  severity="error", confidence=0.8 if big[worst] >= 10 else 0.7, evidence=ev, locations=F.loc(opt),
                  fix="Lower the learning rate (or use Adam), clip gradients, and scale the targets and inputs.")
