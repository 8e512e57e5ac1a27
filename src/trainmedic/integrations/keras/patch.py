"""Zero-code-change Keras support for ``trainmedic run``: creation sites, pre-flight at fit, the Monitor.

:func:`install` patches ``keras`` after the user's script imports it; :func:`uninstall` undoes every patch.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ... import sites
from ...recording import Recording

_state = threading.local()


def internal() -> bool:
    """True while trainmedic itself trains or calls a model (experiments, trials): no patch applies."""
    return getattr(_state, "internal", 0) > 0


class Internal:
    def __enter__(self):
        _state.internal = getattr(_state, "internal", 0) + 1

    def __exit__(self, *exc):
        _state.internal -= 1


@dataclass
class KerasSession:
    """Everything recorded for one user model across its fit calls."""

    model_ref: Any
    recording: Recording = field(default_factory=Recording)
    compile_kwargs: dict = field(default_factory=dict)
    preflight_done: bool = False
    monitor: Any = None
    sample: Any = None
    fit_calls: int = 0


class KerasPatcher:
    def __init__(self, settings, on_session=None):
        self.settings = settings
        self.sessions: "weakref.WeakKeyDictionary[Any, KerasSession]" = weakref.WeakKeyDictionary()
        self.ordered: list[KerasSession] = []
        self._undo: list[tuple[Any, str, Any]] = []
        self.on_session = on_session
        self.started = time.time()

    # -- patching --------------------------------------------------------------------------------------
    def _patch(self, owner, name, make):
        own = name in owner.__dict__
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append((owner, name, original if own else None))

    def install(self, keras) -> None:
        from keras.src.layers.layer import Layer
        from keras.src.losses.loss import Loss
        from keras.src.models.model import Model
        from keras.src.optimizers.base_optimizer import BaseOptimizer

        def remembering(original):
            def __init__(obj, *args, **kwargs):
                original(obj, *args, **kwargs)
                if not internal():
                    sites.remember(obj)
            return __init__

        self._patch(Layer, "__init__", remembering)
        self._patch(BaseOptimizer, "__init__", remembering)
        self._patch(Loss, "__init__", remembering)
        def remembering_get(original):
            def get(identifier):
                # a layer resolving the initializer/regularizer object it was given: where the user made it
                if identifier is not None and not isinstance(identifier, (str, dict)) and not internal() \
                        and sites.site_of(identifier) is None:
                    try:
                        at = sites.assignment_of(identifier)
                        if at is not None:
                            sites.remember(identifier, at)
                    except Exception:  # never break the user's script
                        pass
                return original(identifier)
            return get

        import keras.src.initializers as initializers_module
        import keras.src.regularizers as regularizers_module

        self._patch(initializers_module, "get", remembering_get)
        self._patch(regularizers_module, "get", remembering_get)

        def trainable_setter(original):
            def fset(layer, value):
                original.fset(layer, value)
                if not value and not internal():
                    sites.remember_setting(layer, "trainable")
            return property(original.fget, fset, original.fdel, original.__doc__)

        self._patch(Layer, "trainable", trainable_setter)
        patcher = self

        def make_compile(original):
            def compile(model, *args, **kwargs):
                if not internal():
                    loc = sites.user_location(2)
                    s = patcher.session(model)
                    s.compile_kwargs = dict(kwargs)
                    if args:
                        for k, v in zip(("optimizer", "loss", "loss_weights", "metrics"), args):
                            s.compile_kwargs.setdefault(k, v)
                    s.compile_site = loc
                    s.preflight_done = False
                return original(model, *args, **kwargs)
            return compile

        def make_fit(original):
            def fit(model, *args, **kwargs):
                if internal():
                    return original(model, *args, **kwargs)
                try:
                    args, kwargs = patcher.before_fit(model, args, kwargs, sites.user_location(2))
                except Exception as e:  # never break the user's training
                    patcher.session(model).recording.warn(f"pre-flight failed: {type(e).__name__}: {e}")
                return original(model, *args, **kwargs)
            return fit

        def make_inference(original, call):
            def inference(model, *args, **kwargs):
                if not internal():
                    try:
                        x = args[0] if args else kwargs.get("x")
                        patcher.after_training_input(model, call, x, sites.user_location(2))
                    except Exception:  # never break the user's script
                        pass
                return original(model, *args, **kwargs)
            return inference

        self._patch(Model, "compile", make_compile)
        self._patch(Model, "fit", make_fit)
        self._patch(Model, "predict", lambda o: make_inference(o, "predict"))
        self._patch(Model, "evaluate", lambda o: make_inference(o, "evaluate"))

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            if original is None:
                delattr(owner, name)  # it was inherited: remove our override
            else:
                setattr(owner, name, original)
        self._undo.clear()

    # -- sessions --------------------------------------------------------------------------------------
    def session(self, model) -> KerasSession:
        s = self.sessions.get(model)
        if s is None:
            s = KerasSession(model_ref=weakref.ref(model))
            s.recording.started_at = self.started
            self.sessions[model] = s
            self.ordered.append(s)
            s.model_strong = model  # keep the model for fix trials at the end of the run
        return s

    MAX_EVAL_INPUTS = 4

    def after_training_input(self, model, call: str, x, site) -> None:
        """Summarise the inputs the script predicts on or evaluates with, after training (arrays only; once
        per array, at most :attr:`MAX_EVAL_INPUTS`): rule TM124 compares them with the training inputs."""
        import numpy as np

        from ... import probes

        s = self.sessions.get(model)
        if s is None or not s.fit_calls or site is None or not hasattr(x, "shape") or not hasattr(x, "dtype"):
            return
        seen = s.recording.experiments.setdefault("eval_inputs", [])
        key = [site.file, site.line]
        if len(seen) >= self.MAX_EVAL_INPUTS or any(e.get("at") == key for e in seen):
            return
        a = np.asarray(x[:2048])
        if a.ndim < 2 or a.shape[0] < 2 or not np.issubdtype(a.dtype, np.number):
            return
        af = probes.array_facts(a)
        seen.append({"call": call, "at": key, "code": site.code, "rows": int(a.shape[0]), "shape": list(a.shape),
                     "mean": af.mean, "std": af.std, "min": af.min, "max": af.max,
                     "channel_mean": af.channel_mean, "channel_std": af.channel_std})

    def before_fit(self, model, args, kwargs, fit_site):
        from ...preflight import preflight_keras
        from .data import sample_fit_data

        s = self.session(model)
        s.fit_calls += 1
        names = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data",
                 "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        x, y = bound.get("x"), bound.get("y")
        if not s.preflight_done:
            s.preflight_done = True
            _snapshot_weights(s, model)
            sites.remember_event("fit", fit_site, overwrite=True)
            sample = sample_fit_data(x, y, batch_size=bound.get("batch_size"),
                                     steps_per_epoch=bound.get("steps_per_epoch"))
            if sample.replacement is not None:  # a generator: give fit back what we looked at
                bound["x"] = sample.replacement
            s.sample = sample
            fit_kwargs = {k: v for k, v in bound.items() if k not in ("x", "y")}
            fit_kwargs.setdefault("epochs", 1)
            if getattr(s, "compile_site", None) is not None:
                sites.remember_event("compile", s.compile_site, overwrite=True)
            with Internal():
                preflight_keras(model, sample=sample, fit_kwargs=fit_kwargs, compile_kwargs=s.compile_kwargs,
                                recording=s.recording, experiments=True,
                                budget_s=self.settings.preflight_budget_s)
            if s.recording.facts.data is not None:
                s.recording.facts.data.location = fit_site
                s.recording.facts.data.origin = sites.data_origin(fit_site)
            if s.recording.facts.training is not None:
                s.recording.facts.training.location = fit_site
                if bound.get("validation_data") is not None:
                    s.recording.facts.training.validation_origin = sites.data_origin(fit_site,
                                                                                     keyword="validation_data")
            _validation_overlap(s.recording, x, bound.get("validation_data"))
            from ...engine import judge

            judge(s.recording, self.settings.select, self.settings.ignore)  # sets diagnosed_at_s if confident
        else:  # a later fit call of the same model: the training plan grows
            tr = s.recording.facts.training
            if tr is not None and tr.steps_per_epoch:
                tr.planned_updates = (tr.planned_updates or 0) + tr.steps_per_epoch * int(bound.get("epochs", 1) or 1)
        bound["callbacks"] = self._with_monitor(s, bound.get("callbacks"))
        positional = [bound.pop(n) for n in names[: len(args)]]
        return tuple(positional), bound

    def _with_monitor(self, s: KerasSession, callbacks):
        try:
            from .monitor import Monitor
        except ImportError:
            return callbacks
        cbs = list(callbacks or [])
        if any(isinstance(c, Monitor) for c in cbs):
            return cbs
        if s.monitor is None:
            probe = None
            if s.sample is not None and s.sample.x is not None and s.sample.y is not None:
                probe = (_head(s.sample.x, 64), _head(s.sample.y, 64))
            try:
                s.monitor = Monitor(probe=probe, recording=s.recording,
                                    stop_when_diagnosed=self.settings.stop_when_diagnosed)
            except TypeError:
                s.monitor = Monitor()
            if self.settings.max_seconds:
                s.monitor.deadline = getattr(self, "started", time.time()) + float(self.settings.max_seconds)
        cbs.append(s.monitor)
        return cbs


MAX_SNAPSHOT_PARAMS = 20_000_000


def _snapshot_weights(s: KerasSession, model) -> None:
    """The user's weights before training, for fix trials (they must not start from a damaged state)."""
    try:
        if not model.built or model.count_params() > MAX_SNAPSHOT_PARAMS:
            return
        from .describe import flatten_layers

        s.recording._initial_weights = {l.name: l.get_weights() for l in flatten_layers(model) if l.weights}
    except Exception as e:
        s.recording.warn(f"weights snapshot for fix trials skipped: {type(e).__name__}: {e}")


def _head(a, n):
    if isinstance(a, dict):
        return {k: _head(v, n) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return [_head(v, n) for v in a]
    return a[:n]


def _validation_overlap(rec: Recording, x, validation_data) -> None:
    """Fraction of validation rows that also appear, exactly, among the training rows (arrays only)."""
    import numpy as np

    if not isinstance(validation_data, (tuple, list)) or not validation_data:
        return
    xv = validation_data[0]
    if not hasattr(x, "shape") or not hasattr(xv, "shape") or len(x) == 0 or len(xv) == 0:
        return
    try:
        xt, xv = np.asarray(x), np.asarray(xv)
        if xt.shape[1:] != xv.shape[1:]:
            return
        train = {r.tobytes() for r in np.ascontiguousarray(xt.reshape(len(xt), -1))}
        rows = np.ascontiguousarray(xv.reshape(len(xv), -1))
        shared = sum(r.tobytes() in train for r in rows)
        rec.experiments["validation_overlap"] = {"n_validation": int(len(rows)), "shared": int(shared),
                                                 "fraction": float(shared / len(rows))}
    except Exception as e:
        rec.warn(f"validation overlap check skipped: {type(e).__name__}: {e}")
