"""Dynamic rules (TM3xx): what the signals of a real training run show.

They read the series the Keras Monitor and the PyTorch watcher record (``loss``, ``epoch_loss``,
``val_loss``, ``accuracy``, ``grad_norm/<layer>``, ``update_ratio/<layer>``, ``dead_fraction/<layer>``,
``pred/histogram`` ...) and the ``nonfinite`` events. Every threshold is relative to a baseline of the same
run: the loss before the first update, the loss of a model that only knows the class frequencies, chance
and majority accuracy, the last layer's gradient, the update size the optimizer in use makes at its default
learning rate. Rules about a mechanism (dead units, update sizes, gradient scale) speak with confidence only
when the run does not learn; in a run that learns they are warnings at most. Without the signals they need
(a pre-flight recording, a run without a probe batch) they say nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from ..experiments.preflight import MEMORISE_PARAMS_PER_SAMPLE
from ..facts import LayerFact
from ..findings import Evidence, Finding
from ..recording import Recording
from . import _facts as F
from .registry import proved_by_trial, rule
from .static import _input_scale_problem

# Optimizers whose step is about lr per parameter whatever the gradient scale (Adam-like normalisation).
ADAPTIVE = {"adam", "adamw", "adamax", "nadam", "radam", "rmsprop", "adagrad", "adadelta", "adafactor", "lion",
            "lamb", "ftrl", "sparseadam", "loraadam"}
ADAPTIVE_DEFAULT_LR = 1e-3  # Keras 3 and PyTorch default for every optimizer above
SGD_UPDATE_RATIO = 1e-3  # rule of thumb: a healthy SGD step changes a layer's weights by ~1e-3 of their norm
IMBALANCE_GAIN = 0.2  # the majority rate must beat a uniform guess by this much for imbalance to hide failure
ACCURACY_KEYS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "acc")
MIN_STEPS = 8  # fewer loss values than this say nothing about a trend
MAX_POINTS = 2000  # longer loss series are summarised by block medians before trend analysis


# -- reading signals -------------------------------------------------------------------------------------
_cut_cache: dict[int, tuple[tuple, int | None]] = {}


def first_nonfinite(rec: Recording) -> int | None:
    """The first step at which the loss, a gradient or the weights were NaN/Inf (None if never)."""
    s = rec.signals.get("loss")
    key = (len(rec.events), len(s) if s is not None else 0)
    cached = _cut_cache.get(id(rec))
    if cached is not None and cached[0] == key:
        return cached[1]
    steps = [e["step"] for e in rec.events if e.get("kind") == "nonfinite" and e.get("step") is not None]
    if s is not None:
        bad = next((st for st, v in zip(s.steps, s.values)
                    if isinstance(v, (int, float)) and not math.isfinite(v)), None)
        if bad is not None:
            steps.append(bad)
    cut = min(steps) if steps else None
    if len(_cut_cache) > 64:
        _cut_cache.clear()
    _cut_cache[id(rec)] = (key, cut)
    return cut


def _series(rec: Recording, name: str, finite: bool = True) -> tuple[list[int], list[float]]:
    """Steps and float values of a signal; with ``finite``, only finite values from before the first NaN/Inf
    (what a network computes after that is garbage)."""
    s = rec.signals.get(name)
    if s is None:
        return [], []
    cut = first_nonfinite(rec) if finite else None
    steps, vals = [], []
    for st, v in zip(s.steps, s.values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        v = float(v)
        if finite and (not math.isfinite(v) or (cut is not None and st >= cut)):
            continue
        steps.append(st)
        vals.append(v)
    return steps, vals


def _layer_facts(rec: Recording) -> list[LayerFact]:
    return list(rec.facts.model.layers) if rec.facts.model else []


def _layer(rec: Recording, name: str) -> LayerFact | None:
    return next((l for l in _layer_facts(rec) if l.name == name), None)


def _per_layer(rec: Recording, prefix: str) -> dict[str, tuple[list[int], list[float]]]:
    """``prefix/<layer>`` series by layer, in the model's forward order when the facts know it."""
    names = [k[len(prefix) + 1:] for k in rec.signals if k.startswith(prefix + "/")]
    order = {l.name: i for i, l in enumerate(_layer_facts(rec))}
    names.sort(key=lambda n: order.get(n, len(order)))
    out = {}
    for n in names:
        steps, vals = _series(rec, f"{prefix}/{n}")
        if vals:
            out[n] = (steps, vals)
    return out


def _last_part(vals: list, frac: float = 1 / 3, at_least: int = 2) -> list:
    k = max(at_least, int(math.ceil(len(vals) * frac)))
    return vals[-k:]


def _opt_loc(rec: Recording):
    return F.loc(rec.facts.optimizer)


def _layer_loc(rec: Recording, name: str | None):
    return F.loc(_layer(rec, name)) if name else []


def _fmt_step(step: int) -> str:
    return f"step {step}"


# -- baselines ---------------------------------------------------------------------------------------------
def prior_loss(rec: Recording) -> float | None:
    """The loss of a model that predicts only the class frequencies (or the target mean for MSE/MAE).

    A run whose loss stays at this level has learned nothing from the inputs.
    """
    lab = F.label(rec)
    name = F.loss_name(rec)
    if lab is None or name is None:
        return None
    n = (rec.facts.data.sample_size if rec.facts.data else 0) or (lab.shape[0] if lab.shape else 0)
    counts = lab.class_counts
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy", "cross_entropy", "nll") \
            and counts and sum(counts) > 0:
        total = float(sum(counts))
        return -sum(c / total * math.log(c / total) for c in counts if c > 0)
    if name in ("binary_crossentropy", "bce", "bce_with_logits") and counts and n:
        if lab.kind == "binary" and len(counts) >= 2:
            ps = [counts[-1] / n]
        elif lab.kind in ("multiclass-onehot", "multilabel"):
            ps = [c / n for c in counts]
        else:
            return None
        ent = [-(p * math.log(p) + (1 - p) * math.log(1 - p)) if 0 < p < 1 else 0.0 for p in ps]
        return sum(ent) / len(ent)
    if lab.kind == "regression" and lab.std is not None:
        if name == "mse":
            return lab.std ** 2
        if name == "mae":
            return lab.std * math.sqrt(2 / math.pi)
    return None


@dataclass
class Progress:
    """How the per-step training loss moved: initial value, first and last windows, peak."""

    steps: list[int]
    values: list[float]
    initial: float  # the loss before the first update
    first: float  # median of the first window
    last: float  # median of the last window
    peak: float  # highest rolling median (3 steps) after the first step
    peak_step: int
    prior: float | None  # loss of a model that knows only the class frequencies
    noise: float  # standard error of (first - last): batch-to-batch noise of the two window medians

    @property
    def improvement(self) -> float:
        """Relative decrease from the first to the last window (negative when it rose)."""
        return (self.first - self.last) / abs(self.first) if self.first else 0.0

    @property
    def stalled(self) -> bool:
        """Has the run learned nothing beyond the label frequencies (or barely moved its loss)?"""
        if self.prior is not None and self.prior > 0:
            return self.last >= 0.9 * self.prior
        return self.improvement < 0.1

    @property
    def diverged(self) -> bool:
        return self.initial > 0 and self.peak >= 3 * self.initial


def _compress(steps: list[int], vals: list[float]) -> tuple[list[int], list[float]]:
    """At most MAX_POINTS points: medians of consecutive blocks (the first value is kept as it is)."""
    if len(vals) <= MAX_POINTS:
        return steps, vals
    b = math.ceil(len(vals) / MAX_POINTS)
    return ([steps[0]] + [steps[i] for i in range(1, len(vals), b)],
            [vals[0]] + [median(vals[i:i + b]) for i in range(1, len(vals), b)])


_progress_cache: dict[int, tuple[tuple, Progress | None]] = {}


def progress(rec: Recording) -> Progress | None:
    """Trend of the per-step training loss (None with fewer than MIN_STEPS finite values)."""
    s = rec.signals.get("loss")
    key = (len(rec.events), len(s) if s is not None else 0, s.values[-1] if s is not None and len(s) else None)
    cached = _progress_cache.get(id(rec))
    if cached is not None and cached[0] == key:
        return cached[1]
    if len(_progress_cache) > 64:
        _progress_cache.clear()
    p = _progress(rec)
    _progress_cache[id(rec)] = (key, p)
    return p


def _progress(rec: Recording) -> Progress | None:
    steps, vals = _compress(*_series(rec, "loss"))
    if len(vals) < MIN_STEPS:
        return None
    n = len(vals)
    w = max(3, min(50, n // 10))
    roll = [median(vals[i - 1:i + 2]) for i in range(1, n - 1)] or [vals[-1]]
    i_peak = max(range(len(roll)), key=lambda i: roll[i])
    first, last = median(vals[:w]), median(vals[-w:])
    mad = median([abs(v - first) for v in vals[:w]] + [abs(v - last) for v in vals[-w:]])
    noise = math.sqrt(2) * 1.25 * 1.4826 * mad / math.sqrt(w)  # SE of a difference of two medians
    return Progress(steps, vals, initial=vals[0], first=first, last=last, peak=roll[i_peak],
                    peak_step=steps[i_peak + 1] if n > 2 else steps[-1], prior=prior_loss(rec), noise=noise)


def _dead_layers(rec: Recording, at_least: float = 0.5) -> list[tuple[str, float, float]]:
    """(layer, first, late) for ReLU layers whose dead fraction at the end of the run is >= ``at_least``."""
    out = []
    for name, (_, vals) in _per_layer(rec, "dead_fraction").items():
        late = sum(_last_part(vals)) / len(_last_part(vals))
        if late >= at_least and vals[-1] >= at_least:
            out.append((name, vals[0], late))
    return out


def _expected_ratio(rec: Recording, layer: str) -> tuple[float, str]:
    """Per-step update/weight ratio the optimizer in use makes at its default learning rate."""
    opt = rec.facts.optimizer.name if rec.facts.optimizer else None
    if opt in ADAPTIVE:
        _, wn = _series(rec, f"weight_norm/{layer}")
        lf = _layer(rec, layer)
        n = (lf.n_trainable or lf.n_params) if lf else 0
        if wn and n:
            rms = median(wn) / math.sqrt(n)
            if rms > 0:
                return ADAPTIVE_DEFAULT_LR / rms, f"{opt} at its default lr {ADAPTIVE_DEFAULT_LR:g} (~lr / rms(W))"
    return SGD_UPDATE_RATIO, f"~{SGD_UPDATE_RATIO:g} per step ({opt or 'optimizer'})"


@dataclass
class UpdateScale:
    best: float  # max over layers of median(ratio) / expected: even the best-updated layer
    peak: float  # max over probes of the median over layers of ratio / expected
    best_layer: str
    observed: float
    expected: float
    how: str
    zero_layers: list[str]


def update_scale(rec: Recording) -> UpdateScale | None:
    per = _per_layer(rec, "update_ratio")
    if not per:
        return None
    rel_by_step: dict[int, list[float]] = {}
    best, best_layer, obs, exp_, how = -1.0, "", 0.0, 1.0, ""
    zero = []
    for name, (steps, vals) in per.items():
        expected, text = _expected_ratio(rec, name)
        if all(v == 0 for v in vals):
            zero.append(name)
        m = median(vals)
        if m / expected > best:
            best, best_layer, obs, exp_, how = m / expected, name, m, expected, text
        for st, v in zip(steps, vals):
            rel_by_step.setdefault(st, []).append(v / expected)
    peak = max(median(v) for v in rel_by_step.values())
    return UpdateScale(best, peak, best_layer, obs, exp_, how, zero)


def _grad_nonzero(rec: Recording, layer: str) -> bool | None:
    _, g = _series(rec, f"grad_norm/{layer}")
    return None if not g else any(v > 0 for v in g)


# -- rules -------------------------------------------------------------------------------------------------
@rule("TM301", "loss-flat", ["lr-too-low", "frozen-parameters", "dying-relu", "output-activation-mismatch"],
      "dynamic")
def loss_flat(rec: Recording):
    """
    What it detects:
    A training loss that does not go down: exactly constant (the gradient is zero), or changed between the
    first and the last tenth of the steps by less than 5% of its starting value or less than twice the
    batch-to-batch noise of those medians (and by less than 5% from the first to the last epoch).

    Why training fails:
    The loss is what the optimizer minimises. If it does not move, the weights do not move in a useful
    direction: the gradient is zero (dead units, a constant output, frozen weights) or the steps are too
    small to matter (learning rate far too low).

    Evidence:
    The median loss of the first and last windows of steps, the epoch losses, whether the gradient is
    exactly zero; and what explains it: update/weight ratios far below the optimizer's usual size, dead
    ReLU layers, frozen layers.

    Fix:
    Depends on the explanation: raise the learning rate, make the layers trainable, fix the dead units or
    the output activation.

    Example:
    `SGD(learning_rate=1e-5)` on a small MLP: the loss moves from 1.565 to 1.555 in ten epochs.
    """
    p = progress(rec)
    if p is None:
        return
    _, ep = _series(rec, "epoch_loss")
    grads = _per_layer(rec, "grad_norm")
    zero_grad = bool(grads) and all(v == 0 for _, vals in grads.values() for v in vals)
    rng = max(p.values) - min(p.values)
    constant = rng <= 1e-5 * max(abs(p.first), 1e-12) or (len(ep) >= 2 and max(ep) - min(ep) <= 1e-6 * abs(ep[0]))
    ep_improvement = (ep[0] - ep[-1]) / abs(ep[0]) if len(ep) >= 3 and ep[0] else None
    step_flat = abs(p.first - p.last) < max(0.05 * abs(p.first), 2 * p.noise)
    flat = step_flat and (ep_improvement is None or abs(ep_improvement) < 0.05)
    if not (zero_grad or constant or flat) or p.last >= 1.5 * p.initial > 0:
        return
    if p.prior is not None and p.last < 0.5 * p.prior and not zero_grad:
        return  # already far below what the label frequencies allow: nothing left to learn here
    ev = [Evidence("training loss, first vs last tenth of the steps (median)",
                   observed=f"{p.first:.4g} -> {p.last:.4g} ({-100 * p.improvement:+.1f}%)",
                   expected="a clear decrease")]
    if ep_improvement is not None:
        ev.append(Evidence("epoch loss, first vs last epoch", observed=f"{ep[0]:.4g} -> {ep[-1]:.4g}"))
    if p.prior is not None:
        ev.append(Evidence("loss of a model that only knows the label frequencies", observed=round(p.prior, 4)))
    if zero_grad:
        ev.append(Evidence("gradient norm of every layer on the probe batch", observed=0.0, expected="> 0"))
    what = "exactly constant" if constant or zero_grad else "flat"
    cause, also, locs, why = None, [], [], ""
    m = rec.facts.model
    us = update_scale(rec)
    dead = _dead_layers(rec, 0.9)
    all_zero = bool(us and us.zero_layers and len(us.zero_layers) == len(_per_layer(rec, "update_ratio")))
    if (m is not None and m.n_trainable == 0) or (all_zero and not zero_grad):
        cause, why = "frozen-parameters", "the weights never change"
        locs = F.loc(*(l for l in _layer_facts(rec) if l.parametric and not l.trainable)) or F.loc(m)
        ev.append(Evidence("trainable parameters / weight change", observed=0, expected="> 0"))
    elif F.out_act(rec) == "softmax" and F.out_units(rec) == 1:
        cause, why = "output-activation-mismatch", "softmax over one unit is 1.0 for every input"
        locs = F.loc(F.output_activation_layer(rec))
    elif dead:
        name, _, late = dead[0]
        cause, why = "dying-relu", f"{late:.0%} of the ReLU units of {name} are dead"
        locs = _layer_loc(rec, name)
        ev.append(Evidence(f"dead fraction of {name}", observed=round(late, 3), expected="< 0.5"))
    elif us and not zero_grad and us.best <= 1 / 30:
        cause, why = "lr-too-low", "the weight updates are tiny"
        locs = _opt_loc(rec)
        ev.append(Evidence(f"update/weight ratio per step (largest layer median, {us.best_layer})",
                           observed=us.observed, expected=f"{us.expected:.2g} ({us.how})"))
    msg = f"The training loss is {what} over {len(p.values)} steps ({p.first:.4g} -> {p.last:.4g})"
    msg += f": {why}." if why else ("; the gradient is exactly zero." if zero_grad else ".")
    yield Finding(msg, cause=cause, also=also, severity="error" if what != "flat" else "warning",
                  confidence=0.75 if cause else 0.6, evidence=ev, locations=locs)


@rule("TM302", "nonfinite-loss", ["numerical-instability", "exploding-gradient", "lr-too-high"], "dynamic")
def nonfinite_loss(rec: Recording):
    """
    What it detects:
    The loss, a gradient or the weights became NaN or Inf during training; the first step and where it
    appeared (the loss, a layer's gradient or weights).

    Why training fails:
    One NaN gradient turns every weight it touches into NaN; from then on nothing is learned. It comes
    either from a computation that is undefined for some inputs (log(0), division by zero, float16
    overflow: numerical instability) or from updates that grow step after step until they overflow
    (exploding gradients, usually a learning rate too high).

    Evidence:
    The first non-finite step and place; the loss and the gradient norm before it: growth by an order of
    magnitude or more means the gradient exploded, a sudden NaN from finite, stable values means a
    numerically unstable operation.

    Fix:
    Growth first: lower the learning rate, clip gradients (clipnorm), scale inputs and targets. Sudden:
    use the framework's losses (from_logits=True), add epsilons, keep float32.

    Example:
    A hand-written `-mean(y * log(p))` on a ReLU output: log(0) is -inf at step 0.
    """
    first = first_nonfinite(rec)
    if first is None:
        return
    events = [e for e in rec.events if e.get("kind") == "nonfinite"]
    lsteps, lvals = _series(rec, "loss", finite=False)
    events.sort(key=lambda e: (e.get("step", 0), 0 if e.get("where") == "loss" else 1))
    where = events[0].get("where", "loss") if events and events[0].get("step") == first else "loss"
    layer = where.split(":", 1)[1] if ":" in where else None
    place = {"grad": f"in the gradient of {layer}", "weights": f"in the weights of {layer}"}.get(
        where.split(":", 1)[0], "in the loss")
    before = [v for s, v in zip(lsteps, lvals) if s < first and math.isfinite(v)]
    grads = _per_layer(rec, "grad_norm")
    totals: dict[int, float] = {}
    for steps, vals in grads.values():
        for s, v in zip(steps, vals):
            if s < first:
                totals[s] = totals.get(s, 0.0) + v * v
    gvals = [math.sqrt(totals[s]) for s in sorted(totals)]
    loss_growth = max(before) / before[0] if len(before) >= 2 and before[0] > 0 else None
    grad_growth = max(gvals) / gvals[0] if len(gvals) >= 2 and gvals[0] > 0 else None
    grew = (loss_growth or 0) >= 10 or (grad_growth or 0) >= 10
    ev = [Evidence("first non-finite value", observed=f"{where} at {_fmt_step(first)}", expected="finite")]
    if loss_growth is not None:
        ev.append(Evidence("loss growth before it (max / first)", observed=loss_growth, expected="< 10"))
    if grad_growth is not None:
        ev.append(Evidence("gradient-norm growth before it (max / first probe)", observed=grad_growth,
                           expected="< 10"))
    data = rec.facts.data
    bad_inputs = bool(data and any(not a.finite for a in data.inputs))
    if grew and not bad_inputs:
        yield Finding(f"The training became non-finite at {_fmt_step(first)} ({place}) after the loss/gradient "
                      f"grew step after step: the gradient exploded.", cause="exploding-gradient",
                      also=["lr-too-high"], severity="error", confidence=0.8, evidence=ev,
                      locations=_opt_loc(rec) + _layer_loc(rec, layer),
                      fix="Lower the learning rate, clip gradients (clipnorm=1.0), scale inputs and targets.")
    else:
        if bad_inputs:
            ev.append(Evidence("the input sample contains NaN/Inf", observed=True, expected=False))
        yield Finding(f"NaN/Inf appeared at {_fmt_step(first)} ({place}) without growth before it: a "
                      f"numerically unstable computation (log(0), division by zero, overflow).",
                      cause="numerical-instability", severity="error", confidence=0.8, evidence=ev,
                      locations=F.compile_loc(rec) + _layer_loc(rec, layer))


@rule("TM303", "loss-divergence", ["lr-too-high"], "dynamic")
def loss_divergence(rec: Recording):
    """
    What it detects:
    A training loss that rises well above its value before the first update: a rolling median at least
    3x the initial loss, or a run that ends at 1.5x it or more.

    Why training fails:
    Gradient descent with a sensible step lowers the loss. A loss that climbs above where it started means
    the steps overshoot: each update lands further up the other side of the valley.

    Evidence:
    The initial loss, the peak of the loss (rolling median over 3 steps) and its step, the final loss.

    Fix:
    Lower the learning rate (by 10x, or take the learning-rate range test's suggestion); clip gradients.

    Example:
    `SGD(learning_rate=3.0)` on a small MLP: the loss goes from 1.16 to 3.6e7 within two epochs.
    """
    p = progress(rec)
    if p is None or p.initial <= 0:
        return
    ended_high = p.last >= 1.5 * p.initial
    if not (p.diverged or ended_high):
        return
    ev = [Evidence("loss before the first update", observed=p.initial),
          Evidence(f"peak loss (rolling median) at {_fmt_step(p.peak_step)}", observed=p.peak,
                   expected=f"< {3 * p.initial:.4g} (3x initial)"),
          Evidence("final loss (median of the last steps)", observed=p.last)]
    recovered = p.last < p.initial and not p.stalled
    conf = 0.45 if recovered else 0.8
    msg = (f"The training loss rose to {p.peak:.4g} at {_fmt_step(p.peak_step)}, {p.peak / p.initial:.1f}x its "
           f"initial value {p.initial:.4g}")
    msg += ", then came back down: the learning rate is at the edge of stability." if recovered else \
        f", and ends at {p.last:.4g}: the updates overshoot."
    yield Finding(msg, cause="lr-too-high", severity="warning" if recovered else "error", confidence=conf,
                  evidence=ev, locations=_opt_loc(rec))


@rule("TM304", "loss-oscillation", ["lr-too-high"], "dynamic")
def loss_oscillation(rec: Recording):
    """
    What it detects:
    A training loss that repeatedly climbs back up by at least half of its initial value after having
    come down (three or more such swings in the per-step loss smoothed by a running median over 2.5% of the
    steps), without diverging for good.

    Why training fails:
    With a step size near the edge of stability the optimizer bounces across the valley instead of
    descending into it: progress made in one phase is undone in the next, and the run ends wherever the
    last swing left it.

    Evidence:
    The number of swings, the largest one relative to the initial loss, the loss range.

    Fix:
    Lower the learning rate (2-10x), or use a schedule that decays it; clip gradients.

    Example:
    `Adam(learning_rate=0.3)` on a small MLP: the loss falls to 0.3, jumps to 1.5, falls again, ...
    """
    p = progress(rec)
    if p is None or p.initial <= 0:
        return
    n = len(p.values)
    k = max(5, n // 40) | 1
    h = k // 2
    smooth = [median(p.values[max(0, i - h):i + h + 1]) for i in range(n)]
    threshold = 0.5 * max(p.initial, p.first)
    swings, low, biggest = 0, smooth[0], 0.0
    for v in smooth[1:]:
        if v < low:
            low = v
        elif v - low >= threshold:
            swings += 1
            biggest = max(biggest, v - low)
            low = v
    if swings < 3 or p.last >= 1.5 * p.initial:
        return
    ev = [Evidence("swings of the smoothed loss by >= half its initial value", observed=swings, expected="0"),
          Evidence("largest swing / initial loss", observed=biggest / max(p.initial, 1e-12), expected="< 0.5"),
          Evidence("loss range after the start", observed=f"{min(smooth):.4g} .. {max(smooth[1:]):.4g}")]
    conf = 0.7 if p.stalled or p.last >= 0.5 * p.initial else 0.45
    yield Finding(f"The training loss oscillates: {swings} times it climbed back up by half its initial value "
                  f"or more. The steps are too large to settle.", cause="lr-too-high",
                  severity="warning", confidence=conf, evidence=ev, locations=_opt_loc(rec))


def _accuracy(rec: Recording) -> tuple[str, str, list[float]] | None:
    """(signal name, resolved metric, values) of the training accuracy per epoch."""
    for key in ACCURACY_KEYS:
        _, vals = _series(rec, key)
        if vals:
            resolved = key
            for m in rec.facts.metrics:
                if m.given in (key, "acc") or m.resolved == key:
                    resolved = m.resolved
                    break
            return key, resolved, vals
    return None


def trivial_accuracies(rec: Recording, resolved: str) -> list[tuple[float, str, bool]]:
    """(value, description, from_sample) of accuracies a model reaches without learning anything."""
    lab = F.label(rec)
    c = (lab.n_classes if lab and lab.n_classes else None) or (F.out_units(rec) if (F.out_units(rec) or 0) > 1
                                                                  else None)
    out: list[tuple[float, str, bool]] = []
    onehot = lab is not None and lab.kind in ("multiclass-onehot", "multilabel")
    if resolved == "binary_accuracy" and c and c > 2 and (onehot or (F.out_units(rec) or 0) > 2):
        out.append((1 - 1 / c, f"1-1/C = {1 - 1 / c:.3g}: binary accuracy over {c} one-hot columns of a model "
                               f"that predicts no class", False))
        return out
    if c:
        out.append((1 / c, f"chance 1/C = {1 / c:.3g}", False))
    counts = lab.class_counts if lab else None
    if counts and sum(counts) > 0 and not (lab.kind == "multilabel"):
        total = float(sum(counts))
        rates = [x / total for x in counts]
        top = max(range(len(rates)), key=lambda i: rates[i])
        out.append((rates[top], f"the majority-class rate {rates[top]:.3g} (always predicting class {top})", True))
        for i, r in enumerate(rates):
            if i != top and r > 0:
                out.append((r, f"the rate of class {i} ({r:.3g}: always predicting it)", True))
    return out


@rule("TM305", "accuracy-at-trivial-value", ["wrong-metric", "class-imbalance", "loss-mismatch"], "dynamic")
def accuracy_trivial(rec: Recording):
    """
    What it detects:
    Training accuracy that stays, over the last epochs, at a value a model reaches without learning:
    chance 1/C, the majority-class rate or another single class's rate (always predicting one class), or
    1-1/C for binary accuracy over C one-hot columns (predicting no class at all). The message names which.

    Why training fails:
    Such an accuracy means the predictions do not depend on the input: the network outputs the same class
    (or nothing) for everything. With imbalanced labels the majority rate looks good and hides it; with a
    binary metric over one-hot targets 1-1/C looks good and means nothing.

    Evidence:
    The accuracy over the last epochs, the trivial value it matches and its tolerance (10% of the distance
    to perfect accuracy, at most half the trivial value, or the sampling error of the label counts), the
    label distribution. Class imbalance is named only when the majority rate beats a uniform guess (1/C) by
    0.2 or more.

    Fix:
    Imbalance: class_weight, resampling, a metric that sees the minority. Binary accuracy over one-hot
    columns: use categorical accuracy. Otherwise see the other findings (dead units, output activation,
    learning rate).

    Example:
    4 balanced classes and the accuracy stays at 0.25 for 20 epochs; 90% negatives and it stays at 0.90.
    """
    acc = _accuracy(rec)
    if acc is None:
        return
    tr = rec.facts.training
    if tr is not None and (tr.class_weight or tr.sample_weight):
        return  # weighted training trades plain accuracy for the minority classes: near-majority is expected
    key, resolved, vals = acc
    if len(vals) < 2:
        return
    late = _last_part(vals)
    n = (rec.facts.data.sample_size if rec.facts.data else 0) or 0
    lab = F.label(rec)
    candidates = sorted(trivial_accuracies(rec, resolved), key=lambda c: abs(late[-1] - c[0]))
    for t, desc, sampled in candidates:
        tol = min(0.1 * (1 - t), 0.5 * t)  # a small trivial value (many classes) needs a tight match
        if sampled and n:
            tol = max(tol, math.sqrt(t * (1 - t) / n))
        if not all(abs(v - t) <= tol for v in late) or max(late) - min(late) > 2 * tol:
            continue
        ev = [Evidence(f"{key} over the last {len(late)} epochs", observed=[round(v, 4) for v in late],
                       expected=f"clearly above {t:.3g}"),
              Evidence("trivial value", observed=round(t, 4), expected=desc)]
        hist = rec.signals.get("pred/histogram")
        if hist is not None and hist.values and isinstance(hist.values[-1], list):
            ev.append(Evidence("predicted class fractions on the probe batch (last)",
                               observed=[round(x, 3) for x in hist.values[-1]]))
        cause, also, locs, conf = None, [], [], 0.6
        c = len(lab.class_counts) if lab and lab.class_counts else None
        if desc.startswith("1-1/C"):
            cause, conf = "wrong-metric", 0.7
            also = ["loss-mismatch"] if F.loss_name(rec) == "binary_crossentropy" else []
            locs = F.loc(*(m for m in rec.facts.metrics)) or F.compile_loc(rec)
        elif desc.startswith("the majority") and c and t >= 1.5 / c and t - 1 / c >= IMBALANCE_GAIN:
            cause, conf = "class-imbalance", 0.65
            locs = F.fit_loc(rec)
            ev.append(Evidence("label counts", observed=lab.class_counts))
        yield Finding(f"The training {key} stays at {late[-1]:.4g} = {desc}: the predictions do not depend "
                      f"on the input.", cause=cause, also=also, severity="error" if cause else "warning",
                      confidence=conf, evidence=ev, locations=locs)
        return


@rule("TM306", "prediction-collapse", ["dying-relu", "lr-too-high"], "dynamic")
def prediction_collapse(rec: Recording):
    """
    What it detects:
    The model predicts (almost) one class for every input of the probe batch at the end of training while
    the labels are balanced: the top predicted class fraction covers at least 90% of the gap between the
    labels' majority rate and 1.

    Why training fails:
    A network that answers the same class for everything has stopped using its input. Typical mechanisms:
    dead ReLU layers pass nothing forward, a learning rate too high throws the output layer into a state
    where one bias dominates, or vanishing gradients leave only the output bias learning the prior.

    Evidence:
    The predicted class fractions over the last probes, the label distribution, and what explains the
    collapse (dead layers, a diverged loss, oversize updates).

    Fix:
    See the explaining finding: fix dead units (init, input scaling, lower lr), lower the learning rate.

    Example:
    3 balanced classes; after 2 epochs of SGD(lr=3.0) every prediction is class 2.
    """
    hist = rec.signals.get("pred/histogram")
    lab = F.label(rec)
    if hist is None or lab is None or not lab.class_counts or len(hist.values) < 3:
        return
    counts = lab.class_counts
    total = float(sum(counts))
    if total <= 0 or len(counts) < 2:
        return
    p_max = max(counts) / total
    if p_max > 1.5 / len(counts):
        return  # imbalanced labels: predicting the majority is TM305's business
    hs = [h for h in hist.values if isinstance(h, list) and h]
    late = _last_part(hs)
    bound = p_max + 0.9 * (1 - p_max)
    fracs = [max(h) for h in late]
    if not fracs or min(fracs) < bound:
        return
    top = max(range(len(late[-1])), key=lambda i: late[-1][i])
    ev = [Evidence("largest predicted class fraction over the last probes", observed=[round(f, 3) for f in fracs],
                   expected=f"near the label rates (majority {p_max:.3g})"),
          Evidence("label counts", observed=counts)]
    cause, locs, why = None, [], ""
    dead = _dead_layers(rec)
    p = progress(rec)
    us = update_scale(rec)
    if dead:
        name, _, late_dead = dead[0]
        cause, locs, why = "dying-relu", _layer_loc(rec, name), f"; {late_dead:.0%} of {name}'s ReLUs are dead"
        ev.append(Evidence(f"dead fraction of {name}", observed=round(late_dead, 3), expected="< 0.5"))
    elif (p and p.diverged) or (us and us.peak >= 100):
        cause, locs, why = "lr-too-high", _opt_loc(rec), "; the loss diverged / the updates were oversize"
    yield Finding(f"The model predicts class {top} for {fracs[-1]:.0%} of the probe batch while the labels are "
                  f"balanced{why}.", cause=cause, severity="error" if cause else "warning",
                  confidence=0.7 if cause else 0.6, evidence=ev, locations=locs)


@rule("TM307", "gradient-scale", ["vanishing-gradient", "exploding-gradient", "saturated-activation",
                                   "lr-too-high"], "dynamic")
def gradient_scale(rec: Recording):
    """
    What it detects:
    Vanishing gradients: the first layer's gradient per parameter (RMS) is 100x or more smaller than the
    last layer's at most probes. Exploding gradients: the first layer's is 100x larger, or the total
    gradient norm grows 100x or more over training.

    Why training fails:
    Back-propagation multiplies by each layer's Jacobian; through saturating activations or badly scaled
    weights the product shrinks or grows geometrically with depth. With vanishing gradients the first
    layers do not learn; with exploding ones updates become huge and the loss diverges or turns NaN.

    Evidence:
    The RMS gradient ratio first/last layer (median over probes), the growth of the total gradient norm,
    the saturation of sigmoid/tanh layers.

    Fix:
    Vanishing: ReLU-family activations, He initialisation, batch normalisation, residual connections,
    fewer layers. Exploding: lower learning rate, gradient clipping, proper initialisation.

    Example:
    8 Dense(16, activation="sigmoid") layers: the first layer's RMS gradient is 1e-4 of the last one's.
    """
    grads = _per_layer(rec, "grad_norm")
    if len(grads) < 2:
        return
    facts = {l.name: l for l in _layer_facts(rec)}

    def rms(name: str, v: float) -> float:
        lf = facts.get(name)
        n = (lf.n_trainable or lf.n_params) if lf else 0
        return v / math.sqrt(n) if n else v

    names = list(grads)
    first, last = names[0], names[-1]
    by_step_first = dict(zip(*grads[first]))
    dead_steps = set()
    for _, (steps, vals) in _per_layer(rec, "dead_fraction").items():
        dead_steps |= {s for s, v in zip(steps, vals) if v >= 0.5}
    ratios = []
    for s, g_last in zip(*grads[last]):
        g_first = by_step_first.get(s)
        if g_first is None or g_first <= 0 or g_last <= 0 or s in dead_steps:
            continue
        ratios.append(rms(first, g_first) / rms(last, g_last))
    totals: dict[int, float] = {}
    for steps, vals in grads.values():
        for s, v in zip(steps, vals):
            totals[s] = totals.get(s, 0.0) + v * v
    tot = [math.sqrt(totals[s]) for s in sorted(totals)]
    growth = max(tot) / tot[0] if len(tot) >= 3 and tot[0] > 0 else None
    p = progress(rec)
    stalled = p is None or p.stalled
    if len(ratios) >= 2 and median(ratios) <= 1e-2:
        r = median(ratios)
        ev = [Evidence(f"RMS gradient per parameter, {first} / {last} (median over {len(ratios)} probes)",
                       observed=r, expected=">= 0.01 (within 100x of the last layer)")]
        also = []
        sat = [(n, v[-1]) for n, (_, v) in _per_layer(rec, "saturation").items() if v and v[-1] >= 0.5]
        if sat:
            also = ["saturated-activation"]
            ev.append(Evidence(f"saturated fraction of {sat[0][0]}", observed=round(sat[0][1], 3), expected="< 0.5"))
        yield Finding(f"The gradient vanishes on its way back: {first}'s gradient per parameter is {r:.2g} of "
                      f"{last}'s, so the first layers barely learn.", cause="vanishing-gradient", also=also,
                      severity="error" if stalled else "warning", confidence=0.75 if stalled else 0.35,
                      evidence=ev, locations=_layer_loc(rec, first))
    elif len(ratios) >= 2 and median(ratios) >= 1e2:
        r = median(ratios)
        yield Finding(f"The gradient grows on its way back: {first}'s gradient per parameter is {r:.3g}x "
                      f"{last}'s.", cause="exploding-gradient", severity="error" if stalled else "warning",
                      confidence=0.7 if stalled else 0.35, locations=_layer_loc(rec, first),
                      evidence=[Evidence(f"RMS gradient per parameter, {first} / {last} (median)", observed=r,
                                         expected="<= 100")])
    if growth is not None and growth >= 100:
        yield Finding(f"The total gradient norm grew {growth:.3g}x during training: the gradient explodes.",
                      cause="exploding-gradient", also=["lr-too-high"], severity="error",
                      confidence=0.75 if stalled or (p and p.diverged) else 0.4,
                      evidence=[Evidence("total gradient norm, max / first probe", observed=growth,
                                         expected="< 100")], locations=_opt_loc(rec))


@rule("TM308", "dying-relu", ["dying-relu", "lr-too-high", "bad-init"], "dynamic")
def dying_relu(rec: Recording):
    """
    What it detects:
    A ReLU layer in which more than half of the units output zero for every input of the probe batch over
    the last third of the run, either from the start or rising during training.

    Why training fails:
    A dead ReLU unit has a zero gradient, so nothing revives it: each dead unit is capacity lost for good.
    When most units of a layer die, no signal passes and the network predicts a constant. Units die when a
    large update (learning rate too high) or a bad initialisation / unscaled input pushes their
    pre-activations below zero for every input.

    Evidence:
    The dead fraction at the first probe and over the last probes, the layer, whether the loss still falls.

    Fix:
    Lower the learning rate; He initialisation and zero biases; scale the inputs; LeakyReLU.

    Example:
    `Dense(64, activation="relu", bias_initializer=Constant(-10.0))`: 100% of the units dead from step 0.
    """
    dead = _dead_layers(rec)
    if not dead:
        return
    p = progress(rec)
    stalled = p is None or p.stalled
    us = update_scale(rec)
    for name, first, late in dead:
        rising = first < 0.5
        lf = _layer(rec, name)
        if lf is not None and lf.units and lf.units < 8 and late < 1.0:
            continue  # 1 of 2 units: a fraction of a handful of units says little (all dead still counts)
        ev = [Evidence(f"dead fraction of {name}: first probe -> last probes", observed=f"{first:.2f} -> {late:.2f}",
                       expected="< 0.5")]
        also = []
        if rising and ((p and p.diverged) or (us and us.peak >= 30)):
            also = ["lr-too-high"]
        elif not rising:
            also = ["bad-init"]
        if p is not None:
            ev.append(Evidence("training loss first -> last", observed=f"{p.first:.4g} -> {p.last:.4g}"))
        conf = (0.8 if late >= 0.9 else 0.65) if stalled else 0.3
        alive = lf.units * (1.0 - late) if lf is not None and lf.units else None
        if not rising and late < 0.9 and alive is not None and alive >= 8:
            conf = min(conf, 0.3)  # part of a wide layer, dead from the start, none lost since: units remain to learn
        how = f"rose from {first:.0%} to {late:.0%}" if rising else f"is {late:.0%} from the start"
        if conf < 0.5 and not rising and stalled:
            tail = f", about {alive:.0f} units still active: it can learn around them."
        else:
            tail = ": the network stopped learning." if stalled else ", though the loss still falls."
        yield Finding(f"The dead fraction of ReLU layer {name} {how}" + tail,
                      cause="dying-relu", also=also, severity="error" if conf >= 0.5 else "warning", confidence=conf,
                      evidence=ev, locations=_layer_loc(rec, name))


@rule("TM309", "update-ratio", ["lr-too-low", "lr-too-high", "frozen-parameters"], "dynamic")
def update_ratio(rec: Recording):
    """
    What it detects:
    Per-step weight updates far from the size the optimizer in use normally makes: about 1e-3 of a layer's
    weight norm for SGD, about its default learning rate (1e-3) / RMS(W) for Adam-like optimizers. Too
    small (the best-updated layer 30x below) in a run that does not learn: learning rate too low; exactly
    zero with a non-zero gradient: the weights are frozen; too large (100x above) in a run that diverges
    or does not learn: learning rate too high.

    Why training fails:
    The update/weight ratio is how fast the weights move relative to their size. Far too small and the
    network stays where it was initialised; far too large and each step throws away what the previous
    learned; zero and nothing happens at all.

    Evidence:
    The median update/weight ratio per step of the best-updated layer, the expected ratio for the
    optimizer, the peak ratio, the layers that never changed.

    Fix:
    Too small: raise the learning rate. Too large: lower it. Zero: make the layers trainable / pass them to
    the optimizer.

    Example:
    `SGD(learning_rate=1e-5)`: every layer moves by ~7e-6 of its norm per step, 140x below ~1e-3.
    """
    us = update_scale(rec)
    p = progress(rec)
    if us is None or p is None:
        return
    frozen = [n for n in us.zero_layers if _grad_nonzero(rec, n) is not False]
    all_layers = len(_per_layer(rec, "update_ratio"))
    if frozen and p.stalled:
        locs = F.loc(*(_layer(rec, n) for n in frozen)) or F.loc(rec.facts.model)
        yield Finding(f"The weights of {', '.join(frozen[:4])}{' ...' if len(frozen) > 4 else ''} never change "
                      f"during training and the loss does not fall.", cause="frozen-parameters",
                      severity="error", confidence=0.8 if len(frozen) == all_layers else 0.55,
                      evidence=[Evidence("layers whose weights never changed",
                                         observed=f"{len(frozen)} of {all_layers}", expected="0")],
                      locations=locs)
        return
    if us.peak >= 100 and (p.stalled or p.diverged):
        yield Finding(f"The weight updates are oversize: at their peak a step changed the weights by "
                      f"{us.peak:.0f}x the usual fraction of their norm.", cause="lr-too-high", severity="error",
                      confidence=0.7,
                      evidence=[Evidence("peak update/weight ratio relative to the usual size (median over layers)",
                                         observed=us.peak, expected=f"<= 100 ({us.how})"),
                                Evidence("training loss first -> peak -> last",
                                         observed=f"{p.first:.4g} -> {p.peak:.4g} -> {p.last:.4g}")],
                      locations=_opt_loc(rec))
    elif us.best <= 1 / 30 and p.stalled and not p.diverged and not _dead_layers(rec):
        yield Finding(f"The weight updates are tiny: even {us.best_layer} moves by {us.observed:.2g} of its norm "
                      f"per step, {1 / max(us.best, 1e-30):.0f}x below the usual {us.expected:.2g}.",
                      cause="lr-too-low", severity="error", confidence=0.7,
                      evidence=[Evidence(f"update/weight ratio per step of {us.best_layer} (median)",
                                         observed=us.observed, expected=f"{us.expected:.2g} ({us.how})"),
                                Evidence("training loss first -> last", observed=f"{p.first:.4g} -> {p.last:.4g}")],
                      locations=_opt_loc(rec))


@rule("TM310", "overfitting-gap", ["overfitting"], "dynamic")
def overfitting_gap(rec: Recording):
    """
    What it detects:
    Validation loss rising while the training loss keeps falling: the last validation loss is at least
    1.25x its minimum, reached two or more epochs earlier, while the training loss fell by 20% or more
    since that epoch; a cause when the validation loss at least doubled, a note below that. When a
    validation accuracy is recorded and ends within 0.02 of its value at the
    validation-loss minimum, the rise is only noted (over-confident predictions, not a failure to
    generalise).

    Why training fails:
    From the validation minimum on, the network fits details of the training set that do not generalise:
    the training loss improves and the model gets worse on new data.

    Evidence:
    The epoch of the validation minimum, the validation and training losses then and at the end.

    Fix:
    Early stopping on val_loss (restore_best_weights=True), more data or augmentation, dropout / weight
    decay, a smaller model.

    Example:
    120 samples, two Dense(128) layers, 40 epochs: val_loss 0.56 -> 2.9 while the training loss -> 0.001.
    """
    vs, vv = _series(rec, "val_loss")
    ts, tv = _series(rec, "epoch_loss")
    if len(vv) < 4 or not tv:
        return
    train = dict(zip(ts, tv))
    i = min(range(len(vv)), key=lambda k: vv[k])
    if len(vv) - 1 - i < 2 or vv[-1] < 1.25 * vv[i]:
        return
    t_min, t_end = train.get(vs[i]), train.get(vs[-1])
    if t_min is None or t_end is None or t_end > 0.8 * t_min:
        return
    rise = vv[-1] / vv[i]
    # a moderate rise is common late in a healthy run: a note; a doubling is a cause
    severity, conf, held = ("warning", 0.8, "") if rise >= 2 else ("info", 0.4, "")
    for key in ACCURACY_KEYS:
        _, va = _series(rec, f"val_{key}")
        if len(va) == len(vv) and va[-1] >= va[i] - 0.02:
            # the loss rises (over-confident mistakes) but the validation accuracy holds: a note, not a cause
            severity, conf = "info", 0.3
            held = f" The validation {key} held: {va[i]:.4g} then, {va[-1]:.4g} at the end."
            break
    yield Finding(f"Overfitting: the validation loss rose from {vv[i]:.4g} (epoch {i + 1}) to {vv[-1]:.4g} while "
                  f"the training loss fell from {t_min:.4g} to {t_end:.4g}.{held}", cause="overfitting",
                  severity=severity, confidence=conf,
                  evidence=[Evidence(f"val_loss at its minimum (epoch {i + 1}) -> last",
                                     observed=f"{vv[i]:.4g} -> {vv[-1]:.4g}", expected="no rise"),
                            Evidence("training loss over the same epochs", observed=f"{t_min:.4g} -> {t_end:.4g}")],
                  locations=F.fit_loc(rec),
                  fix="Stop at the validation minimum (EarlyStopping(restore_best_weights=True)); regularise or "
                      "get more data.")


@rule("TM311", "validation-tracks-training", ["validation-leak"], "dynamic")
def validation_tracks_training(rec: Recording):
    """
    What it detects:
    Validation metrics that track the training metrics all the way down: over the second half of the
    epochs the validation loss is at or below the training loss in 80% of the epochs or more, its ratio to
    the training loss does not grow, and the training loss fell to a quarter of its first epoch or less
    (memorisation).

    Why training fails:
    Held-out data cannot keep pace with a network that memorises its training set: sooner or later the
    validation loss stays above the training loss and the gap widens. A validation set that keeps pace is
    (partly) made of training samples, so the validation numbers, early stopping and model selection
    mean nothing.

    Evidence:
    Validation and training loss per epoch, their ratio in the first and second half, the validation and
    training accuracy at the end. Dropout makes the training loss look worse than it is: with dropout the
    confidence is lower.

    Fix:
    Split once, before any duplication or augmentation; keep validation samples disjoint from training.

    Example:
    `validation_data=(X_train[:150], y_train[:150])`: val_accuracy reaches 1.0 together with training.
    """
    vs, vv = _series(rec, "val_loss")
    ts, tv = _series(rec, "epoch_loss")
    if len(vv) < 5 or len(tv) < 5:
        return
    train = dict(zip(ts, tv))
    pairs = [(v, train[s]) for s, v in zip(vs, vv) if s in train and train[s] > 0]
    if len(pairs) < 5:
        return
    half = pairs[len(pairs) // 2:]
    ratios = [v / t for v, t in pairs]
    r_first, r_second = median(ratios[:len(ratios) // 2]), median(ratios[len(ratios) // 2:])
    memorised = pairs[-1][1] <= 0.25 * pairs[0][1]
    below = sum(v <= t for v, t in half) / len(half)
    if not (below >= 0.8 and r_second <= r_first and memorised):
        return
    ev = [Evidence("val_loss / training loss, first half -> second half of the epochs",
                   observed=f"{r_first:.3g} -> {r_second:.3g}", expected="rising above 1 as the model fits"),
          Evidence("training loss first -> last epoch", observed=f"{pairs[0][1]:.4g} -> {pairs[-1][1]:.4g}")]
    _, va = _series(rec, "val_accuracy")
    acc = _accuracy(rec)
    if va and acc:
        ev.append(Evidence("val_accuracy vs training accuracy (last epoch)",
                           observed=f"{va[-1]:.4g} vs {acc[2][-1]:.4g}"))
    dropout = any((l.rate or 0) > 0 for l in _layer_facts(rec))
    yield Finding("The validation loss keeps pace with the training loss while the network memorises its "
                  "training set: the validation data likely overlaps the training data.", cause="validation-leak",
                  severity="warning", confidence=0.3 if dropout else 0.45,  # a hint: the direct evidence is TM123
                  evidence=ev, locations=F.fit_loc(rec))


SHIFT_Z = 3.0  # a feature whose mean moved this many training standard deviations is on another scale
SHIFT_SCALE = 5.0  # ... or whose spread changed by this factor


@rule("TM124", "eval-input-shift", ["train-eval-mismatch"], "dynamic")
def eval_input_shift(rec: Recording):
    """
    What it detects:
    The inputs the script predicts on or evaluates with after training (``model.predict`` /
    ``model.evaluate``) lie on another scale than the training inputs: per feature (channel), the mean moved
    by more than 3 training standard deviations, or the spread changed by more than 5x, for at least a
    quarter of the features.

    Why training fails:
    The network only learned the input distribution it was trained on. Data that skipped the training
    preprocessing (a scaler fitted and applied to the training set only, pixels divided by 255 in one place
    and not the other) falls where the network has never been: training and validation look perfect and the
    real predictions are near chance.

    Evidence:
    The per-feature means and spreads of the training sample and of the evaluated data, the number of
    shifted features, and the predict/evaluate call.

    Fix:
    Apply exactly the training preprocessing to every input: `X_test = scaler.transform(X_test)` with the
    scaler fitted on the training set, or put the preprocessing inside the model (a `Normalization` or
    `Rescaling` layer) so that it cannot be forgotten.

    Example:
    `X_train = scaler.fit_transform(X_train)` ... `model.predict(X_test)` on raw features: the training
    features have mean 0 and std 1, the test features means of 13 and 750.
    """
    evals = F.exp(rec, "eval_inputs")
    d = rec.facts.data
    if not evals or d is None or not d.inputs:
        return
    t = d.inputs[0]
    if not t.channel_mean or not t.channel_std or len(t.channel_mean) != len(t.channel_std):
        return
    for e in evals:
        em, es = e.get("channel_mean"), e.get("channel_std")
        if not em or not es or len(em) != len(t.channel_mean) or (e.get("rows") or 0) < 20:
            continue
        overall = max(float(t.std or 0.0), 1e-12)
        shifted = []
        for i, (tm, ts, m, sd) in enumerate(zip(t.channel_mean, t.channel_std, em, es)):
            ref = max(ts, 1e-3 * overall, 1e-12)  # a constant training feature is judged on the overall scale
            z = abs(m - tm) / ref
            ratio = max(sd, 1e-12) / ref if ts > 1e-3 * overall else 1.0
            if z > SHIFT_Z or ratio > SHIFT_SCALE or ratio < 1 / SHIFT_SCALE:
                shifted.append((i, z, ratio))
        if len(shifted) < max(1, len(em) / 4):
            continue
        worst = max(shifted, key=lambda s: s[1])
        file, line = e.get("at") or (None, None)
        from ..facts import Location

        where = [Location(file=file, line=line, code=e.get("code"))] if file else []
        yield Finding(f"The data passed to {e.get('call')}() after training is on another scale than the training "
                      f"inputs: {len(shifted)} of {len(em)} features moved (feature {worst[0]}: mean "
                      f"{t.channel_mean[worst[0]]:.3g} in training, {em[worst[0]]:.3g} here, {worst[1]:.0f} training "
                      f"standard deviations away).", cause="train-eval-mismatch", severity="error",
                      confidence=0.85 if len(shifted) >= len(em) / 2 else 0.7,
                      evidence=[Evidence("shifted features (|mean shift| > 3 sd or spread x5)",
                                         observed=f"{len(shifted)}/{len(em)}", expected="0"),
                                Evidence("overall mean / std: training vs evaluated",
                                         observed=f"{e.get('mean'):.3g} / {e.get('std'):.3g}",
                                         expected=f"{t.mean:.3g} / {t.std:.3g}")],
                      locations=where + F.fit_loc(rec),
                      fix="Preprocess the evaluated data exactly like the training data (the same fitted scaler), "
                          "or move the preprocessing into the model.")
        return


def _chance_rate(rec: Recording) -> float | None:
    """Accuracy without learning: the majority rate, at least 1/C."""
    m = F.majority_rate(rec)
    return None if m is None else max(m, 1 / max(len(F.label(rec).class_counts), 2))


@rule("TM312", "no-generalisation-from-start", ["data-label-misalignment", "overfitting"], "dynamic")
def no_generalisation(rec: Recording):
    """
    What it detects:
    The training accuracy climbs while the validation accuracy never leaves chance (the majority-class rate)
    and the validation loss never falls below its first value: from the first epoch on, nothing learned on
    the training rows transfers. Requires at least 4 epochs with validation and a model that can fit a tiny
    batch (so capacity and wiring are fine).

    Why training fails:
    When the labels do not belong to their inputs (x and y shuffled or sorted separately, rows misaligned
    after a merge), the only thing to learn is each training row by heart: the training accuracy creeps up
    by memorisation and nothing generalises. Ordinary overfitting looks different: the validation metrics
    first improve, then degrade.

    Evidence:
    Training accuracy first -> last, the best validation accuracy vs chance, the validation loss first -> min.

    Fix:
    Keep inputs and labels together: shuffle with one permutation (`p = rng.permutation(n); x, y = x[p],
    y[p]`), check a few rows by eye after every reordering or merge.

    Example:
    `rng.shuffle(X_train); rng.shuffle(y_train)` -> `p = rng.permutation(len(X_train)); X_train, y_train =
    X_train[p], y_train[p]`.
    """
    chance = _chance_rate(rec)
    if chance is None or F.overfit_failed(rec) is not False:
        return
    for key in ACCURACY_KEYS:
        _, ta = _series(rec, key)
        _, va = _series(rec, f"val_{key}")
        if len(ta) >= 4 and len(va) >= 4:
            break
    else:
        return
    _, vl = _series(rec, "val_loss")
    if len(vl) < 4 or min(vl) < 0.98 * vl[0]:
        return
    if max(va) > chance + 0.1 * (1 - chance) or ta[-1] < va[-1] + 0.1 or ta[-1] < ta[0] + 0.1:
        return
    yield Finding(f"The training {key} rose from {ta[0]:.3g} to {ta[-1]:.3g} while the validation {key} never left "
                  f"chance (best {max(va):.3g}, majority rate {chance:.3g}) and the validation loss never fell "
                  f"below its first value {vl[0]:.4g}: nothing learned transfers - do the labels belong to their "
                  "inputs?", cause="data-label-misalignment", also=["overfitting"], severity="error",
                  confidence=0.75,
                  evidence=[Evidence(f"training {key} first -> last", f"{ta[0]:.3g} -> {ta[-1]:.3g}"),
                            Evidence(f"best validation {key}", round(max(va), 4), f"> {chance:.3g} (chance)"),
                            Evidence("validation loss first -> min", f"{vl[0]:.4g} -> {min(vl):.4g}", "falling")],
                  locations=F.fit_loc(rec),
                  fix="Shuffle inputs and labels with one permutation; check that each row keeps its label.")


@rule("TM313", "memorised-tiny-training-set", ["overfitting"], "dynamic")
def memorised(rec: Recording):
    """
    What it detects:
    A training set with hundreds of parameters per example, a training loss driven to under 2% of its
    start (training accuracy 1.0 for classification), and no validation data to show what that is worth.
    Reported as a note, not a cause: an easy task learned perfectly looks the same until data the network
    has not seen is scored. The note says when the examples are feature vectors and there are no more of
    them than features: then any labelling of them can be fitted exactly (Cover's theorem), so the perfect
    fit proves nothing - but it does not show that the network generalises badly either (1000 bag-of-words
    documents of 1000 features can still be classified well), so it stays a note.

    Why training fails:
    With far more parameters than examples the network stores the training set instead of learning the
    rule behind it: the training metrics are perfect and new data is predicted badly. Without validation
    data nothing in the run shows it.

    Evidence:
    Training samples, parameters, input features, the training loss first -> last, the training accuracy.

    Fix:
    More training data (or use all of it), a smaller model, regularisation, and always a validation split
    (`validation_split=0.2`) with early stopping.

    Example:
    40 examples into Dense(256) -> Dense(256) (82 000 parameters), 40 epochs: training accuracy 1.0,
    validation accuracy 0.5.
    """
    d, m, tr = rec.facts.data, rec.facts.model, rec.facts.training
    if d is None or m is None or not d.n_samples or not m.n_trainable or (tr is not None and tr.validation):
        return
    if any(k.startswith("val_") for k in rec.signals):
        return
    ratio = m.n_trainable / d.n_samples
    if ratio < MEMORISE_PARAMS_PER_SAMPLE:
        return
    _, el = _series(rec, "epoch_loss")
    if len(el) < 3:
        return
    start = F.exp(rec, "initial").get("loss") or el[0]
    if not start or el[-1] > 0.02 * start:
        return
    accs = next((v for k in ACCURACY_KEYS for v in [_series(rec, k)[1]] if v), [])
    if accs and accs[-1] < 0.999:
        return
    shape = d.inputs[0].shape if d.inputs and len(d.inputs) == 1 else None
    features = int(shape[1]) if shape and len(shape) == 2 else None  # feature vectors, not images or sequences
    separable = features is not None and d.n_samples <= features
    why = (f" With {d.n_samples} examples of {features} features, any labelling of them can be fitted exactly."
           if separable else "")
    yield Finding(f"{d.n_samples} training examples for {m.n_trainable} trainable parameters ({ratio:.0f} per "
                  f"example): the training loss fell to {el[-1]:.3g} ({100 * el[-1] / start:.1f}% of its start) and "
                  "no validation data checks what was learned - the network has room to memorise the training set."
                  + why, cause="overfitting", severity="info", confidence=0.4,
                  evidence=[Evidence("trainable parameters per training example", round(ratio), "< 200"),
                            Evidence("training loss start -> end", f"{start:.4g} -> {el[-1]:.3g}"),
                            Evidence("validation data", "none", "validation_split or validation_data")]
                  + ([Evidence("training examples vs input features", f"{d.n_samples} <= {features}",
                               "many more examples than features")] if separable else []),
                  locations=F.fit_loc(rec),
                  fix="Train on more data (or all of it), shrink the model, and validate (validation_split=0.2 "
                      "with EarlyStopping).")


@rule("TM314", "saturated-during-training", ["saturated-activation", "bad-init", "unnormalized-input"], "dynamic")
def saturated_during_training(rec: Recording):
    """
    What it detects:
    Sigmoid/tanh layers whose units sit in the flat tails of the activation (saturated) for most inputs of the
    probe batch from the first probe to the last, in a run that did not learn.

    Why training fails:
    A saturated sigmoid/tanh has a derivative near zero: the units pass almost no gradient, so the layers
    before them barely learn and the network behaves like a few random, fixed features. The usual causes are
    a kernel initialiser far too wide for the activation, or inputs on a large scale.

    Evidence:
    The saturated fraction of each such layer at the first and the last probes; whether the run learned (the
    training and validation accuracy against the majority rate, else the loss).

    Fix:
    Glorot (tanh/sigmoid) initialisation, inputs scaled to unit variance, or ReLU-family activations.

    Example:
    ``Dense(64, activation="tanh", kernel_initializer=RandomNormal(stddev=5.0))`` -> the default
    ``glorot_uniform``.
    """
    m = rec.facts.model
    params = [l.name for l in (m.layers if m else []) if l.parametric]
    out = params[-1] if params else None  # a confident output layer is saturated by design
    layers = [(n, v) for n, (_, v) in _per_layer(rec, "saturation").items() if len(v) >= 2 and n != out]
    sat = [(n, v[0], sum(_last_part(v)) / len(_last_part(v))) for n, v in layers
           if v[0] >= 0.9 and min(_last_part(v)) >= 0.9]
    if not sat:
        return
    learned = F.training_learned(rec)
    if learned is not None and learned[0]:
        return  # it learned through them (a saturated gate can be what the model needs)
    if learned is None:
        p = progress(rec)
        if p is None or not p.stalled:
            return
    unscaled = _input_scale_problem(rec) is not None
    ev = [Evidence(f"saturated fraction of {n}: first probe -> last probes", observed=f"{a:.2f} -> {b:.2f}",
                   expected="< 0.5") for n, a, b in sat[:3]]
    if learned is not None:
        ev.append(Evidence("did the run learn", observed=learned[1], expected="accuracy over the bar"))
    yield Finding(f"{len(sat)} sigmoid/tanh layer(s) stayed saturated through the training "
                  f"({', '.join(n for n, _, _ in sat[:3])}): their units pass almost no gradient and the run did "
                  f"not learn.", cause="saturated-activation",
                  also=["unnormalized-input"] if unscaled else ["bad-init"], severity="error", confidence=0.7,
                  evidence=ev, locations=_layer_loc(rec, sat[0][0]))


UNFINISHED_R2 = 0.8  # a training fit explaining less of the targets' variance, still falling: unfinished
STILL_FALLING = 0.97  # the last epoch lowered the loss by at least 3%


@rule("TM315", "regression-fit-unfinished", ["lr-too-low", "too-few-updates"], "dynamic")
@proved_by_trial
def regression_fit_unfinished(rec: Recording):
    """
    What it detects:
    A single-output MSE regression whose training ended while the loss was still falling (the last epoch
    lowered it by 3% or more, to the lowest value of the run) with the fit unfinished: the training loss
    still holds more than 20% of the targets' variance (R^2 below 0.8; a working fit of a smooth function
    gets well past 0.9, noisy targets may cap it lower - then no fix reaches the trial's bar). A suspicion,
    not a cause: it is reported only when the fix trial (the same network with a learning rate read from a
    learning-rate range test) reaches half the original's error under the same budget.

    Why training fails:
    A learning rate far below what the network tolerates (plain SGD at its default 0.01 on a smooth
    function, say) makes each update a small fraction of what it could be: the loss creeps down, and the
    planned epochs end long before the fit is done. It looks like a network that cannot do better.

    Evidence:
    R^2 of the last epoch's training loss, the last epoch's drop, the number of updates, the optimizer and
    learning rate; the fix trial's error against the original's.

    Fix:
    Raise the learning rate (the range test's suggestion; for Adam about 1e-3), or train for more epochs.

    Example:
    `SGD()` (0.01) for 4 epochs on a sine wave: R^2 0.75 and still falling -> `SGD(learning_rate=0.03)`.
    """
    var = F.mse_target_variance(rec)
    _, el = _series(rec, "epoch_loss")
    if var is None or len(el) < 3 or not all(math.isfinite(v) for v in el):
        return
    r2 = 1 - el[-1] / var
    drop = 1 - el[-1] / el[-2] if el[-2] > 0 else 0.0
    if r2 >= UNFINISHED_R2 or el[-1] > STILL_FALLING * el[-2] or el[-1] > min(el):
        return
    opt = rec.facts.optimizer
    tr = rec.facts.training
    updates = tr.planned_updates if tr is not None and tr.planned_updates else None
    ev = [Evidence("R^2 of the last epoch's training loss", round(r2, 3), f">= {UNFINISHED_R2}"),
          Evidence("loss change over the last epoch", f"-{100 * drop:.1f}%", "about 0 (converged)")]
    if updates:
        ev.append(Evidence("optimizer updates planned", updates))
    if opt is not None and opt.lr is not None:
        ev.append(Evidence(f"{opt.name} learning rate", opt.lr))
    yield Finding(f"The training ended with the loss still falling ({100 * drop:.1f}% in the last epoch) and the "
                  f"fit unfinished (R^2 {r2:.2f} on the training data): the updates may be too small to finish "
                  "in the planned epochs.", cause="lr-too-low", also=["too-few-updates"], severity="warning",
                  confidence=0.45, evidence=ev,
                  locations=F.loc(opt, tr),
                  fix="Raise the learning rate (try the learning-rate range test's suggestion), or train longer.")
