"""Pre-flight experiments: initial loss vs expectation, gradient flow, dead/saturated units, tiny-batch
overfit, input dependence. Each is cheap and bounded; results go to ``recording.experiments``."""
from __future__ import annotations

import math
import time
import warnings
from typing import Any, Protocol

import numpy as np

from .. import probes
from ..facts import LabelFacts, SetupFacts
from ..recording import Recording

RELU_LIKE = {"relu", "relu6"}
SATURATING = {"sigmoid", "tanh", "hard_sigmoid"}
CE_LOSSES = {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
             "cross_entropy", "bce", "bce_with_logits", "nll", "binary_focal_crossentropy",
             "categorical_focal_crossentropy"}


class ModelAdapter(Protocol):
    """What an integration provides so that experiments can run on a copy of the user's model."""

    framework: str

    def predict(self, x) -> np.ndarray: ...

    def gradients(self, x, y) -> tuple[float, dict[str, float], dict[str, float]]: ...

    def activations(self, x) -> dict[str, np.ndarray]: ...

    def train(self, x, y, steps: int, batch_size: int = 32) -> list[float]: ...

    # optional: ``checkpoint()`` remembers the copy's state and ``restore()`` returns to it (the held-out
    # folds need both; an adapter without them skips that experiment)


def expected_initial_loss(facts: SetupFacts) -> tuple[float | None, str]:
    """The loss an untrained, well-initialised network should show, and how it was derived."""
    loss = facts.loss.name if facts.loss else None
    t: LabelFacts | None = facts.data.targets[0] if facts.data and facts.data.targets else None
    if loss is None or t is None:
        return None, ""
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy", "cross_entropy", "nll"):
        c = facts.model.output_units if facts.model and facts.model.output_units else t.n_classes
        if c and c > 1:
            return math.log(c), f"ln C = ln {c} (uniform prediction over {c} classes)"
    if loss in ("binary_crossentropy", "bce", "bce_with_logits"):
        return math.log(2), "ln 2 (prediction 0.5)"
    if loss in ("mse",) and t.mean is not None and t.std is not None:
        return t.mean ** 2 + t.std ** 2, "E[y^2] (prediction near 0)"
    if loss in ("mae",) and t.mean is not None:
        return None, ""
    return None, ""


def task_accuracy(pred: np.ndarray, y: Any, label: LabelFacts | None) -> float | None:
    """Accuracy of predictions for classification targets (None for regression/unknown)."""
    if label is None or y is None or label.kind in ("regression", "unknown"):
        return None
    y = np.asarray(y)
    p = np.asarray(pred)
    if p.ndim == 1:
        p = p[:, None]
    p = p.reshape(p.shape[0], -1)
    if not np.isfinite(p).all():
        return None
    if label.kind == "multiclass-onehot":
        truth = y.reshape(y.shape[0], -1).argmax(axis=1)
    elif label.kind == "multilabel":
        if p.shape[1] != y.reshape(y.shape[0], -1).shape[1]:
            return None
        return float(((p > 0.5) == (y.reshape(y.shape[0], -1) > 0.5)).mean())
    else:
        truth = y.reshape(-1).astype(np.int64)
    if p.shape[1] == 1:
        guess = (p[:, 0] > 0.5).astype(np.int64)
    else:
        guess = p.argmax(axis=1)
    if guess.shape != truth.shape:
        return None
    return float((guess == truth).mean())


def chance_accuracy(label: LabelFacts | None) -> float | None:
    """Accuracy of always predicting the majority class (the trivial baseline)."""
    if label is None or not label.class_counts:
        return None
    counts = [c for c in label.class_counts if c > 0]
    if label.kind == "multilabel":
        return None
    return max(counts) / max(sum(counts), 1)


def _subset(x, idx):
    if isinstance(x, dict):
        return {k: _subset(v, idx) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_subset(v, idx) for v in x]
    return np.asarray(x)[idx]


def _n(x) -> int:
    if isinstance(x, dict):
        return _n(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _n(x[0])
    return int(np.asarray(x).shape[0])


def _stratified(y, n: int, label: LabelFacts | None, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` samples covering every class when possible (a private RNG)."""
    total = _n(y) if y is not None else 0
    rng = np.random.default_rng(seed)
    if y is None or label is None or label.kind not in ("binary", "multiclass-int", "multiclass-onehot"):
        return np.sort(rng.choice(total, size=min(n, total), replace=False))
    ya = np.asarray(y)
    cls = ya.reshape(ya.shape[0], -1).argmax(axis=1) if label.kind == "multiclass-onehot" else ya.reshape(-1)
    picked: list[int] = []
    groups = [np.flatnonzero(cls == c) for c in np.unique(cls)]
    per = max(1, n // max(len(groups), 1))
    for g in groups:
        picked.extend(rng.permutation(g)[:per].tolist())
    rest = np.setdiff1d(np.arange(total), picked)
    picked.extend(rng.permutation(rest)[: max(0, n - len(picked))].tolist())
    return np.sort(np.asarray(picked[:n]))


def run_preflight(adapter: ModelAdapter, x, y, facts: SetupFacts, rec: Recording, budget_s: float = 8.0,
                  overfit_steps: int = 150, probe_size: int = 128, tiny_size: int = 32) -> None:
    """Run every pre-flight experiment that fits in ``budget_s``; failures become recording warnings."""
    start = time.perf_counter()
    label = facts.data.targets[0] if facts.data and facts.data.targets else None
    n = _n(x)
    probe_idx = _stratified(y, min(probe_size, n), label, seed=1)
    holdout = holdout_wanted(adapter, y, facts, label, n)
    if holdout:
        adapter.checkpoint()  # the start the held-out folds train from (the tiny-batch fit trains the copy)
    px, py = _subset(x, probe_idx), (_subset(y, probe_idx) if y is not None else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _guard(rec, "initial", lambda: _initial(adapter, px, py, facts, label, rec))
        if py is not None:
            _guard(rec, "gradient_flow", lambda: _gradient_flow(adapter, px, py, rec))
        _guard(rec, "activations", lambda: _activations(adapter, px, facts, rec))
        if py is not None and time.perf_counter() - start < budget_s * 0.6:
            tiny_idx = _stratified(y, min(tiny_size, n), label, seed=2)
            tx, ty = _subset(x, tiny_idx), _subset(y, tiny_idx)
            _guard(rec, "overfit_tiny_batch",
                   lambda: _overfit(adapter, tx, ty, facts, label, rec, overfit_steps, start, budget_s))
        if holdout and time.perf_counter() - start < budget_s * 0.75:
            _guard(rec, "holdout", lambda: _holdout(adapter, x, y, facts, label, rec, start, budget_s))
    rec.experiments.setdefault("_meta", {})["preflight_s"] = round(time.perf_counter() - start, 3)


def _guard(rec: Recording, name: str, fn) -> None:
    try:
        fn()
    except Exception as e:  # an experiment that cannot run is skipped, never fatal
        rec.warn(f"experiment {name} skipped: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")


def _initial(adapter, x, y, facts, label, rec) -> None:
    pred = adapter.predict(x)
    out = {"output_shape": list(pred.shape[1:]), "finite": bool(np.isfinite(pred).all())}
    out.update({f"pred_{k}": v for k, v in probes.predictions(pred).items()})
    out["output_min"] = float(np.nanmin(pred)) if pred.size else None
    out["output_max"] = float(np.nanmax(pred)) if pred.size else None
    if y is not None:
        out["accuracy"] = task_accuracy(pred, y, label)
        out["chance_accuracy"] = chance_accuracy(label)
    exp, how = expected_initial_loss(facts)
    out["expected_loss"], out["expected_how"] = exp, how
    rec.experiments["initial"] = out


def _gradient_flow(adapter, x, y, rec) -> None:
    loss, gnorm, wnorm = adapter.gradients(x, y)
    rec.experiments.setdefault("initial", {})["loss"] = loss
    layers = list(gnorm)
    ratio = {k: (gnorm[k] / wnorm[k] if wnorm.get(k) else None) for k in layers}
    rec.experiments["gradient_flow"] = {
        "loss": loss, "layers": layers, "grad_norm": gnorm, "weight_norm": wnorm, "grad_to_weight": ratio,
        "all_zero": bool(layers) and all(g == 0.0 for g in gnorm.values()),
        "finite": all(math.isfinite(g) for g in gnorm.values()) and math.isfinite(loss),
    }


def _activations(adapter, x, facts, rec) -> None:
    acts = adapter.activations(x)
    kinds = {l.name: l.activation for l in (facts.model.layers if facts.model else [])}
    dead, sat, spread = {}, {}, {}
    names = list(acts)
    for i, name in enumerate(names):
        a = acts[name]
        act = kinds.get(name)
        if act in RELU_LIKE and i < len(names) - 1:
            dead[name] = probes.dead_fraction(a)
        if act in SATURATING and i < len(names) - 1:
            sat[name] = probes.saturation(a, act)
        if a.ndim >= 2 and a.shape[0] > 1:
            flat = a.reshape(a.shape[0], -1)
            spread[name] = float(flat.std(axis=0).mean())
    rec.experiments["activations"] = {"dead_fraction": dead, "saturation": sat, "input_spread": spread,
                                      "order": names}


def _overfit(adapter, x, y, facts, label, rec, steps, start, budget_s) -> None:
    before = adapter.predict(x)
    acc0 = task_accuracy(before, y, label)
    t0 = time.perf_counter()
    bs = _n(x)
    losses = adapter.train(x, y, steps=min(steps, 25), batch_size=bs)
    per_step = (time.perf_counter() - t0) / max(len(losses), 1)
    remaining = budget_s - (time.perf_counter() - start) - 0.5
    extra = int(min(steps - 25, max(0, remaining / max(per_step, 1e-4))))
    if extra > 0:
        losses += adapter.train(x, y, steps=extra, batch_size=bs)
    after = adapter.predict(x)
    acc1 = task_accuracy(after, y, label)
    finite = [l for l in losses if math.isfinite(l)]
    first = finite[0] if finite else float("nan")
    last = float(np.mean(finite[-5:])) if finite else float("nan")
    rec.experiments["overfit_tiny_batch"] = {
        "samples": bs, "steps": len(losses), "loss_first": first, "loss_last": last,
        "loss_min": min(finite) if finite else float("nan"),
        "loss_ratio": (last / first) if finite and first > 0 else None,
        "nonfinite_step": next((i for i, l in enumerate(losses) if not math.isfinite(l)), None),
        "accuracy_before": acc0, "accuracy_after": acc1, "chance_accuracy": chance_accuracy(label),
        "pred_after": probes.predictions(after), "losses": [round(l, 6) if math.isfinite(l) else None
                                                            for l in losses[:: max(1, len(losses) // 50)]],
    }


# -- held-out folds ----------------------------------------------------------------------------------------
MEMORISE_PARAMS_PER_SAMPLE = 200  # far more parameters than examples: the net can store the training set
HOLDOUT_MAX_SAMPLES = 512  # the folds train on the whole training set: only small ones
HOLDOUT_FOLDS = 4
HOLDOUT_MAX_STEPS = 400  # per fold


def holdout_wanted(adapter, y, facts: SetupFacts, label: LabelFacts | None, n: int) -> bool:
    """Score held-out folds only where a perfect training fit would prove nothing: single-label
    classification on a small training set (all of it in hand) with hundreds of parameters per example, and
    no validation data in the user's run to show what the fit is worth."""
    d, m, tr = facts.data, facts.model, facts.training
    if y is None or not hasattr(adapter, "checkpoint") or d is None or m is None or not m.n_trainable:
        return False
    if label is None or label.kind not in ("binary", "multiclass-int", "multiclass-onehot"):
        return False
    if (tr is not None and tr.validation) or not d.n_samples or d.n_samples != n:
        return False
    return 4 * HOLDOUT_FOLDS <= n <= HOLDOUT_MAX_SAMPLES and m.n_trainable >= MEMORISE_PARAMS_PER_SAMPLE * n


def _folds(y, label: LabelFacts, k: int, seed: int = 3) -> np.ndarray:
    """A fold number per sample, each class dealt evenly over the folds (a private RNG)."""
    ya = np.asarray(y)
    cls = ya.reshape(ya.shape[0], -1).argmax(axis=1) if label.kind == "multiclass-onehot" else ya.reshape(-1)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(cls), dtype=np.int64)
    offset = 0
    for c in np.unique(cls):
        idx = rng.permutation(np.flatnonzero(cls == c))
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def _holdout(adapter, x, y, facts, label, rec, start, budget_s) -> None:
    """K-fold held-out accuracy: the copy, from the user's starting weights, trained as planned (epochs, batch
    size) on all folds but one and scored on the one left out. A network that memorises instead of learning
    the rule fits its training folds perfectly and predicts the held-out fold barely better than chance."""
    tr = facts.training
    n = _n(x)
    epochs = max(1, (tr.epochs if tr and tr.epochs else 1))
    bs = int(tr.batch_size) if tr and tr.batch_size else 32
    fold = _folds(y, label, HOLDOUT_FOLDS)
    rng = np.random.default_rng(4)
    held_right = held_n = 0
    fold_acc, train_acc, steps_done, times = [], [], [], []
    for k in range(HOLDOUT_FOLDS):
        spent = time.perf_counter() - start
        if times and spent + max(times) > budget_s + 2.0:
            break
        t0 = time.perf_counter()
        train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        order = np.concatenate([rng.permutation(train_idx) for _ in range(epochs)])
        steps = max(1, min(HOLDOUT_MAX_STEPS, len(order) // bs))
        order = order[: steps * bs] if len(order) >= bs else order
        adapter.restore()
        adapter.train(_subset(x, order), _subset(y, order), steps=steps, batch_size=min(bs, len(order)))
        acc_test = task_accuracy(adapter.predict(_subset(x, test_idx)), _subset(y, test_idx), label)
        acc_train = task_accuracy(adapter.predict(_subset(x, train_idx)), _subset(y, train_idx), label)
        if acc_test is None or acc_train is None:
            return
        held_right += acc_test * len(test_idx)
        held_n += len(test_idx)
        fold_acc.append(round(acc_test, 4))
        train_acc.append(round(acc_train, 4))
        steps_done.append(steps)
        times.append(time.perf_counter() - t0)
    if not fold_acc:
        return
    rec.experiments["holdout"] = {
        "folds": len(fold_acc), "of_folds": HOLDOUT_FOLDS, "samples": n, "held_out": held_n,
        "epochs": epochs, "batch_size": bs, "steps_per_fold": steps_done,
        "train_accuracy": float(np.mean(train_acc)), "held_out_accuracy": held_right / held_n,
        "fold_train_accuracy": train_acc, "fold_held_out_accuracy": fold_acc,
        "chance_accuracy": chance_accuracy(label), "seconds": round(float(sum(times)), 3),
    }
