"""The cause taxonomy: the one source of truth for every root cause trainmedic can name.

Cause ids are a public contract (JSON reports, docs, benchmarks): never rename one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CauseInfo:
    """A root cause of a network that does not learn."""

    id: str
    title: str
    why: str
    fixes: tuple[str, ...]


_CAUSES = [
    CauseInfo("loss-mismatch", "The loss does not fit the task or the labels",
              "The loss defines what 'better' means. A regression loss on class labels, binary cross-entropy on "
              "one-hot multi-class targets, or categorical cross-entropy on a single output optimises something "
              "other than the task, so the metric the user watches does not move.",
              ("Use binary cross-entropy for one 0/1 target, categorical cross-entropy for one-hot classes, "
               "sparse categorical cross-entropy for integer class labels, MSE/MAE for real-valued targets.",)),
    CauseInfo("output-activation-mismatch", "The output activation does not fit the loss or the target",
              "A missing, wrong or doubled output activation: softmax on one unit (always 1.0), a linear output "
              "into a loss that expects probabilities, softmax before a loss that applies it itself, a bounded "
              "output (sigmoid, relu, softmax) for a target outside its range. The gradient is zero, clipped or "
              "points the wrong way, so training stalls.",
              ("Sigmoid on one unit for binary targets, softmax on C units for C classes, linear for regression; "
               "or keep a linear output and set from_logits=True.",)),
    CauseInfo("output-units-mismatch", "The number of output units does not match the number of classes",
              "The output layer has fewer (or more) units than the target has classes, so most classes cannot "
              "be represented; the loss broadcasts or compares the wrong things and accuracy sits at a trivial "
              "value.", ("Give the output layer one unit per class (one unit only for a binary 0/1 target).",)),
    CauseInfo("label-encoding", "The labels are encoded in a way the loss cannot use",
              "Labels shifted ({1,2} instead of {0,1}), scaled, out of the range of the output, or one-hot where "
              "indices are expected (and the reverse) make the loss compare predictions to the wrong numbers.",
              ("Encode class labels as 0..C-1 integers (sparse loss) or one-hot vectors (categorical loss); "
               "binary labels as 0/1.",)),
    CauseInfo("unnormalized-input", "The inputs are not scaled",
              "Raw pixel values (0..255) or features of very different magnitudes make the first layer's "
              "pre-activations huge: ReLUs die or saturate, sigmoids saturate, and a learning rate that suits "
              "one feature explodes another.",
              ("Scale inputs to about [0, 1] or standardise them to mean 0, std 1 (e.g. x / 255, or a "
               "Normalization / Rescaling layer).",)),
    CauseInfo("lr-too-high", "The learning rate is too high",
              "Each step overshoots: the loss oscillates, diverges or jumps to a plateau where units are dead.",
              ("Lower the learning rate (try the learning-rate range test's suggestion; Adam usually 1e-3 or "
               "less).",)),
    CauseInfo("lr-too-low", "The learning rate is too low",
              "Each update is tiny relative to the weights: the loss creeps down and the metrics stay at "
              "chance for many epochs.",
              ("Raise the learning rate (SGD 1e-2..1e-1, Adam 1e-3), or use an adaptive optimizer.",)),
    CauseInfo("too-few-updates", "Too few parameter updates",
              "With few epochs, huge batches or a tiny data set, the optimizer takes too few steps to move "
              "the weights far from their initial values.",
              ("Train for more steps: more epochs, smaller batches, or a higher learning rate.",)),
    CauseInfo("bad-init", "The weights are badly initialised",
              "Constant or zero initialisation keeps units symmetric; a far too large or small scale makes the "
              "signal explode or vanish from the first step.",
              ("Use the default Glorot/He initialisers (He for ReLU layers).",)),
    CauseInfo("dying-relu", "ReLU units die",
              "ReLU units whose pre-activation is negative for every input output zero and get zero gradient: "
              "once most die, the network stops learning and often predicts one class.",
              ("Scale the inputs, lower the learning rate, use He initialisation, or LeakyReLU.",)),
    CauseInfo("saturated-activation", "Sigmoid/tanh units are saturated",
              "Saturated sigmoid or tanh units have a derivative near zero, so almost no gradient passes.",
              ("Scale the inputs, use ReLU in hidden layers, lower the initial weight scale.",)),
    CauseInfo("vanishing-gradient", "The gradient vanishes before it reaches the first layers",
              "Through many saturating layers the gradient shrinks geometrically: the first layers do not "
              "learn.",
              ("Use ReLU-family activations, He initialisation, batch normalisation or residual connections; "
               "fewer layers.",)),
    CauseInfo("exploding-gradient", "The gradient explodes",
              "Gradients grow through the layers or over time until updates are huge and the loss becomes "
              "Inf/NaN.",
              ("Scale inputs and targets, lower the learning rate, clip gradients (clipnorm), fix the "
               "initialisation.",)),
    CauseInfo("missing-hidden-activation", "Hidden layers have no nonlinearity",
              "Stacked layers with no activation between them collapse into one linear map: the network cannot "
              "learn anything a linear model cannot.",
              ("Give hidden Dense/Conv layers an activation (activation='relu').",)),
    CauseInfo("data-label-misalignment", "Inputs and labels are misaligned",
              "If labels were shuffled, sorted or sliced independently of the inputs, there is nothing to "
              "learn: the best the network can do is predict the label frequencies.",
              ("Shuffle and split inputs and labels together (one permutation, or train_test_split(x, y)).",)),
    CauseInfo("class-imbalance", "The classes are heavily imbalanced",
              "When one class dominates, predicting it everywhere already gives a low loss and a high "
              "accuracy, and the network settles there.",
              ("Use class_weight / sample weights or resampling, and a metric that sees the minority class "
               "(balanced accuracy, recall, AUC).",)),
    CauseInfo("overfitting", "The network memorises the training set",
              "Training loss falls while validation loss rises: the network fits noise in too little data.",
              ("More data or augmentation, a smaller model, dropout or weight decay, early stopping.",)),
    CauseInfo("wrong-metric", "The metric does not measure what the user thinks",
              "Keras resolves 'accuracy' from the loss and output: binary accuracy over many one-hot columns "
              "reports 1-1/C for a model that predicts nothing; exact-match accuracy on probabilities reports "
              "0 for a good model.",
              ("Use categorical_accuracy for one-hot targets, sparse_categorical_accuracy for integer labels, "
               "binary_accuracy for 0/1 targets.",)),
    CauseInfo("train-eval-mismatch", "Training and evaluation data are prepared differently",
              "Validation or test data scaled or encoded differently from the training data (or a model "
              "left in eval mode while training) makes the evaluated network a different function.",
              ("Apply exactly the same preprocessing (fitted on the training data) to every split.",)),
    CauseInfo("validation-leak", "The validation data leaks from the training data",
              "Validation samples that are also training samples make validation metrics track training "
              "metrics: the numbers look good and mean nothing.",
              ("Split the data once, before any augmentation or duplication; keep validation disjoint.",)),
    CauseInfo("numerical-instability", "The computation is numerically unstable",
              "log(0), division by zero, float16 overflow or a hand-written softmax/log loss produce Inf/NaN.",
              ("Use the framework's built-in losses (from_logits=True), add epsilons, keep float32.",)),
    CauseInfo("frozen-parameters", "Parameters are frozen or never updated",
              "Layers set non-trainable, parameters missing from the optimizer, or a graph cut by detach() "
              "leave weights at their initial values.",
              ("Make the layers trainable, pass model.parameters() to the optimizer, remove detach()/.data in "
               "the forward pass, call optimizer.step().",)),
    CauseInfo("missing-zero-grad", "Gradients accumulate across steps",
              "Without optimizer.zero_grad() every step adds its gradient to all previous ones: updates grow "
              "and point in stale directions, and the loss oscillates or diverges.",
              ("Call optimizer.zero_grad() once per step, before loss.backward().",)),
    CauseInfo("batch-size", "The batch size does not suit the training",
              "Full-batch training with few epochs takes too few steps; batch size 1 with a high learning "
              "rate makes each step pure noise.",
              ("Use a batch size of 16-256 and adjust the learning rate with it.",)),
    CauseInfo("over-regularization", "Regularisation is so strong the network cannot fit",
              "Huge L2 penalties or dropout near 1 dominate the loss or destroy the signal: the network cannot "
              "even fit the training set.",
              ("Lower the weight decay / L2 factor (1e-4..1e-2) and dropout (0.1..0.5).",)),
    CauseInfo("insufficient-capacity", "The network is too small for the task",
              "A bottleneck of one or two units, or a model with too few parameters, cannot represent the "
              "decision function: it cannot even overfit a small batch.",
              ("Widen the narrow layers or add layers.",)),
]

CAUSES: dict[str, CauseInfo] = {c.id: c for c in _CAUSES}

# An output or loss that does not fit the task: while one stands, the loss values themselves mean little (a
# loss that climbs or oscillates says nothing about the learning rate), so curve-only evidence of another
# cause does not count against it, and no learning-rate sweep is run.
OUTPUT_LOSS_CAUSES = frozenset({"output-activation-mismatch", "output-units-mismatch", "loss-mismatch",
                                "label-encoding"})
CAUSE_IDS: tuple[str, ...] = tuple(CAUSES)


def cause(cause_id: str) -> CauseInfo:
    """Return the :class:`CauseInfo` for ``cause_id`` (KeyError with the valid ids if unknown)."""
    try:
        return CAUSES[cause_id]
    except KeyError:
        raise KeyError(f"unknown cause id {cause_id!r}; valid ids: {', '.join(CAUSE_IDS)}") from None


def cause_ids(ids, what: str = "halt_on") -> list[str]:
    """``ids`` as a list, after checking each is a cause id (ValueError naming ``what`` and the valid ids)."""
    out = list(ids or [])
    unknown = [c for c in out if c not in CAUSES]
    if unknown:
        raise ValueError(f"{what}: unknown cause ids {unknown}; valid ids: {', '.join(CAUSES)}")
    return out
