"""Overhead of trainmedic's training monitors at their default settings.

Keras (TensorFlow backend), a small CNN, ``trainmedic.keras.Monitor(probe=...)`` at its defaults:

* step time (steady state): two identical seeded models, one fitted with the Monitor and one without, are
  trained one epoch at a time, alternating (with/without, then without/with), in one process; the Monitor
  instance stays attached across the epochs like in one long run. Ratio per pair of epochs, median over
  the pairs. This is what a long training run pays per step: the batch hooks and the budgeted probes.
* whole run: fresh seeded models, one ``fit`` each (training function traced before the clock starts),
  with/without alternating. This adds the one-off costs (set-up, the first probe and the first eager call
  of the model), which weigh more the shorter the run.

PyTorch (when ``src/trainmedic/torch.py`` exists): a small CNN in a plain loop with and without
``trainmedic.torch.watch`` at its defaults, whole runs, alternating.

    python benchmarks/overhead.py [--pairs 30] [--runs 3] [--epochs 8] [--samples 2048]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCH = 32


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 1, (n, 16, 16, 1)).astype("float32")
    for c in range(4):  # a class-dependent bright quadrant: learnable
        r, q = divmod(c, 2)
        x[y == c, r * 8:(r + 1) * 8, q * 8:(q + 1) * 8, 0] += 1.0
    return x, y


def keras_cnn(x, y):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)  # trace the train function
    return model


def keras_steady(x, y, pairs: int) -> dict:
    from trainmedic.keras import Monitor

    plain, watched = keras_cnn(x, y), keras_cnn(x, y)
    monitor = Monitor(probe=(x[:128], y[:128]))
    steps = int(np.ceil(len(x) / BATCH))

    def epoch(model, callbacks):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)
        return (time.perf_counter() - t0) / steps

    epoch(plain, []), epoch(watched, [monitor])  # the Monitor's set-up and first probe: see whole runs
    ratios, on, off = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            t_off, t_on = epoch(plain, []), epoch(watched, [monitor])
        else:
            t_on, t_off = epoch(watched, [monitor]), epoch(plain, [])
        ratios.append(t_on / t_off)
        on.append(t_on)
        off.append(t_off)
    n_probes = len(next(s for k, s in monitor.recording.signals.items() if k.startswith("weight_norm/")))
    return {"ratio": statistics.median(ratios), "ms_off": 1e3 * statistics.median(off),
            "ms_on": 1e3 * statistics.median(on), "steps": steps * (pairs + 1), "probes": n_probes,
            "monitor_s": monitor.probe_seconds}


def keras_whole(x, y, epochs: int, watched: bool) -> float:
    """Seconds for one ``fit`` of a fresh model, with or without the Monitor."""
    from trainmedic.keras import Monitor

    model = keras_cnn(x, y)
    callbacks = [Monitor(probe=(x[:128], y[:128]))] if watched else []
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks)
    return time.perf_counter() - t0


def torch_whole(x, y, epochs: int, watched: bool) -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(16 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y).long()
    gen = torch.Generator().manual_seed(0)
    ctx = contextlib.nullcontext()
    if watched:
        from trainmedic.torch import watch

        ctx = watch(model, opt)
    t0 = time.perf_counter()
    with ctx:
        for _ in range(epochs):
            perm = torch.randperm(len(xt), generator=gen)
            for i in range(0, len(xt), BATCH):
                idx = perm[i:i + BATCH]
                opt.zero_grad()
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
    return time.perf_counter() - t0


def _pairs(run, runs: int) -> list[float]:
    ratios = []
    for r in range(runs):
        if r % 2 == 0:
            off, on = run(False), run(True)
        else:
            on, off = run(True), run(False)
        ratios.append(on / off)
    return ratios


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=30, help="alternating epoch pairs (steady state)")
    ap.add_argument("--runs", type=int, default=3, help="alternating pairs of whole runs")
    ap.add_argument("--epochs", type=int, default=8, help="epochs of a whole run")
    ap.add_argument("--samples", type=int, default=2048)
    args = ap.parse_args(argv)
    x, y = _data(args.samples)
    s = keras_steady(x, y, args.pairs)
    print(f"keras/tensorflow small CNN, Monitor(probe=...) defaults, steady state: {args.pairs} alternating epoch "
          f"pairs ({s['steps']} steps each side): median step {s['ms_off']:.2f} ms without, {s['ms_on']:.2f} ms "
          f"with; median step-time ratio {s['ratio']:.3f} ({s['probes']} probes, monitor time "
          f"{s['monitor_s']:.2f} s in all)", flush=True)
    whole = _pairs(lambda w: keras_whole(x, y, args.epochs, w), args.runs)
    steps = args.epochs * int(np.ceil(len(x) / BATCH))
    print(f"keras/tensorflow small CNN, whole runs of {steps} steps (set-up and first probe included): ratios "
          f"{[round(r, 3) for r in whole]}, median {statistics.median(whole):.3f}", flush=True)
    if (Path(__file__).resolve().parents[1] / "src" / "trainmedic" / "torch.py").exists() \
            and importlib.util.find_spec("torch") is not None:
        torch_whole(x, y, 1, False)  # warm up
        t = _pairs(lambda w: torch_whole(x, y, args.epochs, w), args.runs)
        print(f"pytorch small CNN loop, watch() defaults, whole runs of {steps} steps: ratios "
              f"{[round(r, 3) for r in t]}, median {statistics.median(t):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
