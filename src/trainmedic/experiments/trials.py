"""Fix trials: prove each recommended fix on the user's own model, in seconds.

For every cause of the diagnosis (best first) that has candidate fixes (:mod:`.fixes`), the original set-up
and each candidate are trained on copies under the same small budget: the same 75% of the data sample, the
same number of steps and batch size, the same seed. Both are then scored on the held-out 25% of the sample,
so that memorising the training part does not count:

* classification: balanced accuracy (the mean of per-class recalls; chance = 1/C whatever the class
  balance, so predicting the majority class scores chance). A fix is *verified* when it reaches
  ``original + m`` and ``chance + m`` with ``m = max(0.1, 0.25 * (1 - chance))``;
* regression: mean squared error in the original target units. Verified when it is at most half the
  original's and at most 0.9 times the error of predicting the training mean.

Candidates are tried in order (most likely first) until one is verified or the cause's share of the
budget is spent; the best (verified first, then the largest gain) becomes one :class:`Trial` in
``recording.trials``: ``margin`` states the comparison in words with numbers, ``note`` holds the code change
as a small diff of the user's line (``@@ file:line @@`` / ``- old`` / ``+ new``) when its location is known.
A learning-rate range test (:mod:`.lr_range`) runs first when a learning-rate cause is in the diagnosis; it
is stored in ``recording.experiments["lr_range"]`` and proposes the rates the learning-rate fixes try.

The user's model, optimizer and RNG streams are never touched: set-ups are rebuilt from the model's config
(or cloned) inside :func:`~trainmedic._rng.preserve_rng`. Only causes in the diagnosis are tried, and after them
its ``suspects``: causes of rules that only a trial can settle (``proved_by_trial``, e.g. an unfinished regression
fit: would a higher learning rate do better?). A healthy program without suspects never gets a trial.
"""
from __future__ import annotations

import math
import random
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rng import preserve_rng
from ..causes import OUTPUT_LOSS_CAUSES
from ..findings import Trial
from ..recording import Recording
from ..rules import _facts as F
from .fixes import LR_CAUSES, Fix, FixContext, KerasSetup, NotApplicable, candidate_fixes
from .lr_range import keras_train_lrs, lr_range_test
from .preflight import _n, _subset

DEFAULT_STEPS = 200
DEFAULT_BATCH = 32
MAX_TRAIN = 384
MAX_HELDOUT = 128
MIN_SAMPLES = 32
LR_SWEEP = (1e-7, 10.0, 100)  # start, end, steps of the learning-rate range test


# ---------------------------------------------------------------------------------------------------------
# Data and scoring
# ---------------------------------------------------------------------------------------------------------
@dataclass
class TrialData:
    """The trial's split of the sample, and how to score predictions on the held-out part."""

    x_train: Any
    y_train: Any
    x_held: Any
    y_held: Any
    kind: str  # classification | multilabel | regression
    classes_held: np.ndarray | None  # original class index of every held-out sample (classification)
    chance: float | None  # chance level of the metric (classification / multilabel)
    mean_mse: float | None  # MSE of predicting the training mean (regression)

    @property
    def metric(self) -> str:
        return {"classification": "balanced_accuracy", "multilabel": "accuracy"}.get(self.kind, "mse")


def split_sample(x, y, label, seed: int = 0) -> TrialData | None:
    """75% / 25% split of the sample (stratified for classes), at most 384 / 128 samples."""
    n = _n(x)
    if n < MIN_SAMPLES or label is None or label.kind == "unknown":
        return None
    held, train = _split_indices(y, n, label, seed)
    xt, yt, xh, yh = _subset(x, train), _subset(y, train), _subset(x, held), _subset(y, held)
    ya_t, ya_h = np.asarray(yt), np.asarray(yh)
    if label.kind in ("binary", "multiclass-int", "multiclass-onehot"):
        classes = _class_index(ya_h, ya_t, label.kind)
        k = len(np.unique(classes))
        if k < 2:
            return None
        return TrialData(xt, yt, xh, yh, "classification", classes, 1.0 / k, None)
    if label.kind == "multilabel":
        p = ya_t.reshape(len(ya_t), -1).astype(np.float64).mean(axis=0)
        return TrialData(xt, yt, xh, yh, "multilabel", None, float(np.maximum(p, 1 - p).mean()), None)
    yt_f = ya_t.reshape(len(ya_t), -1).astype(np.float64)
    yh_f = ya_h.reshape(len(ya_h), -1).astype(np.float64)
    if not (np.isfinite(yt_f).all() and np.isfinite(yh_f).all()):
        return None
    mean_mse = float(np.mean((yh_f - yt_f.mean(axis=0)) ** 2))
    return TrialData(xt, yt, xh, yh, "regression", None, None, mean_mse)


def _split_indices(y, n: int, label, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out and training indices: a quarter of every class held out (proportional stratification)."""
    rng = np.random.default_rng(seed + 11)
    frac = min(0.25, MAX_HELDOUT / n)
    if label.kind in ("binary", "multiclass-int", "multiclass-onehot"):
        ya = np.asarray(y)
        cls = ya.reshape(n, -1).argmax(axis=1) if label.kind == "multiclass-onehot" else ya.reshape(-1)
        groups = [rng.permutation(np.flatnonzero(cls == c)) for c in np.unique(cls)]
    else:
        groups = [rng.permutation(n)]
    held, train = [], []
    for g in groups:
        k = int(round(frac * len(g)))
        if len(g) >= 2:
            k = min(max(k, 1), len(g) - 1)
        held.extend(g[:k].tolist())
        train.extend(g[k:].tolist())
    train_a = np.asarray(train, dtype=np.int64)
    if len(train_a) > MAX_TRAIN:
        train_a = rng.permutation(train_a)[:MAX_TRAIN]
    return np.sort(np.asarray(held, dtype=np.int64)), np.sort(train_a)


def _class_index(y_held: np.ndarray, y_train: np.ndarray, kind: str) -> np.ndarray:
    if kind == "multiclass-onehot":
        return y_held.reshape(len(y_held), -1).argmax(axis=1)
    values = np.unique(np.concatenate([y_train.reshape(-1), y_held.reshape(-1)]).astype(np.float64))
    return np.searchsorted(values, y_held.reshape(-1).astype(np.float64))


def score(pred: np.ndarray, y_enc: Any, data: TrialData, setup: KerasSetup) -> dict:
    """The held-out metric of predictions ``pred`` for targets ``y_enc`` (as encoded by ``setup``)."""
    from ..integrations.keras.describe import canonical_loss

    out = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    if data.kind == "regression" and setup.y_inv is not None:
        out = np.asarray(setup.y_inv(out), dtype=np.float64)
    threshold = 0.0 if canonical_loss(setup.loss).from_logits else 0.5
    return score_outputs(out, y_enc, data, threshold, groups=data.classes_held)


def score_outputs(pred: np.ndarray, y_enc: Any, data: TrialData, threshold: float,
                  groups: np.ndarray | None = None) -> dict:
    """The held-out metric of outputs ``pred`` (framework-free, shared by the Keras and PyTorch trials):
    MSE for regression (``pred`` in target units), accuracy for multi-label, else balanced accuracy with
    recalls per ``groups`` (the held-out class of each row; default: the class read from ``y_enc``).
    ``threshold`` decides a single output (0 for logits, 0.5 for probabilities)."""
    n = len(pred)
    out = np.asarray(pred, dtype=np.float64).reshape(n, -1)
    finite = bool(np.isfinite(out).all())
    if data.kind == "regression":
        y = np.asarray(data.y_held, dtype=np.float64).reshape(n, -1)
        if out.shape[1] != y.shape[1] and out.shape[1] != 1:
            return {"mse": math.inf, "finite": finite}
        mse = float(np.mean((out - y) ** 2)) if finite else math.inf
        return {"mse": mse if math.isfinite(mse) else math.inf, "finite": finite}
    ye = np.asarray(y_enc)
    if data.kind == "multilabel":
        yl = ye.reshape(n, -1) > 0.5
        if not finite or out.shape[1] != yl.shape[1]:
            return {"accuracy": data.chance, "finite": finite}
        return {"accuracy": float(((out > threshold) == yl).mean()), "finite": True}
    if not finite:
        return {"balanced_accuracy": data.chance, "accuracy": None, "finite": False}
    y2 = ye.reshape(n, -1)
    truth = y2.argmax(axis=1) if y2.shape[1] > 1 else np.rint(y2[:, 0].astype(np.float64)).astype(np.int64)
    guess = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > threshold).astype(np.int64)
    correct = guess == truth
    cls = truth if groups is None else groups
    recalls = [float(correct[cls == k].mean()) for k in np.unique(cls)]
    return {"balanced_accuracy": float(np.mean(recalls)), "accuracy": float(correct.mean()), "finite": True}


def verdict(data: TrialData, before: dict, after: dict) -> tuple[bool, str, float]:
    """(verified, the margin in words with numbers, gain) of a candidate against the original."""
    if data.kind == "regression":
        b, a, base = before.get("mse", math.inf), after.get("mse", math.inf), data.mean_mse or 0.0
        need = min(0.5 * b if math.isfinite(b) else math.inf, 0.9 * base)
        ok = bool(math.isfinite(a) and a <= need)
        gain = (1 - a / b) if math.isfinite(a) and math.isfinite(b) and b > 0 else (1.0 if ok else 0.0)
        return ok, (f"held-out MSE {a:.4g} vs {_orig(before, b, '.4g')} (predicting the training mean: "
                    f"{base:.4g}); verified needs <= {need:.4g} (at most half the original's and 0.9x the "
                    f"mean's): {'verified' if ok else 'not verified'}"), gain
    metric = data.metric
    name = metric.replace("_", " ")
    c = float(data.chance or 0.0)
    b = before.get(metric)
    b = c if b is None else float(b)
    a = after.get(metric)
    a = c if a is None else float(a)
    m = max(0.1, 0.25 * (1 - c))
    need = max(b, c) + m
    ok = a >= need - 1e-9
    return ok, (f"held-out {name} {a:.3f} vs {_orig(before, b, '.3f')} (chance {c:.3f}); verified needs "
                f">= {need:.3f} (original and chance + max(0.1, 0.25 x (1 - chance)) = +{m:.3f}): "
                f"{'verified' if ok else 'not verified'}"), a - b


def _orig(before: dict, value: float, fmt: str) -> str:
    if before.get("error"):
        return f"the original, which cannot train ({before['error'][:80]}; counted as {value:{fmt}})"
    return f"{value:{fmt}} for the original"


# ---------------------------------------------------------------------------------------------------------
# Running set-ups
# ---------------------------------------------------------------------------------------------------------
def train_and_score(setup: KerasSetup, data: TrialData, steps: int, batch_size: int, seed: int = 0) -> dict:
    """Train a fresh copy of ``setup`` on the training part, score it on the held-out part."""
    t0 = time.perf_counter()
    x_tr, y_tr = setup.inputs(data.x_train), setup.targets(data.y_train)
    x_ho, y_ho = setup.inputs(data.x_held), setup.targets(data.y_held)
    steps = setup.steps or steps
    bs = min(setup.batch_size or batch_size, _n(x_tr))
    with preserve_rng():
        random.seed(seed)
        np.random.seed(seed)
        adapter = setup.build(x_tr)
        losses = adapter.train(x_tr, y_tr, steps=steps, batch_size=bs, class_weight=setup.class_weight)
        pred = adapter.predict(x_ho)
        try:
            held_loss = float(adapter.loss_value(x_ho, y_ho))
        except Exception:
            held_loss = None
    result = score(pred, y_ho, data, setup)
    finite = [l for l in losses if math.isfinite(l)]
    result.update({
        "steps": len(losses), "batch_size": bs,
        "loss": [_r(l) for l in losses[:: max(1, len(losses) // 50)]],
        "loss_first": _r(losses[0]) if losses else None,
        "loss_last": _r(float(np.mean(losses[-10:]))) if losses else None,
        "nonfinite_step": next((i for i, l in enumerate(losses) if not math.isfinite(l)), None),
        "heldout_loss": _r(held_loss), "seconds": round(time.perf_counter() - t0, 3),
    })
    if not finite:
        result["loss_last"] = None
    result["final_metric"] = result.get(data.metric)
    return result


def _r(v):
    if v is None:
        return None
    v = float(v)
    return float(f"{v:.6g}") if math.isfinite(v) else v


# ---------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------
def run_trials(model, rec: Recording, diagnosis, budget_s: float = 60.0, *, steps: int = DEFAULT_STEPS,
               batch_size: int = DEFAULT_BATCH, seed: int = 0, max_candidates: int = 3) -> None:
    """Try the candidate fixes of every cause in ``diagnosis`` on copies; append one Trial per cause.

    ``model`` is the user's compiled Keras model (only read); the data is ``rec._sample``. The whole run
    stays within about ``budget_s`` seconds: causes are taken best first, each gets a share of what is
    left, and a cause that does not fit is skipped (listed in ``rec.experiments["trials"]["skipped"]``).
    """
    causes = [c.id for c in (getattr(diagnosis, "causes", None) or [])]
    causes += [c for c in getattr(diagnosis, "suspects", None) or [] if c not in causes]
    if not causes:
        return
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with preserve_rng():
                _run(model, rec, causes, start, budget_s, steps, batch_size, seed, max_candidates)
    except Exception as e:  # never a crash of the user's program
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        rec.warn(f"fix trials failed: {type(e).__name__}: {msg}")


def _run(model, rec: Recording, causes: list[str], start: float, budget_s: float, steps: int, batch_size: int,
         seed: int, max_candidates: int) -> None:
    sample = getattr(rec, "_sample", None)
    label = F.label(rec)
    if sample is None or sample.x is None or sample.y is None:
        rec.warn("fix trials skipped: no labelled training sample")
        return
    if rec.facts.model is not None and rec.facts.model.n_outputs > 1:
        rec.warn("fix trials skipped: models with several outputs are not supported yet")
        return
    data = split_sample(sample.x, sample.y, label, seed=seed)
    if data is None:
        rec.warn(f"fix trials skipped: the sample is too small or its labels unusable (need >= {MIN_SAMPLES} "
                 "samples with at least two classes, or finite regression targets)")
        return
    setup = KerasSetup.from_model(model, weights=getattr(rec, "_initial_weights", None))
    bs = min(batch_size, _n(data.x_train))
    meta: dict = {"steps": steps, "batch_size": bs, "train_samples": _n(data.x_train),
                  "heldout_samples": _n(data.x_held), "metric": data.metric, "chance": data.chance,
                  "mean_mse": data.mean_mse, "seed": seed, "per_cause_s": {}, "skipped": {}}
    rec.experiments["trials"] = meta
    times: list[float] = []

    def left() -> float:
        return budget_s - (time.perf_counter() - start)

    lr_range = None
    if LR_CAUSES & set(causes):
        first_lr = min(i for i, c in enumerate(causes) if c in LR_CAUSES)
        blocking = [c for c in causes[:first_lr] if c in OUTPUT_LOSS_CAUSES]
        if blocking:  # a broken output/loss makes every loss curve meaningless: the sweep would mislead
            meta["skipped"]["lr_range"] = f"{blocking[0]} ranks above the learning-rate cause"
        else:
            lr_range = _lr_range(setup, data, rec, bs, seed)
    ctx = FixContext(rec=rec, setup=setup, x_train=data.x_train, y_train=data.y_train, lr_range=lr_range,
                     trial_steps=steps, trial_batch=bs)
    baselines: dict[tuple, dict] = {}
    tried: dict[tuple, dict] = {}

    def baseline_for(fix: Fix) -> tuple[dict, bool]:
        s = setup.copy()
        if fix.baseline is not None:
            fix.baseline(s)
        key = (s.steps, s.batch_size)
        fresh = key not in baselines
        if fresh:
            try:
                baselines[key] = train_and_score(s, data, steps, bs, seed)
            except Exception as e:  # the original set-up cannot even train (shape errors ...): it fails
                msg = str(e).splitlines()[0][:160] if str(e) else ""
                baselines[key] = {"error": f"{type(e).__name__}: {msg}", "final_metric": None,
                                  "seconds": 0.0}
            times.append(baselines[key]["seconds"])
        return baselines[key], fresh

    def attempt(fix: Fix) -> tuple[dict, dict]:
        before, fresh = baseline_for(fix)
        key = (fix.text, fix.baseline is None)
        if key not in tried:  # the same change proposed for two causes is trained once
            cand = setup.copy()
            fix.apply(cand)
            tried[key] = train_and_score(cand, data, steps, bs, seed)
            times.append(tried[key]["seconds"])
        after = dict(tried[key])
        if fix.baseline is not None and fresh:
            after["seconds_baseline"] = before["seconds"]
        return before, after

    for i, cause in enumerate(causes):
        fixes = candidate_fixes(cause, ctx, limit=max_candidates)
        if not fixes:
            meta["skipped"][cause] = "no candidate fix for this cause"
            continue
        est = statistics.median(times) if times else 3.0
        if left() < est:
            meta["skipped"][cause] = f"time budget ({budget_s:g} s) used up"
            continue
        share = left() / max(1, len(causes) - i)
        try_candidates(rec, meta, data, cause, fixes, share, left, times, attempt, lambda fix: fix.diff)
    meta["seconds"] = round(time.perf_counter() - start, 3)


def try_candidates(rec: Recording, meta: dict, data: TrialData, cause: str, candidates: list, share: float,
                   left, times: list[float], attempt, note) -> None:
    """Try one cause's candidate fixes (``.text``, ``.kind``), most likely first, within its time ``share``:
    stop at the first verified one, or when the next would overrun the share or the budget (``left()``;
    ``times`` are the trainings so far). ``attempt(candidate)`` trains it and returns the ``(before, after)``
    scores (raising :class:`NotApplicable` or any error: not tried). The best candidate becomes the cause's
    :class:`Trial` in ``rec`` (``note(candidate)``: its diff); used by the Keras and the PyTorch trials."""
    t_cause = time.perf_counter()
    results = []
    for cand in candidates:
        spent = time.perf_counter() - t_cause
        est = statistics.median(times) if times else 3.0
        if any(r[3] for r in results):
            break  # candidates come most likely first: the first verified one is kept
        if results and (spent + est > share or left() < est):
            break
        try:
            before, after = attempt(cand)
        except NotApplicable as e:
            results.append((cand, None, None, False, f"not applicable: {e}", -math.inf))
            continue
        except Exception as e:
            msg = str(e).splitlines()[0][:160] if str(e) else ""
            results.append((cand, None, None, False, f"failed: {type(e).__name__}: {msg}", -math.inf))
            continue
        ok, margin, gain = verdict(data, before, after)
        results.append((cand, before, after, ok, margin, gain))
    seconds = round(time.perf_counter() - t_cause, 3)
    meta["per_cause_s"][cause] = seconds
    ran = [r for r in results if r[2] is not None]
    if not ran:
        meta["skipped"][cause] = "; ".join(f"{r[0].text}: {r[4]}" for r in results) or "no trial ran"
        return
    cand, before, after, ok, margin, _ = max(ran, key=lambda r: (r[3], r[5]))
    after = dict(after)
    after["kind"] = cand.kind
    after["candidates"] = [{"fix": r[0].text, "kind": r[0].kind, "verified": r[3],
                            "final_metric": r[2]["final_metric"] if r[2] else None,
                            **({"error": r[4]} if r[2] is None else {})} for r in results]
    rec.trials.append(Trial(cause=cause, fix=cand.text, verified=ok, before=dict(before), after=after,
                            margin=margin, seconds=seconds, note=note(cand) or ""))


def _lr_range(setup: KerasSetup, data: TrialData, rec: Recording, bs: int, seed: int):
    """Learning-rate range test on a copy of the original set-up; stored in ``rec.experiments``."""
    t0 = time.perf_counter()
    try:
        x, y = setup.inputs(data.x_train), setup.targets(data.y_train)
        with preserve_rng():
            random.seed(seed)
            np.random.seed(seed)
            adapter = setup.build(x, lr=LR_SWEEP[0])
            res = lr_range_test(keras_train_lrs(adapter.model, x, y, bs), *LR_SWEEP)
    except Exception as e:
        msg = str(e).splitlines()[0][:160] if str(e) else ""
        rec.warn(f"experiment lr_range skipped: {type(e).__name__}: {msg}")
        return None
    out = res.to_dict()
    opt = rec.facts.optimizer
    out.update({"optimizer": opt.name if opt else None, "user_lr": opt.lr if opt else None,
                "batch_size": bs, "seconds": round(time.perf_counter() - t0, 3)})
    if opt and opt.lr and res.suggestion:
        out["user_over_suggestion"] = _r(opt.lr / res.suggestion)
    rec.experiments["lr_range"] = out
    return res
