"""Learning-rate range test: train a copy while the learning rate grows exponentially, read off a good rate.

The sweep (``start`` to ``end`` over ``steps`` updates, e.g. 1e-7 -> 10 in 100 steps) is framework-free: it
drives a ``train_lrs(lrs, should_stop) -> losses`` callable that performs one optimizer update per learning
rate and stops when ``should_stop(loss)`` says the loss exploded. :func:`keras_train_lrs` provides that
callable for a Keras model copy (an adapter's ``model``).

Reading the curve (smoothed with a bias-corrected exponential moving average):

* ``lr_steepest``: the rate where the smoothed loss falls fastest per decade of learning rate, before its
  minimum;
* ``lr_min_loss``: the rate at the minimum of the smoothed loss (too high to train with: the loss is about
  to rise); one tenth of it is the classic safe choice;
* ``suggestion``: the more conservative of ``lr_steepest`` and ``lr_min_loss / 10``; ``None`` when the
  smoothed loss never fell by 10% (nothing to read: no rate in the sweep trains the set-up).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

EXPLODE_FACTOR = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum
MIN_DROP = 0.1  # the smoothed loss must fall by 10% of its start for the curve to say anything


@dataclass
class LRRangeResult:
    """Outcome of a learning-rate range test; all rates are absolute learning rates."""

    lrs: list[float] = field(default_factory=list)  # the rate of every step actually run
    losses: list[float] = field(default_factory=list)  # raw per-step training losses
    smoothed: list[float] = field(default_factory=list)
    suggestion: float | None = None
    lr_steepest: float | None = None
    lr_min_loss: float | None = None
    lr_explode: float | None = None  # first rate where the loss exploded (None: it never did)
    how: str = ""  # how the suggestion was chosen, in words

    def to_dict(self) -> dict:
        """Plain numbers for ``recording.experiments["lr_range"]``."""
        r = _round
        return {"lrs": [r(v) for v in self.lrs], "losses": [r(v) for v in self.losses],
                "smoothed": [r(v) for v in self.smoothed], "suggestion": r(self.suggestion),
                "lr_steepest": r(self.lr_steepest), "lr_min_loss": r(self.lr_min_loss),
                "lr_explode": r(self.lr_explode), "how": self.how, "steps": len(self.losses)}


def lr_schedule(start: float = 1e-7, end: float = 10.0, steps: int = 100) -> list[float]:
    """Exponentially spaced learning rates from ``start`` to ``end`` (inclusive), ``steps`` of them."""
    if steps < 2:
        return [start]
    return [float(v) for v in np.geomspace(start, end, steps)]


def smoothing_beta(steps: int) -> float:
    """EMA factor giving a window of about a tenth of the sweep (0.9 for 100 steps)."""
    return float(min(0.98, max(0.6, 1.0 - 10.0 / max(steps, 10))))


class ExplosionWatch:
    """Online smoothing of the sweep's losses; ``update(loss)`` returns True once the loss exploded."""

    def __init__(self, beta: float = 0.9, factor: float = EXPLODE_FACTOR, warmup: int = 5):
        self.beta, self.factor, self.warmup = beta, factor, warmup
        self.avg = 0.0
        self.n = 0
        self.best = math.inf
        self.smoothed: list[float] = []

    def update(self, loss: float) -> bool:
        if loss is None or not math.isfinite(loss):
            return True
        self.n += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        s = self.avg / (1 - self.beta ** self.n)
        self.smoothed.append(s)
        self.best = min(self.best, s)
        return self.n > self.warmup and s > self.factor * self.best


def analyse(lrs: Sequence[float], losses: Sequence[float], beta: float | None = None) -> LRRangeResult:
    """Smooth a sweep's losses and pick the learning rates (pure function, no framework)."""
    n = min(len(lrs), len(losses))
    lrs, losses = [float(v) for v in lrs[:n]], [float(v) for v in losses[:n]]
    res = LRRangeResult(lrs=lrs, losses=losses)
    beta = smoothing_beta(len(lrs)) if beta is None else beta
    watch = ExplosionWatch(beta=beta)
    end = n
    for i, loss in enumerate(losses):
        if watch.update(loss):
            res.lr_explode = lrs[i]
            end = i
            break
    sm = watch.smoothed[:end]
    res.smoothed = sm
    if len(sm) < 8:
        res.how = "too few finite steps to read the curve"
        return res
    sm_a = np.asarray(sm)
    log_lr = np.log10(np.asarray(lrs[:len(sm)]))
    i_min = int(np.argmin(sm_a))
    res.lr_min_loss = lrs[i_min]
    start = float(sm_a[: max(3, len(sm) // 20)].mean())
    if not start > 0 or sm_a[i_min] > (1 - MIN_DROP) * start:
        res.lr_min_loss = None
        res.how = (f"the smoothed loss never fell by {MIN_DROP:.0%} (from {start:.4g}, lowest "
                   f"{float(sm_a[i_min]):.4g}): no learning rate in the sweep trains this set-up")
        return res
    skip = max(2, len(sm) // 20)  # the first EMA points are noisy
    grad = np.gradient(sm_a, log_lr)
    window = grad[skip:i_min + 1]
    if window.size:
        i_steep = skip + int(np.argmin(window))
        if grad[i_steep] < 0:
            res.lr_steepest = lrs[i_steep]
    tenth = res.lr_min_loss / 10
    if res.lr_steepest is not None and res.lr_steepest < tenth:
        res.suggestion = res.lr_steepest
        res.how = (f"steepest descent of the smoothed loss at lr {res.lr_steepest:.3g} "
                   f"(minimum at {res.lr_min_loss:.3g})")
    else:
        res.suggestion = tenth
        res.how = (f"one tenth of the lr at the smoothed-loss minimum ({res.lr_min_loss:.3g})"
                   + (f", below the steepest descent at {res.lr_steepest:.3g}" if res.lr_steepest else ""))
    return res


TrainLRs = Callable[[Sequence[float], Callable[[float], bool]], list[float]]


def lr_range_test(train_lrs: TrainLRs, start: float = 1e-7, end: float = 10.0, steps: int = 100) -> LRRangeResult:
    """Run the sweep through ``train_lrs`` (one update per rate, on a copy) and analyse it."""
    lrs = lr_schedule(start, end, steps)
    watch = ExplosionWatch(beta=smoothing_beta(steps))
    losses = train_lrs(lrs, watch.update)
    return analyse(lrs[:len(losses)], losses)


def keras_train_lrs(model, x, y, batch_size: int = 32) -> TrainLRs:
    """A ``train_lrs`` callable for a compiled Keras model copy: the rate is assigned before each batch.

    The optimizer's ``learning_rate`` must be a variable (build the copy with a constant learning rate,
    e.g. ``KerasAdapter(..., lr=1e-7)``). Batches cycle through ``x``/``y`` in order.
    """
    import keras

    from ..integrations.keras.adapter import _length, _slice, _tile

    def run(lrs: Sequence[float], should_stop: Callable[[float], bool]) -> list[float]:
        steps = len(lrs)
        n = _length(x)
        reps = max(1, int(np.ceil(steps * batch_size / max(n, 1))))
        total = steps * batch_size
        xs, ys = _slice(_tile(x, reps), 0, total), _slice(_tile(y, reps), 0, total)
        opt = model.optimizer

        class Sweep(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.losses: list[float] = []
                self._prev = 0.0

            def on_train_batch_begin(self, batch, logs=None):
                opt.learning_rate.assign(float(lrs[min(batch, steps - 1)]))

            def on_train_batch_end(self, batch, logs=None):
                mean = float((logs or {}).get("loss", np.nan))  # Keras logs the epoch's running mean
                k = batch + 1
                loss = mean * k - self._prev * (k - 1)
                self._prev = mean
                self.losses.append(loss)
                if should_stop(loss):
                    self.model.stop_training = True

        cb = Sweep()
        model.fit(xs, ys, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
        return cb.losses

    return run


def _round(v):
    if v is None:
        return None
    v = float(v)
    if not math.isfinite(v):
        return v
    return float(f"{v:.6g}")
