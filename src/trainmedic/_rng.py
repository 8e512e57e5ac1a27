"""Save and restore every random-number stream the user's training may depend on."""
from __future__ import annotations

import contextlib
import random
import sys

import numpy as np


@contextlib.contextmanager
def preserve_rng():
    """Run a block (model copies, experiments) without moving the user's RNG streams.

    Covers Python's ``random``, NumPy's global state, Keras 3's global seed generator and, when imported,
    torch's CPU and CUDA generators.
    """
    py = random.getstate()
    npy = np.random.get_state()
    torch_state = cuda_state = None
    torch = sys.modules.get("torch")
    if torch is not None:
        torch_state = torch.get_rng_state()
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                cuda_state = torch.cuda.get_rng_state_all()
        except Exception:
            cuda_state = None
    keras_seed = _keras_seed_state()
    tf_gen = _tf_generator_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)
        if torch is not None and torch_state is not None:
            torch.set_rng_state(torch_state)
            if cuda_state is not None:
                try:
                    torch.cuda.set_rng_state_all(cuda_state)
                except Exception:
                    pass
        _restore_keras_seed(keras_seed)
        _restore_tf_generator(tf_gen)


def _keras_global_gen():
    if "keras" not in sys.modules:
        return None
    try:
        from keras.src.backend.common import global_state

        return global_state.get_global_attribute("global_seed_generator")
    except Exception:
        return None


def _keras_seed_state():
    gen = _keras_global_gen()
    if gen is None:
        return None
    try:
        return gen, np.array(gen.state.numpy() if hasattr(gen.state, "numpy") else gen.state)
    except Exception:
        return None


def _restore_keras_seed(saved) -> None:
    if saved is None:
        return
    gen, value = saved
    try:
        gen.state.assign(value)
    except Exception:
        pass


def _tf_generator_state():
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    try:
        from tensorflow.python.eager import context

        ctx = context.context()
        rng = getattr(ctx, "_rng", None)
        return ctx, rng, rng.getstate() if rng is not None else None
    except Exception:
        return None


def _restore_tf_generator(saved) -> None:
    if saved is None:
        return
    ctx, rng, state = saved
    try:
        if rng is not None and state is not None:
            rng.setstate(state)
            ctx._rng = rng
    except Exception:
        pass
