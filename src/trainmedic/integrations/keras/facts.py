"""Collect all set-up facts for a compiled Keras model and a data sample."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import probes, sites
from ...facts import DataFacts, SetupFacts, TrainingFacts
from .data import Sample
from .describe import canonical_loss, compiled_metrics, describe_model, describe_optimizer, resolve_metric


def _as_list(a) -> list:
    if a is None:
        return []
    if isinstance(a, dict):
        return list(a.values())
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        return list(a)
    return [a]


def collect_facts(model, sample: Sample | None, fit_kwargs: dict | None = None,
                  compile_kwargs: dict | None = None) -> SetupFacts:
    """Describe ``model`` (compiled) and the data ``sample`` into :class:`SetupFacts`.

    ``fit_kwargs`` are the arguments of the ``fit`` call when known (batch_size, epochs, class_weight ...);
    ``compile_kwargs`` those of ``compile`` (for metrics as the user wrote them).
    """
    import keras

    fit_kwargs = fit_kwargs or {}
    facts = SetupFacts()
    facts.model = describe_model(model, backend=keras.backend.backend())
    loss = (compile_kwargs or {}).get("loss", getattr(model, "loss", None))
    facts.loss = canonical_loss(loss)
    if facts.loss.location is None:
        facts.loss.location = sites.event_site("compile")
    facts.optimizer = describe_optimizer(getattr(model, "optimizer", None))
    if facts.optimizer is not None and facts.optimizer.location is None:
        facts.optimizer.location = sites.event_site("compile")
    data = DataFacts()
    if sample is not None and sample.x is not None:
        data.source = sample.source
        data.n_samples = sample.n_samples
        data.sample_size = len(_as_list(sample.x)[0])
        data.inputs = [probes.array_facts(a) for a in _as_list(sample.x)]
        if sample.y is not None:
            data.targets = [probes.label_facts(a) for a in _as_list(sample.y)]
    data.location = sites.event_site("fit")
    facts.data = data
    y_shape = data.targets[0].shape if data.targets else None
    metrics = (compile_kwargs or {}).get("metrics", None)
    if metrics is None:
        metrics = compiled_metrics(model)
    if isinstance(metrics, dict):
        metrics = next(iter(metrics.values()), [])
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    facts.metrics = [resolve_metric(m, y_shape, facts.model.output_units, None) for m in metrics if m is not None]
    for mf in facts.metrics:
        mf.location = sites.event_site("compile")
    tf_ = TrainingFacts(location=sites.event_site("fit"))
    bs = fit_kwargs.get("batch_size")
    if bs is None and sample is not None:
        bs = sample.batch_size
    tf_.batch_size = int(bs) if bs else None
    tf_.epochs = int(fit_kwargs.get("epochs", 1) or 1) if "epochs" in fit_kwargs or fit_kwargs else None
    spe = fit_kwargs.get("steps_per_epoch") or (sample.steps_per_epoch if sample else None)
    if spe is None and data.n_samples and tf_.batch_size:
        vs = fit_kwargs.get("validation_split") or 0.0
        spe = int(np.ceil(data.n_samples * (1 - vs) / tf_.batch_size))
    tf_.steps_per_epoch = int(spe) if spe else None
    if tf_.steps_per_epoch and tf_.epochs:
        tf_.planned_updates = tf_.steps_per_epoch * tf_.epochs
    tf_.class_weight = fit_kwargs.get("class_weight") is not None
    tf_.sample_weight = fit_kwargs.get("sample_weight") is not None
    tf_.validation = bool(fit_kwargs.get("validation_data") is not None or fit_kwargs.get("validation_split"))
    facts.training = tf_
    return facts


__all__ = ["collect_facts", "Any"]
