"""The Keras 3 training monitor: a callback that records what happens while ``model.fit`` runs.

``model.fit(x, y, callbacks=[Monitor(probe=(x[:128], y[:128]))])`` records, into a :class:`Recording`:

* every step: the per-batch training loss (recovered from Keras's running epoch means);
* every epoch: ``epoch_loss``, metrics, validation loss and metrics, the learning rate;
* on a schedule (log-spaced early steps 0, 1, 2, 4, ... and then every ``every`` steps) on the fixed probe
  batch: gradient norm, weight norm and update-to-weight ratio per layer, dead / saturated fraction per
  activation layer, the prediction distribution.

The monitor never changes the user's training: gradients are computed in inference mode (``training=False``:
no dropout, no batch-norm statistics update) without touching weights, optimizer state or ``.grad``;
metric variables are restored after a probe; every random-number stream is preserved; the batch hook that
Keras dispatches asynchronously (``on_train_batch_end``) only appends a number to a list. Any exception
inside the monitor becomes a warning in the recording, never a crash of the training.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import keras
import numpy as np

from ... import probes
from ..._rng import preserve_rng
from ...causes import cause_ids
from ...recording import Recording
from .adapter import to_numpy
from .data import Sample
from .describe import ACTIVATION_LAYERS, activation_name, flatten_layers
from .facts import collect_facts

DEAD_KINDS = ("relu", "relu6")  # activations whose units can die (output exactly 0 for every input)
SATURATING_KINDS = ("sigmoid", "tanh", "hard_sigmoid", "hard_tanh")
MAX_PROBE_SAMPLES = 512
METRIC_ALIASES = {"acc": "accuracy", "val_acc": "val_accuracy", "loss": "epoch_loss",
                  "learning_rate": "lr"}


def next_probe_step(step: int, every: int) -> int:
    """The first scheduled probe step after ``step``: log-spaced (1, 2, 4, 8, ...) below ``every``, then
    every multiple of ``every``."""
    every = max(1, int(every))
    nxt = (step // every + 1) * every
    p = 1
    while p <= step:
        p *= 2
    return min(nxt, p) if p < every else nxt


class Monitor(keras.callbacks.Callback):
    """Watch a Keras 3 training run and record the signals trainmedic's dynamic rules judge.

    Args:
        probe: ``(x, y)``, a small fixed batch (at most 512 samples are used) for the scheduled probes
            (gradients, activations, predictions). Without it only loss, metrics and weights are recorded.
        every: probe every ``every`` optimizer steps, plus the log-spaced early steps 0, 1, 2, 4, 8, ...
        stop_when_diagnosed: stop training (``model.stop_training = True``) once a cause is diagnosed with
            a score of at least 0.8 backed by measured evidence (a dynamic rule or a pre-flight experiment).
            Training then ends normally and the script goes on after ``fit``.
        halt_on: stop only for these cause ids (implies stopping).
        max_seconds: stop training (``model.stop_training = True``) once this many seconds have passed since
            the first ``fit`` with this monitor began; the script goes on after ``fit``.
        save_to: a directory: the recording is saved there at the end of training (and by :meth:`save`).
        recording: an existing :class:`Recording` to append to (e.g. one with pre-flight facts).
        max_overhead: a time budget: a scheduled probe (and the final one) waits while the monitor's own
            time (set-up and probes) exceeds this fraction of the training time so far (default 1%). The
            first probe always runs; ``None``: no budget, every scheduled step is probed. For diagnosing a
            short, failing run use ``max_overhead=None`` and a small ``every``.

    After ``fit``: ``monitor.recording`` holds the recording and ``monitor.diagnosis`` the
    :class:`~trainmedic.Diagnosis` (judged on first access, like ``model.history``).
    """

    # Keras runs callbacks whose on_train_batch_end is overridden synchronously unless they declare
    # themselves async-safe. Ours only appends (epoch, step, loss) to a list under a lock.
    async_safe = True

    def __init__(self, probe: tuple | None = None, every: int = 100, stop_when_diagnosed: bool = False,
                 halt_on: Iterable[str] | None = None, save_to: str | Path | None = None,
                 recording: Recording | None = None, max_overhead: float | None = 0.01,
                 max_seconds: float | None = None):
        super().__init__()
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError("max_seconds must be > 0")
        halt = cause_ids(halt_on)
        if probe is not None and (not isinstance(probe, (tuple, list)) or len(probe) != 2):
            raise ValueError("probe must be an (x, y) pair")
        self.probe = probe
        self.every = max(1, int(every))
        self.stop_when_diagnosed = bool(stop_when_diagnosed) or bool(halt)
        self.halt_on = halt
        self.save_to = Path(save_to) if save_to is not None else None
        self.recording: Recording = recording if recording is not None else Recording()
        self.max_overhead = max_overhead
        self.probe_seconds = 0.0  # time spent in set-up and probes: the monitor's own cost
        self._diagnosis = None
        self._lock = threading.Lock()
        self._pending: list[tuple] = []  # (epoch serial, end_step, running mean loss) from the batch hook
        self._prev: dict[int, tuple[int, float]] = {}  # epoch serial -> (batches seen, running mean)
        self._offsets: dict[int, int] = {}  # epoch serial -> global step at the epoch's start
        self._serial = -1
        self._offset = 0
        self._steps_done = 0
        self._epochs_done = 0
        self._next_due = 0
        self._n_probes = 0
        self._t_start = time.perf_counter()
        self._last_probe_step: int | None = None
        self._prev_weights: dict[str, np.ndarray] = {}
        self._nonfinite_seen = False
        self._nonfinite_probe_done = False
        self._events_seen: set[str] = set()
        self._disabled: set[str] = set()
        self._ready = False
        self._stopped = False
        self._own_facts = False
        self._spe, self._nb, self._backend = 1, None, None
        self._layers: list = []
        self._px = self._py = None
        self._fit_seconds = 0.0  # wall time of earlier fits with this monitor
        self.max_seconds = max_seconds
        self.deadline: float | None = None  # time.time() after which training is stopped (from max_seconds)

    # -- public ----------------------------------------------------------------------------------------
    @property
    def diagnosis(self):
        """The :class:`~trainmedic.Diagnosis` of the recording so far (judged once, then cached)."""
        if self._diagnosis is None:
            from ...engine import judge

            self._drain(final=True)
            self._diagnosis = judge(self.recording)
        return self._diagnosis

    def save(self, directory: str | Path | None = None) -> Path | None:
        """Save the recording (``recording.json``) to ``directory`` or ``save_to``; never raises."""
        target = directory if directory is not None else self.save_to
        if target is None:
            return None
        try:
            self._drain(final=True)
            return self.recording.save(target)
        except Exception as e:  # a full disk must not crash the user's script
            self.recording.warn(f"Monitor: could not save the recording to {target}: {type(e).__name__}: {e}")
            return None

    # -- Keras hooks -----------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._guard("start", self._start)

    def on_epoch_begin(self, epoch, logs=None):
        self._serial += 1
        self._offset = self._steps_done
        self._offsets[self._serial] = self._offset

    def on_train_batch_begin(self, batch, logs=None):
        # Runs on the training thread between two steps: the only place where probes may run.
        step = self._offset + batch
        if self.deadline is not None and not self._stopped and time.time() > self.deadline:
            self._stop(step, None, "max-seconds reached")
        if step >= self._next_due or (self._nonfinite_seen and not self._nonfinite_probe_done):
            self._scheduled_probe(step)

    def on_train_batch_end(self, batch, logs=None):
        # May run on a Keras worker thread (async dispatch): record a number, nothing else.
        v = logs.get("loss") if logs else None
        with self._lock:
            self._pending.append((self._serial, batch, v))
        if v is not None and not self._nonfinite_seen:
            try:
                if not math.isfinite(float(v)):
                    self._nonfinite_seen = True
            except (TypeError, ValueError):
                pass

    def on_epoch_end(self, epoch, logs=None):
        self._guard("epoch", self._epoch_end, logs)

    def on_train_end(self, logs=None):
        self._guard("end", self._end)

    # -- internals -------------------------------------------------------------------------------------
    def _guard(self, what: str, fn, *args) -> None:
        if what in self._disabled:
            return
        try:
            fn(*args)
        except Exception as e:
            self._disabled.add(what)
            self.recording.warn(f"Monitor ({what}) failed and was switched off: {type(e).__name__}: {e}")

    def _start(self) -> None:
        model = self.model
        rec = self.recording
        self._t_start = time.perf_counter()
        if self.deadline is None and self.max_seconds is not None:
            self.deadline = time.time() + self.max_seconds
        self._diagnosis = None
        self._stopped = False
        self._spe = max(1, int(getattr(model, "steps_per_execution", 1) or 1))
        self._nb = self.params.get("steps") if self.params else None
        try:
            self._steps_done = int(to_numpy(model.optimizer.iterations))
        except Exception:
            pass
        self._offset = self._steps_done
        self._next_due = self._steps_done
        backend = keras.backend.backend()
        self._backend = backend
        versions = {"keras": keras.__version__}
        for mod in ("tensorflow", "torch", "jax", "trainmedic"):
            m = sys.modules.get(mod)
            if m is not None and getattr(m, "__version__", None):
                versions[mod] = m.__version__
        rec.run.setdefault("framework", "keras")
        rec.run.setdefault("backend", backend)
        rec.run.setdefault("versions", {}).update(versions)
        if getattr(self, "_prepared_for", None) is not model:  # a new model (not one more fit of the same)
            self._ready = False
        t0 = time.perf_counter()
        self._ensure_ready()
        self.probe_seconds += time.perf_counter() - t0

    def _ensure_ready(self) -> bool:
        """Collect facts and set up the probes once the model is built (Keras on TensorFlow builds a model
        without an Input, or a subclassed one, inside the first training step: probing it earlier would
        build it, i.e. change it)."""
        if self._ready:
            return True
        if "start" in self._disabled:
            return False
        model = self.model
        if not (model.built and all(layer.built for layer in flatten_layers(model))):
            return False
        rec = self.recording
        px = py = None
        if self.probe is not None:
            px, py = _head(self.probe[0], MAX_PROBE_SAMPLES), _head(self.probe[1], MAX_PROBE_SAMPLES)
        if rec.facts.model is None:
            sample = None
            if px is not None:
                sample = Sample(x=_np(px), y=_np(py), source="probe", n_samples=None, batch_size=None)
            fit_kwargs = {"epochs": (self.params or {}).get("epochs")}
            if self._nb:
                fit_kwargs["steps_per_epoch"] = self._nb
            with preserve_rng():
                rec.facts = collect_facts(model, sample, fit_kwargs)
            self._own_facts = True
        self._layers = _weighted_layers(model)
        self._var_layer = {id(v): name for name, vs, trainable in self._layers if trainable for v in vs}
        if px is not None:  # backend tensors once: converting numpy on every probe costs more than the probe
            px = keras.tree.map_structure(keras.ops.convert_to_tensor, px)
            py = keras.tree.map_structure(keras.ops.convert_to_tensor, py)
        self._px, self._py = px, py
        self._act_layers = []
        self._probe_model = None
        self._chain: list = []
        if px is not None:
            try:
                self._build_probe_model(model)
            except Exception as e:
                rec.warn(f"Monitor: activations are not recorded ({type(e).__name__}: {e})")
        self._ready = True
        self._prepared_for = model
        return True

    def _build_probe_model(self, model) -> None:
        """A functional view of the user's model that also returns the activation layers' outputs."""
        if not getattr(model, "inputs", None):
            return
        outputs = list(model.outputs)
        leaves = flatten_layers(model)
        # the output layers' sigmoid/softmax is meant to saturate: only hidden layers are watched
        final = {id(getattr(getattr(o, "_keras_history", None), "operation", None)) for o in outputs}
        final.add(id(leaves[-1]) if leaves else None)
        watched = []
        for layer in leaves:
            kind = _activation_kind(layer)
            if kind in DEAD_KINDS:
                watched.append((layer, "dead"))
            elif kind in SATURATING_KINDS and id(layer) not in final:
                watched.append((layer, "saturation"))
        if not watched:
            return
        for candidates in (watched, [(l, k) for l, k in watched if l in model.layers]):
            try:
                inputs = getattr(model, "_inputs_struct", None) or model.inputs
                if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
                    inputs = inputs[0]
                with preserve_rng():
                    self._probe_model = keras.Model(inputs, outputs + [l.output for l, _ in candidates],
                                                    name="trainmedic_probe")
                self._act_layers = [(l.name, k) for l, k in candidates]
                self._n_outputs = len(outputs)
                if len(candidates) == len(watched) or not _nested_sequential(model):
                    return
            except Exception:
                continue
        if _nested_sequential(model):  # Sequential models inside a Sequential: run their layers in a row
            self._probe_model = None
            self._chain = leaves
            self._act_layers = [(l.name, k) for l, k in watched]

    def _over_budget(self) -> bool:
        """Has the monitor spent more than ``max_overhead`` of the training time so far (after a first probe)?
        Fits of the same model with the same monitor add up, like one long run."""
        if self.max_overhead is None or not self._n_probes:
            return False
        elapsed = self._fit_seconds + time.perf_counter() - self._t_start
        return self.probe_seconds > self.max_overhead * (elapsed - self.probe_seconds)

    def _scheduled_probe(self, step: int) -> None:
        urgent = self._nonfinite_seen and not self._nonfinite_probe_done
        if not urgent and self._over_budget():
            return  # over budget: try again at the next step
        due = self._next_due
        if step >= self._next_due:
            self._next_due = next_probe_step(step, self.every)
        if self._nonfinite_seen:
            self._nonfinite_probe_done = True
        if not self._ensure_ready():
            self._next_due = min(due, step + 1)  # not built yet: the first training step builds it
            return
        self._probe(step)
        self._n_probes += 1
        if self.stop_when_diagnosed and not self._stopped and (self._n_probes % 4 == 0 or self._nonfinite_seen):
            self._guard("stop-check", self._check_stop, step)

    def _probe(self, step: int) -> None:
        t0 = time.perf_counter()
        with preserve_rng(), np.errstate(all="ignore"):  # overflowing weights are a finding, not a warning
            self._guard("weights", self._probe_weights, step)
            if self._px is not None:
                self._guard("probe", self._probe_batch, step)
            self._guard("lr", self._record_lr, step)
        self._last_probe_step = step
        self.probe_seconds += time.perf_counter() - t0

    def _probe_weights(self, step: int) -> None:
        rec = self.recording
        gap = step - self._last_probe_step if self._last_probe_step is not None else 0
        for name, variables, _ in self._layers:
            w = np.concatenate([to_numpy(v).ravel() for v in variables]).astype(np.float64)
            norm = float(np.sqrt(np.dot(w, w)))
            rec.record(f"weight_norm/{name}", step, norm)
            if not math.isfinite(norm):
                self._event(f"weights:{name}", step)
            prev = self._prev_weights.get(name)
            if prev is not None and gap > 0:
                prev = prev.astype(np.float64)
                d = w - prev
                pnorm = float(np.sqrt(np.dot(prev, prev)))
                if pnorm > 0:
                    rec.record(f"update_ratio/{name}", step, float(np.sqrt(np.dot(d, d))) / pnorm / gap)
            self._prev_weights[name] = w.astype(np.float32)  # half the memory; the ratio needs no more

    def _probe_batch(self, step: int) -> None:
        rec = self.recording
        model = self.model
        saved = [(v, to_numpy(v)) for v in model.metrics_variables]
        try:
            y_pred, acts, grads = self._forward_backward(model, self._px, self._py)
        finally:
            for v, value in saved:  # a custom compute_loss may update metrics: put them back
                v.assign(value)
        for name, g in grads.items():
            rec.record(f"grad_norm/{name}", step, g)
            if not math.isfinite(g):
                self._event(f"grad:{name}", step)
        for (name, kind), a in zip(self._act_layers, acts):
            if not np.isfinite(a).all():  # NaN activations are neither dead nor saturated
                continue
            if kind == "dead":
                rec.record(f"dead_fraction/{name}", step, probes.dead_fraction(a))
            else:
                rec.record(f"saturation/{name}", step, probes.saturation(a, _saturation_kind(kind)))
        pred = probes.predictions(y_pred)
        for key in ("histogram", "entropy", "max_prob", "input_spread"):
            if key in pred:
                rec.record(f"pred/{key}", step, pred[key])

    def _forward_backward(self, model, x, y) -> tuple[np.ndarray, list[np.ndarray], dict[str, float]]:
        """Inference-mode forward on the probe batch, loss and per-layer gradient norms."""
        tw = list(model.trainable_weights)

        def forward():
            if self._chain:
                h, acts, watched = x, [], {name for name, _ in self._act_layers}
                for layer in self._chain:
                    h = layer(h, training=False)
                    if layer.name in watched:
                        acts.append(h)
                y_pred = h
            elif self._probe_model is not None:
                outs = self._probe_model(x, training=False)
                n = self._n_outputs
                y_pred = outs[0] if n == 1 else list(outs[:n])
                acts = list(outs[n:])
            else:
                y_pred, acts = model(x, training=False), []
            loss = _compute_loss(model, x, y, y_pred)
            return y_pred, acts, loss

        grads: list = []
        if "grad" in self._disabled or not tw:
            y_pred, acts, _ = forward()
        elif self._backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                y_pred, acts, loss = forward()
            if loss is not None:
                grads = tape.gradient(loss, [v.value for v in tw])
        elif self._backend == "torch":
            import torch

            with torch.enable_grad():
                y_pred, acts, loss = forward()
                if loss is not None:
                    grads = torch.autograd.grad(loss, [v.value for v in tw], allow_unused=True)
        else:
            self._disabled.add("grad")
            self.recording.warn(f"Monitor: gradients are not recorded on the {self._backend} backend")
            y_pred, acts, _ = forward()
        g2: dict[str, float] = {}
        for v, g in zip(tw, grads):
            name = self._var_layer.get(id(v))
            if name is None:
                continue
            ga = 0.0 if g is None else float(np.sum(np.square(to_numpy(g).astype(np.float64))))
            g2[name] = g2.get(name, 0.0) + ga
        gnorm = {name: math.sqrt(s) if s == s else float("nan") for name, s in g2.items()}
        first = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
        if isinstance(first, dict):
            first = next(iter(first.values()))
        return to_numpy(first), [to_numpy(a) for a in acts], gnorm

    def _record_lr(self, step: int) -> None:
        opt = getattr(self.model, "optimizer", None)
        if opt is None:
            return
        lr = opt.learning_rate
        self.recording.record("lr", step, float(to_numpy(lr)))

    def _event(self, where: str, step: int) -> None:
        kind = where.split(":", 1)[0]
        if kind in self._events_seen:
            return
        self._events_seen.add(kind)
        self.recording.events.append({"kind": "nonfinite", "step": int(step), "where": where})

    def _drain(self, final: bool = False) -> None:
        """Turn the batch hook's running means into per-step losses, in step order."""
        with self._lock:
            items = sorted(self._pending, key=lambda t: (t[0], t[1]))
            self._pending = []
        rec = self.recording
        for i, (serial, end, mean) in enumerate(items):
            prev_k, prev_m = self._prev.get(serial, (0, 0.0))
            k = end + 1
            if self._nb:
                k = min(k, self._nb)
            if k <= prev_k:
                continue
            if not final and k - prev_k > self._spe:  # an earlier step's hook has not run yet (async)
                with self._lock:
                    self._pending.extend(items[i:])
                return
            self._prev[serial] = (k, float(mean) if mean is not None else prev_m)
            if mean is None:
                continue
            m = float(mean)
            value = m if prev_k == 0 else (k * m - prev_k * prev_m) / (k - prev_k)
            step = self._offsets.get(serial, 0) + prev_k
            rec.record("loss", step, value)
            if not math.isfinite(value):
                self._event("loss", step)

    def _epoch_end(self, logs) -> None:
        self._guard("start", self._ensure_ready)
        self._drain(final=True)
        seen = self._prev.get(self._serial, (0, 0.0))[0]
        self._steps_done = self._offset + seen
        self._epochs_done += 1
        step = self._steps_done
        rec = self.recording
        for key, value in (logs or {}).items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            rec.record(METRIC_ALIASES.get(key, key), step, v)
        if "lr" not in rec.signals or not rec.signals["lr"].steps or rec.signals["lr"].steps[-1] != step:
            self._guard("lr", self._record_lr, step)
        if self._own_facts and rec.facts.training is not None and any(k.startswith("val_") for k in logs or {}):
            rec.facts.training.validation = True
        if self._own_facts and rec.facts.training is not None and rec.facts.training.batch_size is None \
                and not any(k.startswith("val_") for k in logs or {}):
            self._guess_batch_size(seen)
        rec.run["steps"] = self._steps_done
        rec.run["epochs"] = self._epochs_done
        if self.stop_when_diagnosed and not self._stopped:
            self._guard("stop-check", self._check_stop, step)

    def _guess_batch_size(self, steps: int) -> None:
        """Keras weights its loss tracker by batch size: count / steps is the batch size (last batch
        excepted). Only readable when no validation reset the tracker."""
        tracker = getattr(self.model, "_loss_tracker", None)
        count = getattr(tracker, "count", None)
        if count is None or steps <= 1:
            return
        n = float(to_numpy(count))
        if n > 0:
            bs = int(math.ceil(n / steps))
            if bs * (steps - 1) < n:  # consistent: only the last batch may be smaller
                self.recording.facts.training.batch_size = bs

    def _end(self) -> None:
        self._guard("start", self._ensure_ready)
        self._drain(final=True)
        if self._ready and self._last_probe_step != self._steps_done and not self._over_budget():
            self._probe(self._steps_done)  # the state training ended in
        self.recording.run["steps"] = self._steps_done
        self.recording.run["epochs"] = self._epochs_done
        self._fit_seconds += time.perf_counter() - self._t_start
        self._diagnosis = None
        if self.save_to is not None:
            self.save()

    def _check_stop(self, step: int) -> None:
        from ...engine import judge, stopping_cause

        self._drain()
        c = stopping_cause(judge(self.recording), self.halt_on)
        if c is not None:
            self._stop(step, c.id, f"{c.id} diagnosed with score {c.score:.2f}", score=round(c.score, 3))

    def _stop(self, step: int, cause: str | None, reason: str, **extra) -> None:
        self.model.stop_training = True
        self._stopped = True
        self.recording.mark_stopped({"step": int(step), "cause": cause, "reason": reason, **extra})


def _compute_loss(model, x, y, y_pred):
    """The training loss on the probe batch in inference mode, or None when it cannot be had harmlessly.

    Before the first training step (Keras on TensorFlow builds lazily) the model's ``CompileLoss`` is not
    built: building it here would fix its structure from the probe batch. Then a single-output model's loss
    is computed from the user's loss directly; otherwise the gradient waits for a later probe.
    """
    compile_loss = getattr(model, "_compile_loss", None)
    if compile_loss is not None and not compile_loss.built:
        own = getattr(type(model).compute_loss, "__qualname__", "") != "Trainer.compute_loss"
        if own or isinstance(model.loss, (dict, list, tuple)) or isinstance(y_pred, (dict, list, tuple)):
            return None
        fn = keras.losses.get(model.loss)
        if not isinstance(fn, keras.losses.Loss):  # the wrapper aligns ranks, as compile() does
            from keras.src.losses.losses import LossFunctionWrapper

            fn = LossFunctionWrapper(fn)
        value = fn(y, y_pred)
        extra = list(model.losses)
        return value + keras.ops.sum(keras.ops.stack(extra)) if extra else value
    try:
        return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    except TypeError:  # an override without the ``training`` argument (Keras < 3.3 style)
        return model.compute_loss(x=x, y=y, y_pred=y_pred)


def _nested_sequential(model) -> bool:
    """A Sequential model whose nested models are all Sequential too (and that has some)."""
    if type(model).__name__ != "Sequential":
        return False
    inner = [l for l in model.layers if hasattr(l, "layers")]
    return bool(inner) and all(type(l).__name__ == "Sequential" and (not any(hasattr(x, "layers") for x in l.layers)
                                                                   or _nested_sequential(l)) for l in inner)


def _activation_kind(layer) -> str | None:
    kind = type(layer).__name__
    if kind in ACTIVATION_LAYERS:
        return ACTIVATION_LAYERS[kind] or activation_name(getattr(layer, "activation", None))
    inner = layer.layer if kind == "TimeDistributed" else layer
    return activation_name(getattr(inner, "activation", None))


def _saturation_kind(kind: str) -> str:
    return "tanh" if kind in ("tanh", "hard_tanh") else "sigmoid"


def _weighted_layers(model) -> list[tuple[str, list, bool]]:
    """(name, variables, trainable) per leaf layer with weights; frozen layers keep all their weights."""
    out = []
    for layer in flatten_layers(model):
        tw = list(layer.trainable_weights)
        if tw:
            out.append((layer.name, tw, True))
        elif layer.weights and not layer.trainable:
            out.append((layer.name, list(layer.weights), False))
    return out


def _head(a: Any, n: int) -> Any:
    if isinstance(a, dict):
        return {k: _head(v, n) for k, v in a.items()}
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        return [_head(v, n) for v in a]
    if a is None:
        return None
    return a[:n]


def _np(a: Any) -> Any:
    if isinstance(a, dict):
        return {k: _np(v) for k, v in a.items()}
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        return [_np(v) for v in a]
    return None if a is None else to_numpy(a)


__all__ = ["Monitor", "next_probe_step"]
