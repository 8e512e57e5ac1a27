"""Take a small sample from whatever the user passes to ``fit``, without losing any of it."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._rng import preserve_rng


@dataclass
class Sample:
    x: Any  # numpy array, or list/dict of arrays for multi-input models
    y: Any
    source: str
    n_samples: int | None  # size of the whole training set, when known
    batch_size: int | None = None
    steps_per_epoch: int | None = None
    replacement: Any = None  # what fit must receive instead of a consumed generator (else None)
    warning: str | None = None  # when sampling may have touched what the user trains on


def _np(a):
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: _np(v) for k, v in a.items()}
    if isinstance(a, (list, tuple)) and a and not np.isscalar(a[0]) and hasattr(a[0], "shape"):
        return [_np(v) for v in a]
    if hasattr(a, "numpy"):
        try:
            return a.numpy()
        except Exception:
            pass
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _length(a) -> int | None:
    if a is None:
        return None
    if isinstance(a, dict):
        return _length(next(iter(a.values()), None))
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        return _length(a[0])
    try:
        return int(len(a))
    except TypeError:
        return None


def _take(a, idx):
    if isinstance(a, dict):
        return {k: _take(v, idx) for k, v in a.items()}
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape") and not hasattr(a, "shape"):
        return [_take(v, idx) for v in a]
    return np.asarray(a)[idx]


def _concat(parts):
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if isinstance(first, list):
        return [_concat([p[i] for p in parts]) for i in range(len(first))]
    return np.concatenate([np.asarray(p) for p in parts], axis=0)


def _split_batch(batch):
    if isinstance(batch, dict):  # a dict batch without explicit y
        return batch, None
    if isinstance(batch, (tuple, list)):
        if len(batch) >= 2:
            return batch[0], batch[1]
        return batch[0], None
    return batch, None


def sample_fit_data(x, y=None, batch_size=None, steps_per_epoch=None, max_samples: int = 512,
                    seed: int = 1234) -> Sample:
    """Draw up to ``max_samples`` samples from fit's ``x``/``y`` (arrays, tf.data, PyDataset, generator).

    Never consumes what the user will train on: a Python generator's first batches are put back through
    ``Sample.replacement``, which the caller must pass to ``fit`` instead of the generator.
    """
    type_name = type(x).__module__ + "." + type(x).__name__
    if "tensorflow" in type_name and "Dataset" in type_name:
        source, warning = private_copy(x), None
        if source is None:
            source = x
            warning = ("the training tf.data.Dataset could not be copied, so it was sampled itself: a dataset that "
                       "reshuffles each iteration now starts the training one shuffle order later")
        xs, ys, bs = _gather(source.take(16), max_samples)
        card = None
        try:
            c = int(x.cardinality())
            card = c if c > 0 else None
        except Exception:
            pass
        return Sample(xs, ys, "tf.data", n_samples=(card * bs if card and bs else None), batch_size=bs,
                      steps_per_epoch=steps_per_epoch or card, warning=warning)
    if type(x).__name__ == "DataLoader" and hasattr(x, "dataset") and hasattr(x, "collate_fn"):
        return _sample_data_loader(x, max_samples, seed, steps_per_epoch)
    if hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end") \
            or type(x).__name__ == "PyDataset" or any(c.__name__ == "PyDataset" for c in type(x).__mro__):
        nb = len(x)

        def batches():
            for i in range(min(nb, 16)):
                with preserve_rng():  # fit asks for the same batch again: its random augmentation must not move
                    batch = x[i]
                yield batch

        xs, ys, bs = _gather(batches(), max_samples)
        return Sample(xs, ys, "PyDataset", n_samples=nb * bs if bs else None, batch_size=bs,
                      steps_per_epoch=steps_per_epoch or nb)
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "__len__") and not hasattr(x, "shape")
                                  and not isinstance(x, (dict, list, tuple))):
        it = iter(x)
        taken, n = [], 0
        for batch in it:
            taken.append(batch)
            n += _length(_split_batch(batch)[0]) or 0
            if n >= max_samples or len(taken) >= 8:
                break
        parts = [_split_batch(b) for b in taken]
        bs = _length(parts[0][0]) if parts else None
        return Sample(_concat([_np(p[0]) for p in parts]) if parts else None,
                      _concat([_np(p[1]) for p in parts]) if parts and parts[0][1] is not None else None,
                      "generator", n_samples=None, batch_size=bs, steps_per_epoch=steps_per_epoch,
                      replacement=itertools.chain(taken, it))
    # arrays (numpy, tensors, lists of arrays for multi-input, dicts)
    n = _length(x)
    if n is None:
        return Sample(None, None, "unknown", None)
    rng = np.random.default_rng(seed)  # a private generator: the user's RNG streams are untouched
    idx = np.sort(rng.choice(n, size=min(n, max_samples), replace=False)) if n > max_samples else np.arange(n)
    xs = _take(_np(x), idx)
    ys = _take(_np(y), idx) if y is not None else None
    return Sample(xs, ys, "numpy", n_samples=n, batch_size=batch_size or (32 if batch_size is None else None),
                  steps_per_epoch=steps_per_epoch)


def _sample_data_loader(loader, max_samples: int, seed: int, steps_per_epoch) -> Sample:
    """Rows of a PyTorch ``DataLoader``'s dataset, collated by its own ``collate_fn``. Iterating the loader
    would draw its shuffle order (and worker seeds) from torch's global generator: the dataset is indexed
    instead, and any random augmentation in it runs inside :func:`preserve_rng`."""
    ds = loader.dataset
    n = len(ds)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=max_samples, replace=False)) if n > max_samples else np.arange(n)
    with preserve_rng():
        xs, ys, _ = _gather((loader.collate_fn([ds[int(j)] for j in idx[i:i + 64]]) for i in range(0, len(idx), 64)),
                            max_samples)
    return Sample(xs, ys, "DataLoader", n_samples=n, batch_size=loader.batch_size,
                  steps_per_epoch=steps_per_epoch or len(loader))


def _gather(batches, max_samples: int):
    """(x, y, batch size) from ``(x, y)`` batches: the first ``max_samples`` rows (y None when absent)."""
    parts_x, parts_y, n = [], [], 0
    for batch in batches:
        bx, by = _split_batch(batch)
        parts_x.append(_np(bx))
        parts_y.append(_np(by))
        n += _length(parts_x[-1]) or 0
        if n >= max_samples:
            break
    if not parts_x:
        return None, None, None
    rows = slice(0, max_samples)
    return (_take(_concat(parts_x), rows), _take(_concat(parts_y), rows) if parts_y[0] is not None else None,
            _length(parts_x[0]))


def private_copy(dataset):
    """A copy of a ``tf.data.Dataset`` with its own shuffle state, else None.

    Iterating a dataset that reshuffles each iteration (``shuffle(..)``, ``image_dataset_from_directory``)
    moves its seed generator: the user's first epoch would get what would have been the second epoch's order,
    and a seeded run would no longer repeat. The copy is rebuilt from the dataset's serialised graph, with every
    shuffle given a fresh seed generator (the same seeds): it yields the user's first order and leaves theirs
    where it was. Stateful parts (a Python generator, random ops in a map) are re-created, not shared.
    """
    try:
        from tensorflow.core.framework import graph_pb2
        from tensorflow.python.data.ops import dataset_ops, options as options_lib
        from tensorflow.python.ops import gen_experimental_dataset_ops

        graph = graph_pb2.GraphDef().FromString(dataset._as_serialized_graph(
            external_state_policy=options_lib.ExternalStatePolicy.IGNORE).numpy())
        nodes = {n.name: n for n in graph.node}
        for node in graph.node:
            if node.op not in _SEED_GENERATOR_INPUT:
                continue
            i = _SEED_GENERATOR_INPUT[node.op]
            src = nodes.get(node.input[i].split(":")[0]) if len(node.input) > i else None
            if src is None or src.op != "Const":
                return None  # a seed generator this copy cannot replace: it would be shared
            src.op = "DummySeedGenerator"
            src.ClearField("attr")
        if any(f.node_def and any(n.op in _SEED_GENERATOR_INPUT for n in f.node_def) for f in graph.library.function):
            return None  # a shuffle inside a function (interleave of shuffled datasets): not rewritten
        variant = gen_experimental_dataset_ops.dataset_from_graph(graph.SerializeToString())
        return dataset_ops._VariantDataset(variant, dataset.element_spec)
    except Exception:
        return None


# datasets ops that draw from a seed generator resource, and the position of that input
_SEED_GENERATOR_INPUT = {"ShuffleDatasetV3": 4, "ShuffleAndRepeatDatasetV2": 5, "RandomDatasetV2": 2}
