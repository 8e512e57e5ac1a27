"""Zero-code-change PyTorch support for ``trainmedic run``: every optimizer built in the user's script gets
a watcher on the model that owns its parameters. :func:`TorchPatcher.uninstall` undoes the patches."""
from __future__ import annotations

import time
import weakref

from ... import sites


class TorchPatcher:
    def __init__(self, settings, stop_exception=None):
        self.settings = settings
        self.stop_exception = stop_exception
        self.modules: "weakref.WeakSet" = weakref.WeakSet()
        self.watchers: list = []
        self._undo: list = []
        self.started = time.time()
        self.skip = lambda: False  # True while another integration (Lightning) watches new optimizers

    def install(self, torch) -> None:
        from .watch import _INTERNAL, watch

        Module = torch.nn.Module
        Optimizer = torch.optim.Optimizer
        patcher = self
        orig_module_init = Module.__init__
        orig_opt_init = Optimizer.__init__

        def module_init(module, *args, **kwargs):
            orig_module_init(module, *args, **kwargs)
            try:
                patcher.modules.add(module)
                if not _INTERNAL[0]:  # where the module is made: not ``super().__init__()`` inside its class
                    sites.remember(module, sites.user_location(2, skip=lambda f: f.f_locals.get("self") is module))
            except Exception:  # never break the user's script
                pass

        def opt_init(opt, params, *args, **kwargs):
            orig_opt_init(opt, params, *args, **kwargs)
            try:
                if _INTERNAL[0]:  # an optimizer of trainmedic's own fix trials
                    return
                sites.remember(opt)
                if patcher.skip():
                    return
                model = patcher._owner(opt)
                if model is not None:
                    w = watch(model, opt)
                    w.keep_init = bool(getattr(patcher.settings, "fix_trials", False))
                    w.recording.started_at = patcher.started
                    if patcher.stop_exception is not None and (patcher.settings.stop_when_diagnosed
                                                               or patcher.settings.max_seconds):
                        w.after_step = patcher._after_step
                    w.__enter__()
                    patcher.watchers.append(w)
            except Exception:  # never break the user's script
                pass

        Module.__init__ = module_init
        Optimizer.__init__ = opt_init
        self._undo = [(Module, "__init__", orig_module_init), (Optimizer, "__init__", orig_opt_init)]

    def _after_step(self, w) -> None:
        """End the user's script (``stop_exception``) at max-seconds or once a measured, confident cause exists."""
        s = self.settings
        deadline = self.started + float(s.max_seconds) if s.max_seconds else None
        info = w.stop_check(deadline, s.stop_when_diagnosed)
        if info is not None:
            raise self.stop_exception(info["cause"] or "max-seconds")

    def _owner(self, opt):
        """The user's model owning the optimizer's parameters: the largest overlap, then the largest model."""
        ids = {id(p) for g in opt.param_groups for p in g["params"]}
        best, key = None, None
        for m in list(self.modules):
            try:
                params = list(m.parameters())
            except Exception:
                continue
            overlap = sum(id(p) in ids for p in params)
            if overlap == 0:
                continue
            k = (overlap, len(params))
            if key is None or k > key:
                best, key = m, k
        return best

    def finish(self) -> list:
        for w in self.watchers:
            try:
                w.close()
            except Exception:
                pass
        return [w for w in self.watchers if w.step > 0 or w.recording.signals]

    def uninstall(self) -> None:
        for owner, name, original in self._undo:
            setattr(owner, name, original)
        self._undo.clear()
