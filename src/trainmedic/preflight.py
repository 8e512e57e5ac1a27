"""The Keras pre-flight diagnosis: facts + experiments on a copy + rules, in seconds, before training."""
from __future__ import annotations

import platform
import sys
import time
from typing import Any, Iterable

from ._rng import preserve_rng
from .diagnosis import Diagnosis
from .engine import judge
from .recording import Recording


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "keras", "tensorflow", "torch", "lightning"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def preflight_keras(model, x=None, y=None, *, batch_size: int | None = None, epochs: int | None = None,
                    class_weight: Any = None, fit_kwargs: dict | None = None, compile_kwargs: dict | None = None,
                    experiments: bool = True, budget_s: float = 8.0, recording: Recording | None = None,
                    sample=None) -> Recording:
    """Fill a recording with the set-up facts and pre-flight experiment results of a compiled Keras model."""
    from .integrations.keras.data import sample_fit_data

    rec = recording or Recording()
    fk = dict(fit_kwargs or {})
    if batch_size is not None:
        fk["batch_size"] = batch_size
    if epochs is not None:
        fk["epochs"] = epochs
    if class_weight is not None:
        fk["class_weight"] = class_weight
    if sample is None:
        sample = sample_fit_data(x, y, batch_size=fk.get("batch_size"), steps_per_epoch=fk.get("steps_per_epoch"))
    with preserve_rng():  # the facts and experiments use copies and the sample: no user RNG stream moves
        _facts_and_experiments(model, rec, sample, fk, compile_kwargs, experiments, budget_s)
    rec._sample = sample  # kept in memory for fix trials; not a field, so never saved
    return rec


def _facts_and_experiments(model, rec, sample, fk, compile_kwargs, experiments, budget_s) -> None:
    from .integrations.keras.adapter import KerasAdapter
    from .integrations.keras.facts import collect_facts

    import keras

    rec.facts = collect_facts(model, sample, fk, compile_kwargs)
    if sample.warning:
        rec.warn(sample.warning)
    rec.run.setdefault("framework", "keras")
    rec.run.setdefault("backend", keras.backend.backend())
    rec.run.setdefault("versions", versions())
    if sample.x is None:
        rec.warn("no training data could be sampled: experiments skipped")
        return
    if experiments:
        from .experiments import run_preflight

        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                adapter = KerasAdapter.from_model(model, sample.x)
        except Exception as e:
            rec.warn(f"the model could not be copied for experiments ({type(e).__name__}: {e}); "
                     "static checks only")
        else:
            run_preflight(adapter, sample.x, sample.y, rec.facts, rec, budget_s=budget_s)


def diagnose_keras(model, x=None, y=None, *, select: Iterable[str] | None = None,
                   ignore: Iterable[str] | None = None, fix_trials: bool = False, trial_budget_s: float = 60.0,
                   **kwargs) -> Diagnosis:
    """Pre-flight diagnosis of a compiled Keras 3 model on (a sample of) its training data."""
    start = time.time()
    rec = preflight_keras(model, x, y, **kwargs)
    rec.started_at = start
    diagnosis = judge(rec, select=select, ignore=ignore)
    if fix_trials and (diagnosis.causes or diagnosis.suspects):
        try:
            from .experiments.trials import run_trials
        except ImportError:
            rec.warn("fix trials are not available in this version")
        else:
            run_trials(model, rec, diagnosis, budget_s=trial_budget_s)
            diagnosis = judge(rec, select=select, ignore=ignore)
    return diagnosis
