"""Describe a compiled Keras 3 model: layers, activations, loss, metrics, optimizer -> set-up facts."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import sites
from ...facts import LayerFact, LossFact, MetricFact, ModelFacts, OptimizerFact

PARAMETRIC = {"Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
              "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
              "LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "Embedding",
              "MultiHeadAttention", "TimeDistributed", "LocallyConnected1D", "LocallyConnected2D"}
RECURRENT = {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D"}
ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax", "LeakyReLU": "leaky_relu",
                     "PReLU": "prelu", "ELU": "elu"}

LOSS_ALIASES = {
    "binary_crossentropy": "binary_crossentropy", "bce": "binary_crossentropy",
    "binarycrossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy", "cce": "categorical_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "mean_squared_error": "mse", "mse": "mse", "meansquarederror": "mse",
    "mean_absolute_error": "mae", "mae": "mae", "meanabsoluteerror": "mae",
    "mean_absolute_percentage_error": "mape", "mape": "mape", "meanabsolutepercentageerror": "mape",
    "mean_squared_logarithmic_error": "msle", "msle": "msle", "meansquaredlogarithmicerror": "msle",
    "hinge": "hinge", "squared_hinge": "squared_hinge", "squaredhinge": "squared_hinge",
    "categorical_hinge": "categorical_hinge", "categoricalhinge": "categorical_hinge",
    "log_cosh": "logcosh", "logcosh": "logcosh", "huber": "huber", "huber_loss": "huber",
    "poisson": "poisson", "kl_divergence": "kld", "kld": "kld", "kldivergence": "kld",
    "binary_focal_crossentropy": "binary_focal_crossentropy",
    "binaryfocalcrossentropy": "binary_focal_crossentropy",
    "categorical_focal_crossentropy": "categorical_focal_crossentropy",
    "categoricalfocalcrossentropy": "categorical_focal_crossentropy",
    "cosine_similarity": "cosine_similarity", "cosinesimilarity": "cosine_similarity",
    "crossentropy": "crossentropy", "ce": "crossentropy",
}
METRIC_ALIASES = {"acc": "accuracy", "accuracy": "accuracy", "binary_accuracy": "binary_accuracy",
                  "categorical_accuracy": "categorical_accuracy",
                  "sparse_categorical_accuracy": "sparse_categorical_accuracy"}


def activation_name(fn: Any) -> str | None:
    """Canonical name of a Keras activation (function, string, layer), 'custom' when unknown."""
    if fn is None:
        return None
    if isinstance(fn, str):
        return fn.lower()
    name = getattr(fn, "__name__", None) or type(fn).__name__
    name = name.lower()
    if name in ("linear", "identity"):
        return "linear"
    for known in ("leaky_relu", "relu6", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish",
                  "silu", "softplus", "softsign", "hard_sigmoid", "exponential", "log_softmax", "mish"):
        if name == known or name.endswith("." + known):
            return known
    if name == "<lambda>":
        return "custom"
    return name


def flatten_layers(model) -> list:
    """All leaf layers in forward order (nested models expanded, the input layer dropped)."""
    out = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers") and type(layer).__name__ in ("Sequential", "Functional", "Model") \
                or (hasattr(layer, "layers") and layer.__class__.__mro__[1].__name__ in ("Model", "Functional")):
            out.extend(flatten_layers(layer))
        else:
            out.append(layer)
    return out


def _units(layer) -> int | None:
    for attr in ("units", "filters", "output_dim"):
        v = getattr(layer, attr, None)
        if isinstance(v, (int, np.integer)):
            return int(v)
    if type(layer).__name__ == "Bidirectional":
        inner = getattr(layer, "forward_layer", None)
        u = getattr(inner, "units", None)
        return 2 * int(u) if u else None
    if type(layer).__name__ == "TimeDistributed":
        return _units(layer.layer)
    return None


def _count(weights) -> int:
    n = 0
    for w in weights:
        try:
            n += int(np.prod(w.shape))
        except Exception:
            pass
    return n


def describe_layer(layer) -> LayerFact:
    kind = type(layer).__name__
    inner = layer.layer if kind == "TimeDistributed" else layer
    fact = LayerFact(name=layer.name, kind=kind, units=_units(layer), trainable=bool(layer.trainable),
                     location=sites.site_of(layer))
    if kind in ACTIVATION_LAYERS:
        fact.is_activation_layer = True
        fact.activation = ACTIVATION_LAYERS[kind] or activation_name(getattr(layer, "activation", None))
    elif hasattr(inner, "activation"):
        fact.activation = activation_name(inner.activation)
    fact.parametric = kind in PARAMETRIC
    if kind in RECURRENT and fact.activation is None:
        fact.activation = "tanh"
    if kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
                "GaussianDropout"):
        fact.rate = float(getattr(layer, "rate", 0.0) or 0.0)
    reg = getattr(inner, "kernel_regularizer", None)
    if reg is not None:
        fact.regularization = float(getattr(reg, "l2", 0.0) or 0.0) + float(getattr(reg, "l1", 0.0) or 0.0)
    init = getattr(inner, "kernel_initializer", None)
    if init is not None:
        fact.init = type(init).__name__
    made = {"initializer": sites.site_of(init), "regularizer": sites.site_of(reg),
            "trainable": sites.setting_site(layer, "trainable")}
    own = (fact.location.file, fact.location.line) if fact.location else None
    fact.set_at = {k: at for k, at in made.items() if at is not None and (at.file, at.line) != own}
    try:
        fact.n_params = _count(layer.weights)
        fact.n_trainable = _count(layer.trainable_weights)
        kernel = getattr(inner, "kernel", None)
        if kernel is not None and fact.parametric:
            k = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel)
            fact.init_std = float(k.std())
            fact.kernel_constant = bool(k.size > 1 and np.all(k == k.flat[0]))
            if k.ndim >= 2:
                receptive = int(np.prod(k.shape[:-2])) if k.ndim > 2 else 1
                fan_in, fan_out = k.shape[-2] * receptive, k.shape[-1] * receptive
                fact.glorot_std = float(np.sqrt(2.0 / (fan_in + fan_out)))
        bias = getattr(inner, "bias", None)
        if bias is not None:
            b = np.asarray(bias.numpy() if hasattr(bias, "numpy") else bias)
            fact.bias_mean = float(b.mean()) if b.size else None
    except Exception:
        pass
    return fact


def output_activation(layers: list[LayerFact]) -> tuple[str | None, list[str]]:
    """The effective activation at the output and the chain of activations after the last weight layer.

    Returns (activation, chain): chain lists every non-linear activation applied after (and including)
    the last parametric layer, in order; activation is its last element or 'linear'.
    """
    chain: list[str] = []
    for lf in reversed(layers):
        if lf.is_activation_layer:
            if lf.activation and lf.activation != "linear":
                chain.insert(0, lf.activation)
            continue
        if lf.parametric:
            if lf.activation and lf.activation != "linear" and lf.kind not in RECURRENT:
                chain.insert(0, lf.activation)
            break
    return (chain[-1] if chain else "linear"), chain


def canonical_loss(loss: Any) -> LossFact:
    if isinstance(loss, (list, tuple)) and loss:
        loss = loss[0]
    if isinstance(loss, dict) and loss:
        loss = next(iter(loss.values()))
    if loss is None:
        return LossFact(name="none", given_as="None")
    if isinstance(loss, str):
        key = loss.lower()
        return LossFact(name=LOSS_ALIASES.get(key, key), from_logits=False, given_as=repr(loss))
    cls = type(loss).__name__
    module = type(loss).__module__ or ""
    if hasattr(loss, "_fn_kwargs") and module.startswith("keras"):
        name = LOSS_ALIASES.get(cls.lower(), None)
        fn = getattr(loss, "fn", None)
        if name is None and fn is not None:
            name = LOSS_ALIASES.get(getattr(fn, "__name__", "").lower(), None)
        fl = loss._fn_kwargs.get("from_logits")
        return LossFact(name=name or cls.lower(), from_logits=bool(fl) if fl is not None else None,
                        given_as=f"{cls}({', '.join(f'{k}={v!r}' for k, v in loss._fn_kwargs.items())})",
                        location=sites.site_of(loss))
    if callable(loss):
        fname = getattr(loss, "__name__", cls)
        fmod = getattr(loss, "__module__", "") or ""
        if fmod.startswith("keras") and fname.lower() in LOSS_ALIASES:
            return LossFact(name=LOSS_ALIASES[fname.lower()], from_logits=False, given_as=fname)
        code = loss if not isinstance(loss, type) and hasattr(loss, "__code__") else getattr(loss, "call", None)
        return LossFact(name="custom", given_as=fname, location=sites.site_of(loss),
                        computed_at=sites.returned_at(code) if code is not None else None)
    return LossFact(name="custom", given_as=repr(loss))


def resolve_metric(given: Any, y_shape: list | None, out_units: int | None, out_rank: int | None) -> MetricFact:
    """Resolve a metric the way Keras 3 does (``compile_utils.get_metric``): 'accuracy' depends on shapes."""
    text = given if isinstance(given, str) else (getattr(given, "name", None) or getattr(given, "__name__", None)
                                                  or type(given).__name__)
    key = str(text).lower()
    if not isinstance(given, str):
        cls = type(given).__name__
        if cls == "Accuracy":
            return MetricFact(given=f"{cls}()", resolved="exact_accuracy")
        resolved = {"BinaryAccuracy": "binary_accuracy", "CategoricalAccuracy": "categorical_accuracy",
                    "SparseCategoricalAccuracy": "sparse_categorical_accuracy"}.get(cls, key)
        return MetricFact(given=f"{cls}()", resolved=resolved)
    if key in ("accuracy", "acc"):
        if out_units is None or y_shape is None:
            return MetricFact(given=text, resolved="accuracy")
        y_rank, y_last = len(y_shape), (y_shape[-1] if len(y_shape) > 1 else None)
        out_rank = out_rank or 2
        if out_units == 1:
            return MetricFact(given=text, resolved="binary_accuracy")
        if y_rank < out_rank or (y_last == 1 and out_units > 1):
            return MetricFact(given=text, resolved="sparse_categorical_accuracy")
        return MetricFact(given=text, resolved="categorical_accuracy")
    return MetricFact(given=text, resolved=METRIC_ALIASES.get(key, key))


def describe_optimizer(opt) -> OptimizerFact | None:
    if opt is None:
        return None
    if isinstance(opt, str):
        return OptimizerFact(name=opt.lower())
    fact = OptimizerFact(name=type(opt).__name__.lower(), location=sites.site_of(opt))
    lr = getattr(opt, "learning_rate", None)
    try:
        if hasattr(lr, "get_config") and "initial_learning_rate" in lr.get_config():
            fact.lr = float(lr.get_config()["initial_learning_rate"])
        elif lr is not None:
            fact.lr = float(np.asarray(lr.numpy() if hasattr(lr, "numpy") else lr))
    except Exception:
        pass
    m = getattr(opt, "momentum", None)
    if isinstance(m, (int, float)):
        fact.momentum = float(m)
    if hasattr(opt, "nesterov"):
        fact.nesterov = bool(opt.nesterov)
    wd = getattr(opt, "weight_decay", None)
    if isinstance(wd, (int, float)):
        fact.weight_decay = float(wd)
    cn = getattr(opt, "clipnorm", None) or getattr(opt, "global_clipnorm", None)
    if isinstance(cn, (int, float)):
        fact.clipnorm = float(cn)
    return fact


def describe_model(model, backend: str | None = None) -> ModelFacts:
    layers = [describe_layer(l) for l in flatten_layers(model)]
    act, _ = output_activation(layers)
    last_param = next((l for l in reversed(layers) if l.parametric), None)
    facts = ModelFacts(framework="keras", backend=backend, name=model.name, layers=layers,
                       output_units=last_param.units if last_param else None, output_activation=act,
                       location=sites.site_of(model))
    try:
        facts.n_params = int(model.count_params()) if model.built else sum(l.n_params for l in layers)
        facts.n_trainable = _count(model.trainable_weights)
    except Exception:
        facts.n_params = sum(l.n_params for l in layers)
        facts.n_trainable = sum(l.n_trainable for l in layers)
    try:
        facts.n_outputs = len(model.outputs) if getattr(model, "outputs", None) else 1
    except Exception:
        facts.n_outputs = 1
    return facts


def compiled_metrics(model) -> list:
    cm = getattr(model, "_compile_metrics", None)
    user = getattr(cm, "_user_metrics", None)
    if user is None:
        return []
    if isinstance(user, dict):
        user = next(iter(user.values()), [])
    if isinstance(user, (list, tuple)) and user and isinstance(user[0], (list, tuple)):
        user = user[0]
    return list(user) if isinstance(user, (list, tuple)) else [user]
