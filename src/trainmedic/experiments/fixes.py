"""Fixes as transformations of the user's Keras training set-up, with the matching code change.

A :class:`KerasSetup` is everything a short training run needs: the model's config (``model.get_config()``,
edited by fixes and rebuilt with ``from_config``), the user's weights (copied into every layer whose shapes
still match, unless a fix re-initialises it), the loss, the optimizer class and config, and transformations
of the data (input scaling, label re-encoding, target standardisation), class weights and the training plan.
The user's model is only read (config and weights), never changed.

A :class:`Fix` is one candidate for one cause: ``apply`` edits a copy of the set-up, ``text`` says what it
does, ``diff`` shows the change on the user's source line when a location with its code is known::

    @@ train.py:12 @@
    - layers.Dense(1, activation="softmax"),
    + layers.Dense(1, activation="sigmoid"),

:func:`candidate_fixes` lists the candidates for a cause, most likely first.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..facts import LayerFact, Location
from ..recording import Recording
from ..rules import _facts as F
from ..rules.static import LR_RANGES
from ..rules.static import _input_scale_problem as _scale_problem
from .preflight import _n


class NotApplicable(Exception):
    """The fix cannot be expressed on this set-up (layer without that argument, subclassed model ...)."""


# ---------------------------------------------------------------------------------------------------------
# The set-up being transformed
# ---------------------------------------------------------------------------------------------------------
@dataclass
class KerasSetup:
    """A Keras training set-up that fixes transform; :meth:`build` makes a fresh trainable copy."""

    model: Any  # the user's model: read only (config, weights)
    config: dict | None  # model.get_config(); None when the model cannot be rebuilt (clone instead)
    loss: Any
    optimizer_class: Any
    optimizer_config: dict | None
    reinit: set = field(default_factory=set)  # layer names that keep their fresh initialisation
    x_fn: Callable | None = None  # input transformation (train and held-out alike)
    y_fn: Callable | None = None  # target transformation
    y_inv: Callable | None = None  # predictions back to the original target units (regression)
    class_weight: dict | None = None
    steps: int | None = None  # None: the trial's number of steps
    batch_size: int | None = None  # None: the trial's batch size
    weights: dict | None = None  # layer name -> weights to start from (the user's, before training); None: now

    @classmethod
    def from_model(cls, model, weights: dict | None = None) -> "KerasSetup":
        try:
            config = model.get_config()
            if not isinstance(config, dict) or "layers" not in config:
                config = None
        except Exception:
            config = None
        opt = getattr(model, "optimizer", None)
        opt_cfg = opt.get_config() if opt is not None and hasattr(opt, "get_config") else None
        return cls(model=model, config=copy.deepcopy(config), loss=getattr(model, "loss", None),
                   optimizer_class=type(opt) if opt is not None else None, optimizer_config=opt_cfg,
                   weights=weights)

    def copy(self) -> "KerasSetup":
        new = copy.copy(self)
        new.config = copy.deepcopy(self.config)
        new.optimizer_config = copy.deepcopy(self.optimizer_config)
        new.reinit = set(self.reinit)
        new.class_weight = dict(self.class_weight) if self.class_weight else None
        return new

    # -- config access -------------------------------------------------------------------------------
    def layer_config(self, name: str) -> dict:
        """The mutable config dict of layer ``name`` (nested models included)."""
        if self.config is None:
            raise NotApplicable("the model cannot be rebuilt from its config")
        cfg = _layer_configs(self.config).get(name)
        if cfg is None:
            raise NotApplicable(f"layer {name} is not in the model config")
        return cfg

    def set_layer(self, name: str, **changes) -> None:
        cfg = self.layer_config(name)
        for k, v in changes.items():
            if k not in cfg and k not in ("trainable",):
                raise NotApplicable(f"layer {name} has no {k!r} setting")
            cfg[k] = v

    # -- data ------------------------------------------------------------------------------------------
    def inputs(self, x):
        return self.x_fn(x) if self.x_fn is not None else x

    def targets(self, y):
        return self.y_fn(y) if self.y_fn is not None else y

    # -- build ---------------------------------------------------------------------------------------
    def build(self, sample_x, lr: float | None = None):
        """A fresh compiled copy (a :class:`KerasAdapter`): rebuilt from the config, the user's weights copied
        (those from before training when :attr:`weights` holds them: a trial must not start from the damage
        the original training did)."""
        import keras

        from ..integrations.keras.adapter import KerasAdapter, _first
        from ..integrations.keras.describe import flatten_layers

        if self.config is None:
            net = keras.models.clone_model(self.model)
        else:
            net = _from_config(self.model, self.config)
        if not net.built:
            net(_first(sample_x, 2))
        user = {l.name: l for l in flatten_layers(self.model)} if getattr(self.model, "built", False) else {}
        for layer in flatten_layers(net):
            src = user.get(layer.name)
            if src is None or layer.name in self.reinit:
                continue
            ws = self.weights.get(layer.name) if self.weights is not None else src.get_weights()
            if ws and len(ws) == len(layer.weights) and all(tuple(w.shape) == tuple(v.shape)
                                                           for w, v in zip(ws, layer.weights)):
                layer.set_weights(ws)
        return KerasAdapter(net, self.optimizer_config, self.optimizer_class, self.loss, sample_x, lr=lr)


def _from_config(model, config: dict):
    import keras

    cfg = copy.deepcopy(config)
    try:
        return type(model).from_config(cfg)
    except Exception:
        return keras.Model.from_config(copy.deepcopy(config))


def _layer_configs(cfg: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry in cfg.get("layers", []) or []:
        c = entry.get("config", {}) if isinstance(entry, dict) else {}
        if isinstance(c, dict) and "layers" in c:
            out.update(_layer_configs(c))
            continue
        name = c.get("name") or (entry.get("name") if isinstance(entry, dict) else None)
        if name:
            out[name] = c
    return out


# ---------------------------------------------------------------------------------------------------------
# Fixes and code edits
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Fix:
    """One candidate fix for one cause."""

    cause: str
    kind: str  # output-activation, from-logits, loss, output-units, input-scale, target-scale, lr, clipnorm,
    #            init, hidden-activation, regularization, unfreeze, label-encoding, class-weight, updates,
    #            capacity, data-cleaning
    text: str  # what it does, for people
    apply: Callable[[KerasSetup], None]
    diff: str | None = None
    baseline: Callable[[KerasSetup], None] | None = None  # how the original runs for this comparison


class CodeEdits:
    """Edits of user source lines (by location), accumulated and rendered as a small diff."""

    def __init__(self):
        self._lines: dict[tuple[str, int], list] = {}

    def edit(self, loc: Location | None, fn: Callable[[str], str | None]) -> None:
        if loc is None or not loc.code:
            return
        key = (loc.file, loc.line)
        entry = self._lines.setdefault(key, [loc, loc.code])
        try:
            new = fn(entry[1])
        except Exception:
            new = None
        if new is not None:
            entry[1] = new

    def diff(self) -> str | None:
        hunks = [f"@@ {loc.file}:{loc.line} @@\n- {loc.code}" + (f"\n+ {new}" if new else "")
                 for loc, new in self._lines.values() if new != loc.code]
        return "\n".join(hunks) or None


@dataclass
class _Arg:
    start: int
    end: int
    key: str | None
    vstart: int


def _parse_call(code: str, name: str):
    """(open, close, args) of the first call ``name(...)`` complete on this line, else None."""
    m = re.search(rf"(?<![\w]){name}\s*\(", code)
    if not m:
        return None
    open_i = m.end() - 1
    depth, quote, i, start = 0, None, open_i + 1, open_i + 1
    spans = []
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                spans.append((start, i))
                break
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
        i += 1
    else:
        return None
    close_i = i
    args = []
    for s, e in spans:
        text = code[s:e]
        if not text.strip():
            continue
        s2 = s + len(text) - len(text.lstrip())
        e2 = e - (len(text) - len(text.rstrip()))
        km = re.match(r"(\w+)\s*=(?!=)\s*", code[s2:e2])
        args.append(_Arg(s2, e2, km.group(1) if km else None, s2 + km.end() if km else s2))
    return open_i, close_i, args


def get_arg(code: str, name: str, key: str, pos: int | None = None) -> str | None:
    """The source text of argument ``key`` (or positional ``pos``) of call ``name``."""
    call = _parse_call(code, name)
    if call is None:
        return None
    _, _, args = call
    for a in args:
        if a.key == key:
            return code[a.vstart:a.end]
    positional = [a for a in args if a.key is None]
    if pos is not None and len(positional) > pos:
        a = positional[pos]
        return code[a.start:a.end]
    return None


def set_arg(code: str, name: str, key: str, value: str, pos: int | None = None) -> str | None:
    """Set keyword ``key`` (or positional ``pos``) of call ``name`` to ``value``; insert it when absent."""
    call = _parse_call(code, name)
    if call is None:
        return None
    _, close_i, args = call
    for a in args:
        if a.key == key:
            return code[:a.vstart] + value + code[a.end:]
    positional = [a for a in args if a.key is None]
    if pos is not None and len(positional) > pos:
        a = positional[pos]
        return code[:a.start] + value + code[a.end:]
    if args:
        last = args[-1].end
        return code[:last] + f", {key}={value}" + code[last:]
    return code[:close_i] + f"{key}={value}" + code[close_i:]


def drop_arg(code: str, name: str, key: str) -> str | None:
    """Remove keyword ``key`` from call ``name`` (None when it is not there)."""
    call = _parse_call(code, name)
    if call is None:
        return None
    _, _, args = call
    for i, a in enumerate(args):
        if a.key == key:
            if i > 0:
                return code[:args[i - 1].end] + code[a.end:]
            if len(args) > 1:
                return code[:a.start] + code[args[1].start:]
            return code[:a.start] + code[a.end:]
    return None


def wrap_arg(code: str, name: str, key: str, pos: int, fn: Callable[[str], str]) -> str | None:
    """Replace argument ``key``/``pos`` of call ``name`` by ``fn(its source text)``."""
    old = get_arg(code, name, key, pos)
    if old is None:
        return None
    return set_arg(code, name, key, fn(old), pos)


def _q(code: str, s: str) -> str:
    """``s`` quoted in the style of the line."""
    q = "'" if ("'" in code and '"' not in code) else '"'
    return f"{q}{s}{q}"


def _num(v: float) -> str:
    if v == 0:
        return "0.0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}" if "." in f"{v:.3g}" or "e" in f"{v:.3g}" else f"{v:.3g}.0"
    return f"{v:.1e}".replace("e-0", "e-").replace("e+0", "e")


def _atom(expr: str) -> str:
    expr = expr.strip()
    return expr if re.fullmatch(r"[\w.\[\]'\"]+", expr) else f"({expr})"


# ---------------------------------------------------------------------------------------------------------
# Context and helpers over facts
# ---------------------------------------------------------------------------------------------------------
@dataclass
class FixContext:
    """What candidate builders may read: the recording, the original set-up, the trial's training data."""

    rec: Recording
    setup: KerasSetup
    x_train: Any
    y_train: Any
    lr_range: Any = None  # LRRangeResult | None
    trial_steps: int = 200
    trial_batch: int = 32

    @property
    def facts(self):
        return self.rec.facts

    def layers(self) -> list[LayerFact]:
        return self.rec.facts.model.layers if self.rec.facts.model else []

    def layer_loc(self, name: str) -> Location | None:
        return next((l.location for l in self.layers() if l.name == name), None)

    @property
    def loss_loc(self) -> Location | None:
        return self.rec.facts.loss.location if self.rec.facts.loss else None

    @property
    def opt_loc(self) -> Location | None:
        return self.rec.facts.optimizer.location if self.rec.facts.optimizer else None

    @property
    def fit_loc(self) -> Location | None:
        d = self.rec.facts.data
        t = self.rec.facts.training
        return (d.location if d else None) or (t.location if t else None)


def _param_layers(ctx: FixContext) -> list[LayerFact]:
    return [l for l in ctx.layers() if l.parametric]


def _hidden_layers(ctx: FixContext) -> list[LayerFact]:
    return _param_layers(ctx)[:-1]


_RECURRENT = {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "MultiHeadAttention",
              "Embedding"}
_RELU = {"relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "swish", "silu"}


def _linear_hidden(ctx: FixContext) -> list[LayerFact]:
    """Hidden weight layers with no activation and no nonlinear activation layer after them."""
    layers = ctx.layers()
    idx = [i for i, l in enumerate(layers) if l.parametric and l.kind != "Embedding"]
    out = []
    for j, i in enumerate(idx[:-1]):
        l = layers[i]
        if l.kind in _RECURRENT or l.activation not in (None, "linear"):
            continue
        between = layers[i + 1:idx[j + 1]]
        if any(b.is_activation_layer and b.activation not in (None, "linear") for b in between):
            continue
        out.append(l)
    return out


def _loss_obj(name: str, from_logits: bool = False):
    import keras

    return {"binary_crossentropy": lambda: keras.losses.BinaryCrossentropy(from_logits=from_logits),
            "categorical_crossentropy": lambda: keras.losses.CategoricalCrossentropy(from_logits=from_logits),
            "sparse_categorical_crossentropy":
                lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            "mse": lambda: keras.losses.MeanSquaredError()}[name]()


_LOSS_CLASS = {"binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
               "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "mse": "MeanSquaredError"}


def _edit_loss(edits: CodeEdits, ctx: FixContext, name: str, from_logits: bool = False) -> None:
    def fn(code: str) -> str | None:
        if from_logits:
            cls = _LOSS_CLASS[name]
            inner = re.search(r"\b(\w*Crossentropy)\s*\(", code)
            if inner and inner.group(1) == cls:
                return set_arg(code, cls, "from_logits", "True")
            return set_arg(code, "compile", "loss", f"keras.losses.{cls}(from_logits=True)") \
                or _replace_loss_expr(code, f"keras.losses.{cls}(from_logits=True)")
        return set_arg(code, "compile", "loss", _q(code, name)) or _replace_loss_expr(code, _q(code, name))
    edits.edit(ctx.loss_loc, fn)


def _replace_loss_expr(code: str, new: str) -> str | None:
    """A line that creates the loss object itself (``loss_fn = keras.losses.X(...)``)."""
    m = re.search(r"(?:keras\.)?(?:losses\.)?\w*(?:Crossentropy|Error|Hinge|Loss)\s*\(", code)
    if not m:
        return None
    call = _parse_call(code, re.escape(code[m.start():m.end() - 1].strip()))
    if call is None:
        return None
    return code[:m.start()] + new + code[call[1] + 1:]


def _edit_layer(edits: CodeEdits, ctx: FixContext, layer: LayerFact, key: str, value: str | None,
                pos: int | None = None) -> None:
    """Set (or, with value None, remove) keyword ``key`` on the layer's constructor line."""
    kind = re.escape(layer.kind)
    if value is None:
        edits.edit(ctx.layer_loc(layer.name), lambda c: drop_arg(c, kind, key))
    else:
        edits.edit(ctx.layer_loc(layer.name), lambda c: set_arg(c, kind, key, value if not value.startswith("@")
                                                               else _q(c, value[1:]), pos))


def _set_act(setup: KerasSetup, layer: LayerFact, act: str) -> None:
    if layer.is_activation_layer and layer.kind != "Activation":
        raise NotApplicable(f"{layer.kind} layer cannot be switched to {act}")
    setup.set_layer(layer.name, activation=act)


def _edit_act(edits: CodeEdits, ctx: FixContext, layer: LayerFact, act: str) -> None:
    if layer.kind == "Activation":
        edits.edit(ctx.layer_loc(layer.name), lambda c: set_arg(c, "Activation", "activation", _q(c, act), 0))
    elif act == "linear":
        _edit_layer(edits, ctx, layer, "activation", None)
    else:
        _edit_layer(edits, ctx, layer, "activation", "@" + act, pos=1 if layer.kind == "Dense" else None)


# -- the head of the network: output layer, output activation, loss ------------------------------------
@dataclass
class _Head:
    units: int | None
    act: str
    loss: str
    from_logits: bool = False


def _proper_head(ctx: FixContext) -> _Head | None:
    """The output units/activation/loss that fit the labels."""
    lab = F.label(ctx.rec)
    if lab is None:
        return None
    if lab.kind == "binary":
        return _Head(1, "sigmoid", "binary_crossentropy")
    if lab.kind == "multiclass-onehot":
        return _Head(lab.n_classes, "softmax", "categorical_crossentropy")
    if lab.kind == "multiclass-int" and lab.values and min(lab.values) >= 0:
        return _Head(int(max(lab.values)) + 1, "softmax", "sparse_categorical_crossentropy")
    if lab.kind == "multilabel":
        return _Head(lab.n_classes, "sigmoid", "binary_crossentropy")
    if lab.kind == "regression":
        return _Head(F.out_units(ctx.rec), "linear", "mse")
    return None


def _head_fix(ctx: FixContext, cause: str, head: _Head, text: str | None = None, kind: str = "output-units",
              standardise_targets: bool = False) -> Fix | None:
    rec = ctx.rec
    out, act_layer = F.output_layer(rec), F.output_activation_layer(rec)
    if out is None or act_layer is None:
        return None
    cur_units, cur_act, cur_loss = F.out_units(rec), F.out_act(rec), F.loss_name(rec)
    cur_logits = F.from_logits(rec)
    edits = CodeEdits()
    steps: list[Callable[[KerasSetup], None]] = []
    parts = []
    if head.units is not None and head.units != cur_units:
        def units(s: KerasSetup) -> None:
            s.set_layer(out.name, units=head.units)
            s.reinit.add(out.name)

        steps.append(units)
        _edit_layer(edits, ctx, out, "units", str(head.units), pos=0)
        parts.append(f"{head.units} output units (was {cur_units})")
    if head.act != cur_act:
        steps.append(lambda s: _set_act(s, act_layer, head.act))
        _edit_act(edits, ctx, act_layer, head.act)
        parts.append(f"output activation {head.act} (was {cur_act})")
    if head.loss != cur_loss or head.from_logits != cur_logits:
        if head.loss not in _LOSS_CLASS:
            return None
        steps.append(lambda s: setattr(s, "loss", _loss_obj(head.loss, head.from_logits)))
        _edit_loss(edits, ctx, head.loss, head.from_logits)
        parts.append(f"loss {head.loss}" + (" (from_logits=True)" if head.from_logits else "")
                     + f" (was {cur_loss})")
    if standardise_targets:
        steps.append(lambda s: _standardise_targets(s, ctx))
        edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, r"fit", "y", 1, lambda e: f"({e} - {_atom(e)}.mean()) / "
                                                                             f"{_atom(e)}.std()"))
        parts.append("standardised targets")
    if not steps:
        return None

    def apply(s: KerasSetup) -> None:
        for st in steps:
            st(s)

    return Fix(cause, kind, text or ", ".join(parts), apply, edits.diff())


def _standardise_targets(s: KerasSetup, ctx: FixContext) -> None:
    y = np.asarray(ctx.y_train, dtype=np.float64)
    mu, sd = float(y.mean()), float(y.std()) or 1.0
    s.y_fn = lambda v: ((np.asarray(v, dtype=np.float64) - mu) / sd).astype("float32")
    s.y_inv = lambda p: np.asarray(p, dtype=np.float64) * sd + mu


def _big_targets(ctx: FixContext) -> bool:
    lab = F.label(ctx.rec)
    return bool(lab is not None and lab.kind == "regression" and lab.std is not None
                and (lab.std > 10 or abs(lab.mean or 0.0) > 10 * max(lab.std, 1e-12)))


# ---------------------------------------------------------------------------------------------------------
# Candidate builders, one per cause
# ---------------------------------------------------------------------------------------------------------
def _output_activation(ctx: FixContext, cause: str) -> list[Fix]:
    rec = ctx.rec
    act, units, loss, lab = F.out_act(rec), F.out_units(rec), F.loss_name(rec), F.label(rec)
    logits = F.from_logits(rec)
    out: list[Fix | None] = []
    head = _proper_head(ctx)
    regression = lab is not None and lab.kind == "regression"
    if act == "softmax" and units == 1:
        new_loss = "binary_crossentropy" if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") \
            else (loss or "binary_crossentropy")
        out.append(_head_fix(ctx, cause, _Head(None, "sigmoid", new_loss if new_loss in _LOSS_CLASS else loss,
                                               False), kind="output-activation"))
    if loss in F.PROB_LOSSES and not logits and act not in ("sigmoid", "softmax"):
        want = "sigmoid" if (units == 1 or loss == "binary_crossentropy") else "softmax"
        out.append(_head_fix(ctx, cause, _Head(None, want, loss), kind="output-activation"))
        if loss in _LOSS_CLASS:
            out.append(_head_fix(ctx, cause, _Head(None, "linear", loss, True), kind="from-logits"))
    if act in ("sigmoid", "softmax") and logits and loss in _LOSS_CLASS:
        out.append(_head_fix(ctx, cause, _Head(None, "linear", loss, True), kind="output-activation"))
        out.append(_head_fix(ctx, cause, _Head(None, act, loss, False), kind="from-logits"))
    if regression and act in F.BOUNDED:
        out.append(_head_fix(ctx, cause, _Head(None, "linear", loss if loss in _LOSS_CLASS else "mse"),
                             kind="output-activation"))
        out.append(_head_fix(ctx, cause, _Head(None, "linear", loss if loss in _LOSS_CLASS else "mse"),
                             kind="output-activation", standardise_targets=True))
    if act == "sigmoid" and loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") \
            and (units or 0) > 1:
        out.append(_head_fix(ctx, cause, _Head(None, "softmax", loss), kind="output-activation"))
    out += _logits_relu(ctx, cause) + _output_dropout(ctx, cause)
    if not [f for f in out if f] and head is not None and head.loss in _LOSS_CLASS:
        out.append(_head_fix(ctx, cause, head, kind="output-activation"))
    return [f for f in out if f]


def _logits_relu(ctx: FixContext, cause: str) -> list[Fix]:
    """A ReLU on the layer producing the logits (before a softmax/sigmoid): make it linear."""
    layers = ctx.layers()
    params = [i for i, l in enumerate(layers) if l.parametric]
    if not params:
        return []
    last = layers[params[-1]]
    later = [l.activation for l in layers[params[-1] + 1:] if l.is_activation_layer]
    if last.activation in ("relu", "relu6") and any(a in ("softmax", "sigmoid") for a in later):
        edits = CodeEdits()
        _edit_act(edits, ctx, last, "linear")
        return [Fix(cause, "output-activation", f"no ReLU on the logits layer {last.name}",
                    lambda s: _set_act(s, last, "linear"), edits.diff())]
    return []


def _output_dropout(ctx: FixContext, cause: str) -> list[Fix]:
    layers = ctx.layers()
    params = [i for i, l in enumerate(layers) if l.parametric]
    if not params:
        return []
    drops = [l for l in layers[params[-1] + 1:] if l.rate]
    if not drops:
        return []
    edits = CodeEdits()
    for d in drops:
        edits.edit(ctx.layer_loc(d.name), lambda c: "" if re.search(r"Dropout\s*\(", c) else None)

    def apply(s: KerasSetup) -> None:
        for d in drops:
            s.set_layer(d.name, rate=0.0)

    return [Fix(cause, "regularization", "no dropout on the output scores (" + ", ".join(d.name for d in drops)
                + ")", apply, edits.diff())]


def _output_units(ctx: FixContext, cause: str) -> list[Fix]:
    lab, head = F.label(ctx.rec), _proper_head(ctx)
    if lab is None or head is None or head.units is None:
        return []
    out = [_head_fix(ctx, cause, head)]
    if lab.kind == "binary" and (F.out_units(ctx.rec) or 0) > 2:
        out.append(_head_fix(ctx, cause, _Head(2, "softmax", "sparse_categorical_crossentropy")))
    return [f for f in out if f]


def _loss_mismatch(ctx: FixContext, cause: str) -> list[Fix]:
    rec = ctx.rec
    head, lab = _proper_head(ctx), F.label(rec)
    if head is None or lab is None:
        return []
    units, act = F.out_units(rec), F.out_act(rec)
    out: list[Fix | None] = []
    if head.loss != F.loss_name(rec):
        # the loss alone, when the current head can carry it
        if head.loss == "binary_crossentropy" and units == 1:
            out.append(_head_fix(ctx, cause, _Head(None, "sigmoid" if act != "linear" else "linear",
                                                   head.loss, act == "linear"), kind="loss"))
        elif head.loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") and units == head.units:
            out.append(_head_fix(ctx, cause, _Head(None, act if act in ("softmax", "linear") else "softmax",
                                                   head.loss, act == "linear"), kind="loss"))
        elif head.loss == "mse":
            out.append(_head_fix(ctx, cause, _Head(None, "linear", "mse"), kind="loss"))
            out.append(_head_fix(ctx, cause, _Head(None, "linear", "mse"), kind="loss",
                                 standardise_targets=True))
    out.append(_head_fix(ctx, cause, head, kind="loss"))
    out += _label_encoding(ctx, cause, loss_only=True)
    return _dedupe([f for f in out if f])


def _rank_map(values: list) -> tuple[Callable, str]:
    vals = np.asarray(sorted(values), dtype=np.float64)
    consecutive = bool(np.all(np.diff(vals) == 1)) and float(vals[0]).is_integer()
    v0 = vals[0]

    def fn(y):
        a = np.asarray(y)
        return np.searchsorted(vals, a.astype(np.float64)).astype(a.dtype if np.issubdtype(a.dtype, np.integer)
                                                                 else "float32")

    if consecutive:
        return fn, f"- {int(v0)}"
    return fn, f"np.searchsorted({[float(v) if not float(v).is_integer() else int(v) for v in vals]}, ...)"


def _label_encoding(ctx: FixContext, cause: str, loss_only: bool = False) -> list[Fix]:
    rec = ctx.rec
    lab, loss, units = F.label(rec), F.loss_name(rec), F.out_units(rec)
    if lab is None or loss is None:
        return []
    out: list[Fix | None] = []
    act = F.out_act(rec)
    logits = F.from_logits(rec)
    if loss == "sparse_categorical_crossentropy" and lab.kind == "multiclass-onehot":
        out.append(_head_fix(ctx, cause, _Head(None, act, "categorical_crossentropy", logits), kind="loss"))
        if not loss_only:
            edits = CodeEdits()
            edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1, lambda e: f"{_atom(e)}.argmax(axis=1)"))
            out.append(Fix(cause, "label-encoding", "integer class ids instead of one-hot labels (argmax)",
                           lambda s: setattr(s, "y_fn", lambda y: np.asarray(y).reshape(len(y), -1).argmax(1)),
                           edits.diff()))
    if loss == "categorical_crossentropy" and lab.kind == "multiclass-int" and (units or 0) > 1:
        out.append(_head_fix(ctx, cause, _Head(None, act, "sparse_categorical_crossentropy", logits), kind="loss"))
        if not loss_only and units:
            C = int(units)
            edits = CodeEdits()
            edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1,
                                                       lambda e: f"keras.utils.to_categorical({e}, {C})"))
            out.append(Fix(cause, "label-encoding", f"one-hot labels ({C} columns)",
                           lambda s: setattr(s, "y_fn", lambda y: np.eye(C, dtype="float32")[
                               np.clip(np.asarray(y).reshape(-1).astype(int), 0, C - 1)]), edits.diff()))
    if loss_only:
        return [f for f in out if f]
    vals = lab.values
    if vals and lab.kind in ("binary", "multiclass-int") and all(float(v).is_integer() for v in vals):
        shifted = (len(vals) <= 2 and (min(vals) < 0 or max(vals) > 1)) or min(vals) < 0 or \
            (units and units > 1 and max(vals) >= units) or (min(vals) > 0 and len(vals) > 2)
        if shifted:
            fn, how = _rank_map(vals)
            edits = CodeEdits()
            if how.startswith("- "):
                edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1, lambda e: f"{_atom(e)} {how}"))
            else:
                edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1, lambda e: how.replace("...", e)))
            out.append(Fix(cause, "label-encoding", f"labels {vals[:6]} re-encoded to 0..{len(vals) - 1}",
                           lambda s: setattr(s, "y_fn", fn), edits.diff()))
    return _dedupe([f for f in out if f])


def _single_input(ctx: FixContext) -> np.ndarray | None:
    x = ctx.x_train
    return x if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number) else None


def _input_fixes(ctx: FixContext, cause: str) -> list[Fix]:
    x = _single_input(ctx)
    out: list[Fix] = []
    if _big_targets(ctx) and not _input_scale_problem(ctx):
        return [_target_fix(ctx, cause)]  # the inputs look scaled: the targets are the problem
    if x is not None:
        xf = x.astype(np.float64)
        integer = bool(np.all(np.mod(xf[np.isfinite(xf)], 1) == 0))
        if integer and xf.min() >= 0 and 20 < xf.max() <= 255:
            edits = CodeEdits()
            edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "x", 0, lambda e: f"{_atom(e)} / 255.0"))
            out.append(Fix(cause, "input-scale", "inputs scaled by 1/255",
                           lambda s: setattr(s, "x_fn", lambda v: np.asarray(v, dtype="float32") / 255.0),
                           edits.diff()))
        if x.ndim == 2:
            mu, sd = xf.mean(axis=0), xf.std(axis=0)
            how = lambda e: f"({_atom(e)} - {_atom(e)}.mean(axis=0)) / {_atom(e)}.std(axis=0)"  # noqa: E731
        else:
            mu, sd = xf.mean(), xf.std()
            how = lambda e: f"({_atom(e)} - {_atom(e)}.mean()) / {_atom(e)}.std()"  # noqa: E731
        sd = np.where(np.asarray(sd) > 0, sd, 1.0)

        def standardise(s: KerasSetup) -> None:
            s.x_fn = lambda v: ((np.asarray(v, dtype=np.float64) - mu) / sd).astype("float32")

        edits = CodeEdits()
        edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "x", 0, how))
        out.append(Fix(cause, "input-scale", "inputs standardised (mean 0, std 1 per feature)", standardise,
                       edits.diff()))
        if _big_targets(ctx):
            edits2 = CodeEdits()
            edits2.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "x", 0, how))
            edits2.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1, lambda e: f"({e} - {_atom(e)}.mean()) / "
                                                                                  f"{_atom(e)}.std()"))

            def both(s: KerasSetup) -> None:
                standardise(s)
                _standardise_targets(s, ctx)

            out.append(Fix(cause, "input-scale", "inputs and targets standardised", both, edits2.diff()))
    if _big_targets(ctx):
        out.append(_target_fix(ctx, cause))
    return out


def _target_fix(ctx: FixContext, cause: str) -> Fix:
    edits = CodeEdits()
    edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "y", 1, lambda e: f"({e} - {_atom(e)}.mean()) / "
                                                                          f"{_atom(e)}.std()"))
    return Fix(cause, "target-scale", "regression targets standardised (predictions scaled back)",
               lambda s: _standardise_targets(s, ctx), edits.diff())


def _lr_candidates(ctx: FixContext, direction: str | None) -> list[tuple[float, str]]:
    """(rate, where it comes from) to try: the range test's suggestion, a tenth of its minimum-loss rate
    (raising the rate: the steepest-descent rate too, the bolder classic reading), the optimizer's usual rate;
    only rates at least 2x away from the user's in ``direction`` ("up"/"down")."""
    opt = ctx.facts.optimizer
    user = opt.lr if opt else None
    lrs: list[tuple[float, str]] = []
    r = ctx.lr_range
    if r is not None and r.suggestion:
        lrs.append((r.suggestion, f"from the learning-rate range test ({r.how})"))
    if r is not None and r.lr_min_loss:
        lrs.append((r.lr_min_loss / 10, "a tenth of the range test's minimum-loss rate"))
    if direction == "up" and r is not None and r.lr_steepest and (not r.lr_min_loss or r.lr_steepest < r.lr_min_loss):
        lrs.append((r.lr_steepest, "the range test's steepest-descent rate"))
    if opt and opt.name in LR_RANGES:
        _, low, high, _ = LR_RANGES[opt.name]
        lrs.append((math.sqrt(low * high), f"a usual rate for {opt.name}"))
    out: list[tuple[float, str]] = []
    for v, src in lrs:
        if not v or not math.isfinite(v) or v <= 0:
            continue
        if user and user > 0:
            if direction == "down" and v >= user / 2:
                continue
            if direction == "up" and v <= user * 2:
                continue
        if all(abs(math.log10(v / o)) > 0.2 for o, _ in out):
            out.append((float(f"{v:.2g}"), src))
    return out


def _lr_fix(ctx: FixContext, cause: str, lr: float, source: str) -> Fix:
    opt = ctx.facts.optimizer
    edits = CodeEdits()
    cls = ctx.setup.optimizer_class.__name__ if ctx.setup.optimizer_class else "Adam"

    def code(c: str) -> str | None:
        new = set_arg(c, rf"(?:\w+\.)*{cls}", "learning_rate", _num(lr), 0)
        if new is None and opt is not None:
            new = set_arg(c, "compile", "optimizer", f"keras.optimizers.{cls}(learning_rate={_num(lr)})")
        return new

    edits.edit(ctx.opt_loc, code)
    was = f" (was {opt.lr:g})" if opt and opt.lr is not None else ""

    def apply(s: KerasSetup) -> None:
        cfg = dict(s.optimizer_config or {})
        cfg["learning_rate"] = lr
        s.optimizer_config = cfg

    return Fix(cause, "lr", f"learning rate {lr:g}{was}, {source}", apply, edits.diff())


def _lr_fixes(ctx: FixContext, cause: str, direction: str | None) -> list[Fix]:
    return [_lr_fix(ctx, cause, lr, src) for lr, src in _lr_candidates(ctx, direction)]


def _clipnorm_fix(ctx: FixContext, cause: str) -> Fix:
    cls = ctx.setup.optimizer_class.__name__ if ctx.setup.optimizer_class else "Adam"
    edits = CodeEdits()
    edits.edit(ctx.opt_loc, lambda c: set_arg(c, rf"(?:\w+\.)*{cls}", "clipnorm", "1.0"))

    def apply(s: KerasSetup) -> None:
        cfg = dict(s.optimizer_config or {})
        cfg["clipnorm"] = 1.0
        cfg.pop("global_clipnorm", None)
        cfg.pop("clipvalue", None)
        s.optimizer_config = cfg

    return Fix(cause, "clipnorm", "gradient clipping (clipnorm=1.0)", apply, edits.diff())


def _bad_init_layers(ctx: FixContext) -> list[LayerFact]:
    out = []
    for l in _param_layers(ctx):
        if not l.trainable or not l.glorot_std:
            continue
        k = 1.5 if l.activation in ("relu", "leaky_relu", "elu") else 1.0
        off = l.kernel_constant or (l.init_std is not None and (l.init_std > 5 * k * l.glorot_std
                                                                 or 0 < l.init_std < l.glorot_std / 20))
        if off or (l.bias_mean is not None and l.bias_mean < -0.5):
            out.append(l)
    return out


def _reinit_fix(ctx: FixContext, cause: str, layers: list[LayerFact], he_for_relu: bool = True) -> Fix | None:
    if not layers:
        return None
    edits = CodeEdits()
    inits = {}
    for l in layers:
        init = "he_normal" if he_for_relu and l.activation in _RELU else "glorot_uniform"
        inits[l.name] = init
        _edit_layer(edits, ctx, l, "kernel_initializer", "@" + init)
        edits.edit(ctx.layer_loc(l.name), lambda c, k=l.kind: drop_arg(c, re.escape(k), "bias_initializer"))

    def apply(s: KerasSetup) -> None:
        for name, init in inits.items():
            s.set_layer(name, kernel_initializer=init)
            try:
                s.set_layer(name, bias_initializer="zeros")
            except NotApplicable:
                pass
            s.reinit.add(name)

    names = ", ".join(f"{n} {i}" for n, i in inits.items())
    return Fix(cause, "init", f"default initialisation ({names}, zero bias)", apply, edits.diff())


def _bad_init(ctx: FixContext, cause: str) -> list[Fix]:
    layers = _bad_init_layers(ctx) or [l for l in _param_layers(ctx) if l.trainable]
    return [f for f in (_reinit_fix(ctx, cause, layers), _reinit_fix(ctx, cause, layers, he_for_relu=False))
            if f][: 1 if not any(l.activation in _RELU for l in layers) else 2]


def _hidden_act_fix(ctx: FixContext, cause: str, layers: list[LayerFact], act: str, text: str,
                    kind: str = "hidden-activation", he: bool = False) -> Fix | None:
    layers = [l for l in layers if not l.is_activation_layer]
    if not layers:
        return None
    edits = CodeEdits()
    for l in layers:
        _edit_act(edits, ctx, l, act)
        if he:
            _edit_layer(edits, ctx, l, "kernel_initializer", "@he_normal")

    def apply(s: KerasSetup) -> None:
        for l in layers:
            s.set_layer(l.name, activation=act)
            if he:
                s.set_layer(l.name, kernel_initializer="he_normal")
                s.reinit.add(l.name)

    return Fix(cause, kind, text + " (" + ", ".join(l.name for l in layers[:4])
               + (", ..." if len(layers) > 4 else "") + ")", apply, edits.diff())


def _missing_activation(ctx: FixContext, cause: str) -> list[Fix]:
    f = _hidden_act_fix(ctx, cause, _linear_hidden(ctx), "relu", 'activation="relu" in the hidden layers')
    return [f] if f else []


def _dying_relu(ctx: FixContext, cause: str) -> list[Fix]:
    relu = [l for l in _hidden_layers(ctx) if l.activation in ("relu", "relu6") and l.trainable]
    out = _logits_relu(ctx, cause)
    if _input_scale_problem(ctx):
        out += _input_fixes(ctx, cause)[:1]
    out.append(_reinit_fix(ctx, cause, relu))
    out.append(_hidden_act_fix(ctx, cause, relu, "leaky_relu", "LeakyReLU instead of ReLU"))
    out += _lr_fixes(ctx, cause, "down")[:1] if ctx.lr_range is not None else []
    return [f for f in out if f]


def _input_scale_problem(ctx: FixContext) -> bool:
    return _scale_problem(ctx.rec) is not None


def _saturating(ctx: FixContext, cause: str) -> list[Fix]:
    sat = [l for l in _hidden_layers(ctx) if l.activation in ("sigmoid", "tanh", "hard_sigmoid")]
    out: list[Fix | None] = []
    if _input_scale_problem(ctx):
        out += _input_fixes(ctx, cause)[:1]
    out.append(_hidden_act_fix(ctx, cause, sat, "relu", 'activation="relu" with he_normal in the hidden layers',
                               he=True))
    bad = _bad_init_layers(ctx)
    if bad:
        out.append(_reinit_fix(ctx, cause, bad, he_for_relu=False))
    return [f for f in out if f]


def _exploding(ctx: FixContext, cause: str) -> list[Fix]:
    out: list[Fix | None] = []
    if _big_targets(ctx):
        out.append(_target_fix(ctx, cause))
    if _input_scale_problem(ctx):
        out += _input_fixes(ctx, cause)[:1]
    out += _lr_fixes(ctx, cause, "down")[:2]
    out.append(_clipnorm_fix(ctx, cause))
    bad = _bad_init_layers(ctx)
    if bad:
        out.append(_reinit_fix(ctx, cause, bad))
    return [f for f in out if f]


def _over_regularization(ctx: FixContext, cause: str) -> list[Fix]:
    layers = ctx.layers()
    drops = [l for l in layers if (l.rate or 0) >= 0.5]
    regs = [l for l in layers if (l.regularization or 0) >= 0.01]
    out: list[Fix] = _output_dropout(ctx, cause)
    if not drops and not regs:
        return out
    for rate, l2 in ((0.3, 1e-4), (0.0, None)):
        edits = CodeEdits()
        for l in drops:
            edits.edit(ctx.layer_loc(l.name), lambda c, k=re.escape(l.kind): set_arg(c, k, "rate", _num(rate), 0))
        for l in regs:
            if l2 is None:
                _edit_layer(edits, ctx, l, "kernel_regularizer", None)
            else:
                edits.edit(ctx.layer_loc(l.name), lambda c: set_arg(c, r"(?:regularizers\.)?[lL][12]", "l2",
                                                                    _num(l2), 0))

        def apply(s: KerasSetup, rate=rate, l2=l2) -> None:
            for l in drops:
                s.set_layer(l.name, rate=min(rate, l.rate or 0.0))
            for l in regs:
                s.set_layer(l.name, kernel_regularizer=None if l2 is None else
                            {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": l2},
                             "registered_name": None})

        parts = []
        if drops:
            parts.append(f"dropout {rate:g} (was {', '.join(f'{l.rate:g}' for l in drops)})")
        if regs:
            parts.append("no L2" if l2 is None else f"L2 {l2:g} (was "
                         + ", ".join(f"{l.regularization:g}" for l in regs) + ")")
        out.append(Fix(cause, "regularization", ", ".join(parts), apply, edits.diff()))
    return out


def _frozen(ctx: FixContext, cause: str) -> list[Fix]:
    frozen = [l for l in ctx.layers() if not l.trainable]
    edits = CodeEdits()
    for l in frozen:
        _edit_layer(edits, ctx, l, "trainable", None)

    def apply(s: KerasSetup) -> None:
        if s.config is None:
            raise NotApplicable("the model cannot be rebuilt from its config")
        s.config["trainable"] = True
        for c in _layer_configs(s.config).values():
            c["trainable"] = True
        _all_trainable(s.config)

    names = ", ".join(l.name for l in frozen[:4]) or "the model"
    return [Fix(cause, "unfreeze", f"trainable layers ({names})", apply, edits.diff())]


def _all_trainable(cfg: dict) -> None:
    cfg["trainable"] = True
    for entry in cfg.get("layers", []) or []:
        c = entry.get("config", {}) if isinstance(entry, dict) else {}
        if isinstance(c, dict):
            c["trainable"] = True
            if "layers" in c:
                _all_trainable(c)


def _class_weight(ctx: FixContext, cause: str) -> list[Fix]:
    lab = F.label(ctx.rec)
    if lab is None or lab.kind not in ("binary", "multiclass-int", "multiclass-onehot"):
        return []
    y = np.asarray(ctx.y_train)
    cls = y.reshape(len(y), -1).argmax(1) if lab.kind == "multiclass-onehot" else y.reshape(-1).astype(int)
    values, counts = np.unique(cls, return_counts=True)
    weights = {int(v): round(float(len(cls) / (len(values) * c)), 3) for v, c in zip(values, counts)}
    edits = CodeEdits()
    edits.edit(ctx.fit_loc, lambda c: set_arg(c, "fit", "class_weight", repr(weights)))
    return [Fix(cause, "class-weight", f"class_weight={weights} (inverse class frequency)",
                lambda s: setattr(s, "class_weight", dict(weights)), edits.diff())]


def _updates(ctx: FixContext, cause: str) -> list[Fix]:
    tr = ctx.facts.training
    if tr is None or not tr.planned_updates:
        return []
    n_train = _n(ctx.x_train)
    planned = int(tr.planned_updates)
    if planned >= ctx.trial_steps:
        return []
    user_bs = min(int(tr.batch_size or n_train), n_train)
    bs = min(ctx.trial_batch, n_train)
    n_total = (ctx.facts.data.n_samples if ctx.facts.data else None) or n_train
    spe = max(1, math.ceil(n_total / bs))
    epochs = max(int(tr.epochs or 1), math.ceil(ctx.trial_steps / spe))
    edits = CodeEdits()
    edits.edit(ctx.fit_loc, lambda c: set_arg(c, "fit", "batch_size", str(bs)))
    edits.edit(ctx.fit_loc, lambda c: set_arg(c, "fit", "epochs", str(epochs)))

    def baseline(s: KerasSetup) -> None:
        s.steps, s.batch_size = planned, user_bs

    def apply(s: KerasSetup) -> None:
        s.steps, s.batch_size = ctx.trial_steps, bs

    return [Fix(cause, "updates", f"{ctx.trial_steps} updates of batch {bs} instead of {planned} of batch "
                f"{user_bs}", apply, edits.diff(), baseline=baseline)]


def _capacity(ctx: FixContext, cause: str) -> list[Fix]:
    C = F.n_classes(ctx.rec) or 2
    narrow = [l for l in _hidden_layers(ctx) if l.units and l.kind in ("Dense", "Conv1D", "Conv2D", "Conv3D")
              and (l.units <= 2 or (C > 3 and l.units < C - 1))]
    if not narrow:
        return []
    width = max(32, 2 * C)
    edits = CodeEdits()
    for l in narrow:
        _edit_layer(edits, ctx, l, "units" if l.kind == "Dense" else "filters", str(width), pos=0)

    def apply(s: KerasSetup) -> None:
        for l in narrow:
            key = "units" if l.kind == "Dense" else "filters"
            s.set_layer(l.name, **{key: width})
            s.reinit.add(l.name)
        # the layer after a widened one changes shape too: its weights are re-initialised by shape mismatch

    return [Fix(cause, "capacity", f"{width} units in " + ", ".join(l.name for l in narrow), apply, edits.diff())]


def _numerical(ctx: FixContext, cause: str) -> list[Fix]:
    out: list[Fix | None] = []
    d = ctx.facts.data
    if d and (any(not a.finite or a.dtype == "float16" for a in d.inputs) or any(not t.finite for t in d.targets)):
        edits = CodeEdits()
        edits.edit(ctx.fit_loc, lambda c: wrap_arg(c, "fit", "x", 0,
                                                   lambda e: f"np.nan_to_num({e}).astype('float32')"))

        def apply(s: KerasSetup) -> None:
            s.x_fn = lambda v: np.nan_to_num(np.asarray(v, dtype=np.float32))
            s.y_fn = lambda v: np.nan_to_num(np.asarray(v, dtype=np.float32))

        out.append(Fix(cause, "data-cleaning", "finite float32 data (NaN/Inf replaced)", apply, edits.diff()))
    if F.loss_name(ctx.rec) == "custom":
        head = _proper_head(ctx)
        if head is not None:
            out.append(_head_fix(ctx, cause, _Head(None, F.out_act(ctx.rec) or "linear", head.loss,
                                                   F.out_act(ctx.rec) == "linear"), kind="loss",
                                 text=f"built-in {head.loss} instead of the custom loss"))
    out += _exploding(ctx, cause)[:1] if not out else []
    return [f for f in out if f]


def _dedupe(fixes: list[Fix]) -> list[Fix]:
    seen, out = set(), []
    for f in fixes:
        if f.text not in seen:
            seen.add(f.text)
            out.append(f)
    return out


BUILDERS: dict[str, Callable[[FixContext, str], list[Fix]]] = {
    "output-activation-mismatch": _output_activation,
    "output-units-mismatch": _output_units,
    "loss-mismatch": _loss_mismatch,
    "label-encoding": _label_encoding,
    "unnormalized-input": _input_fixes,
    "lr-too-high": lambda ctx, c: _lr_fixes(ctx, c, "down"),
    "lr-too-low": lambda ctx, c: _lr_fixes(ctx, c, "up"),
    "too-few-updates": _updates,
    "batch-size": _updates,
    "bad-init": _bad_init,
    "dying-relu": _dying_relu,
    "saturated-activation": _saturating,
    "vanishing-gradient": _saturating,
    "exploding-gradient": _exploding,
    "missing-hidden-activation": _missing_activation,
    "over-regularization": _over_regularization,
    "frozen-parameters": _frozen,
    "class-imbalance": _class_weight,
    "insufficient-capacity": _capacity,
    "numerical-instability": _numerical,
}
"""Causes with candidate fixes. Not tried (nothing to change in a short trial, or not a training failure):
data-label-misalignment, overfitting, wrong-metric, train-eval-mismatch, validation-leak, missing-zero-grad."""

LR_CAUSES = {"lr-too-high", "lr-too-low", "exploding-gradient"}
"""Causes whose candidates need the learning-rate range test (run once, before the trials)."""


def candidate_fixes(cause: str, ctx: FixContext, limit: int = 3) -> list[Fix]:
    """Candidate fixes for ``cause``, most likely first (empty when the cause has none)."""
    builder = BUILDERS.get(cause)
    if builder is None:
        return []
    return _dedupe(builder(ctx, cause))[:limit]
