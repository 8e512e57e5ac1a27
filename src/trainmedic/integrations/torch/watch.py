"""The PyTorch watcher: ``with watch(model, optimizer) as medic:`` around an unchanged training loop.

What it installs while the block runs (every one removed on exit, also when the loop raises):

* one global module forward hook (``torch.nn.modules.module.register_module_forward_hook``): loss modules
  (``nn.modules.loss._Loss``) give the loss, its input and target; the model's own modules give the inputs,
  the output, activation statistics and the forward order (only on scheduled steps beyond a flag);
* a tensor hook on every trainable parameter: it sees each backward's fresh gradient *before* it is
  accumulated into ``p.grad`` (this is how a missing ``zero_grad`` and detached layers are seen);
* a step pre-hook and post-hook on the optimizer (``Optimizer.register_step_pre_hook``): ``p.grad`` is read
  there, so no extra backward is ever run;
* a thin wrapper around ``torch.Tensor.backward`` (restored on exit): it notes the tensor backward is called
  on (the loss, also for functional losses such as ``F.cross_entropy``, recognised from its autograd node;
  AMP's ``scaler.scale(loss)`` factor removed) and the user's ``backward`` line. A backward counts for a
  watcher only if it reached that watcher's parameters (two watched models in one loop stay apart).

The model's layers are re-described from the first forward: call order, and activations applied inside
``forward`` (``F.relu`` after ``fc1`` makes ``fc1``'s activation relu; after a non-weight layer such as batch
norm it becomes an activation entry ``relu(bn)``; an op that is not recognised after a hidden weight layer
is 'custom').

Hooks only read. Nothing random is drawn from the user's generators, and an exception inside trainmedic
becomes ``recording.warn(...)``; the probe that raised is switched off and training goes on.

Signals (see the architecture notes): ``loss`` and ``lr`` every step; on the schedule (every ``every``
steps, plus steps 0, 1, 2, 4, 8, ... when ``early``): ``grad_norm/<layer>``, ``weight_norm/<layer>``,
``update_ratio/<layer>`` (change made by that one step / weight norm), ``dead_fraction/<layer>`` (ReLU
modules, and functional ReLUs seen at the next layer's input, named after the layer that feeds them),
``saturation/<layer>`` (Sigmoid/Tanh, likewise), ``pred/*`` (the model output). Between scheduled steps the
hooks only keep the loss tensor (no sync, no reduction): a non-finite loss is dated to its step, a non-finite
gradient or weight to the probe step that saw it. A module called several
times per forward (one ``self.relu`` for every layer) gives ``<name>``, ``<name>.1``, ``<name>.2``... Events: ``nonfinite`` and the
wiring observations read by :mod:`trainmedic.rules.wiring`:

* ``grad_accumulation``: the gradient of the previous step was still in ``p.grad`` when the next step's
  gradient arrived and reached the step (``steps`` of ``checked``, ``growth`` = |grad| / |fresh grad|);
* ``params_not_in_optimizer``: parameters that received gradients but are in no param group;
* ``frozen``: parametric layers with ``requires_grad=False`` (``default_init``: still at PyTorch's init);
* ``no_grad``: trainable layers called in the training forward that never received a gradient;
* ``eval_mode``: ``model.training`` was False at optimizer steps (``modules``: dropout / batch-norm kinds);
* ``loss_input``: what entered a loss that applies its own activation (or expects log-probabilities);
* ``loss_broadcast``: a loss whose input and target shapes broadcast to a bigger shape;
* ``no_step``: backward ran but ``optimizer.step()`` never did (or always found the gradients cleared).

``stop_when_diagnosed`` (the Keras Monitor option) is not offered to ``watch``: a plain loop has no hook
through which trainmedic could end it and let the script go on. Read ``medic.diagnosis`` after the block
(or judge ``medic.recording``). Under ``trainmedic run --stop-when-diagnosed`` / ``--max-seconds`` the
runner ends the whole script at an optimizer step instead (see :attr:`Watcher.after_step`).
"""
from __future__ import annotations

import ast
import functools
import inspect
import linecache
import math
import os
import re
import sys
import time
from typing import Any

import numpy as np

from ... import probes, sites
from ..._rng import preserve_rng
from ...facts import DataFacts, LayerFact, Location, SetupFacts, TrainingFacts
from ...recording import Recording
from . import describe as D

_FP_SIZE = 65536  # gradient elements fingerprinted per monitored parameter
_MONITORED = 4  # parameters whose gradient bookkeeping is tracked exactly (missing zero_grad)
_INIT_STATE_LIMIT = 25_000_000  # initial weights kept for fix trials only up to this many values
_VIEW_NODES = {"ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0", "SqueezeBackward0",
               "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "SqueezeBackward4",
               "UnsqueezeBackward0", "UnsqueezeBackward1"}
_ACTIVE: list["Watcher"] = []
_INTERNAL = [0]  # > 0 while trainmedic itself builds models/optimizers (fix trials): never watched
_ORIGINAL_BACKWARD = None


# -- the Tensor.backward wrapper (installed once while at least one watcher is active) ------------------
def _install_backward() -> None:
    global _ORIGINAL_BACKWARD
    import torch

    if _ORIGINAL_BACKWARD is not None:
        return
    original = torch.Tensor.__dict__["backward"]

    @functools.wraps(original)
    def backward(self, *args, **kwargs):
        watchers = tuple(_ACTIVE)
        tokens = [w._on_backward(self) for w in watchers]
        result = original(self, *args, **kwargs)
        for w, token in zip(watchers, tokens):
            w._after_backward(token)
        return result

    _ORIGINAL_BACKWARD = original
    torch.Tensor.backward = backward


def _uninstall_backward() -> None:
    global _ORIGINAL_BACKWARD
    import torch

    if _ORIGINAL_BACKWARD is not None and not _ACTIVE:
        torch.Tensor.backward = _ORIGINAL_BACKWARD
        _ORIGINAL_BACKWARD = None


# -- small source helpers: where in the user's code ----------------------------------------------------
def _loc_dict(loc: Location | None) -> dict | None:
    return None if loc is None else {"file": loc.file, "line": loc.line, "code": loc.code}


def _user_frame():
    f = sys._getframe(1)
    while f is not None and not sites.is_user_file(f.f_code.co_filename):
        f = f.f_back
    return f


def _names_of(obj: Any, frame) -> list[str]:
    if frame is None:
        return []
    scope = {**frame.f_globals, **frame.f_locals}
    return [k for k, v in scope.items() if v is obj and not k.startswith("_")]


def _assignment_line(file: str, before: int, names: list[str]) -> int | None:
    """The last line before ``before`` that assigns one of ``names`` (``opt = torch.optim.SGD(...)``)."""
    if not names:
        return None
    pat = re.compile(r"^\s*(?:%s)\s*(?::[^=]+)?=(?!=)" % "|".join(re.escape(n) for n in names))
    lines = linecache.getlines(file)
    for i in range(min(before, len(lines)) - 1, 0, -1):
        if pat.match(lines[i - 1]):
            return i
    return None


def _find_lines(file: str, pattern: str, start: int = 1, end: int | None = None) -> list[int]:
    pat = re.compile(pattern)
    lines = linecache.getlines(file)
    end = len(lines) if end is None else min(end, len(lines))
    return [i for i in range(max(start, 1), end + 1)
            if pat.search(lines[i - 1]) and not lines[i - 1].lstrip().startswith("#")]


@functools.lru_cache(maxsize=32)
def _loops(file: str) -> tuple[tuple[int, int], ...]:
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):
        return ()
    return tuple((n.lineno, n.end_lineno or n.lineno) for n in ast.walk(tree)
                 if isinstance(n, (ast.For, ast.While, ast.AsyncFor)))


def _enclosing_loop(file: str, line: int, outermost: bool = False) -> int | None:
    inside = [a for a, b in _loops(file) if a < line <= b]
    return (min(inside) if outermost else max(inside)) if inside else None


def _source_span(obj: Any) -> tuple[str, int, int] | None:
    """(file, first line, last line) of a user-defined class or function, None for library code."""
    try:
        file = inspect.getsourcefile(obj)
        lines, start = inspect.getsourcelines(obj)
    except (TypeError, OSError):
        return None
    if not file or not sites.is_user_file(file):
        return None
    return file, start, start + len(lines) - 1


def _holds_row(data: Any, row) -> bool:
    """Is ``row`` (a (1, ...) numpy array) one of the rows of ``data`` (a tensor or array, up to 20M values)?"""
    try:
        size = data.numel() if hasattr(data, "numel") else np.size(data)
        if size > 20_000_000:
            return False
        a = _numpy(data, None) if hasattr(data, "detach") else np.asarray(data)
        if a.shape[1:] != row.shape[1:]:
            return False
        return bool((a.reshape(len(a), -1) == row.reshape(1, -1)).all(axis=1).any())
    except Exception:
        return False


def _first_tensor(x: Any):
    import torch

    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (list, tuple)):
        for v in x:
            t = _first_tensor(v)
            if t is not None:
                return t
    if isinstance(x, dict):
        for v in x.values():
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _numpy(t, rows: int):
    """A float copy on the CPU of the first ``rows`` rows (never a view of the user's tensor)."""
    import torch

    with torch.no_grad():
        x = t.detach()[:rows]
        if x.is_floating_point() or x.is_complex():
            x = x.float()
        return x.cpu().numpy().copy()


def _value_kind(a: np.ndarray, class_axis: int = 1) -> dict:
    """What a loss input looks like: probabilities (rows sum to 1), (0,1) values, log-probabilities, real."""
    out = {"min": float(a.min()), "max": float(a.max())} if a.size else {}
    if a.size == 0 or not np.isfinite(a).all():
        return {"kind": "nonfinite", **out}
    if a.ndim >= 2 and a.shape[class_axis] >= 2:
        s = a.sum(axis=class_axis)
        out["row_sum"] = float(s.mean())
        if a.min() >= 0 and a.max() <= 1 and np.all(np.abs(s - 1) < 1e-3):
            return {"kind": "probabilities", **out}
        m = a.astype(np.float64).max(axis=class_axis, keepdims=True)
        lse = (m + np.log(np.exp(a - m).sum(axis=class_axis, keepdims=True))).squeeze(class_axis)
        if a.max() <= 1e-6 and np.all(np.abs(lse) < 1e-3):
            return {"kind": "log_probabilities", **out}
    if a.min() > 0 and a.max() < 1:
        return {"kind": "unit_interval", **out}
    return {"kind": "real", **out}


def _unscaled(t):
    """The loss value of the tensor ``backward()`` is called on, without a constant factor such as AMP's
    ``scaler.scale(loss)`` (``loss * scale``). Stays on the device: no sync."""
    import torch

    v = t.detach().reshape(())
    fn = t.grad_fn
    try:
        if type(fn).__name__ == "MulBackward0":
            k = getattr(fn, "_saved_other", None)
            if isinstance(k, torch.Tensor) and k.numel() == 1 and not k.requires_grad and k.is_floating_point():
                k = k.detach().reshape(()).to(v.dtype)
                v = torch.where(k != 0, v / k, v)
    except RuntimeError:  # saved tensors already freed
        pass
    return v


def _channels_last(a: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.moveaxis(a, 1, -1) if channels_first and a.ndim >= 3 else a


class Watcher:
    """Watches one model and its optimizer through an unchanged PyTorch training loop.

    Use :func:`watch`. After the block, ``diagnosis`` holds the judged :class:`~trainmedic.Diagnosis`
    and ``recording`` everything observed (``recording.save(dir)`` to keep it). ``step`` is the number of
    optimizer steps seen so far.
    """

    def __init__(self, model, optimizer, *, every: int = 50, early: bool = True, save_to: str | None = None,
                 sample_size: int = 512, select=None, ignore=None, step_pre_hook: bool = True,
                 fix_trials: bool = False, trial_budget_s: float = 60.0, max_overhead: float | None = 0.01):
        if every < 1:
            raise ValueError("every must be >= 1")
        if max_overhead is not None and not max_overhead > 0:
            raise ValueError("max_overhead must be > 0 or None")
        self.max_overhead = max_overhead
        self.model = model
        self.optimizer = optimizer
        self.every = int(every)
        self.early = bool(early)
        self.save_to = save_to
        self.sample_size = int(sample_size)
        self.select, self.ignore = select, ignore
        # False: the caller calls ``_on_step_pre`` itself once the step's gradients exist (Lightning runs
        # forward and backward in a closure *inside* ``optimizer.step``, after torch's pre-step hooks)
        self._use_pre_hook = bool(step_pre_hook)
        # fix trials (:mod:`trainmedic.experiments.torch_trials`): run on close when ``fix_trials``. What they
        # need is kept when ``keep_init`` (``fix_trials``, or set by ``trainmedic run``, which runs them
        # itself): the model's weights before training (``init_state``, CPU copies) and up to ``sample_size``
        # rows of training inputs with the targets their loss received (``sample = (x, y)``); always: the
        # loss applied to the model output (``loss_module`` or ``loss_functional``), how its input relates to
        # the output (``loss_link``) and whether forward takes one tensor (``single_input``)
        self.fix_trials = bool(fix_trials)
        self.trial_budget_s = float(trial_budget_s)
        self.keep_init = bool(fix_trials)
        self.sample: tuple | None = None
        self.loss_module = None
        self.loss_functional: str | None = None
        self.loss_link: dict | None = None
        self.init_state: dict | None = None
        self.single_input: bool | None = None
        self._last_out_shape: list | None = None
        self._last_x = None  # the last training forward's input, until its target pairs with it
        self._pairs: list[tuple] = []  # (inputs, targets) rows of the same batches, for ``sample``
        self._pair_rows = 0
        self.recording = Recording()
        self.diagnosis = None
        self.step = 0
        self._handles: list = []
        self._fwd_handles: list = []  # the forward hooks of the current mode (see _forward_hooks)
        self._grad_handles: list = []  # the gradient hooks of checking steps (see _grad_hooks)
        self._sentinels: list[int] = []
        self._redescribed = False  # the model was described again at its first forward (see _redescribe)
        self._param_ids: set[int] = set()
        self._fwd_mode: str | None = None
        self._loss_unstable = False  # several loss modules (or a new one per step) fed by the model
        self._active = False
        self._broken: set[str] = set()
        self._events: dict[str, dict] = {}
        # per-step bookkeeping
        self._backwards_since = 0
        self._backward_vals: list = []
        self._module_losses: list = []
        self._logged: list = []
        self._pending: list[tuple] = []
        self._done_this_step: set = set()
        self._snapshot: dict | None = None
        self._out_stash = None
        self._output_kind: dict | None = None
        self._n_backward = 0
        self._last_out_fn = None
        self._hit_total = 0
        self._backward_loc: Location | None = None
        self._loss_checks = 0
        self._act_calls: dict[int, int] = {}
        self._prev_layer: tuple | None = None
        self._act_outputs: set[int] = set()
        self._order: list[str] | None = None
        self._x_rows: list = []
        self._y_rows: list = []
        self._data_done = False
        self._order_done = False
        self._func_act: dict[str, str | None] = {}  # layer -> activation applied to its output in forward
        self._synthetic: dict[str, LayerFact] = {}  # layer -> activation op after a non-weight layer
        self._nonfinite_seen: set[str] = set()
        self._acc_pid: int | None = None
        self._first_backward_loc: Location | None = None
        self._frame_info: tuple | None = None
        # called after every optimizer step with this watcher (``trainmedic run`` uses it to end a loop
        # early); unlike every other hook, what it raises reaches the user's loop
        self.after_step = None
        self._stop_check_failed = False
        # per-step flags, set once per step (the hooks run thousands of times: they read flags, not schedules)
        self._sched = True  # this step is scheduled: the heavier probes run
        self._check = False  # this step checks the zero_grad bookkeeping
        self._busy = True  # this step's pre-hook reads the gradients (probed, checking or first steps)
        self._quiet = False  # the model's own layers need no forward hook this step
        self._quiet_ids: set[int] = set()
        self._last_lr: float | None = None
        self._grad_checks = 0
        # the time budget of the scheduled probes (``max_overhead``)
        self._own_s = 0.0  # seconds charged to probed and checking steps since the budget began
        self._t_loop: float | None = None  # when the watched loop began
        self._budget_steps: int | None = None  # steps since the probe budget began (after step 64)
        self._ref_step = 0.0  # the reference step time: the median of the last quiet steps' durations
        self._t_mark: float | None = None  # when the last step ended
        self._quiet_took: list[float] = []  # durations of the last quiet steps
        self._lean = False  # quiet step with only the loss module hooked
        self._first_fwd_handle = None
        self._loss_shared = False  # the loss module also took inputs that were not this model's output
        self._deferred = False  # a scheduled probe waits for the budget
        self._was_sched = False  # the step just finished was probed
        self.probed_steps = 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "Watcher":
        frame = _user_frame()
        if frame is not None:
            self._frame_info = (frame.f_code.co_filename, frame.f_lineno, _names_of(self.model, frame),
                                _names_of(self.optimizer, frame))
        del frame
        try:
            self._setup()
        except Exception as e:  # never break the user's training
            self._warn("set-up", e)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close(error=exc)
        return False

    def close(self, error: BaseException | None = None) -> None:
        """Remove every hook, finish the recording, judge it and save it (``save_to``). Idempotent."""
        if not self._active and self.diagnosis is not None:
            return
        self._remove_hooks()
        rec = self.recording
        try:
            self._finish()
        except Exception as e:
            self._warn("finish", e)
        rec.run["steps"] = self.step
        rec.run["probed_steps"] = self.probed_steps
        if error is not None:
            rec.run["exit"] = f"error: {type(error).__name__}: {error}"
        else:
            rec.run.setdefault("exit", "ok")
        try:
            from ...engine import judge

            self.diagnosis = judge(rec, select=self.select, ignore=self.ignore)
        except Exception as e:
            self._warn("judge", e)
        if self.fix_trials and self.diagnosis is not None and self.diagnosis.causes:
            try:
                from ...engine import judge
                from ...experiments.torch_trials import run_torch_trials

                run_torch_trials(self, rec, self.diagnosis, budget_s=self.trial_budget_s)
                self.diagnosis = judge(rec, select=self.select, ignore=self.ignore)
            except Exception as e:
                self._warn("fix trials", e)
        if self.save_to:
            try:
                rec.save(self.save_to)
            except Exception as e:
                self._warn("save", e)

    def _remove_hooks(self) -> None:
        self._last_out_fn = self._prev_layer = self._snapshot = None
        for h in self._handles:
            try:
                h.remove()
            except Exception:
                pass
        self._handles.clear()
        for h in self._grad_handles + self._fwd_handles:
            try:
                h.remove()
            except Exception:
                pass
        self._fwd_handles = []
        self._grad_handles = []
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        try:
            _uninstall_backward()
        except Exception as e:
            self._warn("restore Tensor.backward", e)
        self._active = False

    # -- public helpers --------------------------------------------------------------------------------
    def log_loss(self, loss) -> None:
        """Report the batch loss yourself (for loops whose loss trainmedic cannot see)."""
        try:
            import torch

            self._logged.append(loss.detach() if isinstance(loss, torch.Tensor) else float(loss))
        except Exception as e:
            self._warn("log_loss", e)

    def scheduled(self, step: int) -> bool:
        """True on the steps where the heavier probes run: every ``every`` steps and 0, 1, 2, 4, 8, ..."""
        return step % self.every == 0 or (self.early and (step & (step - 1)) == 0)

    def _charge(self) -> None:
        """Time the step that just ended (from the previous step's end): a quiet step's duration feeds the
        reference step time (the median of the last 15 quiet steps); a probed or checking step is charged
        what it took beyond the reference. So the probes' whole cost counts - the hooks' own time and what
        they cost PyTorch (every layer's hooked call, a gradient hook per parameter) - not only the time
        inside trainmedic's code; and pauses between steps (an evaluation, another model) do not."""
        now = time.perf_counter()
        last, self._t_mark = self._t_mark, now
        if last is None:
            return
        took = now - last
        if self._sched or self._check:
            if self._budget_steps is not None:
                self._own_s += max(took - self._ref_step, 0.0)
        else:
            self._quiet_took.append(took)
            if len(self._quiet_took) > 15:
                del self._quiet_took[0]
            self._ref_step = sorted(self._quiet_took)[len(self._quiet_took) // 2]
        if self._budget_steps is not None:
            self._budget_steps += 1

    def _probe_due(self, step: int) -> bool:
        """Whether step ``step`` is probed: a scheduled step (or one deferred before it), unless the probed
        and checking steps since step 64 have cost more than ``max_overhead`` of that many reference steps
        (see :meth:`_charge`); steps up to 64 always are (the early log-spaced probes read the run's start)."""
        if not (self._deferred or self.scheduled(step)):
            return False
        if self.max_overhead is not None and step > 64:
            if self._budget_steps is None:  # the budget counts from here: the early probes are not charged
                self._budget_steps, self._own_s = 0, 0.0
            if self._own_s > self.max_overhead * self._budget_steps * self._ref_step:
                self._deferred = True
                return False
        self._deferred = False
        return True

    def _set_flags(self) -> None:
        """This step's flags, set once per step: is it probed (``_sched``), does it check the zero_grad
        bookkeeping (the probed step and the one after it); between probed steps the hooks do only what every
        step needs (the loss, the sample rows still missing) and the model's own layers return at once."""
        prev = self._sched if self._t_loop is not None else False
        self._sched = self._probe_due(self.step)
        self._check = self.step >= 1 and (self._sched or prev)
        self._busy = self._sched or self._check or self.step < 4  # the step pre-hook reads the gradients
        self._quiet = self._order_done and not self._sched
        wanted = self._wanted_mode()
        self._lean = wanted == "lean"
        if self._active and self._fwd_mode != wanted:
            self._guard("forward hooks", self._forward_hooks)
        if self._active and bool(self._grad_handles) != (self._check or self.step < 4):
            self._guard("gradient hooks", self._grad_hooks)

    def _grad_hooks(self) -> None:
        """A hook on every trainable parameter's gradient on checking steps and the first steps (which layers
        receive gradients, the zero_grad fingerprints); else none beyond the sentinels: PyTorch calls each
        hook from the backward pass, a cost of every step."""
        for h in self._grad_handles:
            h.remove()
        self._grad_handles = []
        if self._check or self.step < 4:
            self._grad_handles = [self._params[pid].register_hook(functools.partial(self._on_grad, pid))
                                  for pid in self._trainable if pid not in self._sentinels]

    def _wanted_mode(self) -> str:
        """'lean' on quiet steps once everything but the loss value is known (the loss module's own hook
        only, or no forward hook for a functional loss); 'local' (hooks on the model and its loss module) on
        quiet steps once the loss is known and always computed by the same module (or functionally); else
        'global' (every module's forward)."""
        known = self.loss_module is not None or self.loss_functional is not None
        if not (self._quiet and known and not self._loss_unstable and self._n_backward >= 2):
            return "global"
        if not self._check and not self._loss_shared and self._data_done and self._loss_checks >= 3 \
                and not self._pairing():
            return "lean"
        return "local"

    def _forward_hooks(self) -> None:
        """Install the forward hooks of the wanted mode: the global module hook sees every module (layers on
        scheduled steps, loss modules the watcher does not know yet); between scheduled steps only the model's
        output and its known loss module are needed, and a global hook would put every layer of the model on
        PyTorch's slower hooked call path."""
        from torch.nn.modules import module as nn_module

        mode = self._wanted_mode() if self._fwd_mode is not None else "global"
        new = []
        if mode == "global":
            new.append(nn_module.register_module_forward_hook(self._on_forward, with_kwargs=True))
        elif mode == "lean":
            if self.loss_module is not None:
                new.append(self.loss_module.register_forward_hook(self._on_lean_loss, with_kwargs=True))
        else:
            new.append(self.model.register_forward_hook(self._on_forward, with_kwargs=True))
            if self.loss_module is not None:
                new.append(self.loss_module.register_forward_hook(self._on_forward, with_kwargs=True))
        old, self._fwd_handles, self._fwd_mode = self._fwd_handles, new, mode
        for h in old:
            h.remove()

    # -- set-up ----------------------------------------------------------------------------------------
    def _setup(self) -> None:
        import torch
        from torch.nn.modules import module as nn_module

        rec, model = self.recording, self.model
        params = list(model.parameters())
        device = params[0].device.type if params else "cpu"
        from ... import __version__

        rec.run.update({"framework": "torch", "backend": device, "steps": 0, "epochs": None,
                        "versions": {"torch": torch.__version__, "trainmedic": __version__,
                                     "python": sys.version.split()[0]}})
        facts = SetupFacts()
        facts.model = D.describe_model(model)
        facts.optimizer = D.describe_optimizer(self.optimizer)
        facts.data = DataFacts(source="torch loop")
        facts.training = TrainingFacts()
        rec.facts = facts
        if self._frame_info:
            file, line, mnames, onames = self._frame_info
            if facts.model.location is None:
                n = _assignment_line(file, line, mnames)
                facts.model.location = sites.location(file, n) if n else None
            if facts.optimizer.location is None:
                n = _assignment_line(file, line, onames)
                facts.optimizer.location = sites.location(file, n) if n else None

        self._layers = D.layer_modules(model)
        self._name_of = {id(m): n for n, m in self._layers}
        self._name_of[id(model)] = self._name_of.get(id(model), "")
        self._fact_of = {lf.name: lf for lf in facts.model.layers}
        self._parametric = [(n, m) for n, m in self._layers if self._fact_of[n].parametric]
        self._conv_first = bool(self._parametric) and type(self._parametric[0][1]).__name__.startswith("Conv")
        self._pname: dict[int, str] = {}
        self._player: dict[int, str] = {}
        self._params: dict[int, Any] = {}
        for lname, m in self._layers:
            for pn, p in m.named_parameters(recurse=False):
                if id(p) not in self._params:
                    self._params[id(p)] = p
                    self._pname[id(p)] = f"{lname}.{pn}" if lname != type(model).__name__ else pn
                    self._player[id(p)] = lname
        self._trainable = [pid for pid, p in self._params.items() if p.requires_grad]
        self._hits = {pid: 0 for pid in self._trainable}
        self._layer_pids = {n: [id(p) for p in m.parameters(recurse=False) if p.requires_grad]
                            for n, m in self._parametric}
        self._layer_pids = {n: v for n, v in self._layer_pids.items() if v}
        self._called: set[str] = set()
        self._quiet_ids = {id(m) for _, m in self._layers if m is not model}
        self._sched = False
        self._set_flags()
        self._t_loop = time.perf_counter()
        self._record_frozen()
        if self.keep_init:
            self._guard("initial weights", self._keep_initial_state)

        # monitored parameters for the zero_grad bookkeeping: spread over those the optimizer steps
        opt_ids = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        tr = [pid for pid in self._trainable if pid in opt_ids] or self._trainable
        picks = list(dict.fromkeys(tr[round(i * (len(tr) - 1) / max(_MONITORED - 1, 1))]
                                   for i in range(_MONITORED))) if tr else []
        gen = torch.Generator().manual_seed(0)  # private: never the user's stream
        self._mon: dict[int, dict] = {}
        with preserve_rng():
            for pid in picks:
                p = self._params[pid]
                k = min(p.numel(), _FP_SIZE)
                v = torch.randn(k, 2, generator=gen, dtype=torch.float32).to(p.device)
                self._mon[pid] = {"V": v, "k": k, "Q": None, "log": [], "checked": 0}

        # gradient hooks: always on two sentinels (the first and last trainable parameter: a backward of this
        # model reaches them), on every trainable parameter on checking steps (see _grad_hooks)
        self._sentinels = list(dict.fromkeys([self._trainable[0], self._trainable[-1]])) if self._trainable else []
        for pid in self._sentinels:
            self._handles.append(self._params[pid].register_hook(functools.partial(self._on_grad, pid)))
        self._grad_handles: list = []
        self._grad_hooks()
        if self._use_pre_hook:
            self._handles.append(self.optimizer.register_step_pre_hook(self._on_step_pre))
        self._handles.append(self.optimizer.register_step_post_hook(self._on_step_post))
        self._fwd_mode = None
        self._forward_hooks()
        self._loss_base = torch.nn.modules.loss._Loss
        _ACTIVE.append(self)
        _install_backward()
        self._active = True
        if not self._redescribed:
            self._param_ids = {id(p) for p in model.parameters()}
            self._first_fwd_handle = model.register_forward_pre_hook(self._on_first_forward)
            self._handles.append(self._first_fwd_handle)

    def _on_first_forward(self, module, args) -> None:
        """Before the model's first forward: if its parameters changed since the watcher was set up (a layer
        replaced after the optimizer was built: ``model.fc = nn.Linear(...)``), describe the model again, as
        it trains. Runs once."""
        h, self._first_fwd_handle = self._first_fwd_handle, None
        if h is not None:  # runs once: a pre-hook left in place is a cost of every forward
            h.remove()
        if not self._redescribed:
            self._guard("re-describe", self._redescribe)
        return None

    def _redescribe(self) -> None:
        self._redescribed = True
        if {id(p) for p in self.model.parameters()} == self._param_ids:
            return
        self._remove_hooks()
        self.recording.events.clear()
        self._events.clear()
        self._setup()
        self.recording.run["redescribed"] = "the model's parameters changed between watch() and its first forward"

    def _keep_initial_state(self) -> None:
        """A CPU copy of the weights and buffers before training: fix trials start their copies from it."""
        import torch

        state = self.model.state_dict()
        if sum(v.numel() for v in state.values() if isinstance(v, torch.Tensor)) > _INIT_STATE_LIMIT:
            return
        with torch.no_grad():
            self.init_state = {k: (v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor) else v)
                               for k, v in state.items()}

    def _record_frozen(self) -> None:
        frozen = [(n, self._fact_of[n]) for n, _ in self._parametric if not self._fact_of[n].trainable]
        if not frozen:
            return
        ev = {"kind": "frozen", "step": 0, "layers": [n for n, _ in frozen],
              "default_init": [n for n, lf in frozen if lf.init == "torch_default"],
              "n_parametric": len(self._parametric),
              "last_layer_frozen": self._parametric[-1][0] in {n for n, _ in frozen},
              "n_frozen_values": sum(lf.n_params for _, lf in frozen)}
        ev["locations"] = [_loc_dict(l) for l in self._search(r"requires_grad\s*=\s*False|requires_grad_\(\s*False",
                                                              whole_file=True)]
        self._event(ev)

    # -- event & warning helpers -----------------------------------------------------------------------
    def _event(self, ev: dict, publish: bool = True) -> dict:
        """Keep ``ev`` (updated in place later); put it in ``recording.events`` now or on ``_publish``."""
        self._events[ev["kind"]] = ev
        if publish:
            self._publish(ev)
        return ev

    def _publish(self, ev: dict) -> None:
        if not any(e is ev for e in self.recording.events):
            self.recording.events.append(ev)

    def _warn(self, where: str, e: BaseException) -> None:
        self._broken.add(where)
        self.recording.warn(f"trainmedic torch watcher: {where} failed ({type(e).__name__}: {e}); "
                            "that probe is switched off, training is unaffected")

    def _guard(self, where: str, fn, *args) -> Any:
        """Run one probe: an exception becomes a warning and switches that probe off for the run."""
        if where in self._broken:
            return None
        try:
            return fn(*args)
        except Exception as e:
            self._warn(where, e)
            return None

    def _search(self, pattern: str, in_model: bool = True, in_caller: bool = True, limit: int = 2,
                whole_file: bool = False) -> list:
        """Lines of the user's code matching ``pattern``: the model's class source, then the watch() file
        (up to the ``watch()`` line unless ``whole_file``)."""
        found: list[Location] = []
        spans = []
        if in_model:
            span = _source_span(type(self.model))
            if span:
                spans.append(span)
        if in_caller and self._frame_info:
            file, line = self._frame_info[0], self._frame_info[1]
            spans.append((file, 1, line))
            if whole_file:
                spans.append((file, line + 1, None))
        for file, a, b in spans:
            for n in _find_lines(file, pattern, a, b):
                loc = sites.location(file, n)
                if all((loc.file, loc.line) != (x.file, x.line) for x in found):
                    found.append(loc)
        return found[:limit]

    # -- hooks -----------------------------------------------------------------------------------------
    def _on_backward(self, t) -> tuple | None:
        """Before ``t.backward()``: note the loss and where backward is called (kept only if it reaches
        this model's parameters, see :meth:`_after_backward`). The functional loss is read now: autograd
        frees what it saved during the backward."""
        return self._guard("backward", self._before_backward, t)

    def _before_backward(self, t) -> tuple:
        needed = self._n_backward == 0 or self._check or self._checking_loss()
        loc = sites.user_location() if needed else self._backward_loc
        covered = len(self._module_losses) == self._backwards_since + 1  # this backward's loss module value
        value = _unscaled(t) if not covered and t.numel() == 1 else None
        found = None
        if len(self._module_losses) <= self._backwards_since and t.grad_fn is not None \
                and (self._checking_loss() or self.recording.facts.loss is None):
            found = self._guard("functional loss", D.functional_loss, t)
        if self._last_x is not None and len(self._module_losses) <= self._backwards_since \
                and t.grad_fn is not None:
            f = found if found is not None else self._guard("functional loss", D.functional_loss, t)
            if f is not None:
                self._guard("trial sample", self._pair, f[2])
        return self._hit_total, loc, value, found, (t.grad_fn if found is not None else None)

    def _after_backward(self, token: tuple | None) -> None:
        if token is not None:
            self._guard("backward", self._count_backward, token)

    def _count_backward(self, token: tuple) -> None:
        hits, loc, value, found, fn = token
        if self._hit_total == hits and self._trainable:
            return  # another model's backward (a second watcher, a GAN's other network)
        self._n_backward += 1
        self._backwards_since += 1
        self._backward_loc = loc
        if self._n_backward == 1:
            self._first_backward_loc = loc
        if value is not None:
            self._backward_vals.append(value)
        if found is not None:
            fact, inp, target, before = found
            self._guard("loss", self._observe_loss, fact, inp, target, self._functional_loss_line(), before, True)
            if self.loss_module is None and self.loss_functional is None:
                self.loss_functional = fact.name
                import torch

                self.loss_link = {"link": self._functional_link(fn), "output_shape": self._last_out_shape,
                                  "input_shape": list(inp.shape) if isinstance(inp, torch.Tensor) else None}

    def _functional_loss_line(self) -> Location | None:
        """For a functional loss: the line assigning the tensor whose ``.backward()`` was called."""
        loc = self._backward_loc
        if loc is None or not loc.code:
            return loc
        m = re.search(r"(\w+)\s*\.\s*backward\s*\(", loc.code)
        file = os.path.abspath(loc.file)
        n = _assignment_line(file, loc.line, [m.group(1)]) if m else None
        return sites.location(file, n) if n else loc

    def _on_grad(self, pid: int, g) -> None:
        self._hits[pid] += 1
        self._hit_total += 1
        if self._check and pid in self._mon:
            self._guard("zero_grad", self._fingerprint_backward, pid, self._mon[pid], g)
        return None  # never replace the gradient

    def _fingerprint_backward(self, pid: int, mon: dict, g) -> None:
        import torch

        with torch.no_grad():
            pre = self._params[pid].grad  # still without this backward's gradient
            mon["log"].append((None if pre is None else self._fp(pre, mon), self._fp(g, mon)))

    def _fp(self, g, mon: dict):
        if g.is_sparse:
            g = g.to_dense()
        return g.detach().reshape(-1)[: mon["k"]].float() @ mon["V"]

    def _checking_loss(self) -> bool:
        return self._loss_checks < 3 or self._sched

    def _on_forward(self, module, args, kwargs, output) -> None:
        if not self._active or (self._quiet and id(module) in self._quiet_ids):
            return
        self._guard("forward hook", self._forward, module, args, kwargs, output)

    def _on_lean_loss(self, module, args, kwargs, output) -> None:
        """The loss module's hook in 'lean' mode (quiet steps, everything but the loss already known): keep
        the loss value, nothing else. The model's own hooks are off; the loss module was seen to take the
        model's output on every checked step."""
        if not self._lean:
            return self._on_forward(module, args, kwargs, output)
        try:
            if output.requires_grad and output.numel() == 1:
                self._module_losses.append(output.detach())
        except Exception as e:  # never break the user's training
            self._warn("loss", e)

    def _forward(self, module, args, kwargs, output) -> None:
        import torch

        if isinstance(module, self._loss_base):
            if torch.is_grad_enabled():
                self._guard("loss", self._on_loss_module, module, args, kwargs, output)
            return
        name = self._name_of.get(id(module))
        if name is None or not torch.is_grad_enabled():
            return
        self._called.add(name)
        if module is self.model:
            self._guard("model output", self._on_model_output, args, kwargs, output)
            return
        if self._order is not None:
            self._order.append(name)
        elif not self._order_done:
            self._order = [name]
        if self._sched:
            self._guard("activations", self._probe_activation, name, module, args, output)

    def _on_model_output(self, args, kwargs, output) -> None:
        if self._quiet and self._data_done and self.single_input is not None and not self._pairing():
            # between scheduled steps, once the data facts are in: only what the loss hooks compare with
            self._last_out_fn = getattr(_first_tensor(output), "grad_fn", None)
            self._last_x = None
            return
        import torch

        x = _first_tensor(args) if args else _first_tensor(kwargs)
        out = _first_tensor(output)
        self._last_out_fn = getattr(out, "grad_fn", None)
        self._last_out_shape = list(out.shape) if out is not None else None
        if self.single_input is None:
            self.single_input = len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor)
        self._last_x = x if self._pairing() else None
        if not self._order_done:
            if self._prev_layer is not None and out is not None and id(out) not in self._act_outputs:
                self._guard("activations", self._after_layer, *self._prev_layer, out, False, True)
            self._order_done = True
            self._quiet = not self._sched
            self._guard("forward order", self._set_forward_order, self._order or [], out)
            self._order = None
        self._act_calls.clear()
        self._act_outputs.clear()
        self._prev_layer = None
        if x is not None and not self._data_done:
            if not self._x_rows:
                self._guard("data origin", self._data_origin, x)
            self._guard("data", self._collect, self._x_rows, x)
        if x is not None and self.recording.facts.training.batch_size is None and x.dim() > 0:
            self.recording.facts.training.batch_size = int(x.shape[0])
        if out is not None and self._sched and ("out", self.step) not in self._done_this_step:
            self._done_this_step.add(("out", self.step))
            self._out_stash = _numpy(out, 512)
            self._output_kind = _value_kind(self._out_stash)

    def _set_forward_order(self, order: list[str], out) -> None:
        """Re-describe the model from the first forward: call order (custom modules may reuse one ReLU or
        define layers out of order) and the activations applied functionally inside ``forward``."""
        mf = self.recording.facts.model
        seq: list[LayerFact] = []
        for n in order:
            if n in self._fact_of:
                seq.append(self._fact_of[n])
                if n in self._synthetic:
                    seq.append(self._synthetic[n])
        first = list(dict.fromkeys(id(lf) for lf in seq))
        by_id = {id(lf): lf for lf in seq}
        mf.layers = [by_id[i] for i in first] + [lf for lf in mf.layers if id(lf) not in by_id]
        from ..keras.describe import output_activation

        act, _ = output_activation(seq)
        last = next((lf for lf in reversed(seq) if lf.parametric), None)
        mf.output_units = last.units if last else mf.output_units
        mf.output_activation = act
        if out is not None and act == "linear" and out.dim() == 2 and out.shape[1] >= 2:
            kind = _value_kind(_numpy(out, 512))["kind"]
            if kind == "probabilities":
                mf.output_activation = "softmax"
            elif kind == "log_probabilities":
                mf.output_activation = "log_softmax"

    def _probe_activation(self, name: str, module, args, output) -> None:
        import torch

        lf = self._fact_of[name]
        if not isinstance(output, torch.Tensor):
            return
        if lf.is_activation_layer:
            self._act_outputs.add(id(output))
            k = self._act_calls.get(id(module), 0)
            self._act_calls[id(module)] = k + 1
            self._record_activation(name if k == 0 else f"{name}.{k}", lf.activation, output)
            return
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        prev, self._prev_layer = self._prev_layer, (name, output)
        if x is not None and prev is not None and id(x) not in self._act_outputs:
            self._after_layer(prev[0], prev[1], x)

    def _after_layer(self, pname: str, pout, x, probe: bool = True, last: bool = False) -> None:
        """``x`` left layer ``pname`` through code inside ``forward``: name that activation on the first
        forward and probe it on scheduled steps. After a weight layer it becomes the layer's activation (like
        Keras ``Dense(activation=...)``); after another layer (batch norm ...) an activation entry of its own,
        ``relu(bn)``. An unrecognised op after a hidden weight layer is 'custom' (unknown, maybe nonlinear)."""
        lf = self._fact_of[pname]
        if not self._order_done and pname not in self._func_act:
            act = D.functional_activation(pout, x)
            if act is None and lf.parametric and not last and lf.activation is None:
                act = "custom"
            self._func_act[pname] = act
            if act not in (None, "linear", "custom") and not lf.parametric:
                self._synthetic[pname] = LayerFact(name=f"{act}({pname})", kind=f"F.{act}", activation=act,
                                                   is_activation_layer=True)
            elif act is not None and lf.parametric and lf.activation is None:
                lf.activation = act
        act = self._func_act.get(pname)
        if probe and act in (D.DEAD_KINDS | D.SATURATING) and x.shape == pout.shape:
            key = self._synthetic[pname].name if pname in self._synthetic else pname
            self._record_activation(key, act, x)

    def _record_activation(self, key: str, act: str | None, t) -> None:
        if act not in (D.DEAD_KINDS | D.SATURATING) or (key, self.step) in self._done_this_step:
            return
        self._done_this_step.add((key, self.step))
        a = _channels_last(_numpy(t, 256), self._conv_first and t.dim() >= 3)
        if act in D.DEAD_KINDS:
            self.recording.record(f"dead_fraction/{key}", self.step, probes.dead_fraction(a))
        else:
            self.recording.record(f"saturation/{key}", self.step, probes.saturation(a, act))

    def _on_loss_module(self, module, args, kwargs, output) -> None:
        import torch

        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            return
        inp = args[0] if len(args) > 0 else kwargs.get("input")
        if not self._from_model(inp):
            if module is self.loss_module:
                self._loss_shared = True  # the same module computes another model's loss: never lean
            return  # a loss of another model
        if output.numel() == 1:
            self._module_losses.append(output.detach())
        target = args[1] if len(args) > 1 else kwargs.get("target")
        if self.loss_module is not None and module is not self.loss_module:
            self._loss_unstable = True  # a second loss module, or a new one each step: stay global
        if self.loss_module is None or module is self.loss_module:
            if self.loss_module is None and isinstance(inp, torch.Tensor):
                self.loss_link = {"link": self._link(getattr(inp, "grad_fn", None)),
                                  "input_shape": list(inp.shape), "output_shape": self._last_out_shape}
            self.loss_module = module
        if self._last_x is not None:
            self._guard("trial sample", self._pair, target)
        if isinstance(target, torch.Tensor) and not self._data_done:
            self._guard("data", self._collect, self._y_rows, target)
        if not (self._checking_loss() or self.recording.facts.loss is None):
            return
        fact = D.loss_fact(module)
        frame = _user_frame()
        loc = sites.location(frame.f_code.co_filename, frame.f_lineno) if frame is not None else None
        if fact.location is None and frame is not None:
            n = _assignment_line(frame.f_code.co_filename, frame.f_lineno, _names_of(module, frame))
            fact.location = sites.location(frame.f_code.co_filename, n) if n else None
        del frame
        self._observe_loss(fact, inp, target, loc, None, functional=False)

    def _link(self, fn) -> str:
        """How a loss input (autograd node ``fn``) relates to the model's last output: 'identity', 'view'
        (reshapes/squeezes only) or 'other' (an op the fix trials cannot reproduce)."""
        target = self._last_out_fn
        if target is None or fn is None:
            return "other"
        for i in range(4):
            if fn is target:
                return "identity" if i == 0 else "view"
            if fn is None or type(fn).__name__ not in _VIEW_NODES or not fn.next_functions:
                return "other"
            fn = fn.next_functions[0][0]
        return "other"

    def _functional_link(self, fn) -> str:
        """:meth:`_link` for a functional loss: the input edge of the loss node below the loss tensor's
        wrappers (``F.cross_entropy``'s log-softmax included)."""
        frontier = [fn]
        for _ in range(5):
            nxt = []
            for node in frontier:
                if node is None:
                    continue
                kind = type(node).__name__
                if kind in D._GRAD_FN_LOSS:
                    inp = node.next_functions[0][0] if node.next_functions else None
                    if inp is not None and type(inp).__name__ == "LogSoftmaxBackward0" and inp.next_functions:
                        inp = inp.next_functions[0][0]
                    return self._link(inp)
                if kind in D._GRAD_FN_WRAPPERS:
                    nxt.extend(n for n, _ in node.next_functions if n is not None)
            frontier = nxt
        return "other"

    def _from_model(self, t) -> bool:
        """Whether tensor ``t`` was computed from the watched model's last output (a few ops back)."""
        target = self._last_out_fn
        if target is None or t is None:
            return True
        first = getattr(t, "grad_fn", None)
        if first is target or (first is not None and first.next_functions
                               and first.next_functions[0][0] is target):
            return True
        nodes, seen = [getattr(t, "grad_fn", None)], 0
        for _ in range(6):
            nxt = []
            for n in nodes:
                if n is None:
                    continue
                if n is target:
                    return True
                seen += 1
                nxt.extend(c for c, _ in n.next_functions)
            nodes = nxt[:64]
        return seen == 0  # no graph to follow (e.g. an input without grad): do not exclude

    def _observe_loss(self, fact, inp, target, loc: Location | None, before: list | None,
                      functional: bool) -> None:
        import torch

        facts = self.recording.facts
        if facts.loss is None:
            if fact.location is None:
                fact.location = loc
            facts.loss = fact
        self._loss_checks += 1
        if functional and isinstance(target, torch.Tensor) and not self._data_done:
            self._guard("data", self._collect, self._y_rows, target)
        if not isinstance(inp, torch.Tensor) and not (functional and fact.name == "cross_entropy"):
            return
        # shape broadcasting inside an element-wise loss
        if fact.name not in ("cross_entropy", "nll", "ctc", "multi_margin") and isinstance(target, torch.Tensor) \
                and isinstance(inp, torch.Tensor):
            in_shape = list(before) if before else list(inp.shape)
            try:
                result = list(torch.broadcast_shapes(tuple(in_shape), tuple(target.shape)))
            except RuntimeError:
                result = None
            if (result is not None and in_shape != list(target.shape) and result != in_shape) \
                    or (before and list(before) != list(inp.shape)):
                ev = self._events.get("loss_broadcast")
                if ev is None:
                    ev = self._event({"kind": "loss_broadcast", "step": self.step, "loss": fact.name,
                                      "input_shape": in_shape,
                                      "target_shape": None if before else list(target.shape),
                                      "result_shape": result or list(inp.shape), "count": 0,
                                      "location": _loc_dict(loc)})
                ev["count"] += 1
        # an activation the loss applies itself, or log-probabilities it expects
        expects = "logits" if fact.applies else ("log_probabilities" if fact.name == "nll" else None)
        if expects is None:
            return
        if functional and fact.name == "cross_entropy" and inp is None:
            seen = self._output_kind  # the saved input is already log-softmaxed: judge the model output
        else:
            seen = _value_kind(_numpy(inp, 512))
        if seen is None:
            return
        bad = {"softmax": ("probabilities",), "sigmoid": ("probabilities", "unit_interval")}.get(fact.applies, ()) \
            if fact.applies else ("probabilities", "unit_interval", "real")
        ev = self._events.get("loss_input")
        if ev is None:
            ev = self._event({"kind": "loss_input", "step": None, "loss": fact.name, "applies": fact.applies,
                              "expects": expects, "checked": 0, "matching": 0, "observed": None,
                              "first_check_step": self.step, "last_check_step": self.step,
                              "output_activation": self.recording.facts.model.output_activation,
                              "location": _loc_dict(loc), "source": None}, publish=False)
        ev["checked"] += 1
        ev["last_check_step"] = self.step
        if seen["kind"] in bad:
            ev["matching"] += 1
            if ev["step"] is None:
                self._publish(ev)
                ev["step"] = self.step
                ev.update({k: seen[k] for k in ("min", "max", "row_sum") if k in seen})
                ev["observed"] = seen["kind"]
                if seen["kind"] == "real":  # raw logits into NLLLoss: point at what forward returns
                    span = _source_span(type(self.model).forward)
                    lines = _find_lines(span[0], r"^\s*return\b", span[1], span[2]) if span else []
                    src = [sites.location(span[0], lines[-1])] if lines else []
                else:
                    src = self._search(r"[Ss]oftmax|[Ss]igmoid", limit=1, whole_file=True)
                ev["source"] = _loc_dict(src[0]) if src else None

    def _collect(self, rows: list, t) -> None:
        have = sum(len(r) for r in rows)
        if have >= self.sample_size or t.dim() == 0:
            return
        per_row = max(int(t[0].numel()) if t.dim() > 1 else 1, 1)
        limit = min(self.sample_size - have, max(1, 2_000_000 // per_row) - have)
        if limit <= 0:
            return
        rows.append(_numpy(t, limit))
        if sum(len(r) for r in self._x_rows) >= self.sample_size and \
                sum(len(r) for r in self._y_rows) >= self.sample_size:
            self._finish_data()

    def _data_origin(self, x) -> None:
        """Where the training inputs were last assigned: a tensor or array in the calling user frame with the
        batch's feature shape and more rows than the batch (``X_train``, sliced into ``X_train[idx]``)."""
        frame = _user_frame()
        if frame is None or x.dim() == 0:
            return
        feat, rows = tuple(x.shape[1:]), int(x.shape[0])
        file, line = frame.f_code.co_filename, frame.f_lineno
        scope = {**frame.f_globals, **frame.f_locals}
        del frame
        names = []
        for k, v in scope.items():
            shape = getattr(v, "shape", None)
            if k.startswith("_") or shape is None or not hasattr(v, "dtype"):
                continue
            try:
                if len(shape) == x.dim() and tuple(shape[1:]) == feat and int(shape[0]) > rows:
                    names.append(k)
            except TypeError:
                continue
        text = linecache.getline(file, line)
        named = [k for k in names if re.search(r"\b%s\b" % re.escape(k), text)]  # model(X_train[idx])
        if not named:  # a batch made on an earlier line: the candidate that holds its first row
            first = _numpy(x, 1)
            named = [k for k in names if _holds_row(scope[k], first)]
        n = _assignment_line(file, line, named)
        if n is not None:
            self.recording.facts.data.origin = sites.location(file, n)

    def _pairing(self) -> bool:
        """Are input rows still being paired with their targets for the fix trials' sample?"""
        return self.keep_init and self._pair_rows < self.sample_size

    def _pair(self, target) -> None:
        """Keep rows of the last forward's input with the target its loss received (the trials' sample)."""
        import torch

        x, self._last_x = self._last_x, None
        if x is None or not isinstance(target, torch.Tensor) or target.dim() == 0 or x.dim() == 0 \
                or target.shape[0] != x.shape[0]:
            return
        per_row = max(int(x[0].numel()), 1)
        rows = min(self.sample_size - self._pair_rows, max(1, 2_000_000 // per_row) - self._pair_rows)
        if rows <= 0:
            return
        self._pairs.append((_numpy(x, rows), _numpy(target, rows)))
        self._pair_rows += len(self._pairs[-1][0])

    def _build_sample(self) -> None:
        pairs, self._pairs = self._pairs, []
        self.sample = (np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs]))

    def _finish_data(self) -> None:
        if self._data_done:
            return
        self._data_done = True
        data = self.recording.facts.data
        if self._x_rows:
            x = np.concatenate(self._x_rows)
            af = probes.array_facts(_channels_last(x, self._conv_first and x.ndim >= 3))
            af.shape = list(x.shape)
            data.inputs = [af]
            data.sample_size = len(x)
        if self._y_rows:
            data.targets = [probes.label_facts(np.concatenate(self._y_rows))]
        self._x_rows, self._y_rows = [], []

    def _loop_location(self, outermost: bool = False) -> Location | None:
        """The loop statement around the first ``backward()`` call (the user's batch loop; with
        ``outermost`` the outermost loop of that function, usually the epoch loop)."""
        loc = self._first_backward_loc
        if loc is None:
            return None
        file = os.path.abspath(loc.file)
        n = _enclosing_loop(file, loc.line, outermost)
        return sites.location(file, n) if n else None

    def _on_step_pre(self, optimizer, args, kwargs) -> None:
        self._guard("step pre-hook", self._step_pre)

    def _step_pre(self) -> None:
        s = self.step
        self._guard("lr", self._record_lr, s)
        loss = self._guard("loss", self._step_loss)
        if not self.model.training:
            self._guard("eval mode", self._eval_mode, s)
        if not self._busy:
            # between scheduled steps only the loss is kept (no device sync, no reduction)
            self._pending.append((s, loss, [], None, False))
            return
        opt_ids = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        pids, norms = self._guard("grads", self._step_grads, s, opt_ids) or ([], None)
        self._pending.append((s, loss, pids, norms, self._sched))
        if self._check:
            self._guard("zero_grad", self._check_accumulation, s, opt_ids)
        if self._sched:
            self.probed_steps += 1
            self._guard("optimizer params", self._check_optimizer_params, s, opt_ids)
            self._guard("flush", self._flush)
            self._guard("predictions", self._probe_predictions, s)
            self._guard("weights", self._snapshot_weights)

    def _record_lr(self, s: int) -> None:
        """The learning rate on scheduled steps and whenever it changes (a schedule's steps stay exact)."""
        g0 = self.optimizer.param_groups[0] if self.optimizer.param_groups else {}
        lr = g0.get("lr")
        if lr is None:
            return
        if self._sched or lr != self._last_lr:
            self._last_lr = lr
            self.recording.record("lr", s, float(lr))

    def _step_loss(self):
        """This step's loss (a tensor, not synced): logged values, else loss-module outputs when there is one
        per backward (so a scaled ``scaler.scale(loss)`` or ``loss / k`` is not what is recorded), else the
        tensors ``backward()`` was called on; the mean when there are several (accumulation)."""
        import torch

        n_b = self._backwards_since
        mods = self._module_losses
        vals = self._logged or (mods if mods and len(mods) == n_b else self._backward_vals or mods)
        if not vals:
            return None
        if len(vals) == 1:
            return vals[0] if isinstance(vals[0], torch.Tensor) else torch.tensor(float(vals[0]))
        return torch.stack([v.float().cpu().reshape(()) if isinstance(v, torch.Tensor) else torch.tensor(float(v))
                            for v in vals]).mean()

    def _step_grads(self, s: int, opt_ids: set[int]) -> tuple[list[int], Any]:
        """The gradient norms of this step (scheduled and checking steps); an optimizer step that finds every
        gradient cleared after a backward is counted (``no_step``, of ``checked`` steps)."""
        self._grad_checks += 1
        pids = [pid for pid in self._trainable if self._params[pid].grad is not None]
        if self._backwards_since and not any(p in opt_ids for p in pids) \
                and any(p in opt_ids for p in self._trainable):
            self._empty_step(s)
        return pids, self._grad_norms(pids)

    def _grad_norms(self, pids: list[int]):
        import torch

        if not pids:
            return None
        with torch.no_grad():
            grads = [self._params[p].grad for p in pids]
            grads = [g.to_dense() if g.is_sparse else g for g in grads]
            if all(g.dtype in (torch.float32, torch.float64) and g.device == grads[0].device for g in grads):
                try:
                    return torch.stack([n.float() for n in torch._foreach_norm(grads)])
                except Exception:
                    pass
            return torch.stack([torch.linalg.vector_norm(g, dtype=torch.float32).to(grads[0].device)
                                for g in grads])

    def _flush(self) -> None:
        """Turn pending per-step tensors into numbers (one device sync per schedule tick)."""
        import torch

        pending, self._pending = self._pending, []
        rec = self.recording
        losses = [p[1] for p in pending if p[1] is not None]
        lv = iter(torch.stack([l.float().cpu().reshape(()) for l in losses]).tolist() if losses else [])
        norms_all = [p[3].cpu() for p in pending if p[3] is not None]
        nv_all = iter(torch.cat(norms_all).tolist() if norms_all else [])
        for s, loss, pids, norms, probed in pending:
            if loss is not None:
                v = next(lv)
                rec.record("loss", s, v)
                if not math.isfinite(v):
                    self._nonfinite(s, "loss")
            if norms is None:
                continue
            nv = [next(nv_all) for _ in pids]
            if not all(math.isfinite(x) for x in nv):
                bad = next(i for i, x in enumerate(nv) if not math.isfinite(x))
                self._nonfinite(s, f"grad:{self._player[pids[bad]]}")
            if probed:
                per: dict[str, float] = {}
                for pid, x in zip(pids, nv):
                    lname = self._player[pid]
                    if lname in self._layer_pids:
                        per[lname] = per.get(lname, 0.0) + x * x
                for lname in self._layer_pids:
                    if lname in per:
                        rec.record(f"grad_norm/{lname}", s, math.sqrt(per[lname]))

    def _nonfinite(self, step: int, where: str) -> None:
        """One ``nonfinite`` event per kind (loss, grad, weights): the first step and layer."""
        what = where.split(":")[0]
        if what not in self._nonfinite_seen:
            self._nonfinite_seen.add(what)
            self.recording.events.append({"kind": "nonfinite", "step": step, "where": where})

    def _probe_predictions(self, s: int) -> None:
        """The distribution of the model's output on this step's batch (as probabilities for the loss)."""
        a, self._out_stash = self._out_stash, None
        if a is None or a.ndim > 2:
            return
        loss = self.recording.facts.loss
        if loss is not None and loss.name not in D.CLASSIFICATION_LOSSES:
            pred = {"input_spread": probes.predictions(a)["input_spread"]}  # regression: only the spread
        else:
            if loss is not None and loss.applies == "sigmoid":
                a = 1.0 / (1.0 + np.exp(-np.clip(a, -60, 60)))
            pred = probes.predictions(a)
        for k in ("histogram", "entropy", "max_prob", "input_spread"):
            if k in pred:
                self.recording.record(f"pred/{k}", s, pred[k])

    def _snapshot_weights(self) -> None:
        import torch

        with torch.no_grad():
            snap = {n: [self._params[p].detach().clone() for p in pids] for n, pids in self._layer_pids.items()}
            norms = {n: torch.sqrt(sum((w.float() ** 2).sum() for w in ws)) for n, ws in snap.items()}
            vals = torch.stack(list(norms.values())).cpu().tolist() if norms else []
        for n, v in zip(norms, vals):
            self.recording.record(f"weight_norm/{n}", self.step, v)
            if not math.isfinite(v):
                self._nonfinite(self.step, f"weights:{n}")
        self._snapshot = snap

    def _on_step_post(self, optimizer, args, kwargs) -> None:
        if self._snapshot is not None:
            self._guard("weights", self._update_ratios)
        self._charge()
        self._was_sched = self._sched
        self.step += 1
        self._set_flags()
        if self._check:  # what p.grad holds after the step: if the next backward finds it, it was not cleared
            self._guard("zero_grad", self._remember_step_grads)
        self.recording.run["steps"] = self.step
        self._backwards_since = 0
        self._backward_vals, self._module_losses, self._logged = [], [], []
        if self._done_this_step:
            self._done_this_step.clear()
        if self.after_step is not None:
            self.after_step(self)

    def stop_check(self, deadline: float | None, stop_when_diagnosed: bool, halt_on=None) -> dict | None:
        """Why the training should end after this step, or None: ``deadline`` (``time.time()``) passed, or -
        judged on scheduled steps from step 16 on - a measured, confident cause (``engine.stopping_cause``).
        A stop is recorded (``recording.mark_stopped``); acting on it is the caller's business."""
        info = None
        if deadline is not None and time.time() > deadline:
            info = {"step": self.step, "cause": None, "reason": "max-seconds reached"}
        elif stop_when_diagnosed and not self._stop_check_failed and self.step >= 16 \
                and self._was_sched:
            try:
                from ...engine import stopping_cause

                c = stopping_cause(self.judge_now(), halt_on)
            except Exception as e:  # never break the user's training: stop checking instead
                self.recording.warn(f"stop check failed: {type(e).__name__}: {e}")
                self._stop_check_failed = True
                return None
            if c is not None:
                info = {"step": self.step, "cause": c.id, "score": round(c.score, 3),
                        "reason": f"{c.id} diagnosed with score {c.score:.2f}"}
        if info is not None:
            self.recording.mark_stopped(info)
        return info

    def judge_now(self):
        """Judge what was recorded so far (pending numbers flushed, data facts from the rows seen)."""
        from ...engine import judge

        self._flush()
        if not self._data_done and self._x_rows:
            self._finish_data()
        return judge(self.recording, select=self.select, ignore=self.ignore)

    def _update_ratios(self) -> None:
        """|change made by this step| / |weights| per layer (on scheduled steps, from the pre-step copy)."""
        import torch

        if self._snapshot is not None:
            snap, self._snapshot = self._snapshot, None
            with torch.no_grad():
                ratios = []
                for n, old in snap.items():
                    new = [self._params[p] for p in self._layer_pids[n]]
                    d = torch.sqrt(sum(((a.float() - b.float()) ** 2).sum() for a, b in zip(new, old)))
                    w = torch.sqrt(sum((b.float() ** 2).sum() for b in old))
                    ratios.append(d / torch.clamp(w, min=1e-12))
                vals = torch.stack(ratios).cpu().tolist() if ratios else []
            for n, v in zip(snap, vals):
                self.recording.record(f"update_ratio/{n}", self.step, v)

    def _remember_step_grads(self) -> None:
        """Fingerprint what p.grad holds after this step: if the next backward finds it, it was not cleared."""
        import torch

        with torch.no_grad():
            for pid, mon in self._mon.items():
                g = self._params[pid].grad
                mon["Q"] = None if g is None else self._fp(g, mon)
                mon["log"] = []

    # -- wiring checks ---------------------------------------------------------------------------------
    def _check_accumulation(self, s: int, opt_ids: set[int]) -> None:
        """Did the gradient of step s-1 stay in p.grad and reach step s (a missing zero_grad)?"""
        import torch

        for pid, mon in self._mon.items():
            log, mon["log"] = mon["log"], []
            p = self._params[pid]
            if mon["Q"] is None or not log or p.grad is None or pid not in opt_ids:
                continue
            with torch.no_grad():
                G = self._fp(p.grad, mon)
                zero = torch.zeros(2, device=G.device)
                rows = [mon["Q"], G] + [x for pre, fresh in log for x in ((zero if pre is None else pre), fresh)]
                vals = torch.stack(rows).double().cpu().numpy()
            Q, G, pairs = vals[0], vals[1], vals[2:].reshape(-1, 2, 2)
            carried, F = None, np.zeros(2)
            for i, (pre, fresh) in enumerate(pairs):
                if not pre.any():  # p.grad was None or zero: cleared
                    carried, F = False, np.zeros(2)
                elif i == 0:
                    carried = bool(np.allclose(pre, Q, rtol=1e-4, atol=1e-12 + 1e-6 * np.abs(Q).max()))
                F = F + fresh
            mon["checked"] += 1
            if not carried or not np.abs(Q).max() > 0:
                continue
            nf, ng = float(np.linalg.norm(F)), float(np.linalg.norm(G))
            cross = abs(G[0] * F[1] - G[1] * F[0])
            if nf > 0 and ng > 0 and cross <= 1e-3 * nf * ng:
                continue  # the step only saw this step's gradient after all
            ev = self._events.get("grad_accumulation")
            if ev is None:
                loc = self._backward_loc
                loop = self._loop_location()
                self._acc_pid = pid
                ev = self._event({"kind": "grad_accumulation", "step": s, "steps": 0, "checked": 0,
                                  "param": self._pname[pid], "growth": [], "location": _loc_dict(loc),
                                  "loop": _loc_dict(loop), "steps_seen": []})
            if pid == self._acc_pid:
                ev["steps"] += 1
                if len(ev["growth"]) < 12:
                    ev["growth"].append(round(ng / nf, 4) if nf > 0 else None)
                    ev["steps_seen"].append(s)
        if self._acc_pid is not None:
            self._events["grad_accumulation"]["checked"] = self._mon[self._acc_pid]["checked"]

    def _check_optimizer_params(self, s: int, opt_ids: set[int]) -> None:
        with_grad = [pid for pid in self._trainable if self._params[pid].grad is not None]
        missing = [pid for pid in with_grad if pid not in opt_ids]
        if not missing:
            return
        ev = self._events.get("params_not_in_optimizer")
        if ev is None:
            ev = self._event({"kind": "params_not_in_optimizer", "step": s, "layers": [], "params": [],
                              "n_values": 0, "n_grad_values": 0, "n_model_in_optimizer": 0, "count": 0})
            opt_loc = self.recording.facts.optimizer.location if self.recording.facts.optimizer else None
            ev["location"] = _loc_dict(opt_loc)
            ev["step_location"] = _loc_dict(sites.user_location(1))
        ev["count"] += 1
        ev["params"] = [self._pname[p] for p in missing]
        ev["layers"] = list(dict.fromkeys(self._player[p] for p in missing))
        if self.recording.run.get("redescribed") and "replaced_at" not in ev:  # where the new layer came in
            pats = [rf"\[\s*{last}\s*\]\s*=[^=]" if last.isdigit() else rf"\.\s*{re.escape(last)}\s*=[^=]"
                    for last in (n.rsplit(".", 1)[-1] for n in ev["layers"])]
            found = []
            if self._frame_info:  # after the optimizer/watch() line: the replacement came later
                file, line = self._frame_info[0], self._frame_info[1]
                found = [sites.location(file, n) for n in _find_lines(file, "|".join(pats), line + 1, None)]
            ev["replaced_at"] = _loc_dict(found[0]) if found else None
        ev["n_values"] = sum(self._params[p].numel() for p in missing)
        ev["n_grad_values"] = sum(self._params[p].numel() for p in with_grad)
        ev["n_model_in_optimizer"] = sum(1 for p in self._params if p in opt_ids)

    def _eval_mode(self, s: int) -> None:
        ev = self._events.get("eval_mode")
        if ev is None:
            kinds = sorted({type(m).__name__ for m in self.model.modules()
                            if (type(m).__name__ in D.DROPOUT and getattr(m, "p", 0) > 0)
                            or (type(m).__name__ in D.NORM_WITH_STATS and getattr(m, "track_running_stats", False)
                                and any(p.requires_grad for p in m.parameters(recurse=False)))})
            names = (self._frame_info[2] if self._frame_info else []) or ["model"]
            pat = r"(?:%s)\s*\.\s*(?:eval\s*\(\s*\)|train\s*\(\s*(?:False|mode\s*=\s*False)\s*\))" % \
                "|".join(re.escape(n) for n in names)
            found = self._search(pat, in_model=False, whole_file=True)
            found += [c for l in found for c in sites.callers(l)]  # model.eval() inside def evaluate: its calls
            ev = self._event({"kind": "eval_mode", "step": s, "steps": 0, "modules": kinds,
                              "locations": [_loc_dict(l) for l in found],
                              "loop": _loc_dict(self._loop_location(outermost=True)),  # where model.train() goes
                              "step_location": _loc_dict(sites.user_location(1))})
        ev["steps"] += 1

    def _empty_step(self, s: int) -> None:
        ev = self._events.get("no_step")
        if ev is None:
            ev = self._event({"kind": "no_step", "step": s, "steps": 0, "backwards": 0, "reason": "cleared",
                              "location": _loc_dict(sites.user_location(1))})
        ev["steps"] += 1

    def _finish(self) -> None:
        self._flush()
        self._last_x = None
        if self._pairs and self.sample is None:
            self._guard("trial sample", self._build_sample)
        if not self._data_done:
            self._finish_data()
        rec = self.recording
        loop = self._loop_location() or (sites.location(*self._frame_info[:2]) if self._frame_info else None)
        rec.facts.data.location = rec.facts.training.location = loop
        ev = self._events.get("no_step")
        if self.step == 0 and self._n_backward >= 1:
            ev = ev or self._event({"kind": "no_step", "step": 0, "steps": 0, "backwards": 0, "reason": "never",
                                    "location": _loc_dict(self._first_backward_loc)})
            ev["reason"] = "never"
        if ev is not None:
            ev["backwards"] = self._n_backward
            ev["optimizer_steps"] = self.step
            ev["checked"] = self._grad_checks
        self._record_no_grad()
        if "loss" not in rec.signals and self.step > 0:
            rec.warn("trainmedic torch watcher: no loss was seen (no loss module, no Tensor.backward); "
                     "call medic.log_loss(loss) in the loop to record it")

    def _record_no_grad(self) -> None:
        if max(self._n_backward, max(self._hits.values(), default=0)) < 2 or not any(self._hits.values()):
            return
        layers = [n for n, pids in self._layer_pids.items()
                  if n in self._called and all(self._hits[p] == 0 for p in pids)]
        if not layers:
            return
        span = _source_span(type(self.model).forward)
        locs = []
        if span:
            file, a, b = span
            lines = _find_lines(file, r"\.detach\(|\.data\b|no_grad\(|\.numpy\(|\.item\(|\.tolist\(", a, b)
            locs = [sites.location(file, n) for n in lines[:2]] or [sites.location(file, a)]
        opt_ids = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        self._event({"kind": "no_grad", "step": 0, "layers": layers, "backwards": self._n_backward,
                     "in_optimizer": [n for n in layers if any(p in opt_ids for p in self._layer_pids[n])],
                     "n_parametric": len(self._parametric), "locations": [_loc_dict(l) for l in locs]})


def watch(model, optimizer, *, every: int = 50, early: bool = True, save_to: str | None = None,
          sample_size: int = 512, select=None, ignore=None, fix_trials: bool = False,
          trial_budget_s: float = 60.0, max_overhead: float | None = 0.01) -> Watcher:
    """Watch an unchanged PyTorch training loop; diagnose it when the block ends.

    ::

        with trainmedic.torch.watch(model, optimizer) as medic:
            for xb, yb in loader:
                optimizer.zero_grad(); loss = loss_fn(model(xb), yb); loss.backward(); optimizer.step()
        print(medic.diagnosis)

    ``every``: run the scheduled probes (gradient/weight norms, update ratios, activation statistics,
    predictions) every ``every`` optimizer steps, plus steps 0, 1, 2, 4, 8, ... when ``early``.
    ``max_overhead``: a time budget: after step 64, a scheduled probe waits (to a later step) while the
    probed steps have cost more than this fraction of the loop's time so far (default 1%; a probed step costs
    what it took beyond a typical step); ``None``: every scheduled step is probed. Between probes the hooks only keep the loss.
    ``save_to``: save the recording into this directory on exit (also when the loop raised; the exception
    is re-raised). ``sample_size``: samples of inputs/targets summarised into the data facts.
    ``select``/``ignore``: rule codes or names passed to the judge. The loss is captured from loss modules
    and from the tensor ``backward()`` is called on; call ``medic.log_loss(loss)`` for loops that use neither.
    There is no ``stop_when_diagnosed``: trainmedic cannot end a plain loop.
    ``fix_trials``: when the block ends with causes, try the fixes that can be made from outside the loop
    (learning rate, input scaling, loss swap, zero_grad/step, unfreezing, train mode, lighter dropout) on
    copies of the model trained briefly on the sample it saw, within about ``trial_budget_s`` seconds (see
    :mod:`trainmedic.experiments.torch_trials`); off by default to keep ``watch`` cheap. It keeps a CPU copy
    of the initial weights (models up to 25M values).
    """
    return Watcher(model, optimizer, every=every, early=early, save_to=save_to, sample_size=sample_size,
                   select=select, ignore=ignore, fix_trials=fix_trials, trial_budget_s=trial_budget_s,
                   max_overhead=max_overhead)


__all__ = ["Watcher", "watch"]
