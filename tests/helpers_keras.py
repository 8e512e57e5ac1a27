"""Tiny real Keras models and data for the tests (TensorFlow backend in the test process)."""
from __future__ import annotations

import numpy as np


def binary_data(n=400, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 1).astype("float32")
    return x, y


def multiclass_data(n=400, d=8, c=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype("float32")
    y = ((x[:, 0] > 0.5).astype(int) * 2 + (x[:, 1] > 0.5).astype(int)) % c
    return x, y


def mlp(layers_spec, d=8, output=(1, "sigmoid"), **dense_kw):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((d,))] + [layers.Dense(u, activation=a, **dense_kw) for u, a in layers_spec]
                             + [layers.Dense(output[0], activation=output[1])])
    return model
