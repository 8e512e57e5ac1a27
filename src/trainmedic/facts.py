"""Set-up facts: what an integration learns about a model, its loss, optimizer and data.

Facts are plain, framework-free data. Integrations fill them; rules read them. Every field that cannot be
determined is ``None`` (unknown), never a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Location:
    """A place in the user's code (never a framework's)."""

    file: str
    line: int
    code: str | None = None  # the source line, when known

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class LayerFact:
    name: str
    kind: str  # class name: Dense, Conv2D, Activation, Dropout, Linear, ReLU ...
    units: int | None = None  # output units / filters / out_features
    activation: str | None = None  # canonical: linear, relu, sigmoid, softmax, tanh, leaky_relu, ... or None
    is_activation_layer: bool = False  # a layer whose only job is an activation (Activation, ReLU, Softmax)
    trainable: bool = True
    n_params: int = 0
    n_trainable: int = 0
    rate: float | None = None  # dropout rate
    regularization: float | None = None  # L2 (or L1) factor on the kernel
    init: str | None = None  # kernel initializer name
    init_std: float | None = None  # measured std of the kernel when described
    glorot_std: float | None = None  # std Glorot-uniform would give this kernel's shape (the scale reference)
    kernel_constant: bool | None = None  # every kernel entry equal (symmetric units)
    bias_mean: float | None = None
    output_shape: list | None = None
    parametric: bool = False  # has weights that transform features (Dense, Conv, LSTM ...)
    location: Location | None = None
    # where a setting of the layer was made, when not in the layer's own construction: "initializer" (the
    # initializer object passed in), "regularizer", "trainable" (a later ``layer.trainable = False``)
    set_at: dict[str, Location] = field(default_factory=dict)


@dataclass
class ModelFacts:
    framework: str  # keras | torch
    backend: str | None = None
    name: str | None = None
    layers: list[LayerFact] = field(default_factory=list)
    output_units: int | None = None
    output_activation: str | None = None  # effective activation applied to the final output
    n_params: int = 0
    n_trainable: int = 0
    n_outputs: int = 1
    location: Location | None = None


@dataclass
class LossFact:
    name: str  # canonical: binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    #            mse, mae, hinge, logcosh, poisson, kld, huber, custom, ...
    from_logits: bool | None = None
    applies: str | None = None  # activation the loss applies itself (torch CrossEntropyLoss: softmax)
    given_as: str | None = None  # how the user wrote it: "'binary_crossentropy'", "BinaryCrossentropy(...)"
    location: Location | None = None
    computed_at: Location | None = None  # a custom loss: the statement of the user's code that returns it


@dataclass
class MetricFact:
    given: str  # what the user wrote ('accuracy')
    resolved: str  # what the framework computes (binary_accuracy, categorical_accuracy, ...)
    location: Location | None = None


@dataclass
class OptimizerFact:
    name: str  # canonical lower-case: sgd, adam, adamw, rmsprop, adagrad, adadelta, nadam, ...
    lr: float | None = None
    momentum: float | None = None
    nesterov: bool | None = None
    weight_decay: float | None = None
    clipnorm: float | None = None
    location: Location | None = None


@dataclass
class ArrayFacts:
    """Summary of an input array (computed on a sample)."""

    shape: list
    dtype: str
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    channel_mean: list | None = None
    channel_std: list | None = None
    feature_std_min: float | None = None
    feature_std_max: float | None = None
    integer_valued: bool | None = None
    finite: bool = True
    n_constant_features: int | None = None


@dataclass
class LabelFacts:
    shape: list
    dtype: str
    kind: str  # binary | multiclass-int | multiclass-onehot | multilabel | regression | unknown
    n_classes: int | None = None
    values: list | None = None  # sorted distinct values (at most 50)
    class_counts: list | None = None  # counts per class (index order)
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    finite: bool = True


@dataclass
class DataFacts:
    n_samples: int | None = None  # in the whole training set, when known
    sample_size: int = 0  # samples actually summarised
    inputs: list[ArrayFacts] = field(default_factory=list)
    targets: list[LabelFacts] = field(default_factory=list)
    source: str | None = None  # numpy | tf.data | PyDataset | generator | DataLoader
    location: Location | None = None  # the fit() call or loop that consumed the data
    origin: Location | None = None  # where the array passed to fit() was last assigned, when found


@dataclass
class TrainingFacts:
    batch_size: int | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    planned_updates: int | None = None
    class_weight: bool = False
    sample_weight: bool = False
    validation: bool = False
    location: Location | None = None
    validation_origin: Location | None = None  # where the validation inputs were last assigned


@dataclass
class SetupFacts:
    model: ModelFacts | None = None
    loss: LossFact | None = None
    optimizer: OptimizerFact | None = None
    metrics: list[MetricFact] = field(default_factory=list)
    data: DataFacts | None = None
    training: TrainingFacts | None = None
