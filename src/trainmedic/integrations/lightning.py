"""PyTorch Lightning integration: a callback that puts the PyTorch watcher around ``trainer.fit``.

::

    from trainmedic.lightning import Medic
    medic = Medic()
    trainer = lightning.pytorch.Trainer(max_epochs=10, callbacks=[medic])
    trainer.fit(module, train_loader)
    print(medic.diagnosis)

Lightning runs forward and backward in a closure *inside* ``optimizer.step``, so the watcher's per-step work
is driven from ``on_before_optimizer_step`` (after the step's backward, before the update) instead of
torch's pre-step hook. Works with ``lightning.pytorch`` and the older ``pytorch_lightning`` package (the
callback class is built for the package the trainer comes from). Under ``trainmedic run`` the callback is
added to every ``Trainer`` the script builds (:func:`patch_trainer`).
"""
from __future__ import annotations

import time
from typing import Any, Iterable

from ..causes import cause_ids

_CLASSES: dict[str, type] = {}


def _package(name: str | None = None):
    import importlib

    names = [name] if name else ["lightning.pytorch", "pytorch_lightning"]
    for n in names:
        try:
            return importlib.import_module(n)
        except ImportError:
            continue
    raise ImportError("trainmedic.lightning needs lightning (pip install lightning)")


def callback_class(package: str | None = None) -> type:
    """The callback class for ``lightning.pytorch`` (default) or ``pytorch_lightning``."""
    pl = _package(package)
    key = pl.__name__
    if key not in _CLASSES:
        _CLASSES[key] = type("Medic", (_MedicMixin, pl.Callback), {"__doc__": _MedicMixin.__doc__,
                                                                   "__module__": __name__})
    return _CLASSES[key]


class _MedicMixin:
    """Watch a Lightning training run and diagnose it (``medic.diagnosis`` after ``fit``).

    Args:
        every: run the scheduled probes every ``every`` optimizer steps (plus steps 0, 1, 2, 4, 8, ...).
        stop_when_diagnosed: set ``trainer.should_stop`` once a measured cause reaches a score of 0.8;
            ``fit`` then ends normally and the script goes on.
        halt_on: stop only for these cause ids (implies stopping).
        max_seconds: set ``trainer.should_stop`` once this many seconds have passed since ``fit`` began.
        save_to: save the recording into this directory when training ends.
        select / ignore: rule codes or names passed to the judge.
    """

    def __init__(self, every: int = 50, stop_when_diagnosed: bool = False, halt_on: Iterable[str] | None = None,
                 max_seconds: float | None = None, save_to: str | None = None, select=None, ignore=None):
        super().__init__()
        halt = cause_ids(halt_on)
        self.every = int(every)
        self.stop_when_diagnosed = bool(stop_when_diagnosed) or bool(halt)
        self.halt_on = halt
        self.max_seconds = max_seconds
        self.deadline: float | None = None
        self.save_to = save_to
        self.select, self.ignore = select, ignore
        self.watcher = None
        self.started_at: float | None = None  # the runner's start time (time to diagnosis counts from it)
        self._trainer = None
        self._optimizer = None

    # -- results -----------------------------------------------------------------------------------------
    @property
    def recording(self):
        return self.watcher.recording if self.watcher is not None else None

    @property
    def diagnosis(self):
        return self.watcher.diagnosis if self.watcher is not None else None

    # -- Lightning hooks -------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module) -> None:
        if self.watcher is not None or not trainer.optimizers:
            return
        try:
            from .torch.watch import Watcher

            self._trainer = trainer
            self._optimizer = trainer.optimizers[0]
            w = Watcher(pl_module, self._optimizer, every=self.every, save_to=self.save_to,
                        select=self.select, ignore=self.ignore, step_pre_hook=False)
            if self.started_at is not None:
                w.recording.started_at = self.started_at
            w.__enter__()
            w.recording.run["framework"] = "torch"
            w.recording.run["trainer"] = "lightning"
            w.after_step = self._after_step
            self.watcher = w
            if self.max_seconds is not None and self.deadline is None:
                self.deadline = time.time() + float(self.max_seconds)
        except Exception as e:  # never break the user's training
            self.watcher = None
            self._error = e

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        w = self.watcher
        if w is None:
            return
        if getattr(optimizer, "optimizer", optimizer) is self._optimizer:  # LightningOptimizer wraps it
            w._on_step_pre(self._optimizer, (), {})

    def on_train_end(self, trainer, pl_module) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def on_exception(self, trainer, pl_module, exception) -> None:
        if self.watcher is not None:
            self.watcher.close(error=exception)

    # -- stopping --------------------------------------------------------------------------------------
    def _after_step(self, w) -> None:
        trainer = self._trainer
        if trainer is None or trainer.should_stop:
            return
        if w.stop_check(self.deadline, self.stop_when_diagnosed, self.halt_on) is not None:
            trainer.should_stop = True


class LightningPatcher:
    """``trainmedic run``: every ``Trainer`` built in the script gets a :class:`Medic` callback (unless it has
    one); plain-PyTorch watchers are not attached to optimizers Lightning builds (the callback watches those)."""

    def __init__(self, settings, started: float):
        self.settings = settings
        self.started = started
        self.callbacks: list = []
        self._undo: list = []
        self.depth = 0  # > 0 while a Trainer.fit of a patched package runs

    def install(self, pl) -> None:
        Trainer = pl.Trainer
        cls = callback_class(pl.__name__)
        patcher = self
        orig_init, orig_fit = Trainer.__init__, Trainer.fit

        def init(trainer, *args, **kwargs):
            try:
                cbs = kwargs.get("callbacks")
                cbs = [cbs] if cbs is not None and not isinstance(cbs, (list, tuple)) else list(cbs or [])
                if not any(isinstance(c, _MedicMixin) for c in cbs):
                    s = patcher.settings
                    medic = cls(stop_when_diagnosed=s.stop_when_diagnosed, select=s.select, ignore=s.ignore)
                    medic.started_at = patcher.started
                    if s.max_seconds:
                        medic.deadline = patcher.started + float(s.max_seconds)
                    cbs.append(medic)
                    patcher.callbacks.append(medic)
                    kwargs["callbacks"] = cbs
            except Exception:
                pass
            orig_init(trainer, *args, **kwargs)

        def fit(trainer, *args, **kwargs):
            patcher.depth += 1
            try:
                return orig_fit(trainer, *args, **kwargs)
            finally:
                patcher.depth -= 1

        Trainer.__init__, Trainer.fit = init, fit
        self._undo += [(Trainer, "__init__", orig_init), (Trainer, "fit", orig_fit)]

    def finish(self) -> list:
        out = []
        for cb in self.callbacks:
            w = cb.watcher
            if w is None:
                continue
            try:
                w.close()
            except Exception:
                pass
            if w.step > 0 or w.recording.signals:
                out.append(w)
        return out

    def uninstall(self) -> None:
        for owner, name, original in self._undo:
            setattr(owner, name, original)
        self._undo.clear()


def patch_trainer(module, settings=None, started: float | None = None) -> LightningPatcher:
    from ..cli.config import Settings

    p = LightningPatcher(settings or Settings(), started or time.time())
    p.install(module)
    return p


def __getattr__(name: str) -> Any:
    if name == "Medic":
        return callback_class()
    raise AttributeError(name)
