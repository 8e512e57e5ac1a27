"""Describe a PyTorch set-up: ``nn.Module`` layers, loss modules (or functional losses), ``torch.optim``.

Everything here only reads: no parameter, buffer, RNG or optimizer state is changed.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ... import sites
from ...facts import LayerFact, LossFact, ModelFacts, OptimizerFact
from ..keras.describe import output_activation

PARAMETRIC = {"Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
              "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "Embedding",
              "EmbeddingBag", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention"}
RECURRENT = {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"}
ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "RReLU": "rrelu",
               "ELU": "elu", "SELU": "selu", "CELU": "celu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish",
               "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax", "Softmax2d": "softmax",
               "LogSoftmax": "log_softmax", "Softplus": "softplus", "Softsign": "softsign", "Hardtanh": "hard_tanh",
               "Hardsigmoid": "hard_sigmoid", "Hardswish": "hard_swish", "LogSigmoid": "log_sigmoid",
               "Tanhshrink": "tanhshrink"}
DEAD_KINDS = {"relu", "relu6"}  # activations whose units can die (output exactly 0 for every input)
SATURATING = {"sigmoid", "tanh"}
DROPOUT = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"}
NORM_WITH_STATS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
                   "InstanceNorm2d", "InstanceNorm3d"}

# torch loss class -> (canonical name, activation the loss applies itself, from_logits)
LOSSES: dict[str, tuple[str, str | None, bool | None]] = {
    "CrossEntropyLoss": ("cross_entropy", "softmax", True),
    "BCEWithLogitsLoss": ("bce_with_logits", "sigmoid", True),
    "BCELoss": ("bce", None, False),
    "NLLLoss": ("nll", None, False),
    "MSELoss": ("mse", None, None),
    "L1Loss": ("l1", None, None),
    "SmoothL1Loss": ("smooth_l1", None, None),
    "HuberLoss": ("huber", None, None),
    "KLDivLoss": ("kl_div", None, False),
    "PoissonNLLLoss": ("poisson_nll", None, None),
    "GaussianNLLLoss": ("gaussian_nll", None, None),
    "MultiLabelSoftMarginLoss": ("multilabel_soft_margin", "sigmoid", True),
    "MultiMarginLoss": ("multi_margin", None, True),
    "SoftMarginLoss": ("soft_margin", None, True),
    "CTCLoss": ("ctc", None, False),
}
CLASSIFICATION_LOSSES = {"cross_entropy", "bce_with_logits", "bce", "nll", "multilabel_soft_margin",
                         "multi_margin", "soft_margin", "kl_div"}
# autograd node of a functional loss -> the loss module it matches
_GRAD_FN_LOSS = {"MseLossBackward0": "MSELoss", "BinaryCrossEntropyWithLogitsBackward0": "BCEWithLogitsLoss",
                 "BinaryCrossEntropyBackward0": "BCELoss", "SmoothL1LossBackward0": "SmoothL1Loss",
                 "HuberLossBackward0": "HuberLoss", "NllLossBackward0": "NLLLoss", "NllLoss2DBackward0": "NLLLoss"}
_GRAD_FN_WRAPPERS = {"AddBackward0", "AddBackward1", "SubBackward0", "MulBackward0", "DivBackward0",
                     "MeanBackward0", "MeanBackward1", "SumBackward0", "SumBackward1"}


def layer_modules(model) -> list[tuple[str, Any]]:
    """The model's layers in registration order: modules holding parameters directly, plus leaf modules.

    Names are those of ``named_modules`` (``fc1``, ``net.0``); a root holding parameters itself is named
    after its class.
    """
    out = []
    for name, m in model.named_modules():
        has_own = any(True for _ in m.parameters(recurse=False))
        is_leaf = not any(True for _ in m.children())
        if has_own or (is_leaf and m is not model):
            out.append((name or type(m).__name__, m))
    return out


def _units(m) -> int | None:
    kind = type(m).__name__
    for attr in ("out_features", "out_channels", "embedding_dim", "hidden_size", "embed_dim"):
        v = getattr(m, attr, None)
        if isinstance(v, int):
            if attr == "hidden_size" and getattr(m, "bidirectional", False):
                return 2 * v
            return v
    if kind in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm"):
        v = getattr(m, "num_features", None)
        return v if isinstance(v, int) else None
    return None


def _fan_in(w) -> int | None:
    if w.dim() < 2:
        return None
    return int(w.shape[1] * (math.prod(w.shape[2:]) if w.dim() > 2 else 1))


def looks_default_init(m) -> bool:
    """True when a Linear/Conv weight still looks freshly constructed by PyTorch.

    PyTorch initialises Linear/Conv weights uniformly in +-1/sqrt(fan_in) (kaiming_uniform with a=sqrt(5));
    trained or pretrained weights leave that band or lose the flat uniform shape.
    """
    import torch

    w = getattr(m, "weight", None)
    if not isinstance(w, torch.Tensor) or w.dim() < 2 or w.numel() < 16:
        return False
    fan_in = _fan_in(w)
    if type(m).__name__.startswith("ConvTranspose"):
        fan_in = int(w.shape[0] * (math.prod(w.shape[2:]) if w.dim() > 2 else 1))
    if not fan_in:
        return False
    with torch.no_grad():
        bound = 1.0 / math.sqrt(fan_in)
        if float(w.detach().abs().max()) > bound * (1 + 1e-5):
            return False
        x = w.detach().reshape(-1)[:1_000_000].double()  # a prefix is plenty for the spread
        std = float(x.std())
        # a uniform in [-b, b] has std b/sqrt(3); allow sampling noise for small tensors
        tol = 0.15 + 2.0 / math.sqrt(x.numel())
        return abs(std / (bound / math.sqrt(3)) - 1) < tol


def describe_layer(name: str, m) -> LayerFact:
    import torch

    kind = type(m).__name__
    params = list(m.parameters(recurse=False))
    fact = LayerFact(name=name, kind=kind, units=_units(m), location=sites.site_of(m))
    if kind in ACTIVATIONS:
        fact.is_activation_layer = True
        fact.activation = ACTIVATIONS[kind]
    elif kind in RECURRENT:
        fact.activation = getattr(m, "nonlinearity", None) or "tanh"
    fact.parametric = kind in PARAMETRIC or (kind not in NORM_WITH_STATS and kind not in ("LayerNorm", "GroupNorm")
                                            and any(p.dim() >= 2 for p in params))
    if kind in DROPOUT:
        fact.rate = float(getattr(m, "p", 0.0) or 0.0)
    fact.n_params = sum(p.numel() for p in params)
    fact.n_trainable = sum(p.numel() for p in params if p.requires_grad)
    fact.trainable = fact.n_trainable > 0 if params else True
    w = getattr(m, "weight", None)
    if fact.parametric and isinstance(w, torch.Tensor) and w.numel():
        with torch.no_grad():
            fact.init_std = float(w.detach().float().std()) if w.numel() > 1 else 0.0
        if looks_default_init(m):
            fact.init = "torch_default"
    b = getattr(m, "bias", None)
    if isinstance(b, torch.Tensor) and b.numel():
        with torch.no_grad():
            fact.bias_mean = float(b.detach().float().mean())
    return fact


def describe_model(model) -> ModelFacts:
    """Model facts from the module tree (registration order; functional activations are invisible)."""
    layers = [describe_layer(n, m) for n, m in layer_modules(model)]
    facts = ModelFacts(framework="torch", backend="torch", name=type(model).__name__, layers=layers,
                       location=sites.site_of(model))
    params = list(model.parameters())
    facts.n_params = sum(p.numel() for p in params)
    facts.n_trainable = sum(p.numel() for p in params if p.requires_grad)
    refresh_output(facts)
    return facts


def refresh_output(facts: ModelFacts) -> None:
    """Recompute the output activation and units from ``facts.layers`` (in forward order when known)."""
    act, _ = output_activation(facts.layers)
    facts.output_activation = act
    last = next((lf for lf in reversed(facts.layers) if lf.parametric), None)
    facts.output_units = last.units if last else None


def loss_fact(loss: Any) -> LossFact:
    """Canonical :class:`LossFact` of a torch loss module (``nn.CrossEntropyLoss()`` -> cross_entropy)."""
    cls = type(loss).__name__
    name, applies, from_logits = LOSSES.get(cls, (None, None, None))
    if name is None:
        base = cls[:-4] if cls.endswith("Loss") else cls
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower() if base else "custom"
        if not cls.endswith("Loss"):
            name = "custom"
    args = []
    red = getattr(loss, "reduction", "mean")
    if red != "mean":
        args.append(f"reduction={red!r}")
    ls = getattr(loss, "label_smoothing", 0.0)
    if ls:
        args.append(f"label_smoothing={ls}")
    for attr in ("weight", "pos_weight"):
        if getattr(loss, attr, None) is not None:
            args.append(f"{attr}=...")
    return LossFact(name=name, from_logits=from_logits, applies=applies, given_as=f"{cls}({', '.join(args)})",
                    location=sites.site_of(loss))


def functional_loss(t) -> tuple[LossFact, Any, Any, list | None] | None:
    """Recognise a functional loss (``F.cross_entropy`` ...) from the autograd graph of the loss tensor.

    Returns ``(fact, input, target, input_shape_before_broadcast)``, or None when no known loss node is
    found within a few wrapper nodes (``+ reg``, ``* w``, ``/ k``, ``.mean()``). ``input`` is what the loss
    node saved; for cross-entropy (which saves only log-softmax) it is the output of a softmax applied just
    before the loss when there is one, else None.
    """
    frontier = [getattr(t, "grad_fn", None)]
    for _ in range(4):
        nxt = []
        for node in frontier:
            if node is None:
                continue
            kind = type(node).__name__
            cls = _GRAD_FN_LOSS.get(kind)
            if cls is not None:
                fact = LossFact(*_loss_tuple(cls))
                fact.given_as = f"functional {fact.name}"
                inp = getattr(node, "_saved_self", None)
                lsm = next((n for n, _ in node.next_functions
                            if n is not None and type(n).__name__ == "LogSoftmaxBackward0"), None)
                if cls == "NLLLoss" and lsm is not None:
                    fact.name, fact.applies, fact.from_logits = "cross_entropy", "softmax", True
                    fact.given_as = "functional cross_entropy"
                    inp = None
                    for n, _ in lsm.next_functions:
                        if n is not None and type(n).__name__ == "SoftmaxBackward0":
                            inp = getattr(n, "_saved_result", None)
                before = None
                for n, _ in node.next_functions:
                    if n is not None and type(n).__name__ == "ExpandBackward0":
                        sizes = getattr(n, "_saved_self_sym_sizes", None)
                        before = [int(s) for s in sizes] if sizes is not None else None
                return fact, inp, getattr(node, "_saved_target", None), before
            if kind in _GRAD_FN_WRAPPERS:
                nxt.extend(n for n, _ in node.next_functions if n is not None)
        frontier = nxt
    return None


def _loss_tuple(cls: str) -> tuple:
    name, applies, from_logits = LOSSES[cls]
    return (name, from_logits, applies)


def functional_activation(before, after) -> str | None:
    """Which activation turned ``before`` (a layer's output) into ``after`` (the next layer's input).

    Used on one batch to see activations applied inside ``forward`` (``F.relu``, ``torch.sigmoid``): each
    candidate is recomputed from ``before`` and compared. A ReLU followed by dropout counts as relu.
    'linear' when nothing happened (same values), None when no candidate matches (pooling, residuals ...).
    """
    import torch
    import torch.nn.functional as F

    if after is before:
        return "linear"
    if not isinstance(after, torch.Tensor) or after.numel() != before.numel() or after.numel() == 0 \
            or not after.is_floating_point() or not before.is_floating_point():
        return None
    with torch.no_grad():
        x = after.detach()
        p = before.detach().reshape(x.shape).to(x.dtype)
        if torch.equal(x, p):
            return "linear"
        cands = [("relu", F.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("leaky_relu", F.leaky_relu),
                 ("elu", F.elu), ("gelu", F.gelu), ("silu", F.silu), ("softplus", F.softplus),
                 ("relu6", F.relu6), ("selu", F.selu)]
        if x.dim() >= 2:
            cands += [("softmax", lambda t: torch.softmax(t, 1)), ("log_softmax", lambda t: torch.log_softmax(t, 1))]
        for name, f in cands:
            if torch.allclose(f(p), x, rtol=1e-4, atol=1e-6):
                return name
        # relu then (inverted) dropout: zero where p <= 0, one common scale where x > 0
        pos = x > 0
        if bool((x >= 0).all()) and bool(pos.any()) and not bool((pos & (p <= 0)).any()):
            ratio = x[pos] / p[pos]
            if torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4) and float(ratio[0]) >= 1.0:
                return "relu"
    return None


def describe_optimizer(opt) -> OptimizerFact:
    """Optimizer facts from the first param group (``torch.optim.SGD(lr=0.1, momentum=0.9)`` -> sgd ...)."""
    fact = OptimizerFact(name=type(opt).__name__.lower(), location=sites.site_of(opt))
    groups = getattr(opt, "param_groups", None) or [{}]
    g = groups[0]
    lr = g.get("lr")
    try:
        fact.lr = float(lr) if lr is not None else None
    except (TypeError, ValueError):
        pass
    if isinstance(g.get("momentum"), (int, float)):
        fact.momentum = float(g["momentum"])
    if "nesterov" in g:
        fact.nesterov = bool(g["nesterov"])
    if isinstance(g.get("weight_decay"), (int, float)):
        fact.weight_decay = float(g["weight_decay"])
    return fact


__all__ = ["ACTIVATIONS", "CLASSIFICATION_LOSSES", "DEAD_KINDS", "DROPOUT", "LOSSES", "NORM_WITH_STATS",
           "PARAMETRIC", "SATURATING", "describe_layer", "describe_model", "describe_optimizer",
           "functional_activation", "functional_loss", "layer_modules", "looks_default_init", "loss_fact",
           "refresh_output"]
