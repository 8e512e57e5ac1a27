"""A Keras 3 model copy for experiments: forward, loss, per-layer gradients, activations, short training.

Everything runs on a clone (``keras.models.clone_model`` + the user's weights + a fresh optimizer of the same
configuration); the user's model, optimizer and RNG streams are never touched.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..._rng import preserve_rng
from .describe import flatten_layers


def _keras():
    import keras

    return keras


def to_numpy(t) -> np.ndarray:
    keras = _keras()
    try:
        return np.asarray(keras.ops.convert_to_numpy(t))
    except Exception:
        if hasattr(t, "detach"):
            return t.detach().cpu().numpy()
        return np.asarray(t)


class KerasAdapter:
    framework = "keras"

    def __init__(self, model, optimizer_config: dict | None, optimizer_class, loss: Any, sample_x: Any,
                 copy_weights: bool = True, lr: float | None = None, compile_kwargs: dict | None = None):
        keras = _keras()
        self.backend = keras.backend.backend()
        with preserve_rng():
            clone = keras.models.clone_model(model)
            if not clone.built:
                clone(_first(sample_x, 2))
            if copy_weights and model.built:
                clone.set_weights(model.get_weights())
            self.layer_trainable = [l.trainable for l in flatten_layers(model)]
            opt = _make_optimizer(optimizer_class, optimizer_config, lr)
            clone.compile(optimizer=opt, loss=loss, **(compile_kwargs or {}))
        self.model = clone
        self.loss = loss
        self._optimizer_class = optimizer_class
        self._optimizer_config = optimizer_config

    @classmethod
    def from_model(cls, model, sample_x, lr: float | None = None) -> "KerasAdapter":
        opt = getattr(model, "optimizer", None)
        cfg = opt.get_config() if opt is not None and hasattr(opt, "get_config") else None
        return cls(model, cfg, type(opt) if opt is not None else None, model.loss, sample_x, lr=lr)

    # -- forward / loss / gradients --------------------------------------------------------------------
    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        outs = []
        n = _length(x)
        for i in range(0, n, batch_size):
            out = self.model(_slice(x, i, i + batch_size), training=False)
            if isinstance(out, (list, tuple)):
                out = out[0]
            elif isinstance(out, dict):
                out = next(iter(out.values()))
            outs.append(to_numpy(out))
        return np.concatenate(outs, axis=0) if outs else np.zeros((0,))

    def loss_value(self, x, y) -> float:
        y_pred = self.model(x, training=False)
        return float(to_numpy(self.model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)))

    def gradients(self, x, y) -> tuple[float, dict[str, float], dict[str, float]]:
        """Loss, gradient norm per layer (kernel+bias) and weight norm per layer, on one batch."""
        m = self.model
        layers = [l for l in flatten_layers(m) if l.trainable_weights]
        if self.backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                y_pred = m(x, training=True)
                loss = m.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            variables = m.trainable_weights
            grads = tape.gradient(loss, [v.value if hasattr(v, "value") else v for v in variables])
            gmap = {id(v): g for v, g in zip(variables, grads)}
        elif self.backend == "torch":
            import torch

            for v in m.trainable_weights:
                v.value.grad = None
            y_pred = m(x, training=True)
            loss = m.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            loss.backward()
            gmap = {id(v): v.value.grad for v in m.trainable_weights}
            for v in m.trainable_weights:
                v.value.grad = None
            with torch.no_grad():
                pass
        elif self.backend == "jax":
            import jax

            tv = [v.value for v in m.trainable_weights]
            ntv = [v.value for v in m.non_trainable_weights]

            def f(tv_):
                y_pred, _ = m.stateless_call(tv_, ntv, x, training=True)
                return m.compute_loss(x=x, y=y, y_pred=y_pred, training=True)

            loss, grads = jax.value_and_grad(f)(tv)
            gmap = {id(v): g for v, g in zip(m.trainable_weights, grads)}
        else:
            raise NotImplementedError(f"gradients on the {self.backend} backend")
        gnorm, wnorm = {}, {}
        for layer in layers:
            g2 = w2 = 0.0
            for v in layer.trainable_weights:
                g = gmap.get(id(v))
                if g is not None:
                    ga = to_numpy(g).astype(np.float64)
                    g2 += float(np.sum(ga * ga))
                wa = to_numpy(v).astype(np.float64)
                w2 += float(np.sum(wa * wa))
            gnorm[layer.name] = g2 ** 0.5
            wnorm[layer.name] = w2 ** 0.5
        return float(to_numpy(loss)), gnorm, wnorm

    def activations(self, x) -> dict[str, np.ndarray]:
        """Output of every leaf layer on ``x`` (Sequential and functional models)."""
        keras = _keras()
        m = self.model
        if type(m).__name__ == "Sequential":
            out = {}
            h = x
            for layer in flatten_layers(m):
                h = layer(h, training=False)
                out[layer.name] = to_numpy(h)
            return out
        layers = [l for l in m.layers if type(l).__name__ != "InputLayer"]
        probe = keras.Model(m.inputs, [l.output for l in layers])
        outs = probe(x, training=False)
        return {l.name: to_numpy(o) for l, o in zip(layers, outs)}

    # -- restarting ------------------------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Remember the copy's weights and optimizer state, so that :meth:`restore` can start it over
        without a new clone (and a new compiled train function)."""
        opt = self.model.optimizer
        if not opt.built:
            opt.build(self.model.trainable_variables)
        self._start = (self.model.get_weights(), [to_numpy(v) for v in opt.variables])

    def restore(self) -> None:
        """Back to the state of the last :meth:`checkpoint`: the same weights, a fresh optimizer state."""
        weights, opt_state = self._start
        self.model.set_weights(weights)
        for v, value in zip(self.model.optimizer.variables, opt_state):
            v.assign(value)

    # -- training --------------------------------------------------------------------------------------
    def train(self, x, y, steps: int, batch_size: int = 32, class_weight=None) -> list[float]:
        """Train the copy for ``steps`` updates on ``x``/``y`` (cycled); return the per-step losses."""
        keras = _keras()
        n = _length(x)
        reps = max(1, int(np.ceil(steps * batch_size / max(n, 1))))
        xs = _tile(x, reps)
        ys = _tile(y, reps)
        total = min(_length(xs), steps * batch_size)
        xs, ys = _slice(xs, 0, total), _slice(ys, 0, total)
        rec = _BatchLosses()
        with preserve_rng():
            self.model.fit(xs, ys, batch_size=batch_size, epochs=1, shuffle=False, verbose=0,
                           callbacks=[rec], class_weight=class_weight)
        return rec.losses


def _make_optimizer(cls, config, lr):
    keras = _keras()
    if cls is None:
        return keras.optimizers.Adam(lr or 1e-3)
    cfg = dict(config or {})
    if lr is not None:
        cfg["learning_rate"] = lr
    try:
        return cls.from_config(cfg)
    except Exception:
        return keras.optimizers.get({"class_name": cls.__name__, "config": cfg})


class _BatchLosses:
    """Minimal callback: per-batch loss recovered from Keras's running epoch mean."""

    def __new__(cls):
        keras = _keras()

        class Rec(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.losses: list[float] = []
                self._prev_mean = 0.0

            def on_train_batch_end(self, batch, logs=None):
                mean = float((logs or {}).get("loss", np.nan))
                k = batch + 1
                self.losses.append(mean * k - self._prev_mean * (k - 1))
                self._prev_mean = mean

        return Rec()


def _length(x) -> int:
    if isinstance(x, dict):
        return _length(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _length(x[0])
    return int(x.shape[0])


def _slice(x, a, b):
    if isinstance(x, dict):
        return {k: _slice(v, a, b) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_slice(v, a, b) for v in x]
    return x[a:b]


def _first(x, n):
    return _slice(x, 0, n)


def _tile(x, reps):
    if isinstance(x, dict):
        return {k: _tile(v, reps) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_tile(v, reps) for v in x]
    return np.concatenate([x] * reps, axis=0) if reps > 1 else x
