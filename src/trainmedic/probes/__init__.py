"""Probes: framework-free reductions of tensors (as numpy arrays) to a few numbers.

Each probe declares its cost (``cheap``: O(size) once; ``moderate``: needs an extra forward/backward on
the probe batch) and its schedule (``every_step``, ``scheduled`` on the monitor's step schedule, ``once``).
Integrations convert framework tensors to numpy and call these; nothing here imports a framework.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..facts import ArrayFacts, LabelFacts


@dataclass(frozen=True)
class ProbeInfo:
    name: str
    cost: str
    schedule: str
    what: str


PROBES = (
    ProbeInfo("loss", "cheap", "every_step", "per-batch training loss (recovered from Keras running means)"),
    ProbeInfo("grad_norm", "moderate", "scheduled", "L2 norm of the gradient per layer on the probe batch"),
    ProbeInfo("weight_norm", "cheap", "scheduled", "L2 norm of each layer's weights"),
    ProbeInfo("update_ratio", "cheap", "scheduled", "norm of the weight change / norm of the weights per layer"),
    ProbeInfo("dead_fraction", "moderate", "scheduled", "fraction of ReLU units never active on the probe batch"),
    ProbeInfo("saturation", "moderate", "scheduled", "fraction of sigmoid/tanh outputs in the flat tails"),
    ProbeInfo("predictions", "moderate", "scheduled", "class histogram, entropy and max probability of outputs"),
    ProbeInfo("array_facts", "cheap", "once", "dtype, range, mean/std per channel of an input sample"),
    ProbeInfo("label_facts", "cheap", "once", "label shape, encoding, classes and counts"),
)


def _f(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v


def array_facts(x) -> ArrayFacts:
    """Summarise an input sample: range, mean/std overall and per channel (last axis), integrality."""
    a = np.asarray(x)
    facts = ArrayFacts(shape=list(a.shape), dtype=str(a.dtype))
    if a.size == 0 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return facts
    af = a.astype(np.float64, copy=False)
    finite = np.isfinite(af)
    facts.finite = bool(finite.all())
    if not finite.any():
        return facts
    v = af[finite]
    facts.min, facts.max = float(v.min()), float(v.max())
    facts.mean, facts.std = float(v.mean()), float(v.std())
    facts.integer_valued = bool(np.all(np.mod(v[:10000], 1) == 0))
    if af.ndim >= 2 and facts.finite:
        flat = af.reshape(-1, af.shape[-1])
        stds = flat.std(axis=0)
        if af.shape[-1] <= 64:
            facts.channel_mean = [float(m) for m in flat.mean(axis=0)]
            facts.channel_std = [float(s) for s in stds]
        facts.feature_std_min, facts.feature_std_max = float(stds.min()), float(stds.max())
        facts.n_constant_features = int((stds == 0).sum())
    return facts


def label_facts(y) -> LabelFacts:
    """Summarise targets: kind (binary, multiclass-int, multiclass-onehot, multilabel, regression)."""
    a = np.asarray(y)
    lf = LabelFacts(shape=list(a.shape), dtype=str(a.dtype), kind="unknown")
    if a.size == 0 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return lf
    af = a.astype(np.float64, copy=False)
    lf.finite = bool(np.isfinite(af).all())
    v = af[np.isfinite(af)]
    if v.size == 0:
        return lf
    lf.min, lf.max, lf.mean, lf.std = float(v.min()), float(v.max()), float(v.mean()), float(v.std())
    uniq = np.unique(v)
    integral = bool(np.all(np.mod(uniq, 1) == 0))
    if len(uniq) <= 50:
        lf.values = [float(u) if not integral else int(u) for u in uniq]
    squeezed = af.reshape(af.shape[0], -1) if af.ndim >= 2 else af.reshape(-1, 1)
    width = squeezed.shape[1]
    if af.ndim >= 2 and af.ndim == 2 and width > 1 and set(uniq.tolist()) <= {0.0, 1.0}:
        row_sums = squeezed.sum(axis=1)
        if np.all(row_sums == 1):
            lf.kind, lf.n_classes = "multiclass-onehot", width
            lf.class_counts = [int(c) for c in squeezed.sum(axis=0)]
        else:
            lf.kind, lf.n_classes = "multilabel", width
            lf.class_counts = [int(c) for c in squeezed.sum(axis=0)]
        return lf
    if width == 1 and integral and len(uniq) <= 1000 and lf.min >= -1:
        n = len(uniq)
        if n <= 2:
            lf.kind, lf.n_classes = "binary", 2
        else:
            lf.kind, lf.n_classes = "multiclass-int", int(max(n, lf.max + 1 if lf.min >= 0 else n))
        flat = squeezed[:, 0]
        if lf.min >= 0 and lf.max < 10000:
            counts = np.bincount(flat.astype(np.int64))
            lf.class_counts = [int(c) for c in counts]
        else:
            lf.class_counts = [int((flat == u).sum()) for u in uniq]
        if n > 50 and n > 0.5 * max(len(flat), 1):
            lf.kind, lf.n_classes, lf.class_counts = "regression", None, None
        return lf
    lf.kind = "regression"
    return lf


def grad_norm(g) -> float:
    a = np.asarray(g, dtype=np.float64)
    return float(np.sqrt(np.sum(a * a))) if a.size else 0.0


def dead_fraction(acts, tol: float = 0.0) -> float:
    """Fraction of units (last axis; spatial positions pooled) whose activation is <= tol for every input."""
    a = np.asarray(acts)
    if a.ndim < 2 or a.size == 0:
        return 0.0
    flat = a.reshape(-1, a.shape[-1]) if a.ndim > 2 else a
    alive = (flat > tol).any(axis=0)
    return float(1.0 - alive.mean())


def saturation(acts, kind: str) -> float:
    """Fraction of outputs in the flat tails: sigmoid <0.01 or >0.99, tanh |a|>0.99."""
    a = np.asarray(acts, dtype=np.float64)
    if a.size == 0:
        return 0.0
    if kind == "tanh":
        return float((np.abs(a) > 0.99).mean())
    return float(((a < 0.01) | (a > 0.99)).mean())


def predictions(outputs) -> dict:
    """Prediction distribution of a batch of outputs (probabilities or logits).

    Returns the class histogram (fractions of argmax; for one output unit, fractions of >0.5), the mean
    entropy of the predicted distributions, the mean max probability, and the spread of outputs across
    inputs (``input_spread``: mean over units of the std across samples).
    """
    a = np.asarray(outputs, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    a = a.reshape(a.shape[0], -1)
    out: dict = {"input_spread": float(a.std(axis=0).mean()) if a.shape[0] > 1 else 0.0}
    if not np.isfinite(a).all():
        out["nonfinite"] = True
        return out
    if a.shape[1] == 1:
        pos = float((a[:, 0] > 0.5).mean())
        out["histogram"] = [1.0 - pos, pos]
        p = np.clip(a[:, 0], 1e-7, 1 - 1e-7)
        out["entropy"] = float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))
        out["max_prob"] = float(np.mean(np.maximum(p, 1 - p)))
        return out
    counts = np.bincount(a.argmax(axis=1), minlength=a.shape[1])
    out["histogram"] = [float(c) / a.shape[0] for c in counts]
    probs = a
    if (a < 0).any() or (np.abs(a.sum(axis=1) - 1) > 1e-3).any():
        z = a - a.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(axis=1, keepdims=True)
    pc = np.clip(probs, 1e-12, 1)
    out["entropy"] = float(np.mean(-(pc * np.log(pc)).sum(axis=1)))
    out["max_prob"] = float(probs.max(axis=1).mean())
    return out


def majority_fraction(histogram) -> float:
    return float(max(histogram)) if histogram else 0.0


def entropy_of(counts) -> float:
    c = np.asarray(counts, dtype=np.float64)
    p = c / max(c.sum(), 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


__all__ = ["PROBES", "ProbeInfo", "array_facts", "label_facts", "grad_norm", "dead_fraction", "saturation",
           "predictions", "majority_fraction", "entropy_of", "math"]
